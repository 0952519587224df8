package storetest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/digestbot/digestbot/redisurl"
	"github.com/redis/go-redis/v9"
)

// clusterNodes is the size of the test cluster: enough to spread hash
// slots over several nodes, so a multi-key command across slots fails.
const clusterNodes = 3

// sharedCluster is the cluster of Cluster, set up once per test binary.
var sharedCluster struct {
	once  sync.Once
	nodes []*Server // empty for the cluster of DIGESTBOT_TEST_REDIS_CLUSTER_URL
	url   string
	desc  string
	err   error
}

// Cluster returns the URL of a real Redis Cluster of three masters, shared
// by the tests of this binary, which keep apart by prefix: the cluster of
// DIGESTBOT_TEST_REDIS_CLUSTER_URL when it is set (CI starts one, and names
// one node of it, so that every suite also goes through the discovery of a
// cluster behind one address), else three redis-server nodes started on
// loopback (in memory), named by a comma-separated seed list. Without
// redis-server it skips the test (fails it when DIGESTBOT_REQUIRE_REDIS=1).
func Cluster(tb testing.TB) string {
	tb.Helper()
	ext := os.Getenv(EnvClusterURL)
	var bin string
	if ext == "" {
		bin = requireBinary(tb)
	}
	sharedCluster.once.Do(func() {
		if ext != "" {
			sharedCluster.url = ext
		} else {
			sharedCluster.url, sharedCluster.nodes, sharedCluster.err = startCluster(tb, bin, ClusterOptions{})
		}
		if sharedCluster.err == nil {
			sharedCluster.desc, sharedCluster.err = describeCluster(sharedCluster.url)
		}
	})
	if sharedCluster.err != nil {
		where := "start a Redis Cluster"
		if ext != "" {
			where = "use the Redis Cluster of " + EnvClusterURL + "=" + redisurl.Redact(ext)
		}
		tb.Fatalf("storetest: %s: %v", where, sharedCluster.err)
	}
	logBackend(tb, RedisCluster, sharedCluster.desc)
	return sharedCluster.url
}

// ClusterNodeURLs returns one URL per master of the shared cluster, each
// naming that node alone (with the credentials of the cluster's URL), for
// tests of what a URL of one node finds.
func ClusterNodeURLs(tb testing.TB) []string {
	tb.Helper()
	u := Cluster(tb)
	urls, err := nodeURLs(u)
	if err != nil {
		tb.Fatalf("storetest: list the masters of the cluster: %v", err)
	}
	return urls
}

// ClusterOptions are the settings of a cluster of OwnCluster.
type ClusterOptions struct {
	// Password, when set, is required by every node (requirepass), and the
	// URL carries it.
	Password string
	// TLS makes every node speak TLS only, to clients and on the cluster
	// bus, with a self-signed certificate; the URL is rediss:// with
	// skip_verify=true.
	TLS bool
}

// OwnCluster starts a Redis Cluster of three masters for this test alone,
// stopped when the test ends, and returns the URL of its first node alone.
// It needs redis-server on PATH.
func OwnCluster(tb testing.TB, o ClusterOptions) string {
	tb.Helper()
	bin := requireBinary(tb)
	_, nodes, err := startCluster(tb, bin, o)
	for _, n := range nodes {
		tb.Cleanup(n.kill)
	}
	if err != nil {
		tb.Fatalf("storetest: start a Redis Cluster: %v", err)
	}
	scheme, query := "redis://", ""
	if o.TLS {
		scheme, query = "rediss://", "?skip_verify=true"
	}
	user := ""
	if o.Password != "" {
		user = ":" + o.Password + "@"
	}
	return scheme + user + nodes[0].Addr() + query
}

func startCluster(tb testing.TB, bin string, o ClusterOptions) (string, []*Server, error) {
	removeStaleClusterDirs()
	dir, err := os.MkdirTemp("", clusterDirPattern)
	if err != nil {
		return "", nil, err
	}
	if o.TLS {
		if err := writeCertificate(dir); err != nil {
			return "", nil, err
		}
	}
	var nodes []*Server
	var addrs []string
	for i := range clusterNodes {
		port, err := clusterPort(tb)
		if err != nil {
			return "", nodes, err
		}
		n := &Server{dir: dir, port: port, cluster: true, copts: o}
		n.URL = "redis://127.0.0.1:" + strconv.Itoa(port)
		if err := n.start(bin); err != nil {
			return "", nodes, fmt.Errorf("node %d: %w", i, err)
		}
		nodes = append(nodes, n)
		addrs = append(addrs, n.URL)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Split the 16384 slots evenly, then let the nodes meet.
	for i, n := range nodes {
		c := redis.NewClient(nodeOptions(n.Addr(), o))
		lo, hi := i*16384/clusterNodes, (i+1)*16384/clusterNodes-1
		err := c.Do(ctx, "cluster", "addslotsrange", lo, hi).Err()
		if err == nil && i > 0 {
			err = c.Do(ctx, "cluster", "meet", "127.0.0.1", nodes[0].port).Err()
		}
		c.Close()
		if err != nil {
			return "", nodes, fmt.Errorf("configure node %s: %w", n.Addr(), err)
		}
	}
	for _, n := range nodes {
		if err := waitClusterOK(ctx, n.Addr(), o); err != nil {
			return "", nodes, err
		}
	}
	return strings.Join(addrs, ","), nodes, nil
}

const clusterDirPattern = "storetest-cluster-"

// removeStaleClusterDirs removes the node files of clusters of earlier test
// runs. A node rewrites its file while it runs (and exits if it cannot), so
// a run cannot remove its own; an hour-old one belongs to a finished run.
func removeStaleClusterDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), clusterDirPattern+"*"))
	for _, d := range dirs {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() && time.Since(fi.ModTime()) > time.Hour {
			_ = os.RemoveAll(d)
		}
	}
}

// clusterPort finds a free port whose cluster bus port (port+10000) is
// free too.
func clusterPort(tb testing.TB) (int, error) {
	for range 100 {
		p := freePort(tb)
		if p+10000 > 65535 {
			continue
		}
		if l, err := netListen(p + 10000); err == nil {
			l.Close()
			return p, nil
		}
	}
	return 0, fmt.Errorf("no free port pair for a cluster node")
}

// nodeOptions are the options of a plain client of one node.
func nodeOptions(addr string, o ClusterOptions) *redis.Options {
	ro := &redis.Options{Addr: addr, Password: o.Password}
	if o.TLS {
		ro.TLSConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the test's own self-signed certificate
	}
	return ro
}

func waitClusterOK(ctx context.Context, addr string, o ClusterOptions) error {
	c := redis.NewClient(nodeOptions(addr, o))
	defer c.Close()
	for {
		info, err := c.ClusterInfo(ctx).Result()
		if err == nil && strings.Contains(info, "cluster_state:ok") && strings.Contains(info, fmt.Sprintf("cluster_known_nodes:%d", clusterNodes)) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster node %s not ready: %v (last: %v)", addr, ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// clusterArgs are the extra redis-server arguments of a cluster node.
func clusterArgs(dir string, port int, o ClusterOptions) []string {
	args := []string{
		"--cluster-enabled", "yes",
		"--cluster-config-file", filepath.Join(dir, "nodes-"+strconv.Itoa(port)+".conf"),
		"--cluster-node-timeout", "5000",
	}
	if o.Password != "" {
		args = append(args, "--requirepass", o.Password, "--masterauth", o.Password)
	}
	if o.TLS {
		// The client port is the TLS port, and the cluster bus (its port
		// + 10000) speaks TLS too.
		cert, key := certFiles(dir)
		args = append(args, "--port", "0", "--tls-port", strconv.Itoa(port), "--tls-cluster", "yes",
			"--tls-cert-file", cert, "--tls-key-file", key, "--tls-ca-cert-file", cert, "--tls-auth-clients", "no")
	}
	return args
}

// certFiles are the certificate and key of a TLS cluster, in its directory.
func certFiles(dir string) (cert, key string) {
	return filepath.Join(dir, "tls-cert.pem"), filepath.Join(dir, "tls-key.pem")
}

// writeCertificate writes a self-signed certificate for 127.0.0.1, which
// the nodes use as server, as client on the cluster bus, and as the CA
// that checks each other.
func writeCertificate(dir string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "storetest"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	cert, keyFile := certFiles(dir)
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return err
	}
	return os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
}

// describeCluster says what the cluster at u is, for the test log; it
// fails when u is not a cluster of at least three masters, so a suite
// cannot pass on something else and call it a cluster.
func describeCluster(u string) (string, error) {
	si, err := serverInfo(u)
	switch {
	case err != nil:
		return "", err
	case !si.Cluster:
		return "", fmt.Errorf("%s is a single server, not a Redis Cluster", redisurl.Redact(u))
	case si.Masters < clusterNodes:
		return "", fmt.Errorf("the cluster has %d masters serving slots; the suites want at least %d, so that keys spread over several nodes", si.Masters, clusterNodes)
	}
	return fmt.Sprintf("real Redis Cluster of %d masters, redis-server %s, at %s", si.Masters, si.Version, redisurl.Redact(u)), nil
}

// nodeURLs lists the masters of the cluster at u as URLs of one node each,
// written like the first address of u (scheme and credentials kept).
func nodeURLs(u string) ([]string, error) {
	o, err := redisurl.Parse(u)
	if err != nil {
		return nil, err
	}
	first := strings.TrimSpace(strings.Split(u, ",")[0])
	at := strings.LastIndex(first, o.Addrs[0])
	if at < 0 {
		return nil, fmt.Errorf("cannot find the address %s in the first seed", o.Addrs[0])
	}
	o.IsClusterMode = true
	c := redis.NewUniversalClient(o).(*redis.ClusterClient)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var mu sync.Mutex
	var out []string
	err = c.ForEachMaster(ctx, func(_ context.Context, n *redis.Client) error {
		mu.Lock()
		defer mu.Unlock()
		out = append(out, first[:at]+n.Options().Addr+first[at+len(o.Addrs[0]):])
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(out)
	return out, nil
}

package storetest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// clusterNodes is the size of the test cluster: enough to spread hash
// slots over several nodes, so a multi-key command across slots fails.
const clusterNodes = 3

var sharedCluster struct {
	once  sync.Once
	nodes []*Server
	url   string
	err   error
}

// Cluster returns the comma-separated seed URL of a real Redis Cluster of
// three redis-server nodes on loopback (in memory), shared by the tests of
// this binary, which keep apart by prefix. Without redis-server it skips the
// test (fails it when DIGESTBOT_REQUIRE_REDIS=1). A cluster named by
// DIGESTBOT_TEST_REDIS_URL is not assumed: tests on an external server skip.
func Cluster(tb testing.TB) string {
	tb.Helper()
	if os.Getenv(EnvURL) != "" {
		tb.Skip("storetest: " + EnvURL + " is set; not starting a local Redis Cluster")
	}
	bin := requireBinary(tb)
	sharedCluster.once.Do(func() {
		sharedCluster.url, sharedCluster.nodes, sharedCluster.err = startCluster(tb, bin)
	})
	if sharedCluster.err != nil {
		tb.Fatalf("storetest: start a Redis Cluster: %v", sharedCluster.err)
	}
	return sharedCluster.url
}

func startCluster(tb testing.TB, bin string) (string, []*Server, error) {
	removeStaleClusterDirs()
	dir, err := os.MkdirTemp("", clusterDirPattern)
	if err != nil {
		return "", nil, err
	}
	var nodes []*Server
	var addrs []string
	for i := range clusterNodes {
		port, err := clusterPort(tb)
		if err != nil {
			return "", nil, err
		}
		n := &Server{dir: dir, port: port, cluster: true}
		n.URL = "redis://127.0.0.1:" + strconv.Itoa(port)
		if err := n.start(bin); err != nil {
			return "", nil, fmt.Errorf("node %d: %w", i, err)
		}
		nodes = append(nodes, n)
		addrs = append(addrs, n.Addr())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Split the 16384 slots evenly, then let the nodes meet.
	for i, n := range nodes {
		c := redis.NewClient(&redis.Options{Addr: n.Addr()})
		lo, hi := i*16384/clusterNodes, (i+1)*16384/clusterNodes-1
		err := c.Do(ctx, "cluster", "addslotsrange", lo, hi).Err()
		if err == nil && i > 0 {
			err = c.Do(ctx, "cluster", "meet", "127.0.0.1", nodes[0].port).Err()
		}
		c.Close()
		if err != nil {
			return "", nil, fmt.Errorf("configure node %s: %w", n.Addr(), err)
		}
	}
	for _, n := range nodes {
		if err := waitClusterOK(ctx, n.Addr()); err != nil {
			return "", nil, err
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

func waitClusterOK(ctx context.Context, addr string) error {
	c := redis.NewClient(&redis.Options{Addr: addr})
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
func clusterArgs(dir string, port int) []string {
	return []string{
		"--cluster-enabled", "yes",
		"--cluster-config-file", filepath.Join(dir, "nodes-"+strconv.Itoa(port)+".conf"),
		"--cluster-node-timeout", "5000",
	}
}

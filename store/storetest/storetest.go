// Package storetest gives tests a store: on a real redis-server (started on
// a free loopback port when the binary is on PATH, or the server named by
// DIGESTBOT_TEST_REDIS_URL), on a real three-master Redis Cluster (started
// from redis-server, or the one named by DIGESTBOT_TEST_REDIS_CLUSTER_URL),
// or on the embedded miniredis.
//
//   - EachBackend(t, f): f once per backend, as subtests "redis-server",
//     "cluster" and "embedded"; EachRealBackend leaves out the embedded
//     store. Store-touching suites use these, so that every suite runs on
//     a cluster as well as on one server.
//   - Open(tb): a store on one shared in-memory redis-server, under a prefix
//     of the test's own (keys deleted at the end).
//   - RealRedis(tb): a server of the test's own with appendonly on, whose
//     Stop (SIGKILL) and Start (same port and directory) make crash and
//     restart tests; open a store on it with OpenOn(tb, store.Options{URL: srv.URL}).
//   - Cluster(tb): the URL of a shared three-master Redis Cluster;
//     ClusterNodeURLs(tb) its masters one by one; OwnCluster(tb, opts) a
//     cluster of the test's own, with a password or TLS.
//   - OpenEmbedded(tb): a store on a fresh in-process miniredis.
//
// Without a real server the helpers that need one skip the test with a loud
// message, or fail it when DIGESTBOT_REQUIRE_REDIS=1 (CI sets it), so that CI
// cannot pass without having run against a real redis-server and a cluster.
//
// Every helper that hands out a backend logs one line in a fixed format,
// "storetest: backend=NAME (DETAIL)" with NAME one of redis-server, cluster
// and embedded, so that CI can tell from the test log which backends each
// package ran on (LogPattern matches it).
package storetest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/digestbot/digestbot/redisurl"
	"github.com/digestbot/digestbot/store"
	"github.com/redis/go-redis/v9"
)

// Environment variables read by the helpers.
const (
	EnvURL        = "DIGESTBOT_TEST_REDIS_URL"         // use this server instead of starting one
	EnvClusterURL = "DIGESTBOT_TEST_REDIS_CLUSTER_URL" // use this Redis Cluster instead of starting one
	EnvRequire    = "DIGESTBOT_REQUIRE_REDIS"          // "1": fail, not skip, without a real server or cluster
)

const startTimeout = 10 * time.Second

// quiet is the logger of the stores the helpers open: a test's output is
// about the test, not about connecting.
var quiet = slog.New(slog.DiscardHandler)

// Server is a real Redis server for tests.
type Server struct {
	// URL is the redis:// URL of the server.
	URL string
	// Version is the server's redis_version, e.g. "7.0.15".
	Version string

	tb       testing.TB // the test that started it; nil for the shared server
	external bool
	port     int
	dir      string
	aof      bool           // appendonly, for restart tests
	cluster  bool           // a node of a test cluster
	copts    ClusterOptions // its password and TLS, for a cluster of OwnCluster
	mu       sync.Mutex
	cmd      *exec.Cmd
}

// Addr returns the host:port of the server.
func (s *Server) Addr() string {
	if u, err := url.Parse(s.URL); err == nil && u.Host != "" {
		return u.Host // without a user, password or database
	}
	return strings.TrimPrefix(s.URL, "redis://")
}

// Describe says which server this is, for the test log.
func (s *Server) Describe() string {
	kind := "real redis-server"
	if s.external {
		kind = "external real redis-server (" + EnvURL + ")"
	}
	return fmt.Sprintf("%s %s at %s", kind, s.Version, s.Addr())
}

// RealRedis returns a real Redis server of its own for this test, stopped
// when the test ends: a redis-server started on a free loopback port with
// appendonly on (fsync always, so that every acknowledged write survives
// Stop) in a temporary directory. Only when the binary is not on PATH does
// it fall back to the server of DIGESTBOT_TEST_REDIS_URL, which crash tests
// cannot stop. Without either it skips the test (fails it when
// DIGESTBOT_REQUIRE_REDIS=1).
func RealRedis(tb testing.TB) *Server {
	tb.Helper()
	if _, err := exec.LookPath("redis-server"); err == nil {
		// A server of the test's own, so that Stop and Start work even in CI.
	} else if u := os.Getenv(EnvURL); u != "" {
		srv := &Server{URL: u, external: true, tb: tb}
		srv.Version = serverVersion(tb, u)
		logBackend(tb, RedisServer, srv.Describe())
		return srv
	}
	bin := requireBinary(tb)
	srv := &Server{tb: tb, dir: tb.TempDir(), port: freePort(tb), aof: true}
	srv.URL = "redis://127.0.0.1:" + strconv.Itoa(srv.port)
	if err := srv.start(bin); err != nil {
		tb.Fatalf("storetest: %v", err)
	}
	tb.Cleanup(srv.kill)
	srv.Version = serverVersion(tb, srv.URL)
	logBackend(tb, RedisServer, srv.Describe()+", the test's own")
	return srv
}

// Stop kills the server (SIGKILL, as in a crash) and waits for it to exit.
// A test on an external server (DIGESTBOT_TEST_REDIS_URL) is skipped,
// because that server cannot be stopped from here.
func (s *Server) Stop() {
	if s.external {
		s.tb.Skip("storetest: cannot stop the external server of " + EnvURL + "; skipping a crash test")
	}
	s.kill()
}

// Start starts a stopped server again on the same port and directory, so
// the appendonly data survives, and waits until it answers.
func (s *Server) Start() {
	if s.external {
		s.tb.Skip("storetest: cannot restart the external server of " + EnvURL)
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		s.tb.Fatalf("storetest: %v", err)
	}
	if err := s.start(bin); err != nil {
		s.tb.Fatalf("storetest: %v", err)
	}
}

func (s *Server) start(bin string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return errors.New("redis-server is already running")
	}
	aof := "no"
	if s.aof {
		aof = "yes"
	}
	cmd := exec.Command(bin,
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", aof, "--dir", s.dir,
		"--daemonize", "no", "--protected-mode", "no", "--loglevel", "warning")
	if s.aof {
		// With the default everysec, a busy disk can postpone the AOF
		// write past the reply, and a SIGKILL then loses acknowledged
		// writes; crash tests need every acknowledged write on disk.
		cmd.Args = append(cmd.Args, "--appendfsync", "always")
	}
	if s.cluster {
		cmd.Args = append(cmd.Args, clusterArgs(s.dir, s.port, s.copts)...)
	}
	// The server's own chatter (start-up banner, kernel warnings) stays
	// out of the test log unless it fails to start.
	out := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	// The shared server outlives every test; the kernel kills it when the
	// test binary exits.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	s.cmd = cmd
	deadline := time.Now().Add(startTimeout)
	for {
		if ping(s.Addr(), s.copts.TLS) == nil {
			return nil
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			s.cmd = nil
			return fmt.Errorf("redis-server on port %d did not answer within %v; its output:\n%s", s.port, startTimeout, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *Server) kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// ping sends PING over a raw connection (TLS for a TLS node, unverified),
// without the client under test. A server that wants a password first
// (NOAUTH) answers too.
func ping(addr string, useTLS bool) error {
	var c net.Conn
	var err error
	d := &net.Dialer{Timeout: 200 * time.Millisecond}
	if useTLS {
		c, err = tls.DialWithDialer(d, "tcp", addr, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // the test's own certificate
	} else {
		c, err = d.Dial("tcp", addr)
	}
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") && !strings.HasPrefix(line, "-NOAUTH") {
		return fmt.Errorf("redis-server answered %q", strings.TrimSpace(line))
	}
	return nil
}

func requireBinary(tb testing.TB) string {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err == nil {
		return bin
	}
	msg := "storetest: NO REAL REDIS: redis-server is not on PATH and " + EnvURL + " is unset"
	if os.Getenv(EnvRequire) == "1" {
		tb.Fatal(msg + "; FAILING because " + EnvRequire + "=1 (install redis-server)")
	}
	msg += "; this test needs a real server and is SKIPPED (install redis-server, or set " + EnvRequire + "=1 to fail instead)"
	fmt.Fprintln(os.Stderr, msg)
	tb.Skip(msg)
	return ""
}

func netListen(port int) (net.Listener, error) {
	return net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
}

func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("storetest: find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func serverVersion(tb testing.TB, url string) string {
	tb.Helper()
	v, err := versionOf(url)
	if err != nil {
		tb.Fatalf("storetest: %v", err)
	}
	return v
}

// versionOf asks the server (or a node of the cluster) at url for its
// redis_version.
func versionOf(url string) (string, error) {
	si, err := serverInfo(url)
	return si.Version, err
}

// serverInfo connects to url and asks what is there.
func serverInfo(url string) (store.ServerInfo, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := store.Open(ctx, store.Options{URL: url, Prefix: "storetest:", Logger: quiet})
	if err != nil {
		return store.ServerInfo{}, fmt.Errorf("connect to %s: %w", redisurl.Redact(url), err)
	}
	defer st.Close()
	return st.ServerInfo(ctx)
}

var shared struct {
	once sync.Once
	srv  *Server
	err  error
}

// Shared returns the real server that Open uses: one redis-server (in
// memory, no appendonly) for every test of the binary, which keep apart by
// prefix. Do not Stop it; use RealRedis for crash tests.
func Shared(tb testing.TB) *Server {
	tb.Helper()
	return sharedServer(tb)
}

func sharedServer(tb testing.TB) *Server {
	tb.Helper()
	if u := os.Getenv(EnvURL); u != "" {
		srv := &Server{URL: u, external: true, tb: tb, Version: serverVersion(tb, u)}
		logBackend(tb, RedisServer, srv.Describe())
		return srv
	}
	bin := requireBinary(tb)
	shared.once.Do(func() {
		// In memory only: nothing to clean up after the binary exits.
		srv := &Server{dir: os.TempDir(), port: freePort(tb)}
		srv.URL = "redis://127.0.0.1:" + strconv.Itoa(srv.port)
		if err := srv.start(bin); err != nil {
			shared.err = err
			return
		}
		srv.Version, shared.err = versionOf(srv.URL)
		shared.srv = srv
	})
	if shared.err != nil {
		tb.Fatalf("storetest: %v", shared.err)
	}
	logBackend(tb, RedisServer, shared.srv.Describe())
	return shared.srv
}

// Open returns a store on a real Redis server shared by the tests of this
// binary, under a prefix of its own, closed (and its keys deleted) when the
// test ends. Without a real server it skips the test (fails it when
// DIGESTBOT_REQUIRE_REDIS=1).
func Open(tb testing.TB) *store.Store {
	tb.Helper()
	return OpenWith(tb, store.Options{})
}

// OpenWith is Open with options; URL and Prefix are filled in when empty.
func OpenWith(tb testing.TB, opts store.Options) *store.Store {
	tb.Helper()
	if opts.URL == "" {
		opts.URL = sharedServer(tb).URL
	}
	return OpenOn(tb, opts)
}

// OpenOn opens a store on opts.URL under a unique prefix (unless
// opts.Prefix is set), closed and cleaned up when the test ends.
func OpenOn(tb testing.TB, opts store.Options) *store.Store {
	tb.Helper()
	if opts.Prefix == "" {
		opts.Prefix = UniquePrefix()
	}
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	st, err := store.Open(context.Background(), opts)
	if err != nil {
		tb.Fatalf("storetest: open store on %s: %v", redisurl.Redact(opts.URL), err)
	}
	tb.Cleanup(func() {
		cleanup(st)
		_ = st.Close()
	})
	return st
}

// OpenEmbedded returns a store on a fresh embedded miniredis, closed when
// the test ends.
func OpenEmbedded(tb testing.TB) *store.Store {
	tb.Helper()
	return OpenEmbeddedWith(tb, store.Options{})
}

// OpenEmbeddedWith is OpenEmbedded with options.
func OpenEmbeddedWith(tb testing.TB, opts store.Options) *store.Store {
	tb.Helper()
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	st, err := store.OpenEmbedded(context.Background(), opts)
	if err != nil {
		tb.Fatalf("storetest: open embedded store: %v", err)
	}
	logBackend(tb, Embedded, "miniredis in process")
	tb.Cleanup(func() { _ = st.Close() })
	return st
}

// UniquePrefix returns a key prefix no other test uses.
func UniquePrefix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "test" + hex.EncodeToString(b[:]) + ":"
}

// cleanup deletes the keys of a test's prefix, best effort: the server may
// have been stopped by the test.
func cleanup(st *store.Store) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = forEachNode(ctx, st.Client(), func(ctx context.Context, c redis.UniversalClient) error {
		iter := c.Scan(ctx, 0, st.Prefix()+"*", 1000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if err := iter.Err(); err != nil {
			return err
		}
		for _, k := range keys {
			c.Del(ctx, k) // one by one: keys of a cluster node span slots
		}
		return nil
	})
}

// forEachNode runs f on every master of a cluster, or on the one server.
func forEachNode(ctx context.Context, c redis.UniversalClient, f func(context.Context, redis.UniversalClient) error) error {
	if cc, ok := c.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error { return f(ctx, n) })
	}
	return f(ctx, c)
}

// Keys lists every key of st's prefix, on every node of a cluster, sorted.
// It is for tests that check what a store leaves behind.
func Keys(ctx context.Context, st *store.Store) ([]string, error) {
	var mu sync.Mutex
	var out []string
	err := forEachNode(ctx, st.Client(), func(ctx context.Context, c redis.UniversalClient) error {
		iter := c.Scan(ctx, 0, st.Prefix()+"*", 1000).Iterator()
		for iter.Next(ctx) {
			mu.Lock()
			out = append(out, iter.Val())
			mu.Unlock()
		}
		return iter.Err()
	})
	slices.Sort(out)
	return out, err
}

// UsedMemory returns Redis's used_memory (the bytes its allocator holds),
// summed over the masters of a cluster, for benchmarks that measure what
// stored data costs.
func UsedMemory(tb testing.TB, st *store.Store) int64 {
	tb.Helper()
	si, err := st.ServerInfo(context.Background())
	if err != nil {
		tb.Fatalf("storetest: %v", err)
	}
	if si.UsedMemory == 0 {
		tb.Fatal("storetest: the server reports no used_memory")
	}
	return si.UsedMemory
}

package storetest

import (
	"context"
	"regexp"
	"testing"

	"github.com/digestbot/digestbot/store"
	"github.com/redis/go-redis/v9"
)

// Backend names: the subtests of EachBackend and the NAME of the log line.
const (
	RedisServer  = "redis-server" // one real redis-server
	RedisCluster = "cluster"      // a real Redis Cluster of three masters
	Embedded     = "embedded"     // miniredis in process
)

// LogPattern matches the line every helper logs when it hands out a
// backend; its first group is the backend's name.
var LogPattern = regexp.MustCompile(`storetest: backend=([a-z-]+) \(`)

// logBackend logs which backend a test got, in the format of LogPattern.
func logBackend(tb testing.TB, name, detail string) {
	tb.Helper()
	tb.Log(backendLine(name, detail))
}

func backendLine(name, detail string) string {
	return "storetest: backend=" + name + " (" + detail + ")"
}

// Backend is one kind of Redis a suite runs on, handed to the function of
// EachBackend.
type Backend struct {
	// Name is RedisServer, RedisCluster or Embedded.
	Name string
	// URL is the address of the server or cluster; "" for Embedded.
	URL string
}

// Embedded reports whether this is the embedded store, whose clock tests
// may move (store.Store.AdvanceClock) and which no second process shares.
func (b *Backend) Embedded() bool { return b.Name == Embedded }

// Open opens a store on the backend, closed (and its keys deleted) when the
// test ends: on a real server or cluster under a prefix of its own unless
// opts.Prefix is set, on the embedded backend on a fresh miniredis.
func (b *Backend) Open(tb testing.TB, opts store.Options) *store.Store {
	tb.Helper()
	if b.Embedded() {
		return OpenEmbeddedWith(tb, opts)
	}
	opts.URL = b.URL
	return OpenOn(tb, opts)
}

// Replica opens a second store on the same Redis and prefix as st, as
// another replica of the bot would: a client of its own, the same data.
func (b *Backend) Replica(tb testing.TB, st *store.Store) *store.Store {
	tb.Helper()
	u := b.URL
	if b.Embedded() {
		c, ok := st.Client().(*redis.Client)
		if !ok {
			tb.Fatalf("storetest: the embedded store has a %T client", st.Client())
		}
		u = "redis://" + c.Options().Addr
	}
	r, err := store.Open(context.Background(), store.Options{URL: u, Prefix: st.Prefix(), Retention: st.Retention(), Logger: quiet})
	if err != nil {
		tb.Fatalf("storetest: open a replica's store: %v", err)
	}
	tb.Cleanup(func() { _ = r.Close() })
	return r
}

// EachBackend runs f as a subtest on each backend: "redis-server" (the
// shared server of Open), "cluster" (the shared cluster of Cluster) and
// "embedded". A backend that is not available skips its subtest, or fails
// it when DIGESTBOT_REQUIRE_REDIS=1; the log says which ran (the embedded
// backend's line comes when f opens a store).
func EachBackend(t *testing.T, f func(t *testing.T, b *Backend)) {
	t.Helper()
	eachBackend(t, []string{RedisServer, RedisCluster, Embedded}, f)
}

// EachRealBackend is EachBackend without the embedded store: for suites
// that need a URL (a second process, the command line) or real time.
func EachRealBackend(t *testing.T, f func(t *testing.T, b *Backend)) {
	t.Helper()
	eachBackend(t, []string{RedisServer, RedisCluster}, f)
}

func eachBackend(t *testing.T, names []string, f func(t *testing.T, b *Backend)) {
	t.Helper()
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			b := &Backend{Name: name}
			switch name {
			case RedisServer:
				b.URL = sharedServer(t).URL
			case RedisCluster:
				b.URL = Cluster(t)
			}
			f(t, b)
		})
	}
}

package ingest

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/store"
	"github.com/digestbot/digestbot/store/storetest"
)

// feedFarm is a set of loopback HTTP servers, each a "host" of its own
// (its own port), serving generated RSS feeds at /f/N with an ETag. It
// records every fetch, and how many fetches of one host by one client
// (User-Agent: one per replica) ran at once.
type feedFarm struct {
	servers     []*httptest.Server
	perHost     int
	think       time.Duration // how long each answer takes
	conditional atomic.Int64  // requests with If-None-Match

	mu      sync.Mutex
	fetches map[string][]time.Time // URL -> arrival times
	running map[string]int         // host + " " + agent -> fetches running
	maxRun  map[string]int         // host + " " + agent -> most at once
	byAgent map[string]int         // agent -> fetches
}

func newFeedFarm(tb testing.TB, hosts, perHost int, think time.Duration) *feedFarm {
	f := &feedFarm{perHost: perHost, think: think, fetches: map[string][]time.Time{},
		running: map[string]int{}, maxRun: map[string]int{}, byAgent: map[string]int{}}
	for range hosts {
		srv := httptest.NewServer(http.HandlerFunc(f.serve))
		tb.Cleanup(srv.Close)
		f.servers = append(f.servers, srv)
	}
	return f
}

func (f *feedFarm) urls() []string {
	var out []string
	for _, s := range f.servers {
		for i := range f.perHost {
			out = append(out, fmt.Sprintf("%s/f/%d", s.URL, i))
		}
	}
	return out
}

func (f *feedFarm) serve(w http.ResponseWriter, r *http.Request) {
	url := "http://" + r.Host + r.URL.Path
	slot := r.Host + " " + r.UserAgent()
	f.mu.Lock()
	f.fetches[url] = append(f.fetches[url], time.Now())
	f.byAgent[r.UserAgent()]++
	f.running[slot]++
	f.maxRun[slot] = max(f.maxRun[slot], f.running[slot])
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.running[slot]--
		f.mu.Unlock()
	}()
	if f.think > 0 {
		time.Sleep(f.think)
	}
	const etag = `"v1"`
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		f.conditional.Add(1)
		if inm == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	w.Header().Set("ETag", etag)
	w.Header().Set("Content-Type", "application/rss+xml")
	fmt.Fprintf(w, `<?xml version="1.0"?><rss version="2.0"><channel><title>Farm %s</title><link>%s</link>`, r.URL.Path, url)
	for i := range 2 {
		fmt.Fprintf(w, `<item><title>Story %d of %s</title><link>%s/story/%d</link><description>Story %d.</description></item>`, i, url, url, i, i)
	}
	fmt.Fprint(w, `</channel></rss>`)
}

// fetched returns a copy of the fetch times by URL.
func (f *feedFarm) fetched() map[string][]time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string][]time.Time, len(f.fetches))
	for u, ts := range f.fetches {
		out[u] = slices.Clone(ts)
	}
	return out
}

// replica is one poller process as the tests see it: a store client of
// its own (on the shared Redis and prefix), a Fetcher naming it in its
// User-Agent, and the start times its host limiter granted.
type replica struct {
	name   string
	p      *Poller
	mu     sync.Mutex
	starts map[string][]time.Time // host -> granted start times
}

// newReplica opens a store client on url under prefix and a Poller on it.
func newReplica(tb testing.TB, name, url, prefix string, o PollerOptions) *replica {
	st := storetest.OpenOn(tb, store.Options{URL: url, Prefix: prefix})
	o.Feeds, o.Articles = st, st
	o.Fetcher = NewFetcher(FetcherOptions{AllowPrivate: true, UserAgent: name})
	p, err := NewPoller(o)
	if err != nil {
		tb.Fatal(err)
	}
	r := &replica{name: name, p: p, starts: map[string][]time.Time{}}
	p.hosts.onStart = func(host string, at time.Time) {
		r.mu.Lock()
		r.starts[host] = append(r.starts[host], at)
		r.mu.Unlock()
	}
	return r
}

// runReplicas runs every replica's Poller until the returned stop is called.
func runReplicas(rs []*replica) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, r := range rs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = r.p.Run(ctx)
		}()
	}
	return func() { cancel(); wg.Wait() }
}

// waitFor polls cond until it holds, failing the test after limit.
func waitFor(tb testing.TB, limit time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// settled reports whether every feed is due at or after at (fetched in
// this round, the next one an interval away).
func settled(ctx context.Context, q digestbot.DueQueue, urls []string, at time.Time) bool {
	for _, u := range urls {
		due, ok, err := q.When(ctx, digestbot.FeedID(u))
		if err != nil || !ok || due.Before(at) {
			return false
		}
	}
	return true
}

// TestPollersShareFeeds: three replicas (each its own Poller, Worker and
// store client) poll 300 feeds on 6 hosts from one real Redis. Every URL
// is fetched exactly once per interval, every replica does some of it, a
// URL three servers follow is fetched once and its stories are visible to
// exactly those three, the second round is conditional, and no replica
// runs more than PerHost fetches of a host at once or starts two closer
// than HostDelay.
func TestPollersShareFeeds(t *testing.T) {
	storetest.EachRealBackend(t, testPollersShareFeeds)
}

func testPollersShareFeeds(t *testing.T, b *storetest.Backend) {
	const hosts, perHost = 6, 50
	farm := newFeedFarm(t, hosts, perHost, 2*time.Millisecond)
	urls := farm.urls()
	st := b.Open(t, store.Options{})
	ctx := context.Background()
	shared := urls[0]
	for i, u := range urls {
		guilds := []string{fmt.Sprintf("g%d", 10+i%7)}
		if u == shared {
			guilds = []string{"g1", "g2", "g3"}
		}
		for _, g := range guilds {
			addFeed(t, st, &digestbot.Feed{GuildID: g, URL: u})
		}
	}

	// The replicas' clock runs with the wall clock from t0; a round moves
	// it on by an interval.
	var offset atomic.Int64
	start := time.Now()
	now := func() time.Time { return t0.Add(time.Duration(offset.Load()) + time.Since(start)) }
	const hostDelay = 3 * time.Millisecond
	var rs []*replica
	for i := range 3 {
		rs = append(rs, newReplica(t, fmt.Sprintf("replica-%d", i), b.URL, st.Prefix(), PollerOptions{
			Concurrency: 8, PerHost: 2, HostDelay: hostDelay, Poll: 10 * time.Millisecond,
			// A take renewed while its fetch runs; short, so that a fetch
			// cut off by a loaded machine is retried within the round.
			Hold: 15 * time.Second, Now: now, Rand: func() float64 { return 0 },
		}))
	}
	// A fetch made from here on is next due an interval later, at or
	// after next: the bound is taken before any replica can fetch (taken
	// after, a fetch in between would be due before it and the round
	// would never look settled).
	next := now().Add(DefaultPollInterval).Truncate(time.Millisecond) // the queue counts in ms
	stop := runReplicas(rs)
	defer stop()

	q := st.FeedQueue()
	for round := 1; round <= 2; round++ {
		waitFor(t, 3*time.Minute, fmt.Sprintf("round %d to fetch every feed", round), func() bool {
			return settled(ctx, q, urls, next)
		})
		for _, u := range urls {
			if n := len(farm.fetched()[u]); n != round {
				t.Fatalf("round %d: %s fetched %d times, want %d", round, u, n, round)
			}
		}
		// The next interval: the clock moves on by one, and every fetch
		// after that is due one more later.
		next = now().Add(2 * DefaultPollInterval).Truncate(time.Millisecond)
		offset.Add(int64(DefaultPollInterval))
	}
	stop()

	if n := farm.conditional.Load(); n != int64(len(urls)) {
		t.Errorf("%d conditional requests, want one per URL in the second round (%d)", n, len(urls))
	}
	farm.mu.Lock()
	for _, r := range rs {
		if farm.byAgent[r.name] == 0 {
			t.Errorf("%s fetched nothing: %v", r.name, farm.byAgent)
		}
	}
	for slot, n := range farm.maxRun {
		if n > 2 {
			t.Errorf("%s: %d fetches of one host at once, the limit is 2", slot, n)
		}
	}
	farm.mu.Unlock()
	for _, r := range rs {
		for host, ts := range r.starts {
			slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
			for i := 1; i < len(ts); i++ {
				// rate counts in float64 events per second: a gap may
				// come out a nanosecond or so short.
				if gap := ts[i].Sub(ts[i-1]); gap < hostDelay-time.Microsecond {
					t.Fatalf("%s started two fetches of %s %v apart, the least is %v", r.name, host, gap, hostDelay)
				}
			}
		}
	}

	// The shared URL's stories: stored once, visible to its three servers.
	ids := []string{
		digestbot.ArticleID(shared+"/story/0", "", "", ""),
		digestbot.ArticleID(shared+"/story/1", "", "", ""),
	}
	arts, err := st.GetArticles(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range arts {
		if a == nil {
			t.Fatalf("story %s of the shared feed is not stored", ids[i])
		}
		if g := slices.Sorted(slices.Values(a.Guilds)); !slices.Equal(g, []string{"g1", "g2", "g3"}) {
			t.Errorf("%q is visible to %v, want g1, g2 and g3", a.Title, g)
		}
		if !strings.Contains(a.Title, "/f/0") {
			t.Errorf("story %q is not the shared feed's", a.Title)
		}
	}
}

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

// feedServer serves a small RSS feed with an ETag and counts requests and
// conditional requests.
type feedServer struct {
	*httptest.Server
	hits        atomic.Int32
	conditional atomic.Int32
	mu          sync.Mutex
	status      int    // when set, answer this status instead of the feed
	retryAfter  string // sent with status
	body        string
	gate        chan struct{} // when set, requests wait for it to close (see hold)
	arrived     chan struct{} // a request waiting at the gate sends here
}

func newFeedServer(t *testing.T, items int) *feedServer {
	fs := &feedServer{body: rssWithItems("Loopback Ledger", items)}
	fs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fs.hits.Add(1)
		fs.mu.Lock()
		gate, arrived := fs.gate, fs.arrived
		fs.mu.Unlock()
		if gate != nil {
			arrived <- struct{}{}
			select {
			case <-gate:
			case <-r.Context().Done():
				return
			}
		}
		fs.mu.Lock()
		status, retry, body := fs.status, fs.retryAfter, fs.body
		fs.mu.Unlock()
		if status != 0 {
			if retry != "" {
				w.Header().Set("Retry-After", retry)
			}
			w.WriteHeader(status)
			return
		}
		etag := fmt.Sprintf(`"%x"`, len(body))
		if r.Header.Get("If-None-Match") != "" {
			fs.conditional.Add(1)
			if r.Header.Get("If-None-Match") == etag {
				w.WriteHeader(http.StatusNotModified)
				return
			}
		}
		w.Header().Set("ETag", etag)
		w.Header().Set("Content-Type", "application/rss+xml")
		w.Write([]byte(body))
	}))
	t.Cleanup(fs.Close)
	return fs
}

func (fs *feedServer) set(status int, retryAfter string) {
	fs.mu.Lock()
	fs.status, fs.retryAfter = status, retryAfter
	fs.mu.Unlock()
}

// hold makes requests wait mid-fetch until release is called: a poll is
// then in flight for as long as a test needs. arrived receives once for
// every request that waits; the answer is the one set when it is released.
func (fs *feedServer) hold() (arrived <-chan struct{}, release func()) {
	gate, ch := make(chan struct{}), make(chan struct{}, 16)
	fs.mu.Lock()
	fs.gate, fs.arrived = gate, ch
	fs.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			fs.mu.Lock()
			fs.gate, fs.arrived = nil, nil
			fs.mu.Unlock()
			close(gate)
		})
	}
}

// stopHolding answers the requests that arrive from now on at once; those
// held already wait for release.
func (fs *feedServer) stopHolding() {
	fs.mu.Lock()
	fs.gate, fs.arrived = nil, nil
	fs.mu.Unlock()
}

func rssWithItems(title string, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<?xml version="1.0"?><rss version="2.0"><channel><title>%s</title><link>https://ledger.example/</link>`, title)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `<item><title>Entry %d</title><link>https://ledger.example/e/%d</link><description>Entry number %d.</description></item>`, i, i, i)
	}
	b.WriteString(`</channel></rss>`)
	return b.String()
}

// testPoller builds a Poller over loopback (private addresses allowed, as
// httptest listens there) with no jitter, on o.Feeds or else a store of
// its own on a real Redis.
func testPoller(t *testing.T, o PollerOptions) *Poller {
	t.Helper()
	if o.Fetcher == nil {
		o.Fetcher = NewFetcher(FetcherOptions{AllowPrivate: true})
	}
	if o.Feeds == nil {
		o.Feeds = storetest.Open(t)
	}
	o.Rand = func() float64 { return 0 }
	p, err := NewPoller(o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// t0 is the poller's clock in these tests. Feeds added or resumed are due
// at once, earlier than any clock.
var t0 = time.Date(2024, 6, 1, 8, 0, 0, 0, time.UTC)

func addFeed(t *testing.T, st *store.Store, f *digestbot.Feed) {
	t.Helper()
	if _, err := st.AddFeed(context.Background(), f, 100); err != nil {
		t.Fatal(err)
	}
}

// TestPollConditionalGet is the must-show: the second poll sends
// If-None-Match, gets 304 and stores nothing.
func TestPollConditionalGet(t *testing.T) {
	srv := newFeedServer(t, 3)
	sink := newMemSink()
	var stored atomic.Int32
	p := testPoller(t, PollerOptions{
		Articles:    sink,
		ConfigFeeds: []*digestbot.Feed{{URL: srv.URL + "/feed.xml", Name: "Ledger"}},
		OnStored: func(_ context.Context, arts []*digestbot.Article, outs []digestbot.PutOutcome) {
			stored.Add(int32(len(arts)))
		},
	})
	ctx := context.Background()

	res := p.PollOnce(ctx, t0)
	if len(res) != 1 || res[0].Err != nil || res[0].Outcomes[digestbot.PutNew] != 3 {
		t.Fatalf("first poll: %+v", res)
	}
	if sink.count() != 3 || stored.Load() != 3 {
		t.Fatalf("stored %d, hook saw %d; want 3", sink.count(), stored.Load())
	}
	for _, a := range sink.byID {
		if a.Source != "Ledger" || a.Feed != srv.URL+"/feed.xml" {
			t.Errorf("source %q feed %q", a.Source, a.Feed)
		}
	}

	// Not due yet: nothing is fetched.
	if res := p.PollOnce(ctx, t0.Add(time.Minute)); len(res) != 0 || srv.hits.Load() != 1 {
		t.Fatalf("poll before the interval: %+v, %d hits", res, srv.hits.Load())
	}

	calls := sink.calls
	res = p.PollOnce(ctx, t0.Add(DefaultPollInterval))
	if len(res) != 1 || !res[0].NotModified || res[0].Err != nil {
		t.Fatalf("second poll: %+v", res)
	}
	if srv.conditional.Load() != 1 {
		t.Errorf("second poll sent no If-None-Match")
	}
	if sink.calls != calls || stored.Load() != 3 || sink.count() != 3 {
		t.Errorf("304 stored something: %d store calls, hook saw %d", sink.calls-calls, stored.Load())
	}
	h, _ := p.Health(ctx, srv.URL+"/feed.xml")
	if !h.LastSuccess.Equal(t0.Add(DefaultPollInterval)) || h.ETag == "" || h.Failures != 0 {
		t.Errorf("health after 304: %+v", h)
	}
}

func TestPollRetryAfter(t *testing.T) {
	for _, status := range []int{http.StatusServiceUnavailable, http.StatusTooManyRequests} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			srv := newFeedServer(t, 1)
			srv.set(status, "3600")
			p := testPoller(t, PollerOptions{Articles: newMemSink(), ConfigFeeds: []*digestbot.Feed{{URL: srv.URL}}, Interval: time.Minute})
			ctx := context.Background()
			res := p.PollOnce(ctx, t0)
			if len(res) != 1 || res[0].Err == nil {
				t.Fatalf("first poll: %+v", res)
			}
			h, _ := p.Health(ctx, srv.URL)
			if !h.NextPoll.Equal(t0.Add(time.Hour)) || h.Failures != 1 || !strings.Contains(h.LastError, fmt.Sprint(status)) {
				t.Errorf("health %+v: want next poll in an hour", h)
			}
			srv.set(0, "")
			p.PollOnce(ctx, t0.Add(30*time.Minute))
			if srv.hits.Load() != 1 {
				t.Errorf("polled again before Retry-After")
			}
			if res := p.PollOnce(ctx, t0.Add(time.Hour)); len(res) != 1 || res[0].Err != nil {
				t.Errorf("poll after Retry-After: %+v", res)
			}
		})
	}
}

func TestPollBackoffAndPause(t *testing.T) {
	srv := newFeedServer(t, 1)
	srv.set(http.StatusInternalServerError, "")
	st := storetest.Open(t)
	addFeed(t, st, &digestbot.Feed{GuildID: "g1", URL: srv.URL, Interval: time.Minute})
	p := testPoller(t, PollerOptions{Articles: newMemSink(), Feeds: st, MaxFailures: 4})
	ctx := context.Background()

	now := t0
	wantDelays := []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute}
	for i, d := range wantDelays {
		res := p.PollOnce(ctx, now)
		if len(res) != 1 || res[0].Err == nil || res[0].Paused {
			t.Fatalf("poll %d: %+v", i+1, res)
		}
		h, _ := st.FeedHealth(ctx, srv.URL)
		if got := h.NextPoll.Sub(now); got != d || h.Failures != i+1 {
			t.Fatalf("after failure %d: next poll in %v with %d failures, want %v", i+1, got, h.Failures, d)
		}
		if at, _, _ := st.FeedQueue().When(ctx, digestbot.FeedID(srv.URL)); !at.Equal(h.NextPoll) {
			t.Fatalf("due in the queue at %v, want the health's next poll %v", at, h.NextPoll)
		}
		// Halfway there it is not polled.
		p.PollOnce(ctx, now.Add(d/2))
		if int(srv.hits.Load()) != i+1 {
			t.Fatalf("polled during backoff")
		}
		now = now.Add(d)
	}
	res := p.PollOnce(ctx, now)
	if len(res) != 1 || !res[0].Paused {
		t.Fatalf("fourth failure did not pause: %+v", res)
	}
	h, _ := st.FeedHealth(ctx, srv.URL)
	if !strings.Contains(h.PausedReason, "4 consecutive failures") || !strings.Contains(h.PausedReason, "500") {
		t.Errorf("paused reason %q", h.PausedReason)
	}
	hits := srv.hits.Load()
	for _, later := range []time.Duration{48 * time.Hour, 30 * 24 * time.Hour} {
		p.PollOnce(ctx, now.Add(later))
		if srv.hits.Load() != hits {
			t.Errorf("a paused feed was polled %v later", later)
		}
	}
	// Resumed, it is polled at once and a success clears the failures.
	srv.set(0, "")
	if err := p.Resume(ctx, srv.URL); err != nil {
		t.Fatal(err)
	}
	if res := p.PollOnce(ctx, now.Add(48*time.Hour)); len(res) != 1 || res[0].Err != nil {
		t.Fatalf("after resume: %+v", res)
	}
	h, _ = st.FeedHealth(ctx, srv.URL)
	if h.Failures != 0 || h.PausedReason != "" || h.LastError != "" {
		t.Errorf("health after recovery: %+v", h)
	}
}

// TestPollResumedByAnotherReplica: /feeds add may be answered by another
// replica than the one that polls next; the pause it lifts reaches every
// poller.
func TestPollResumedByAnotherReplica(t *testing.T) {
	srv := newFeedServer(t, 1)
	srv.set(http.StatusGone, "")
	st := storetest.Open(t)
	addFeed(t, st, &digestbot.Feed{GuildID: "g1", URL: srv.URL, Interval: time.Minute})
	polling := testPoller(t, PollerOptions{Articles: newMemSink(), Feeds: st})
	other := testPoller(t, PollerOptions{Articles: newMemSink(), Feeds: st})
	ctx := context.Background()
	if res := polling.PollOnce(ctx, t0); len(res) != 1 || !res[0].Paused {
		t.Fatalf("410 did not pause the feed: %+v", res)
	}
	srv.set(0, "")
	if err := other.Resume(ctx, srv.URL); err != nil {
		t.Fatal(err)
	}
	if res := polling.PollOnce(ctx, t0.Add(time.Minute)); len(res) != 1 || res[0].Err != nil {
		t.Fatalf("the polling replica did not see the resume: %+v", res)
	}
}

func TestPollFailures(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		status  int
		maxBody int64
		want    string // in LastError
		paused  bool
	}{
		{"body over the cap", rssWithItems("Big", 200), 0, 2048, "larger than", false},
		{"not a feed", "<html><body>moved</body></html>", 0, 0, "this is an HTML page", false},
		{"broken xml", `<rss version="2.0"><channel><item><title>x</title></item>`, 0, 0, ":1: not a valid RSS feed: broken XML", false},
		{"json, not a feed", `{"hello":"world"}`, 0, 0, "a JSON document, but not a JSON Feed", false},
		{"gone", "", http.StatusGone, 0, "410", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFeedServer(t, 0)
			srv.body = tt.body
			srv.set(tt.status, "")
			sink := newMemSink()
			var failed atomic.Int32
			p := testPoller(t, PollerOptions{
				Articles:    sink,
				ConfigFeeds: []*digestbot.Feed{{URL: srv.URL}},
				Fetcher:     NewFetcher(FetcherOptions{AllowPrivate: true, MaxBodyBytes: tt.maxBody}),
				OnPolled: func(r PollResult) {
					if r.Err != nil {
						failed.Add(1)
					}
				},
			})
			res := p.PollOnce(context.Background(), t0)
			if len(res) != 1 || res[0].Err == nil || res[0].Paused != tt.paused {
				t.Fatalf("result %+v", res)
			}
			if failed.Load() != 1 {
				t.Errorf("OnPolled saw %d failures, want 1 (the failure metric counts them)", failed.Load())
			}
			h, _ := p.Health(context.Background(), srv.URL)
			if !strings.Contains(h.LastError, tt.want) || h.Failures != 1 {
				t.Errorf("health %+v, want last error containing %q", h, tt.want)
			}
			if sink.calls != 0 {
				t.Errorf("something was stored")
			}
		})
	}
}

// TestPollSlowFeedDoesNotDelayOthers: the slow feed's server answers only
// once the fast feed's articles are stored. Were polls serial behind it,
// the fast feed would wait for the slow one and the slow one would time out.
func TestPollSlowFeedDoesNotDelayOthers(t *testing.T) {
	fastStored := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-fastStored:
		case <-r.Context().Done():
			return
		}
		w.Write([]byte(rssWithItems("Slow", 1)))
	}))
	defer slow.Close()
	fast := newFeedServer(t, 2)
	var once sync.Once
	p := testPoller(t, PollerOptions{
		Articles:    newMemSink(),
		ConfigFeeds: []*digestbot.Feed{{URL: slow.URL}, {URL: fast.URL}},
		Concurrency: 2,
		Fetcher:     NewFetcher(FetcherOptions{AllowPrivate: true, Timeout: 20 * time.Second}),
		OnStored: func(_ context.Context, arts []*digestbot.Article, _ []digestbot.PutOutcome) {
			if arts[0].Source == "Loopback Ledger" {
				once.Do(func() { close(fastStored) })
			}
		},
	})
	res := p.PollOnce(context.Background(), t0)
	if len(res) != 2 {
		t.Fatalf("results %+v", res)
	}
	for _, r := range res {
		if r.Err != nil {
			t.Errorf("%s: %v", r.URL, r.Err)
		}
	}
}

func TestPollMergesFeeds(t *testing.T) {
	srv := newFeedServer(t, 1)
	st := storetest.Open(t)
	addFeed(t, st, &digestbot.Feed{GuildID: "g1", URL: srv.URL, Name: "Guild Name", Interval: 10 * time.Minute, AddedAt: t0})
	addFeed(t, st, &digestbot.Feed{GuildID: "g2", URL: srv.URL, Interval: 5 * time.Second, AddedAt: t0.Add(time.Second)})
	sink := newMemSink()
	p := testPoller(t, PollerOptions{Articles: sink, Feeds: st, ConfigFeeds: []*digestbot.Feed{{URL: srv.URL}}})
	if res := p.PollOnce(context.Background(), t0); len(res) != 1 {
		t.Fatalf("one URL in three entries polled %d times", len(res))
	}
	h, _ := st.FeedHealth(context.Background(), srv.URL)
	if got := h.NextPoll.Sub(t0); got != MinPollInterval {
		t.Errorf("interval %v, want the shortest clamped to %v", got, MinPollInterval)
	}
	for _, a := range sink.byID {
		if a.Source != "Guild Name" {
			t.Errorf("source %q", a.Source)
		}
	}
}

// TestResumeFetchesInFull: /feeds add resumes the feed, and the poll that
// follows is unconditional, so the feed's current articles are stored again
// (now visible to the server that just added it) instead of a 304.
func TestResumeFetchesInFull(t *testing.T) {
	srv := newFeedServer(t, 2)
	st := storetest.Open(t)
	addFeed(t, st, &digestbot.Feed{GuildID: "g1", URL: srv.URL, AddedAt: t0})
	sink := newMemSink()
	p := testPoller(t, PollerOptions{Articles: sink, Feeds: st})
	ctx := context.Background()
	p.PollOnce(ctx, t0)
	addFeed(t, st, &digestbot.Feed{GuildID: "g2", URL: srv.URL, AddedAt: t0.Add(time.Second)})
	if err := p.Resume(ctx, srv.URL); err != nil {
		t.Fatal(err)
	}
	res := p.PollOnce(ctx, t0.Add(time.Second))
	if len(res) != 1 || res[0].NotModified || srv.conditional.Load() != 0 {
		t.Fatalf("poll after resume: %+v, %d conditional requests; want a full fetch", res, srv.conditional.Load())
	}
	for _, a := range sink.byID {
		if !slices.Equal(a.Guilds, []string{"g1", "g2"}) {
			t.Errorf("after the second server added the feed, %q is visible to %v", a.Title, a.Guilds)
		}
	}
}

// TestPollFeedVisibility: what a server's own feed brings in is visible to
// the servers that added it; a feed the configuration lists is public.
func TestPollFeedVisibility(t *testing.T) {
	for _, tc := range []struct {
		name   string
		config bool
		want   []string
	}{
		{"two servers' feed", false, []string{"g1", "g2"}},
		{"also in the configuration", true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newFeedServer(t, 2)
			st := storetest.Open(t)
			addFeed(t, st, &digestbot.Feed{GuildID: "g1", URL: srv.URL, AddedAt: t0})
			addFeed(t, st, &digestbot.Feed{GuildID: "g2", URL: srv.URL, AddedAt: t0.Add(time.Second)})
			addFeed(t, st, &digestbot.Feed{GuildID: "g1", URL: srv.URL})
			opts := PollerOptions{Articles: newMemSink(), Feeds: st}
			if tc.config {
				opts.ConfigFeeds = []*digestbot.Feed{{URL: srv.URL}}
			}
			p := testPoller(t, opts)
			p.PollOnce(context.Background(), t0)
			sink := opts.Articles.(*memSink)
			if len(sink.byID) != 2 {
				t.Fatalf("%d articles stored, want 2", len(sink.byID))
			}
			for _, a := range sink.byID {
				if !slices.Equal(a.Guilds, tc.want) {
					t.Errorf("article %q visible to %v, want %v", a.Title, a.Guilds, tc.want)
				}
			}
		})
	}
}

// TestPollUnfollowedFeedLeavesQueue: once the last server removes a feed,
// it is not fetched again and leaves the queue when it falls due.
func TestPollUnfollowedFeedLeavesQueue(t *testing.T) {
	srv := newFeedServer(t, 1)
	st := storetest.Open(t)
	addFeed(t, st, &digestbot.Feed{GuildID: "g1", URL: srv.URL})
	p := testPoller(t, PollerOptions{Articles: newMemSink(), Feeds: st})
	ctx := context.Background()
	if res := p.PollOnce(ctx, t0); len(res) != 1 {
		t.Fatalf("first poll: %+v", res)
	}
	if err := st.RemoveFeed(ctx, "g1", srv.URL); err != nil {
		t.Fatal(err)
	}
	if res := p.PollOnce(ctx, t0.Add(DefaultPollInterval)); len(res) != 0 || srv.hits.Load() != 1 {
		t.Fatalf("a removed feed was polled: %+v, %d fetches", res, srv.hits.Load())
	}
	if _, ok, err := st.FeedQueue().When(ctx, digestbot.FeedID(srv.URL)); err != nil || ok {
		t.Fatalf("a feed no server follows is still queued (%v, %v)", ok, err)
	}
}

func TestPollRunStops(t *testing.T) {
	srv := newFeedServer(t, 1)
	sink := newMemSink()
	polled := make(chan struct{})
	var once sync.Once
	p := testPoller(t, PollerOptions{Articles: sink, ConfigFeeds: []*digestbot.Feed{{URL: srv.URL}},
		OnStored: func(context.Context, []*digestbot.Article, []digestbot.PutOutcome) { once.Do(func() { close(polled) }) }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- p.Run(ctx) }()
	<-polled
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if sink.count() != 1 {
		t.Errorf("stored %d", sink.count())
	}
}

// pollInFlight starts p.PollOnce(now) with the feed server holding every
// request, and returns once the fetch is in flight; finish releases the
// server and waits for the poll to end.
func pollInFlight(t *testing.T, p *Poller, srv *feedServer, now time.Time) (finish func() []PollResult) {
	t.Helper()
	arrived, release := srv.hold()
	done := make(chan []PollResult, 1)
	go func() { done <- p.PollOnce(context.Background(), now) }()
	<-arrived
	srv.stopHolding() // later requests are answered at once
	return func() []PollResult {
		release()
		return <-done
	}
}

// TestResumeDuringPoll: a resume arrives while the feed is being fetched
// (from /feeds add on another replica, or on this one). The fetch in flight
// started from the old state and would save it when it ends (the ETag it
// sent, one more failure, a due time an interval away); the resume must
// survive that: the next poll fetches the feed in full and unpaused.
func TestResumeDuringPoll(t *testing.T) {
	for _, tc := range []struct {
		name        string
		status      int // what the feed answers before the resume (0: the feed)
		maxFailures int
	}{
		{"validators of a healthy feed", 0, 0},
		{"pause of a failing feed", http.StatusInternalServerError, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newFeedServer(t, 2)
			st := storetest.Open(t)
			addFeed(t, st, &digestbot.Feed{GuildID: "g1", URL: srv.URL, Interval: time.Minute})
			opts := PollerOptions{Articles: newMemSink(), Feeds: st, MaxFailures: tc.maxFailures}
			polling, other := testPoller(t, opts), testPoller(t, opts)
			ctx := context.Background()
			health := func() *digestbot.FeedHealth {
				h, _ := st.FeedHealth(ctx, srv.URL)
				return h
			}

			srv.set(tc.status, "")
			if res := polling.PollOnce(ctx, t0); len(res) != 1 || (res[0].Err != nil) != (tc.status != 0) {
				t.Fatalf("first poll: %+v", res)
			}
			finish := pollInFlight(t, polling, srv, t0.Add(time.Minute))
			if err := other.Resume(ctx, srv.URL); err != nil {
				t.Fatal(err)
			}
			if res := finish(); len(res) != 1 {
				t.Fatalf("the poll in flight: %+v", res)
			}
			if h := health(); h.PausedReason != "" || h.Failures != 0 || h.ETag != "" {
				t.Fatalf("the poll in flight wrote its health over the resume: %+v", h)
			}

			srv.set(0, "")
			cond := srv.conditional.Load()
			res := polling.PollOnce(ctx, t0.Add(time.Minute+time.Second))
			if len(res) != 1 || res[0].Err != nil || res[0].NotModified || srv.conditional.Load() != cond {
				t.Fatalf("after the resume: %+v, %d conditional requests; want a full fetch (the resume was lost to the poll in flight)",
					res, srv.conditional.Load()-cond)
			}
			if h := health(); h.PausedReason != "" || h.Failures != 0 || h.ETag == "" {
				t.Errorf("health after the resumed poll: %+v", h)
			}
			// Applied once: the poll after does not fetch again.
			if res := polling.PollOnce(ctx, t0.Add(time.Minute+2*time.Second)); len(res) != 0 {
				t.Errorf("the resume was applied again: %+v", res)
			}
		})
	}
}

// TestResumeKeepsFreshHealth: the replica answering /feeds add has polled
// the feed long ago and another has polled it since. Resuming works on the
// health the store has: only the pause, failures, due time and validators
// are reset; what the last poll learned stays.
func TestResumeKeepsFreshHealth(t *testing.T) {
	srv := newFeedServer(t, 1)
	st := storetest.Open(t)
	addFeed(t, st, &digestbot.Feed{GuildID: "g1", URL: srv.URL, Interval: time.Minute})
	former := testPoller(t, PollerOptions{Articles: newMemSink(), Feeds: st})
	current := testPoller(t, PollerOptions{Articles: newMemSink(), Feeds: st})
	ctx := context.Background()
	former.PollOnce(ctx, t0)
	srv.set(http.StatusInternalServerError, "")
	current.PollOnce(ctx, t0.Add(time.Minute))
	if err := former.Resume(ctx, srv.URL); err != nil {
		t.Fatal(err)
	}
	h, _ := st.FeedHealth(ctx, srv.URL)
	if h.Failures != 0 || !h.NextPoll.IsZero() || h.ETag != "" || !strings.Contains(h.LastError, "500") ||
		!h.LastErrorAt.Equal(t0.Add(time.Minute)) || !h.LastSuccess.Equal(t0) {
		t.Errorf("health with the resume applied: %+v", h)
	}
}

// TestPollTakeoverAfterCrash: a replica took a due feed and died before
// finishing it. No one fetches the feed while the take holds; once it
// lapses another replica fetches it, once.
func TestPollTakeoverAfterCrash(t *testing.T) {
	srv := newFeedServer(t, 1)
	st := storetest.Open(t)
	addFeed(t, st, &digestbot.Feed{GuildID: "g1", URL: srv.URL})
	ctx := context.Background()
	const hold = 2 * time.Minute
	// The replica that dies: it takes the feed and is gone.
	if es := takeFeeds(t, st, t0, hold); len(es) != 1 {
		t.Fatalf("took %d feeds, want 1", len(es))
	}
	p := testPoller(t, PollerOptions{Articles: newMemSink(), Feeds: st, Hold: hold})
	if res := p.PollOnce(ctx, t0.Add(time.Second)); len(res) != 0 {
		t.Fatalf("fetched a feed another replica holds: %+v", res)
	}
	if res := p.PollOnce(ctx, t0.Add(hold)); len(res) != 1 || res[0].Err != nil {
		t.Fatalf("after the take lapsed: %+v", res)
	}
	if res := p.PollOnce(ctx, t0.Add(hold+time.Second)); len(res) != 0 || srv.hits.Load() != 1 {
		t.Fatalf("fetched again: %+v, %d fetches", res, srv.hits.Load())
	}
}

func takeFeeds(t *testing.T, st *store.Store, now time.Time, hold time.Duration) []digestbot.DueEntry {
	t.Helper()
	var out []digestbot.DueEntry
	q := st.FeedQueue()
	for sh := range q.Shards() {
		es, err := q.Take(context.Background(), sh, now, 1000, hold)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, es...)
	}
	return out
}

// TestLateReplicaWritesNothing: a replica's fetch outlasts its take;
// another replica takes the feed over and fetches it. When the first fetch
// ends at last, its older health does not replace the newer one.
func TestLateReplicaWritesNothing(t *testing.T) {
	srv := newFeedServer(t, 2)
	st := storetest.Open(t)
	addFeed(t, st, &digestbot.Feed{GuildID: "g1", URL: srv.URL, Interval: time.Minute})
	const hold = 2 * time.Minute
	slow := testPoller(t, PollerOptions{Articles: newMemSink(), Feeds: st, Hold: hold})
	next := testPoller(t, PollerOptions{Articles: newMemSink(), Feeds: st, Hold: hold})
	ctx := context.Background()
	finishSlow := pollInFlight(t, slow, srv, t0)
	if res := next.PollOnce(ctx, t0.Add(hold)); len(res) != 1 || res[0].Err != nil {
		t.Fatalf("the replica that took over: %+v", res)
	}
	if res := finishSlow(); len(res) != 1 {
		t.Fatalf("the slow fetch: %+v", res)
	}
	h, _ := st.FeedHealth(ctx, srv.URL)
	if !h.LastSuccess.Equal(t0.Add(hold)) || !h.NextPoll.Equal(t0.Add(hold+time.Minute)) {
		t.Errorf("health %+v: want the one of the replica that took over", h)
	}
	if at, _, _ := st.FeedQueue().When(ctx, digestbot.FeedID(srv.URL)); !at.Equal(t0.Add(hold + time.Minute)) {
		t.Errorf("due at %v, want %v", at, t0.Add(hold+time.Minute))
	}
}

// TestPollBusyHostFreesWorkers: with one fetch of a host allowed at a
// time and that one running, one more feed of the host waits for it and
// the others are put back for a little later instead of holding workers.
func TestPollBusyHostFreesWorkers(t *testing.T) {
	srv := newFeedServer(t, 1)
	st := storetest.Open(t)
	var ids []string
	for i := range 3 {
		u := fmt.Sprintf("%s/feed/%d", srv.URL, i)
		addFeed(t, st, &digestbot.Feed{GuildID: "g1", URL: u})
		ids = append(ids, digestbot.FeedID(u))
	}
	p := testPoller(t, PollerOptions{Articles: newMemSink(), Feeds: st, Concurrency: 4, PerHost: 1, HostDelay: -1})
	ctx := context.Background()
	running, ok := p.hosts.acquire(ctx, limitHost(srv.URL), time.Second) // a fetch of the host in flight
	if !ok {
		t.Fatal("the host is busy before anything runs")
	}
	done := make(chan []PollResult, 1)
	go func() { done <- p.PollOnce(ctx, t0) }()
	later := t0.Add(time.Second)
	for deadline := time.Now().Add(20 * time.Second); ; {
		n := 0
		for _, id := range ids {
			if at, _, _ := st.FeedQueue().When(ctx, id); at.Equal(later) {
				n++
			}
		}
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d feeds of the busy host were put back, want 2", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	running()
	if res := <-done; len(res) != 1 || srv.hits.Load() != 1 {
		t.Fatalf("with the host busy: %d results, %d fetches; want the one that waited", len(res), srv.hits.Load())
	}
	if res := p.PollOnce(ctx, later); len(res) != 2 {
		t.Fatalf("the feeds put back: %d fetched a second later, want 2", len(res))
	}
}

// TestPollSurvivesAPanic: a bug set off by one feed's content (here in the
// after-store hook) counts as that feed's failure; the poller and the
// other feeds go on.
func TestPollSurvivesAPanic(t *testing.T) {
	bad, good := newFeedServer(t, 1), newFeedServer(t, 1)
	st := storetest.Open(t)
	addFeed(t, st, &digestbot.Feed{GuildID: "g1", URL: bad.URL})
	addFeed(t, st, &digestbot.Feed{GuildID: "g1", URL: good.URL})
	sink := newMemSink()
	p := testPoller(t, PollerOptions{Articles: sink, Feeds: st, OnStored: func(_ context.Context, arts []*digestbot.Article, _ []digestbot.PutOutcome) {
		if arts[0].Feed == bad.URL {
			panic("index bug")
		}
	}})
	res := p.PollOnce(context.Background(), t0)
	if len(res) != 2 {
		t.Fatalf("%d results, want 2", len(res))
	}
	for _, r := range res {
		switch r.URL {
		case bad.URL:
			if r.Err == nil || !strings.Contains(r.Err.Error(), "internal error") {
				t.Errorf("the feed whose content panicked: %+v", r)
			}
			if h, _ := st.FeedHealth(context.Background(), bad.URL); h.Failures != 1 {
				t.Errorf("its health counts %d failures, want 1", h.Failures)
			}
		case good.URL:
			if r.Err != nil {
				t.Errorf("the other feed failed too: %v", r.Err)
			}
		}
	}
}

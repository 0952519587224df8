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
// httptest listens there) with no jitter.
func testPoller(t *testing.T, o PollerOptions) *Poller {
	t.Helper()
	if o.Fetcher == nil {
		o.Fetcher = NewFetcher(FetcherOptions{AllowPrivate: true})
	}
	o.Jitter = func(time.Duration) time.Duration { return 0 }
	p, err := NewPoller(o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var t0 = time.Date(2024, 6, 1, 8, 0, 0, 0, time.UTC)

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
	feeds := &memFeeds{feeds: []*digestbot.Feed{{GuildID: "g1", URL: srv.URL, Interval: time.Minute}}}
	p := testPoller(t, PollerOptions{Articles: newMemSink(), Feeds: feeds, MaxFailures: 4})
	ctx := context.Background()

	now := t0
	wantDelays := []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute}
	for i, d := range wantDelays {
		res := p.PollOnce(ctx, now)
		if len(res) != 1 || res[0].Err == nil || res[0].Paused {
			t.Fatalf("poll %d: %+v", i+1, res)
		}
		h, _ := feeds.FeedHealth(ctx, srv.URL)
		if got := h.NextPoll.Sub(now); got != d || h.Failures != i+1 {
			t.Fatalf("after failure %d: next poll in %v with %d failures, want %v", i+1, got, h.Failures, d)
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
	h, _ := feeds.FeedHealth(ctx, srv.URL)
	if !strings.Contains(h.PausedReason, "4 consecutive failures") || !strings.Contains(h.PausedReason, "500") {
		t.Errorf("paused reason %q", h.PausedReason)
	}
	hits := srv.hits.Load()
	p.PollOnce(ctx, now.Add(48*time.Hour))
	if srv.hits.Load() != hits {
		t.Errorf("a paused feed was polled")
	}
	// Resumed, it is polled at once and a success clears the failures.
	srv.set(0, "")
	if err := p.Resume(ctx, srv.URL); err != nil {
		t.Fatal(err)
	}
	if res := p.PollOnce(ctx, now.Add(48*time.Hour)); len(res) != 1 || res[0].Err != nil {
		t.Fatalf("after resume: %+v", res)
	}
	h, _ = feeds.FeedHealth(ctx, srv.URL)
	if h.Failures != 0 || h.PausedReason != "" || h.LastError != "" {
		t.Errorf("health after recovery: %+v", h)
	}
}

// TestPollResumedByAnotherReplica: /feeds add may be answered by a replica
// that is not polling; the pause it lifts in the store reaches the poller.
func TestPollResumedByAnotherReplica(t *testing.T) {
	srv := newFeedServer(t, 1)
	srv.set(http.StatusGone, "")
	feeds := &memFeeds{feeds: []*digestbot.Feed{{GuildID: "g1", URL: srv.URL, Interval: time.Minute}}}
	polling := testPoller(t, PollerOptions{Articles: newMemSink(), Feeds: feeds})
	other := testPoller(t, PollerOptions{Articles: newMemSink(), Feeds: feeds})
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
			p := testPoller(t, PollerOptions{
				Articles:    sink,
				ConfigFeeds: []*digestbot.Feed{{URL: srv.URL}},
				Fetcher:     NewFetcher(FetcherOptions{AllowPrivate: true, MaxBodyBytes: tt.maxBody}),
			})
			res := p.PollOnce(context.Background(), t0)
			if len(res) != 1 || res[0].Err == nil || res[0].Paused != tt.paused {
				t.Fatalf("result %+v", res)
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
	feeds := &memFeeds{feeds: []*digestbot.Feed{
		{GuildID: "g1", URL: srv.URL, Name: "Guild Name", Interval: 10 * time.Minute},
		{GuildID: "g2", URL: srv.URL, Interval: 5 * time.Second},
	}}
	sink := newMemSink()
	p := testPoller(t, PollerOptions{Articles: sink, Feeds: feeds, ConfigFeeds: []*digestbot.Feed{{URL: srv.URL}}})
	if res := p.PollOnce(context.Background(), t0); len(res) != 1 {
		t.Fatalf("one URL in three entries polled %d times", len(res))
	}
	h, _ := feeds.FeedHealth(context.Background(), srv.URL)
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
	feeds := &memFeeds{feeds: []*digestbot.Feed{{GuildID: "g1", URL: srv.URL}}}
	sink := newMemSink()
	p := testPoller(t, PollerOptions{Articles: sink, Feeds: feeds})
	ctx := context.Background()
	p.PollOnce(ctx, t0)
	feeds.mu.Lock()
	feeds.feeds = append(feeds.feeds, &digestbot.Feed{GuildID: "g2", URL: srv.URL})
	feeds.mu.Unlock()
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
			feeds := &memFeeds{feeds: []*digestbot.Feed{{GuildID: "g1", URL: srv.URL}, {GuildID: "g2", URL: srv.URL}, {GuildID: "g1", URL: srv.URL}}}
			opts := PollerOptions{Articles: newMemSink(), Feeds: feeds}
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

// TestResumeDuringPoll: a resume arrives while the feed is being fetched
// (from /feeds add on another replica, or on this one). The fetch in flight
// started from the old state and saves it when it ends (the ETag it sent,
// one more failure, a due time an interval away); the resume must survive
// that: the next tick fetches the feed in full and unpaused.
func TestResumeDuringPoll(t *testing.T) {
	for _, tc := range []struct {
		name        string
		status      int // what the feed answers before the resume (0: the feed)
		maxFailures int
		inMemory    bool // config feeds only, no FeedSource: the poller resumes itself
	}{
		{"validators of a healthy feed", 0, 0, false},
		{"pause of a failing feed", http.StatusInternalServerError, 2, false},
		{"validators, health in memory", 0, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newFeedServer(t, 2)
			feed := &digestbot.Feed{GuildID: "g1", URL: srv.URL, Interval: time.Minute}
			feeds := &memFeeds{feeds: []*digestbot.Feed{feed}}
			opts := PollerOptions{Articles: newMemSink(), Feeds: feeds, MaxFailures: tc.maxFailures}
			if tc.inMemory {
				opts.Feeds, opts.ConfigFeeds = nil, []*digestbot.Feed{{URL: srv.URL, Interval: time.Minute}}
			}
			polling, other := testPoller(t, opts), testPoller(t, opts)
			if tc.inMemory {
				other = polling
			}
			ctx := context.Background()
			health := func() *digestbot.FeedHealth {
				if tc.inMemory {
					h, _ := polling.Health(ctx, srv.URL)
					return h
				}
				h, _ := feeds.FeedHealth(ctx, srv.URL)
				return h
			}

			srv.set(tc.status, "")
			if res := polling.PollOnce(ctx, t0); len(res) != 1 || (res[0].Err != nil) != (tc.status != 0) {
				t.Fatalf("first poll: %+v", res)
			}
			arrived, release := srv.hold()
			polling.dispatch(ctx, t0.Add(time.Minute), false, nil)
			<-arrived // the second poll is in flight
			if err := other.Resume(ctx, srv.URL); err != nil {
				t.Fatal(err)
			}
			release()
			polling.wg.Wait()
			if tc.status != 0 && health().PausedReason == "" {
				t.Fatalf("the poll in flight did not pause the feed: %+v", health())
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
			if n := feeds.pendingResumes(); n != 0 {
				t.Errorf("%d resume requests still pending after being applied", n)
			}
			// Applied once: the tick after does not fetch again.
			if res := polling.PollOnce(ctx, t0.Add(time.Minute+2*time.Second)); len(res) != 0 {
				t.Errorf("the resume was applied again: %+v", res)
			}
		})
	}
}

// TestResumeKeepsFreshHealth: the replica answering /feeds add has an old
// view of the feed (it polled before the current lease holder took over).
// Resuming must not write that view over the store's: only the pause,
// failures, due time and validators are reset, by the poller, on the
// health the store has.
func TestResumeKeepsFreshHealth(t *testing.T) {
	srv := newFeedServer(t, 1)
	feeds := &memFeeds{feeds: []*digestbot.Feed{{GuildID: "g1", URL: srv.URL, Interval: time.Minute}}}
	former := testPoller(t, PollerOptions{Articles: newMemSink(), Feeds: feeds})
	current := testPoller(t, PollerOptions{Articles: newMemSink(), Feeds: feeds, Concurrency: 1})
	ctx := context.Background()
	former.PollOnce(ctx, t0)
	srv.set(http.StatusInternalServerError, "")
	current.PollOnce(ctx, t0.Add(time.Minute)) // the lease moved; this one fails
	if err := former.Resume(ctx, srv.URL); err != nil {
		t.Fatal(err)
	}
	if h, _ := feeds.FeedHealth(ctx, srv.URL); !h.LastErrorAt.Equal(t0.Add(time.Minute)) || !strings.Contains(h.LastError, "500") {
		t.Fatalf("the resume wrote the old health of the replica that answered: %+v", h)
	}
	// The lease holder applies it at its next tick, over the current health.
	current.sem <- struct{}{} // no free slot: apply without fetching
	current.dispatch(ctx, t0.Add(time.Minute+time.Second), false, nil)
	<-current.sem
	h, _ := feeds.FeedHealth(ctx, srv.URL)
	if h.Failures != 0 || !h.NextPoll.IsZero() || h.ETag != "" || !strings.Contains(h.LastError, "500") || !h.LastSuccess.Equal(t0) {
		t.Errorf("health with the resume applied: %+v", h)
	}
}

// TestResumeSurvivesLeaseHandover: the applied marker lives in the store.
// A lease holder that applies a resume but stops before fetching leaves a
// due feed without validators to the next holder, which fetches it in full
// once, and does not apply the same request again.
func TestResumeSurvivesLeaseHandover(t *testing.T) {
	srv := newFeedServer(t, 2)
	feeds := &memFeeds{feeds: []*digestbot.Feed{{GuildID: "g1", URL: srv.URL, Interval: time.Minute}}}
	first := testPoller(t, PollerOptions{Articles: newMemSink(), Feeds: feeds, Concurrency: 1})
	ctx := context.Background()
	first.PollOnce(ctx, t0)
	if err := first.Resume(ctx, srv.URL); err != nil {
		t.Fatal(err)
	}
	first.sem <- struct{}{} // its one slot is taken: the tick applies but cannot fetch
	first.dispatch(ctx, t0.Add(time.Second), false, nil)
	<-first.sem
	if srv.hits.Load() != 1 {
		t.Fatalf("%d fetches, want 1", srv.hits.Load())
	}
	if h, _ := feeds.FeedHealth(ctx, srv.URL); h.ETag != "" || !h.NextPoll.IsZero() {
		t.Fatalf("the applied resume was not saved: %+v", h)
	}
	if n := feeds.pendingResumes(); n != 0 {
		t.Fatalf("%d resume requests pending after one was applied and saved", n)
	}

	next := testPoller(t, PollerOptions{Articles: newMemSink(), Feeds: feeds})
	cond := srv.conditional.Load()
	if res := next.PollOnce(ctx, t0.Add(2*time.Second)); len(res) != 1 || res[0].NotModified || srv.conditional.Load() != cond {
		t.Fatalf("the next lease holder: %+v; want a full fetch", res)
	}
	if res := next.PollOnce(ctx, t0.Add(3*time.Second)); len(res) != 0 {
		t.Errorf("the resume was applied twice: %+v", res)
	}
}

// TestSyncKeepsFresherHealth: a tick reads the store's health while an
// earlier tick's fetch of the same feed is finishing. The fetch saves its
// result (new ETag, next poll an interval away) after the read; the tick
// must not install its older snapshot over it, or the feed is due at once
// and fetched again with stale validators.
func TestSyncKeepsFresherHealth(t *testing.T) {
	srv := newFeedServer(t, 2)
	feeds := &memFeeds{feeds: []*digestbot.Feed{{GuildID: "g1", URL: srv.URL, Interval: time.Minute}}}
	p := testPoller(t, PollerOptions{Articles: newMemSink(), Feeds: feeds})
	ctx := context.Background()

	arrived, release := srv.hold()
	p.dispatch(ctx, t0, false, nil) // tick 1: the fetch is in flight
	<-arrived
	feeds.setAfterRead(func() {
		// Tick 2 has read the health (never polled); tick 1's fetch now
		// ends and saves.
		release()
		p.wg.Wait()
	})
	var polled atomic.Int32
	p.dispatch(ctx, t0.Add(time.Second), true, func(PollResult) { polled.Add(1) }) // tick 2
	feeds.setAfterRead(nil)
	p.wg.Wait()
	if srv.hits.Load() != 1 || polled.Load() != 0 {
		t.Errorf("tick 2 fetched the feed again (%d fetches): it installed health read before tick 1 saved", srv.hits.Load())
	}
	if h, _ := p.Health(ctx, srv.URL); h.ETag == "" || !h.NextPoll.Equal(t0.Add(time.Minute)) {
		t.Errorf("cached health %+v, want tick 1's", h)
	}
}

// TestPollSurvivesAPanic: a bug set off by one feed's content (here in the
// after-store hook, where articles are indexed) counts as that feed's
// failure; the poller and the other feeds go on.
func TestPollSurvivesAPanic(t *testing.T) {
	bad, good := newFeedServer(t, 1), newFeedServer(t, 1)
	feeds := &memFeeds{feeds: []*digestbot.Feed{{GuildID: "g1", URL: bad.URL}, {GuildID: "g1", URL: good.URL}}}
	sink := newMemSink()
	p := testPoller(t, PollerOptions{Articles: sink, Feeds: feeds, OnStored: func(_ context.Context, arts []*digestbot.Article, _ []digestbot.PutOutcome) {
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
			if h, _ := feeds.FeedHealth(context.Background(), bad.URL); h.Failures != 1 {
				t.Errorf("its health counts %d failures, want 1", h.Failures)
			}
		case good.URL:
			if r.Err != nil {
				t.Errorf("the other feed failed too: %v", r.Err)
			}
		}
	}
}

package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	digestbot "github.com/digestbot/digestbot"
)

// Poller defaults.
const (
	DefaultPollInterval = 15 * time.Minute
	MinPollInterval     = time.Minute
	DefaultMaxFailures  = 10
	DefaultConcurrency  = 4
	DefaultPollTick     = 15 * time.Second
	DefaultMaxBackoff   = 24 * time.Hour
)

// ArticleSink stores articles; digestbot.ArticleStore satisfies it.
type ArticleSink interface {
	PutArticles(ctx context.Context, articles []*digestbot.Article) ([]digestbot.PutOutcome, error)
}

// FeedSource is what the Poller needs of the feed store (*store.Store has
// it): the feeds servers added, the health of each URL, and the resume
// requests of /feeds add.
type FeedSource interface {
	AllFeeds(ctx context.Context) ([]*digestbot.Feed, error)
	FeedHealth(ctx context.Context, url string) (*digestbot.FeedHealth, error)
	// FeedHealths reads the health of several URLs at once, in order.
	FeedHealths(ctx context.Context, urls []string) ([]*digestbot.FeedHealth, error)
	SetFeedHealth(ctx context.Context, h *digestbot.FeedHealth) error
	// RequestFeedResume records that url is to be resumed, without
	// touching its health; each request has a new id.
	RequestFeedResume(ctx context.Context, url string) error
	// FeedResumes returns the id of each URL's pending resume request, in
	// order; "" for none.
	FeedResumes(ctx context.Context, urls []string) ([]string, error)
	// DropFeedResume deletes url's request only if its id is still id.
	DropFeedResume(ctx context.Context, url, id string) error
}

// PollerOptions configure a Poller. Articles is required.
type PollerOptions struct {
	Articles ArticleSink
	// Feeds lists server feeds and keeps health; nil: only ConfigFeeds are
	// polled and health lives in memory.
	Feeds FeedSource
	// ConfigFeeds are the feeds of the configuration file.
	ConfigFeeds []*digestbot.Feed
	// Fetcher fetches; nil means a default Fetcher that refuses private addresses.
	Fetcher *Fetcher
	// Interval is the default per-feed interval (15 min; at least 1 min).
	Interval time.Duration
	// MaxFailures consecutive failures pause a feed (default 10).
	MaxFailures int
	// Concurrency bounds simultaneous fetches (default 4).
	Concurrency int
	// Tick is how often Run looks for due feeds (default 15 s).
	Tick time.Duration
	// MaxBackoff caps the delay after failures (default 24 h).
	MaxBackoff time.Duration
	// OnStored is called after every stored batch (the lookup index
	// attaches here); it must not keep the slices.
	OnStored func(ctx context.Context, articles []*digestbot.Article, outcomes []digestbot.PutOutcome)
	Logger   *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Jitter returns a random delay in [0, max); nil means uniform random.
	// Added to every interval so that feeds do not poll in lock step.
	Jitter func(max time.Duration) time.Duration
}

// Poller polls feeds on their own intervals with conditional GET, backs off
// after failures, honours Retry-After on 429 and 503, pauses a feed after
// MaxFailures consecutive failures (or at once when it is gone, 410), and
// stores what it finds. Fetches run concurrently, at most Concurrency at a
// time, each bounded by the Fetcher's timeout, so one slow or broken feed
// never holds back the others.
type Poller struct {
	o       PollerOptions
	log     *slog.Logger
	sem     chan struct{}
	mu      sync.Mutex
	health  map[string]*digestbot.FeedHealth // cache of the store's health, by URL
	running map[string]bool                  // URLs being fetched now
	// writes counts writes to the cache (saveHealth, an applied resume);
	// wrote holds the count at each URL's last one. syncHealth keeps a
	// cached entry written after it began reading: that entry is newer
	// than what it read.
	writes uint64
	wrote  map[string]uint64
	// resumeLater holds the URLs resumed while being fetched, when health
	// lives in memory (no FeedSource); applied once the fetch has ended.
	resumeLater map[string]bool
	wg          sync.WaitGroup
}

// NewPoller returns a Poller; EINVALID when opts.Articles is nil.
func NewPoller(opts PollerOptions) (*Poller, error) {
	if opts.Articles == nil {
		return nil, digestbot.Errorf(digestbot.EINVALID, "poller needs an article store")
	}
	if opts.Interval <= 0 {
		opts.Interval = DefaultPollInterval
	}
	opts.Interval = max(opts.Interval, MinPollInterval)
	if opts.MaxFailures <= 0 {
		opts.MaxFailures = DefaultMaxFailures
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	if opts.Tick <= 0 {
		opts.Tick = DefaultPollTick
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = DefaultMaxBackoff
	}
	if opts.Fetcher == nil {
		opts.Fetcher = NewFetcher(FetcherOptions{})
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Jitter == nil {
		opts.Jitter = func(max time.Duration) time.Duration {
			if max <= 0 {
				return 0
			}
			return rand.N(max)
		}
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Poller{
		o:           opts,
		log:         log,
		sem:         make(chan struct{}, opts.Concurrency),
		health:      map[string]*digestbot.FeedHealth{},
		running:     map[string]bool{},
		wrote:       map[string]uint64{},
		resumeLater: map[string]bool{},
	}, nil
}

// PollResult says what polling one feed did.
type PollResult struct {
	URL         string
	NotModified bool
	Outcomes    map[digestbot.PutOutcome]int
	Err         error // nil on success
	Paused      bool  // the feed is paused now
}

// Run polls due feeds every Tick until ctx is done, then waits for the
// fetches in flight (cancelled with ctx) and returns nil.
func (p *Poller) Run(ctx context.Context) error {
	t := time.NewTicker(p.o.Tick)
	defer t.Stop()
	for {
		p.dispatch(ctx, p.o.Now(), false, nil)
		select {
		case <-ctx.Done():
			p.wg.Wait()
			return nil
		case <-t.C:
		}
	}
}

// PollOnce polls every feed due at now and waits for all of them; it
// returns one result per polled feed (for tests and one-shot tools).
func (p *Poller) PollOnce(ctx context.Context, now time.Time) []PollResult {
	var (
		mu  sync.Mutex
		out []PollResult
	)
	p.dispatch(ctx, now, true, func(r PollResult) {
		mu.Lock()
		out = append(out, r)
		mu.Unlock()
	})
	p.wg.Wait()
	return out
}

// Health returns the polling state of url as the Poller knows it.
func (p *Poller) Health(ctx context.Context, url string) (*digestbot.FeedHealth, error) {
	h, err := p.loadHealth(ctx, url)
	if err != nil {
		return nil, err
	}
	c := *h
	return &c, nil
}

// Resume un-pauses a feed and makes it due at once, for a full fetch.
//
// With a FeedSource it only records a request in the store, on whichever
// replica answered /feeds add: the replica polling (perhaps another one)
// applies it at its next tick to the health the store has then, once no
// fetch of the feed is in flight. Writing the resumed health here instead
// would be lost to a fetch in flight, which saves the health it started
// from when it ends, and would write this replica's possibly stale copy.
// Without a FeedSource it applies to the cache at once, or after the fetch
// in flight.
func (p *Poller) Resume(ctx context.Context, url string) error {
	if p.o.Feeds != nil {
		return p.o.Feeds.RequestFeedResume(ctx, url)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.running[url] {
		p.resumeLater[url] = true
		return nil
	}
	h := p.health[url]
	if h == nil {
		h = &digestbot.FeedHealth{URL: url}
	}
	p.putLocked(resumed(h))
	return nil
}

// resumed returns a copy of h un-paused and due at once. It forgets the
// validators too: the full fetch that follows stores the feed's current
// articles again, so a server that has just added the feed sees them at
// once, not only the ones published from now on.
func resumed(h *digestbot.FeedHealth) *digestbot.FeedHealth {
	c := *h
	c.PausedReason, c.Failures, c.NextPoll = "", 0, time.Time{}
	c.ETag, c.LastModified = "", ""
	return &c
}

// pollFeed is one feed to poll, merged over the config and every server
// that added the URL.
type pollFeed struct {
	url      string
	name     string
	interval time.Duration
	// guilds are the servers that added the URL, whose articles only they
	// may see; nil when the configuration lists it (public to all).
	guilds []string
	public bool
}

// feeds merges config and server feeds by URL: the shortest interval wins,
// the config's name first, else the first server's.
func (p *Poller) feeds(ctx context.Context) []pollFeed {
	all := append([]*digestbot.Feed(nil), p.o.ConfigFeeds...)
	if p.o.Feeds != nil {
		stored, err := p.o.Feeds.AllFeeds(ctx)
		if err != nil {
			p.log.Warn("listing feeds failed; polling configured feeds only", "err", err)
		}
		all = append(all, stored...)
	}
	var out []pollFeed
	index := map[string]int{}
	for _, f := range all {
		if f == nil || f.URL == "" {
			continue
		}
		iv := f.Interval
		if iv <= 0 {
			iv = p.o.Interval
		}
		iv = max(iv, MinPollInterval)
		i, ok := index[f.URL]
		if !ok {
			i = len(out)
			index[f.URL] = i
			out = append(out, pollFeed{url: f.URL, name: f.Name, interval: iv})
		}
		pf := &out[i]
		pf.interval = min(pf.interval, iv)
		if pf.name == "" {
			pf.name = f.Name
		}
		if f.GuildID == "" {
			pf.public = true
		} else if !slices.Contains(pf.guilds, f.GuildID) {
			pf.guilds = append(pf.guilds, f.GuildID)
		}
	}
	for i := range out {
		if out[i].public {
			out[i].guilds = nil
		}
	}
	return out
}

// dispatch starts a fetch for every due feed that is not being fetched.
// With wait, it blocks for a free slot; without, feeds beyond the free
// slots stay due for the next tick (a tick never blocks on slow feeds).
func (p *Poller) dispatch(ctx context.Context, now time.Time, wait bool, done func(PollResult)) {
	feeds := p.feeds(ctx)
	p.pruneHealth(feeds)
	p.syncHealth(ctx, feeds)
	for _, f := range feeds {
		if ctx.Err() != nil {
			return
		}
		if _, err := p.loadHealth(ctx, f.url); err != nil {
			p.log.Warn("reading feed health failed", "feed", f.url, "err", err)
			continue
		}
		if _, ok := p.startable(f.url, now, false); !ok {
			continue
		}
		if wait {
			select {
			case p.sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
		} else {
			select {
			case p.sem <- struct{}{}:
			default:
				return
			}
		}
		// Check again and take the health to poll from in the same step
		// that marks the feed running: a Resume without a FeedSource
		// (another goroutine) lands either before, and this poll starts
		// from it, or after, and waits for the fetch to end.
		h, ok := p.startable(f.url, now, true)
		if !ok {
			<-p.sem
			continue
		}
		p.wg.Add(1)
		go func() {
			defer func() {
				p.mu.Lock()
				delete(p.running, f.url)
				p.mu.Unlock()
				<-p.sem
				p.wg.Done()
			}()
			r := p.pollSafely(ctx, f, h, now)
			if done != nil {
				done(r)
			}
		}()
	}
}

// pollSafely is poll with a panic (a parser or indexing bug set off by
// one feed's content) caught and counted as that feed's failure, so it
// backs off and pauses like any broken feed instead of taking the process
// down.
func (p *Poller) pollSafely(ctx context.Context, f pollFeed, old *digestbot.FeedHealth, now time.Time) (res PollResult) {
	defer func() {
		if v := recover(); v != nil {
			err := fmt.Errorf("internal error while polling this feed: %v", v)
			p.log.Error("feed poll panicked", "feed", f.url, "panic", v, "stack", string(debug.Stack()))
			h := *old
			h.URL = f.url
			p.fail(&h, err, f.interval, now)
			p.saveOrLog(ctx, &h)
			res = PollResult{URL: f.url, Err: err, Paused: h.PausedReason != ""}
		}
	}()
	return p.poll(ctx, f, old, now)
}

// startable reports whether url is cached, due at now, not paused and not
// being fetched, and returns its cached health; with mark, it also marks
// the feed running.
func (p *Poller) startable(url string, now time.Time, mark bool) (*digestbot.FeedHealth, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	h := p.health[url]
	if h == nil || p.running[url] || h.PausedReason != "" || now.Before(h.NextPoll) {
		return nil, false
	}
	if mark {
		p.running[url] = true
	}
	return h, true
}

// poll fetches, parses and stores one feed and records its health.
func (p *Poller) poll(ctx context.Context, f pollFeed, old *digestbot.FeedHealth, now time.Time) PollResult {
	h := *old
	h.URL = f.url
	res := PollResult{URL: f.url}
	fr, err := p.o.Fetcher.Fetch(ctx, FetchRequest{URL: f.url, ETag: h.ETag, LastModified: h.LastModified})
	if err == nil && !fr.NotModified {
		var arts []*digestbot.Article
		arts, err = Parse(fr.Body, f.url, LoadOptions{SourceName: f.name, ContentType: fr.ContentType, Now: p.o.Now})
		if err == nil {
			for _, a := range arts {
				a.Guilds = f.guilds // only the servers that added the feed see what it brings
			}
			outs, serr := p.o.Articles.PutArticles(ctx, arts)
			if serr != nil {
				// Not the feed's fault: keep its validators so the next
				// poll fetches it again, and do not count a failure.
				h.LastError, h.LastErrorAt = "storing articles: "+digestbot.ErrorMessage(serr), now
				h.NextPoll = now.Add(MinPollInterval)
				p.saveOrLog(ctx, &h)
				p.log.Error("storing feed articles failed", "feed", f.url, "err", serr)
				res.Err = serr
				return res
			}
			res.Outcomes = map[digestbot.PutOutcome]int{}
			for _, o := range outs {
				res.Outcomes[o]++
			}
			if p.o.OnStored != nil && len(arts) > 0 {
				p.o.OnStored(ctx, arts, outs)
			}
			h.ETag, h.LastModified = fr.ETag, fr.LastModified
			p.log.Info("feed polled", "feed", f.url, "articles", len(arts),
				"new", res.Outcomes[digestbot.PutNew], "updated", res.Outcomes[digestbot.PutUpdated])
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			// Shutting down: not the feed's failure; leave its health alone.
			res.Err = err
			return res
		}
		p.fail(&h, err, f.interval, now)
		p.saveOrLog(ctx, &h)
		res.Err, res.Paused = err, h.PausedReason != ""
		p.log.Warn("feed poll failed", "feed", f.url, "failures", h.Failures, "err", err, "paused", res.Paused)
		return res
	}
	if fr.NotModified {
		res.NotModified = true
		h.ETag, h.LastModified = fr.ETag, fr.LastModified
	}
	h.LastSuccess, h.Failures, h.LastError = now, 0, ""
	h.NextPoll = now.Add(f.interval + p.o.Jitter(f.interval/10))
	p.saveOrLog(ctx, &h)
	return res
}

// fail records a failed poll: backoff doubling from the interval, at least
// the server's Retry-After on 429/503, pause after MaxFailures or on 410.
func (p *Poller) fail(h *digestbot.FeedHealth, err error, interval time.Duration, now time.Time) {
	h.Failures++
	h.LastError = digestbot.ErrorMessage(err)
	if digestbot.ErrorCode(err) == digestbot.EINTERNAL {
		h.LastError = err.Error()
	}
	h.LastErrorAt = now
	delay := interval
	for i := 1; i < h.Failures && delay < p.o.MaxBackoff; i++ {
		delay *= 2
	}
	delay = min(delay, p.o.MaxBackoff)
	var he *HTTPError
	if errors.As(err, &he) {
		if (he.StatusCode == http.StatusTooManyRequests || he.StatusCode == http.StatusServiceUnavailable) && he.RetryAfter > delay {
			delay = min(he.RetryAfter, 7*24*time.Hour)
		}
		if he.StatusCode == http.StatusGone {
			h.PausedReason = fmt.Sprintf("paused: the feed is gone (%s)", he.Status)
		}
	}
	h.NextPoll = now.Add(delay + p.o.Jitter(delay/10))
	if h.PausedReason == "" && h.Failures >= p.o.MaxFailures {
		h.PausedReason = fmt.Sprintf("paused after %d consecutive failures; last: %s", h.Failures, h.LastError)
	}
}

func (p *Poller) loadHealth(ctx context.Context, url string) (*digestbot.FeedHealth, error) {
	p.mu.Lock()
	h, ok := p.health[url]
	p.mu.Unlock()
	if ok {
		return h, nil
	}
	h = &digestbot.FeedHealth{URL: url}
	if p.o.Feeds != nil {
		stored, err := p.o.Feeds.FeedHealth(ctx, url)
		if err != nil {
			return nil, err
		}
		if stored != nil {
			h = stored
			h.URL = url
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if cur, ok := p.health[url]; ok {
		return cur, nil // cached meanwhile (a fetch saved): newer than this read
	}
	p.health[url] = h
	return h, nil
}

// syncHealth reads the health of every listed feed from the store in one
// round trip and replaces the cached copies: the store is the truth, and
// another replica may have changed it (a replica that polled before this
// one took over moved ETags and due times). It then applies the pending
// resume requests (see Resume). On an error the cache stands in until the
// next tick.
//
// A feed being fetched keeps its cached copy, and so does one whose copy
// changed during the read: its fetch saves to the cache, then to the store,
// and only then stops running, so a read that overlapped the fetch's end
// may be older than the cache. Hence the running set and the write count
// are noted before the read, and such feeds are skipped (their resume
// requests stay pending for the next tick).
func (p *Poller) syncHealth(ctx context.Context, feeds []pollFeed) {
	if len(feeds) == 0 {
		return
	}
	if p.o.Feeds == nil {
		p.applyResumesLater()
		return
	}
	urls := make([]string, len(feeds))
	for i, f := range feeds {
		urls[i] = f.url
	}
	p.mu.Lock()
	since := p.writes
	busy := make(map[string]bool, len(p.running))
	for u := range p.running {
		busy[u] = true
	}
	p.mu.Unlock()
	hs, err := p.o.Feeds.FeedHealths(ctx, urls)
	if err != nil {
		p.log.Warn("reading feed health failed; using the last known", "err", err)
		return
	}
	ids, err := p.o.Feeds.FeedResumes(ctx, urls)
	if err != nil {
		p.log.Warn("reading feed resume requests failed; they wait for the next tick", "err", err)
		ids = nil
	}
	type applied struct {
		h  *digestbot.FeedHealth
		id string
	}
	var resumes []applied
	p.mu.Lock()
	for i, h := range hs {
		u := urls[i]
		if h == nil || busy[u] || p.running[u] || p.wrote[u] > since {
			continue
		}
		h.URL = u
		if i < len(ids) && ids[i] != "" {
			h = resumed(h)
			p.putLocked(h)
			resumes = append(resumes, applied{h, ids[i]})
			continue
		}
		p.health[u] = h
	}
	p.mu.Unlock()
	// Save the resumed health before dropping the request: should this
	// replica stop in between, the next lease holder applies the request
	// again (one more full fetch) rather than never. A request made again
	// since the read has a new id and stays for the next tick. No fetch of
	// these feeds can start before this returns (dispatch starts them after).
	for _, r := range resumes {
		if err := p.o.Feeds.SetFeedHealth(ctx, r.h); err != nil {
			p.log.Warn("saving a resumed feed's health failed; the resume is applied again next tick", "feed", r.h.URL, "err", err)
			continue
		}
		if err := p.o.Feeds.DropFeedResume(ctx, r.h.URL, r.id); err != nil {
			p.log.Warn("dropping an applied feed resume failed; it is applied again next tick", "feed", r.h.URL, "err", err)
		}
		p.log.Info("feed resumed", "feed", r.h.URL, "request", r.id)
	}
}

// applyResumesLater applies the resumes that waited for a fetch in flight,
// when health lives in memory.
func (p *Poller) applyResumesLater() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for u := range p.resumeLater {
		if p.running[u] {
			continue
		}
		h := p.health[u]
		if h == nil {
			h = &digestbot.FeedHealth{URL: u}
		}
		p.putLocked(resumed(h))
		delete(p.resumeLater, u)
	}
}

func (p *Poller) saveHealth(ctx context.Context, h *digestbot.FeedHealth) error {
	c := *h
	p.mu.Lock()
	p.putLocked(&c)
	p.mu.Unlock()
	if p.o.Feeds != nil {
		return p.o.Feeds.SetFeedHealth(ctx, &c)
	}
	return nil
}

// putLocked caches h and counts the write (see syncHealth). p.mu is held.
func (p *Poller) putLocked(h *digestbot.FeedHealth) {
	p.writes++
	p.wrote[h.URL] = p.writes
	p.health[h.URL] = h
}

func (p *Poller) saveOrLog(ctx context.Context, h *digestbot.FeedHealth) {
	if err := p.saveHealth(ctx, h); err != nil {
		p.log.Warn("saving feed health failed", "feed", h.URL, "err", err)
	}
}

// pruneHealth forgets cached health of feeds no longer listed.
func (p *Poller) pruneHealth(feeds []pollFeed) {
	keep := make(map[string]bool, len(feeds))
	for _, f := range feeds {
		keep[f.url] = true
	}
	p.mu.Lock()
	for u := range p.health {
		if !keep[u] && !p.running[u] {
			delete(p.health, u)
			delete(p.wrote, u)
			delete(p.resumeLater, u)
		}
	}
	p.mu.Unlock()
}

package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"runtime/debug"
	"sync"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/backoff"
	"github.com/digestbot/digestbot/due"
)

// Poller defaults.
const (
	DefaultPollInterval = 15 * time.Minute
	MinPollInterval     = time.Minute
	DefaultMaxFailures  = 10
	DefaultConcurrency  = 16
	DefaultPerHost      = 2
	DefaultHostDelay    = 500 * time.Millisecond
	DefaultMaxBackoff   = 24 * time.Hour
	DefaultSyncEvery    = time.Hour
)

// storeRetry paces a feed whose state the store could not read or write:
// not the feed's fault, so it is not counted against it.
var storeRetry = backoff.Policy{First: 15 * time.Second, Max: 5 * time.Minute}

// ArticleSink stores articles; digestbot.ArticleStore satisfies it.
type ArticleSink interface {
	PutArticles(ctx context.Context, articles []*digestbot.Article) ([]digestbot.PutOutcome, error)
}

// FeedSource is what the Poller needs of the store (*store.Store has it):
// the due queue of feed URLs (members are digestbot.FeedID of the URL),
// each URL's followers and health, and the upkeep of the queue.
type FeedSource interface {
	FeedQueue() digestbot.DueQueue
	// PolledFeed reads a feed id's URL, health and the servers that follow it.
	PolledFeed(ctx context.Context, id string) (*digestbot.PolledFeed, error)
	// SaveFeedHealth writes the health of a taken feed while the take holds.
	SaveFeedHealth(ctx context.Context, e digestbot.DueEntry, h *digestbot.FeedHealth) (bool, error)
	// ForgetFeed drops a taken feed that no server follows.
	ForgetFeed(ctx context.Context, e digestbot.DueEntry) (bool, error)
	// ResumeFeed un-pauses a URL and makes it due at once.
	ResumeFeed(ctx context.Context, url string) error
	// SyncFeeds queues every configured and every server's feed that is
	// not queued.
	SyncFeeds(ctx context.Context, configURLs []string) error
	FeedHealth(ctx context.Context, url string) (*digestbot.FeedHealth, error)
}

// PollerOptions configure a Poller. Articles and Feeds are required.
type PollerOptions struct {
	Articles ArticleSink
	Feeds    FeedSource
	// ConfigFeeds are the feeds of the configuration file: public to
	// every server.
	ConfigFeeds []*digestbot.Feed
	// Fetcher fetches; nil means a default Fetcher that refuses private addresses.
	Fetcher *Fetcher
	// Interval is the default per-feed interval (15 min; at least 1 min).
	Interval time.Duration
	// MaxFailures consecutive failures pause a feed (default 10).
	MaxFailures int
	// Concurrency bounds the fetches this process runs at once (default 16).
	Concurrency int
	// PerHost bounds the fetches from one host this process runs at once
	// (default 2).
	PerHost int
	// HostDelay is the least time between the starts of two fetches from
	// one host by this process (default 500 ms; negative: none).
	HostDelay time.Duration
	// MaxBackoff caps the delay after failures (default 24 h).
	MaxBackoff time.Duration
	// Hold is how long a take of a due feed lasts, after which another
	// replica may fetch it: longer than a fetch and its wait for the host
	// can take. Default: twice the Fetcher's timeout plus a minute.
	Hold time.Duration
	// Poll is how often an idle worker looks for due feeds (default 1 s).
	Poll time.Duration
	// SyncEvery is how often Run checks that every feed is queued
	// (default 1 h; it also does so when it starts).
	SyncEvery time.Duration
	// OnStored is called after every stored batch (the lookup index
	// attaches here); it must not keep the slices.
	OnStored func(ctx context.Context, articles []*digestbot.Article, outcomes []digestbot.PutOutcome)
	// OnPolled is called after every fetch (metrics attach here).
	OnPolled func(PollResult)
	Logger   *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Rand returns a number in [0, 1); nil means math/rand/v2. It jitters
	// intervals (up to a tenth more) and backoffs (up to a tenth less), so
	// that feeds do not poll in lock step.
	Rand func() float64
}

// Poller polls feeds on their own intervals with conditional GET, backs off
// after failures, honours Retry-After on 429 and 503, pauses a feed after
// MaxFailures consecutive failures (or at once when it is gone, 410), and
// stores what it finds, visible to the servers that follow the feed.
//
// Due feeds live in Redis (FeedSource.FeedQueue, by next poll time), so
// any number of replicas poll together: each takes due URLs when it has a
// free worker (due.Worker), fetches each once however many servers follow
// it, and gives it its next due time. A replica that dies mid-fetch gives
// its feeds back when their take lapses (Hold). Within a process at most
// Concurrency fetches run at once, at most PerHost of one host, starting at
// least HostDelay apart.
type Poller struct {
	o      PollerOptions
	log    *slog.Logger
	config map[string]*digestbot.Feed // configured feeds by FeedID, merged by URL
	urls   []string                   // configured URLs
	hosts  *hostLimiter
}

// NewPoller returns a Poller; EINVALID when opts.Articles or opts.Feeds is nil.
func NewPoller(opts PollerOptions) (*Poller, error) {
	if opts.Articles == nil || opts.Feeds == nil {
		return nil, digestbot.Errorf(digestbot.EINVALID, "poller needs an article store and a feed store")
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
	if opts.PerHost <= 0 {
		opts.PerHost = DefaultPerHost
	}
	if opts.HostDelay == 0 {
		opts.HostDelay = DefaultHostDelay
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = DefaultMaxBackoff
	}
	if opts.Fetcher == nil {
		opts.Fetcher = NewFetcher(FetcherOptions{})
	}
	if opts.Hold <= 0 {
		opts.Hold = 2*opts.Fetcher.opts.Timeout + time.Minute
	}
	if opts.SyncEvery <= 0 {
		opts.SyncEvery = DefaultSyncEvery
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Rand == nil {
		opts.Rand = rand.Float64
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Poller{o: opts, log: log, config: map[string]*digestbot.Feed{}, hosts: newHostLimiter(opts.PerHost, opts.HostDelay)}
	for _, f := range opts.ConfigFeeds {
		if f == nil || f.URL == "" {
			continue
		}
		id := digestbot.FeedID(f.URL)
		if c := p.config[id]; c != nil {
			// Listed twice: the shortest interval, the first name.
			if f.Interval > 0 && (c.Interval <= 0 || f.Interval < c.Interval) {
				c.Interval = f.Interval
			}
			if c.Name == "" {
				c.Name = f.Name
			}
			continue
		}
		c := *f
		p.config[id] = &c
		p.urls = append(p.urls, f.URL)
	}
	return p, nil
}

// PollResult says what polling one feed did.
type PollResult struct {
	URL         string
	NotModified bool
	Outcomes    map[digestbot.PutOutcome]int
	Err         error // nil on success
	Paused      bool  // the feed is paused now
}

// Run polls due feeds until ctx is done, then waits for the fetches in
// flight (cancelled with ctx; their feeds are due again at once for
// another replica) and returns nil. It makes sure every feed is queued
// when it starts and every SyncEvery.
func (p *Poller) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		p.syncLoop(ctx)
	}()
	w := &due.Worker{
		Name:    "feeds",
		Queue:   p.o.Feeds.FeedQueue(),
		Workers: p.o.Concurrency,
		Hold:    p.o.Hold,
		Poll:    p.o.Poll,
		Clock:   p.o.Now,
		Logger:  p.log,
		Handle: func(ctx context.Context, e digestbot.DueEntry) due.Outcome {
			_, out := p.pollEntry(ctx, e, p.o.Now())
			return out
		},
	}
	w.Run(ctx)
	wg.Wait()
	return nil
}

// syncLoop runs SyncFeeds now, again with backoff until it succeeds, then
// every SyncEvery.
func (p *Poller) syncLoop(ctx context.Context) {
	retry := backoff.Policy{First: 5 * time.Second, Max: 5 * time.Minute}
	failed := 0
	for {
		wait := p.o.SyncEvery
		if err := p.o.Feeds.SyncFeeds(ctx, p.urls); err != nil {
			if ctx.Err() != nil {
				return
			}
			failed++
			wait = retry.Delay(failed)
			p.log.Warn("checking that every feed is queued failed; retrying", "in", wait.Round(time.Second), "err", err)
		} else {
			failed = 0
		}
		if backoff.Wait(ctx, wait) != nil {
			return
		}
	}
}

// PollOnce queues the feeds that are not queued, then polls every feed due
// at now, as of the clock now, and waits for all of them. It returns one
// result per fetched feed (for tests and one-shot tools).
func (p *Poller) PollOnce(ctx context.Context, now time.Time) []PollResult {
	if err := p.o.Feeds.SyncFeeds(ctx, p.urls); err != nil {
		p.log.Warn("checking that every feed is queued failed", "err", err)
	}
	q := p.o.Feeds.FeedQueue()
	var (
		mu   sync.Mutex
		out  []PollResult
		wg   sync.WaitGroup
		slot = make(chan struct{}, p.o.Concurrency)
	)
	for sh := range q.Shards() {
		es, err := q.Take(ctx, sh, now, 1<<16, p.o.Hold)
		if err != nil {
			p.log.Warn("taking due feeds failed", "err", err)
			continue
		}
		for _, e := range es {
			slot <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-slot; wg.Done() }()
				r, o := p.pollEntry(ctx, e, now)
				fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				defer cancel()
				if _, err := q.Finish(fctx, e, o.Next, o.Failed); err != nil {
					p.log.Warn("finishing a feed poll failed", "err", err)
				}
				if r != nil {
					mu.Lock()
					out = append(out, *r)
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	return out
}

// Health returns the polling state of url.
func (p *Poller) Health(ctx context.Context, url string) (*digestbot.FeedHealth, error) {
	return p.o.Feeds.FeedHealth(ctx, url)
}

// Resume un-pauses a feed, clears its failures and validators and makes it
// due at once, for a full fetch, whichever replica polls it (see
// FeedSource.ResumeFeed: a fetch in flight cannot undo it).
func (p *Poller) Resume(ctx context.Context, url string) error {
	return p.o.Feeds.ResumeFeed(ctx, url)
}

// target is one URL to fetch, merged over the configuration and every
// server that follows it.
type target struct {
	url      string
	name     string
	interval time.Duration
	// guilds are the servers whose own feed this is, who alone may see
	// what it brings; nil when the configuration lists it (public to all).
	guilds []string
}

// targetOf merges a polled feed with the configuration's entry for it:
// the shortest interval wins, the configuration's name first, else the
// first server's. ok=false when no one follows the URL.
func (p *Poller) targetOf(pf *digestbot.PolledFeed, cfg *digestbot.Feed) (target, bool) {
	t := target{url: pf.URL}
	if cfg != nil {
		t.url, t.name, t.interval = cfg.URL, cfg.Name, cfg.Interval
	} else if len(pf.Feeds) == 0 || pf.URL == "" {
		return t, false
	}
	for _, f := range pf.Feeds {
		if t.name == "" {
			t.name = f.Name
		}
		if f.Interval > 0 && (t.interval <= 0 || f.Interval < t.interval) {
			t.interval = f.Interval
		}
		if cfg == nil {
			t.guilds = append(t.guilds, f.GuildID)
		}
	}
	if t.interval <= 0 {
		t.interval = p.o.Interval
	}
	t.interval = max(t.interval, MinPollInterval)
	return t, true
}

// pollEntry polls one taken feed as of now and says when it is due next.
// The result is nil when nothing was fetched (no follower, paused, the host
// busy, a store error).
func (p *Poller) pollEntry(ctx context.Context, e digestbot.DueEntry, now time.Time) (*PollResult, due.Outcome) {
	pf, err := p.o.Feeds.PolledFeed(ctx, e.Member)
	if err != nil {
		p.log.Warn("reading a due feed failed; retrying", "feed", e.Member, "err", err)
		return nil, due.Outcome{Next: now.Add(storeRetry.Delay(e.Failures + 1)), Failed: true}
	}
	t, ok := p.targetOf(pf, p.config[e.Member])
	if !ok {
		// Removed by every server that had it: leave the queue (a server
		// that adds it again meanwhile keeps it there).
		if _, err := p.o.Feeds.ForgetFeed(ctx, e); err != nil {
			p.log.Warn("dropping a feed no server follows failed; retrying", "feed", pf.URL, "err", err)
			return nil, due.Outcome{Next: now.Add(storeRetry.Delay(e.Failures + 1)), Failed: true}
		}
		p.log.Info("feed no longer followed; not polled any more", "feed", pf.URL)
		return nil, due.Outcome{}
	}
	if pf.Health.PausedReason != "" {
		// Resuming makes it due at once; until then look now and then.
		return nil, due.Outcome{Next: now.Add(p.o.MaxBackoff)}
	}
	release, ok := p.hosts.acquire(ctx, limitHost(t.url), p.o.Fetcher.opts.Timeout)
	if !ok {
		if ctx.Err() != nil {
			return nil, due.Outcome{Next: e.Due}
		}
		// This process has enough of the host's feeds in hand: leave this
		// one to a little later (or to another replica).
		later := max(time.Second, p.o.HostDelay) + p.jitter(t.interval/10)
		return nil, due.Outcome{Next: now.Add(later)}
	}
	defer release()
	h := pf.Health
	h.URL = t.url
	res := p.pollSafely(ctx, t, &h, now)
	if p.o.OnPolled != nil {
		p.o.OnPolled(res)
	}
	if res.Err != nil && ctx.Err() != nil {
		// Shutting down: not the feed's failure; it is due again at once.
		return &res, due.Outcome{Next: e.Due}
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	saved, err := p.o.Feeds.SaveFeedHealth(sctx, e, &h)
	switch {
	case err != nil:
		// Its take lapses and it is fetched again with the validators it had.
		p.log.Warn("saving feed health failed", "feed", t.url, "err", err)
	case !saved:
		p.log.Debug("feed resumed or taken over while being fetched; its health is not saved", "feed", t.url)
	}
	return &res, due.Outcome{Next: h.NextPoll, Failed: res.Err != nil}
}

func (p *Poller) jitter(max time.Duration) time.Duration {
	if max <= 0 {
		return 0
	}
	return time.Duration(p.o.Rand() * float64(max))
}

// pollSafely is poll with a panic (a parser or indexing bug set off by
// one feed's content) caught and counted as that feed's failure, so it
// backs off and pauses like any broken feed instead of taking the process
// down.
func (p *Poller) pollSafely(ctx context.Context, t target, h *digestbot.FeedHealth, now time.Time) (res PollResult) {
	before := *h
	defer func() {
		if v := recover(); v != nil {
			err := fmt.Errorf("internal error while polling this feed: %v", v)
			p.log.Error("feed poll panicked", "feed", t.url, "panic", v, "stack", string(debug.Stack()))
			*h = before
			p.fail(h, err, t.interval, now)
			res = PollResult{URL: t.url, Err: err, Paused: h.PausedReason != ""}
		}
	}()
	return p.poll(ctx, t, h, now)
}

// poll fetches, parses and stores one feed and updates its health h.
func (p *Poller) poll(ctx context.Context, t target, h *digestbot.FeedHealth, now time.Time) PollResult {
	res := PollResult{URL: t.url}
	fr, err := p.o.Fetcher.Fetch(ctx, FetchRequest{URL: t.url, ETag: h.ETag, LastModified: h.LastModified})
	if err == nil && !fr.NotModified {
		var arts []*digestbot.Article
		arts, err = Parse(fr.Body, t.url, LoadOptions{SourceName: t.name, ContentType: fr.ContentType, Now: p.o.Now})
		if err == nil {
			for _, a := range arts {
				a.Guilds = t.guilds // only the servers that added the feed see what it brings
			}
			outs, serr := p.o.Articles.PutArticles(ctx, arts)
			if serr != nil {
				// Not the feed's fault: keep its validators so the next
				// poll fetches it again, and do not count a failure.
				h.LastError, h.LastErrorAt = "storing articles: "+digestbot.ErrorMessage(serr), now
				h.NextPoll = now.Add(MinPollInterval)
				p.log.Error("storing feed articles failed", "feed", t.url, "err", serr)
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
			level := slog.LevelDebug
			if res.Outcomes[digestbot.PutNew]+res.Outcomes[digestbot.PutUpdated] > 0 {
				level = slog.LevelInfo
			}
			p.log.Log(ctx, level, "feed polled", "feed", t.url, "articles", len(arts),
				"new", res.Outcomes[digestbot.PutNew], "updated", res.Outcomes[digestbot.PutUpdated])
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			res.Err = err
			return res
		}
		p.fail(h, err, t.interval, now)
		res.Err, res.Paused = err, h.PausedReason != ""
		p.log.Warn("feed poll failed", "feed", t.url, "failures", h.Failures, "err", err, "paused", res.Paused)
		return res
	}
	if fr.NotModified {
		res.NotModified = true
		h.ETag, h.LastModified = fr.ETag, fr.LastModified
	}
	h.LastSuccess, h.Failures, h.LastError = now, 0, ""
	h.NextPoll = now.Add(t.interval + p.jitter(t.interval/10))
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
	delay := backoff.Policy{First: interval, Max: p.o.MaxBackoff, Jitter: 0.1, Rand: p.o.Rand}.Delay(h.Failures)
	var he *HTTPError
	if errors.As(err, &he) {
		if (he.StatusCode == http.StatusTooManyRequests || he.StatusCode == http.StatusServiceUnavailable) && he.RetryAfter > delay {
			// The server's wish is a floor: jitter only adds to it.
			delay = min(he.RetryAfter, 7*24*time.Hour)
			delay += p.jitter(delay / 10)
		}
		if he.StatusCode == http.StatusGone {
			h.PausedReason = fmt.Sprintf("paused: the feed is gone (%s)", he.Status)
		}
	}
	h.NextPoll = now.Add(delay)
	if h.PausedReason == "" && h.Failures >= p.o.MaxFailures {
		h.PausedReason = fmt.Sprintf("paused after %d consecutive failures; last: %s", h.Failures, h.LastError)
	}
}

package ingest

import (
	"context"
	"log/slog"
	"math/rand/v2"
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
	// MarkFeedPolled records that the first poll of url for these servers
	// has stored what it found (digestbot.Feed.FirstPolled).
	MarkFeedPolled(ctx context.Context, url string, guilds []string) error
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
	// OnStored is called after every stored batch (the bot wakes its
	// lookup indexer here); it must not keep the slices.
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

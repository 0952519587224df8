package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/backoff"
	"github.com/digestbot/digestbot/bot"
	"github.com/digestbot/digestbot/config"
	"github.com/digestbot/digestbot/digest"
	"github.com/digestbot/digestbot/httpapi"
	"github.com/digestbot/digestbot/ingest"
	"github.com/digestbot/digestbot/metrics"
	"github.com/digestbot/digestbot/schedule"
	"github.com/digestbot/digestbot/store"
)

// shutdownBudget is how long SIGTERM may take in all: under the 10 s that
// container runtimes give before SIGKILL.
const shutdownBudget = 9 * time.Second

func cmdRun(ctx context.Context, e *env, args []string) error {
	err := runBot(ctx, e, args)
	if err != nil && ctx.Err() != nil && !errors.Is(err, errUsage) {
		// Stopped while starting: a signal, not a failure.
		return nil
	}
	return err
}

func runBot(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "run", "run\n\nRuns the bot: Discord gateway and slash commands, feed polling, the matcher,\ndigest schedules and the HTTP endpoint. Configured by environment variables\n(see README or 'digestbot check-config').")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	if cfg.DiscordToken == "" {
		return digestbot.Errorf(digestbot.EINVALID, "DISCORD_TOKEN (or DISCORD_TOKEN_FILE) is not set: the bot needs its token; try 'digestbot demo' to see it without Discord")
	}
	log := newLogger(e.stderr)
	routeLibraryLogs(log)
	log.Info("digestbot starting", "version", Version, "shard", cfg.ShardID, "shards", cfg.ShardCount)

	// The HTTP endpoint comes first, so that /healthz answers and /readyz
	// can say what the bot is waiting for (Redis, the gateway) while it
	// starts; the parts that need the store are filled in once it is open.
	m := metrics.New()
	var (
		ready      atomic.Pointer[store.Store]
		gateway    atomic.Pointer[bot.Bot]
		tokenCheck atomic.Pointer[bot.Bot]
		push       lazyHandler
	)
	var srv *httpapi.Server
	if cfg.HTTPAddr != "" {
		srv, err = httpapi.Start(httpapi.Options{
			Addr:    cfg.HTTPAddr,
			Metrics: m.Handler(),
			Push:    &push,
			Ready: []httpapi.Check{
				{Name: "redis", Test: func(ctx context.Context) error {
					st := ready.Load()
					if st == nil {
						return errors.New("connecting (retrying with backoff)")
					}
					return st.Ping(ctx)
				}},
				{Name: "gateway", Test: func(context.Context) error {
					if b := gateway.Load(); b == nil || !b.Connected() {
						return errors.New("not connected")
					}
					return nil
				}},
				{Name: "discord token", Test: func(context.Context) error {
					if b := tokenCheck.Load(); b != nil {
						return b.TokenProblem()
					}
					return nil
				}},
			},
			Logger: log,
		})
		if err != nil {
			return digestbot.Errorf(digestbot.EINVALID, "DIGESTBOT_HTTP_ADDR=%s: %v", cfg.HTTPAddr, err)
		}
		log.Info("http endpoint listening", "addr", srv.Addr())
		defer srv.Shutdown(context.Background())
	}

	// Store: an unreachable Redis is retried with backoff until it answers or we are stopped.
	var st *store.Store
	opts := store.Options{URL: cfg.RedisURL, Prefix: cfg.KeyPrefix, Retention: cfg.Retention, Logger: log, PausedBacklog: cfg.Delivery.PausedBacklog}
	if cfg.RedisURL == "" {
		log.Warn("DIGESTBOT_REDIS_URL is unset: using the embedded in-memory store; nothing is persisted")
		st, err = store.OpenEmbedded(ctx, opts)
	} else {
		st, err = store.OpenRetry(ctx, opts)
	}
	if err != nil {
		if ctx.Err() != nil {
			log.Info("stopped while connecting to Redis")
			return nil // a stop while waiting for Redis is a clean stop
		}
		return err
	}
	defer func() {
		// The HTTP endpoint (push API) uses the store: stop it first, also
		// when the start fails below.
		if srv != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			srv.Shutdown(ctx)
			cancel()
		}
		st.Close()
	}()
	ready.Store(st)

	c := newCore(cfg, st, log, time.Now)
	onStored := func(ctx context.Context, arts []*digestbot.Article, outcomes []digestbot.PutOutcome) {
		for _, o := range outcomes {
			m.ArticlesIngested.WithLabelValues(o.String()).Inc()
		}
		c.onStored(ctx, arts, outcomes)
	}

	b, err := bot.New(bot.Options{
		Token:             cfg.DiscordToken,
		APIBaseURL:        cfg.DiscordAPIURL,
		GuildID:           cfg.GuildID,
		ShardID:           cfg.ShardID,
		ShardCount:        cfg.ShardCount,
		Handler:           c.service,
		Logger:            log,
		ManagerRole:       cfg.Permissions.ManagerRole,
		CommandsPerMinute: cfg.Limits.CommandsPerMinute,
		OnGuildJoined: func(guildID string) {
			if err := st.MarkGuildLeft(context.Background(), guildID, time.Time{}); err != nil {
				log.Warn("could not record a guild join", "guild", guildID, "err", err)
			}
		},
		OnGuildLeft: func(guildID string) {
			log.Info("removed from a guild; its data will be deleted after the grace period", "guild", guildID, "grace", cfg.GuildDataGrace)
			if err := st.MarkGuildLeft(context.Background(), guildID, time.Now()); err != nil {
				log.Error("could not record a guild leave", "guild", guildID, "err", err)
			}
		},
		OnDiscordError:    func(op, code string) { m.DiscordErrors.WithLabelValues(code).Inc() },
		OnRateLimited:     func(string) { m.DiscordRateLimit.Inc() },
		OnCommand:         func(name string, d time.Duration, _ string) { m.ObserveCommand(name, d) },
		RateLimits:        st,
		RequestsPerSecond: cfg.Delivery.RequestsPerSecond,
		TokenSource:       tokenSource(cfg),
		Version:           Version,
		Process:           c.holder,
	})
	if err != nil {
		return err
	}
	c.deliverer.Transport = b
	c.service.DirectChannel = b.DirectChannel
	c.deliverer.Event = func(kind string) {
		m.DeliveryEvents.WithLabelValues(kind).Inc()
		if kind == digest.EventPosted {
			m.DigestsPosted.Inc()
		}
	}
	c.sched.Gate = b.TokenOK
	tokenCheck.Store(b)

	// Background jobs run until jobsCtx ends.
	jobsCtx, stopJobs := context.WithCancel(ctx)
	defer stopJobs()

	// Every replica polls feeds: due feeds are taken from a queue in Redis,
	// so none is fetched twice and a replica that stops hands its feeds
	// on. Matching runs in one process at a time, whichever holds the
	// "matcher" lease.
	jobs := schedule.NewCron(log)
	hostDelay := cfg.Polling.HostDelay
	if hostDelay == 0 {
		hostDelay = -1 // none; zero would mean the poller's default
	}
	poller, err := ingest.NewPoller(ingest.PollerOptions{
		Articles:    st,
		Feeds:       st,
		ConfigFeeds: configFeeds(cfg),
		Fetcher:     c.fetcher,
		Interval:    cfg.Polling.Interval,
		MaxFailures: cfg.Polling.MaxFailures,
		Concurrency: cfg.Polling.Concurrency,
		PerHost:     cfg.Polling.PerHost,
		HostDelay:   hostDelay,
		OnStored:    onStored,
		OnPolled: func(r ingest.PollResult) {
			if r.Err != nil {
				m.FeedFailures.Inc()
			}
		},
		Logger: log,
	})
	if err != nil {
		return err
	}
	c.service.ResumeFeed = poller.Resume
	if _, err := jobs.AddFunc(cfg.Schedule.MatchEvery, func() {
		stats, ran, err := c.match(jobsCtx, 0, false)
		if err != nil {
			log.Error("matcher run failed; it will retry on the next tick", "err", err)
			return
		}
		if ran {
			m.Matches.Add(float64(stats.Items))
		}
	}); err != nil {
		return digestbot.Errorf(digestbot.EINVALID, "schedule.match %q: %v", cfg.Schedule.MatchEvery, err)
	}
	if _, err := jobs.AddFunc("@every 1h", func() {
		deleteLeftGuilds(jobsCtx, st, cfg.GuildDataGrace, log)
		removeGoneChannels(jobsCtx, st, cfg.Delivery.GoneChannelGrace, log, m)
		c.sweepSchedules(jobsCtx)
	}); err != nil {
		return err
	}

	push.Set(ingest.PushHandler(ingest.PushOptions{Token: cfg.IngestToken, Articles: st, OnStored: onStored, Logger: log}))
	gateway.Store(b)

	if err := openGateway(ctx, b, log); err != nil {
		if ctx.Err() != nil {
			log.Info("stopped while connecting to Discord")
			return nil // a stop while waiting for Discord is a clean stop
		}
		return err
	}
	if err := c.sched.Check(); err != nil {
		b.Close()
		return err
	}
	schedDone := make(chan struct{})
	go func() {
		defer close(schedDone)
		c.sweepSchedules(jobsCtx) // channels subscribed before due times lived in Redis
		_ = c.sched.Run(jobsCtx)
	}()
	jobs.Start()
	// The lookup indexer follows the ingest log in whichever replica
	// holds the "lookup-index" lease (see core.indexNow), woken by every
	// store in this one. Every replica runs it, and a pass that finds the
	// lease taken still reports the lag, so each replica's metric shows
	// it.
	c.indexer.OnPass = func(n int, lag time.Duration) {
		m.LookupIndexed.Add(float64(n))
		m.LookupIndexLag.Set(lag.Seconds())
	}
	indexDone := make(chan struct{})
	go func() {
		defer close(indexDone)
		c.indexer.Run(jobsCtx)
	}()
	// Polling starts last: a start that fails above leaves nothing running
	// that would still write to the store as it closes.
	pollDone := make(chan struct{})
	go func() {
		defer close(pollDone)
		poller.Run(jobsCtx)
	}()
	log.Info("digestbot running")

	<-ctx.Done()
	log.Info("shutting down")
	deadline, cancel := context.WithTimeout(context.Background(), shutdownBudget)
	defer cancel()
	// Reverse order of start: stop taking interactions and close the gateway
	// (REST still works for digests in flight); stop taking due digests and
	// let each post in flight finish (bounded by the deliverer's stop
	// grace), record it and release the channel's claim, so another
	// replica goes on at once; then stop the jobs and the HTTP endpoint.
	if err := b.Close(); err != nil {
		log.Warn("closing the gateway", "err", err)
	}
	stopJobs()
	select {
	case <-schedDone:
	case <-deadline.Done():
		log.Warn("digests still being posted at shutdown; another replica or the next start finishes them")
	}
	select {
	case <-jobs.Stop().Done():
	case <-deadline.Done():
	}
	select {
	case <-pollDone:
	case <-deadline.Done():
	}
	select {
	case <-indexDone:
	case <-deadline.Done():
	}
	if srv != nil {
		srv.Shutdown(deadline)
	}
	log.Info("stopped")
	return nil
}

// tokenSource reads the token file again when Discord refuses the token;
// nil for a token from the environment, which only a restart replaces.
func tokenSource(cfg *config.Config) func() (string, error) {
	if cfg.DiscordTokenFile == "" {
		return nil
	}
	return func() (string, error) { return config.ReadTokenFile(cfg.DiscordTokenFile) }
}

// configFeeds turns the configuration's feeds into domain feeds.
func configFeeds(cfg *config.Config) []*digestbot.Feed {
	out := make([]*digestbot.Feed, 0, len(cfg.Feeds))
	for _, f := range cfg.Feeds {
		out = append(out, &digestbot.Feed{URL: f.URL, Name: f.Name, Interval: f.Interval})
	}
	return out
}

// removeGoneChannels deletes the subscriptions and data of channels Discord
// said no longer exist, once they have been gone longer than grace (a
// channel that comes back before is resumed by the first command there).
func removeGoneChannels(ctx context.Context, st *store.Store, grace time.Duration, log *slog.Logger, m *metrics.Metrics) {
	gone, err := st.GoneChannels(ctx, time.Now().Add(-grace))
	if err != nil {
		log.Warn("listing channels that no longer exist", "err", err)
		return
	}
	for _, ref := range gone {
		if err := st.DeleteChannel(ctx, ref.GuildID, ref.ChannelID); err != nil {
			log.Error("removing a channel that no longer exists", "guild", ref.GuildID, "channel", ref.ChannelID, "err", err)
			continue
		}
		m.DeliveryEvents.WithLabelValues("removed").Inc()
		log.Info("removed a channel that no longer exists, with its subscriptions", "guild", ref.GuildID, "channel", ref.ChannelID, "grace", grace)
	}
}

// deleteLeftGuilds deletes the data of guilds the bot left more than grace ago.
func deleteLeftGuilds(ctx context.Context, st *store.Store, grace time.Duration, log *slog.Logger) {
	guilds, err := st.GuildsLeftBefore(ctx, time.Now().Add(-grace))
	if err != nil {
		log.Warn("listing departed guilds", "err", err)
		return
	}
	for _, g := range guilds {
		if err := st.DeleteGuild(ctx, g); err != nil {
			log.Error("deleting a departed guild's data", "guild", g, "err", err)
			continue
		}
		log.Info("deleted the data of a guild the bot left", "guild", g, "grace", grace)
	}
}

// openGateway connects to Discord, retrying with backoff while the gateway
// cannot be reached (a network or Discord outage at start), the way the
// store is retried; a refused token or missing access ends the start at
// once, since waiting cannot fix it.
func openGateway(ctx context.Context, b *bot.Bot, log *slog.Logger) error {
	retry := backoff.Policy{First: time.Second, Max: 30 * time.Second}
	for attempt := 1; ; attempt++ {
		err := b.Open(ctx)
		if err == nil {
			return nil
		}
		if digestbot.ErrorCode(err) != digestbot.EUNAVAILABLE || ctx.Err() != nil {
			return err
		}
		wait := retry.Delay(attempt)
		log.Warn("cannot reach Discord yet; retrying", "in", wait.Round(time.Millisecond), "err", err)
		if backoff.Wait(ctx, wait) != nil {
			return err
		}
	}
}

// lazyHandler answers 503 until Set gives it the handler to serve: the
// push API needs the store, which may still be connecting.
type lazyHandler struct{ h atomic.Pointer[http.Handler] }

func (l *lazyHandler) Set(h http.Handler) { l.h.Store(&h) }

func (l *lazyHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h := l.h.Load(); h != nil {
		(*h).ServeHTTP(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Retry-After", "5")
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = w.Write([]byte(`{"error":"starting: the store is not connected yet; try again shortly"}` + "\n"))
}

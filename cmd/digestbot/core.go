package main

import (
	"context"
	"log/slog"
	"sync"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/archive"
	botcommands "github.com/digestbot/digestbot/commands"
	"github.com/digestbot/digestbot/config"
	"github.com/digestbot/digestbot/digest"
	"github.com/digestbot/digestbot/ingest"
	"github.com/digestbot/digestbot/lease"
	"github.com/digestbot/digestbot/store"
	"github.com/digestbot/digestbot/subscriptions"
	"github.com/digestbot/digestbot/trend"
)

// core is the bot without a chat front end: store, archive index, matcher,
// digest delivery and the command service. `run` puts Discord in front of
// it, the demo prompt a terminal.
type core struct {
	cfg       *config.Config
	st        *store.Store
	log       *slog.Logger
	topics    []*digestbot.Topic
	index     *archive.Index
	matcher   *subscriptions.Matcher
	deliverer *digest.Deliverer
	sched     *digest.Scheduler
	fetcher   *ingest.Fetcher
	service   *botcommands.Service
	// indexer writes the lookup index from the ingest log (see indexNow).
	indexer *archive.Indexer
	// onStored runs after articles are stored (poller, push API): it wakes
	// the indexer, which finds them in the ingest log.
	onStored func(ctx context.Context, arts []*digestbot.Article, outcomes []digestbot.PutOutcome)

	// holder names this process in the job leases; matchMu keeps this
	// process's own matcher runs (cron tick, /digest now) one at a time,
	// the "matcher" lease those of all replicas.
	holder  string
	matchMu sync.Mutex
	// indexMu keeps this process's indexing passes one at a time, the
	// "lookup-index" lease those of all replicas: one writer at a time
	// indexes the log in order, so a stale read of an article's audience
	// is always followed by the log entry that widened it.
	indexMu sync.Mutex
}

// jobLease is the lease of a background job that one replica runs at a time.
func (c *core) jobLease(name string) *lease.Lease {
	return &lease.Lease{Store: c.st, Name: name, Holder: c.holder, Log: c.log}
}

// match runs the matcher once under the "matcher" lease. While another
// replica holds it, match waits up to wait and then skips (ran=false) —
// unless force is set: /digest now must see every ingested article, and
// matching twice is harmless (pending items merge), so after the wait it
// matches without the lease.
func (c *core) match(ctx context.Context, wait time.Duration, force bool) (st subscriptions.MatchStats, ran bool, err error) {
	c.matchMu.Lock()
	defer c.matchMu.Unlock()
	run := func(ctx context.Context) error {
		var err error
		st, err = c.matcher.RunOnce(ctx)
		return err
	}
	ran, err = c.jobLease("matcher").Do(ctx, wait, run)
	if !ran && err == nil && force {
		ran, err = true, run(ctx)
	}
	return st, ran, err
}

// indexNow indexes the ingest log up to its end under the "lookup-index"
// lease, waiting up to wait for it; ran is false when another replica held
// it all that time (that one is indexing).
func (c *core) indexNow(ctx context.Context, wait time.Duration) (indexed int, ran bool, err error) {
	c.indexMu.Lock()
	defer c.indexMu.Unlock()
	return indexUnder(ctx, c.jobLease(indexLease), c.index, c.st, wait)
}

// globalTopics turns the configuration's topics into domain topics.
func globalTopics(cfg *config.Config) []*digestbot.Topic {
	out := make([]*digestbot.Topic, 0, len(cfg.Topics))
	for _, t := range cfg.Topics {
		out = append(out, &digestbot.Topic{Name: t.Name, Query: t.Query})
	}
	return out
}

// newCore wires the core over an open store. The transport is set later by
// the front end (the Discord bot needs the command service first).
func newCore(cfg *config.Config, st *store.Store, log *slog.Logger, now func() time.Time) *core {
	c := &core{cfg: cfg, st: st, log: log, topics: globalTopics(cfg), holder: lease.NewHolder()}
	c.index = newArchive(st)
	c.matcher = subscriptions.NewMatcher(st, subscriptions.MatcherOptions{GlobalTopics: c.topics, Logger: log, Now: now, Backfill: cfg.Backfill,
		Feeds: st, Spikes: st,
		OnInstant: func(ctx context.Context, refs []digestbot.ChannelRef) error { return c.sched.Alert(ctx, refs) }})
	c.deliverer = &digest.Deliverer{
		Store:       st,
		Logger:      log,
		Clock:       now,
		Compose:     digest.ComposeOptions{MaxItemsPerSection: cfg.Limits.ItemsPerSection, Topics: topicQueries(c.topics)},
		InChannel:   cfg.Limits.StoriesInChannel,
		ClaimTTL:    cfg.Delivery.ClaimTime,
		NonceWindow: cfg.Delivery.NonceWindow,
	}
	c.sched = &digest.Scheduler{
		Store:    st,
		Queue:    st.DueQueue("digests"),
		Deliver:  c.deliverer.Deliver,
		Defaults: digest.Defaults{Spec: cfg.Schedule.Default, TimeZone: cfg.Schedule.TimeZone, MinInterval: cfg.Schedule.MinInterval},
		Workers:  cfg.Delivery.Workers,
		Busy:     c.deliverer.ClaimTime(),
		Clock:    now,
		Logger:   log,

		Alerts:       st.DueQueue("alerts"),
		DeliverAlert: c.deliverer.DeliverAlert,
		AlertDelay:   cfg.Delivery.InstantDelay,
	}
	if cfg.Delivery.InstantDelay == 0 {
		c.sched.AlertDelay = -1 // none; zero would mean the scheduler's default
	}
	c.deliverer.Channel = c.sched.ChannelInfo // dates in each channel's schedule zone
	c.fetcher = newFetcher(cfg)
	c.indexer = &archive.Indexer{Index: c.index, Log: st, Logger: log,
		Pass: func(ctx context.Context) (int, error) {
			n, _, err := c.indexNow(ctx, 0)
			return n, err
		}}
	c.onStored = func(context.Context, []*digestbot.Article, []digestbot.PutOutcome) { c.indexer.Wake() }
	c.service = &botcommands.Service{
		Store:        st,
		Config:       cfg,
		GlobalTopics: c.topics,
		MatchNow: func(ctx context.Context) error {
			_, _, err := c.match(ctx, 10*time.Second, true)
			return err
		},
		Preview: func(ctx context.Context, ref digestbot.ChannelRef) ([]digest.Message, error) {
			_, msgs, err := c.deliverer.Preview(ctx, ref)
			return msgs, err
		},
		PostNow: func(ctx context.Context, ref digestbot.ChannelRef) (digest.Result, error) {
			res, err := c.deliverer.Deliver(ctx, ref)
			if res.Busy || res.Interrupted || (err != nil && digestbot.ErrorCode(err) == digestbot.EUNAVAILABLE) {
				// Whatever is left goes out as soon as the channel is free:
				// within the claim time, by any replica.
				at := now().Add(c.deliverer.ClaimTime())
				if serr := c.sched.Soon(context.WithoutCancel(ctx), ref, at); serr != nil {
					log.Warn("could not schedule the rest of a digest; it goes out with the next one", "guild", ref.GuildID, "channel", ref.ChannelID, "err", serr)
				}
			}
			return res, err
		},
		ScheduleChanged: c.scheduleChanged,
		ChannelSubscribed: func(ctx context.Context, ref digestbot.ChannelRef) {
			if err := c.sched.Ensure(ctx, ref); err != nil {
				log.Warn("could not schedule a newly subscribed channel; the hourly sweep will", "guild", ref.GuildID, "channel", ref.ChannelID, "err", err)
			}
		},
		ResumeChannel: c.deliverer.Resume,
		Search:        botcommands.ArchiveSearch(c.index, st),
		Trend:         (&trend.Counter{Finder: trend.ArchiveFinder{Index: c.index}, Articles: st}).Series,
		Why:           newExplainer(cfg, st).Explain,
		CheckFeed: func(ctx context.Context, url string) (botcommands.FeedCheck, error) {
			ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			arts, err := ingest.Load(ctx, url, ingest.LoadOptions{Fetcher: c.fetcher})
			check := botcommands.FeedCheck{Articles: len(arts)}
			if len(arts) > 0 {
				// Without a name of its own, every article is named after
				// the feed's title (or, failing that, its site).
				check.Title = arts[0].Source
			}
			return check, err
		},
		Now: now,
		Log: log,
	}
	return c
}

// sweepSchedules gives every subscribed channel a due digest if it has
// none, in one replica at a time.
func (c *core) sweepSchedules(ctx context.Context) {
	_, err := c.jobLease("schedule-sweep").Do(ctx, 0, func(ctx context.Context) error {
		added, err := c.sched.Sweep(ctx)
		if added > 0 {
			c.log.Info("scheduled the digests of channels that had none", "channels", added)
		}
		return err
	})
	if err != nil && ctx.Err() == nil {
		c.log.Warn("checking every channel's next digest failed; it is tried again in an hour", "err", err)
	}
}

// scheduleChanged moves a channel's next digest to its new schedule; for a
// guild default (no channel), every channel of the guild that follows it.
func (c *core) scheduleChanged(ctx context.Context, ref digestbot.ChannelRef) {
	refs := []digestbot.ChannelRef{ref}
	if ref.ChannelID == "" {
		subs, err := c.st.Subscriptions(ctx, ref.GuildID, "")
		if err != nil {
			c.log.Warn("could not list a guild's channels to reschedule them", "guild", ref.GuildID, "err", err)
			return
		}
		refs = nil
		seen := map[string]bool{}
		for _, s := range subs {
			if !seen[s.ChannelID] {
				seen[s.ChannelID] = true
				refs = append(refs, digestbot.ChannelRef{GuildID: ref.GuildID, ChannelID: s.ChannelID})
			}
		}
	}
	for _, r := range refs {
		if err := c.sched.Reschedule(ctx, r); err != nil {
			c.log.Warn("could not reschedule a channel's digest", "guild", r.GuildID, "channel", r.ChannelID, "err", err)
		}
	}
}

func topicQueries(ts []*digestbot.Topic) map[string]string {
	m := make(map[string]string, len(ts))
	for _, t := range ts {
		m[t.Name] = t.Query
	}
	return m
}

package subscriptions

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	digestbot "github.com/digestbot/digestbot"
)

// MatcherStore is what the matcher job needs from the store
// (digestbot.Store satisfies it).
type MatcherStore interface {
	ArticlesAfter(ctx context.Context, seq string, max int) ([]digestbot.LogEntry, error)
	ArticlesSince(ctx context.Context, t time.Time, max int) ([]digestbot.LogEntry, error)
	GetArticles(ctx context.Context, ids []string) ([]*digestbot.Article, error)
	Watermark(ctx context.Context, name string) (string, error)
	SetWatermark(ctx context.Context, name, seq string) error
	AllSubscriptions(ctx context.Context) ([]*digestbot.Subscription, error)
	AllTopics(ctx context.Context) ([]*digestbot.Topic, error)
	SubscriptionChanges(ctx context.Context, seq string, max int) ([]digestbot.SubscriptionChange, error)
	GuildSnapshot(ctx context.Context, guildID string) (*digestbot.GuildSnapshot, error)
	EnqueuePending(ctx context.Context, items []digestbot.PendingItem) error
}

// MatcherOptions configure a Matcher. Only the store is required.
type MatcherOptions struct {
	// GlobalTopics are the operator's topics from the configuration (empty
	// GuildID). A guild's own topic of the same name overrides one for that
	// guild.
	GlobalTopics []*digestbot.Topic
	Logger       *slog.Logger     // default slog.Default()
	Now          func() time.Time // default time.Now
	// Backfill lets a new subscription also match articles ingested this
	// long before it was created. Zero: only articles ingested at or after
	// its creation.
	Backfill time.Duration
	// BatchSize is how many log entries are matched per queue write
	// (default 500).
	BatchSize int
	// ReloadEvery is how often the subscriptions are reloaded in full, to
	// heal a change-feed entry that was lost (default 15 minutes).
	ReloadEvery time.Duration
	// Watermark names the matcher's cursor in the store (default "matcher").
	Watermark string
	// Feeds, when set, makes a feed new to a server start from now (see
	// matcher_backlog.go); nil: every match is queued.
	Feeds FeedEntries
	// Spikes counts outlets for spike rules (see matcher_spike.go); nil:
	// no spike alerts.
	Spikes SpikeCounter
	// OnInstant is told of the channels that got items an instant
	// subscription matched, after they are queued and before the
	// watermark moves past them: an error fails the run, which matches
	// those articles again (the queue merges them) and calls it again, so
	// an alert is never left unscheduled. Optional.
	OnInstant func(ctx context.Context, refs []digestbot.ChannelRef) error
}

// Matcher is the matcher job: each RunOnce brings its index up to date with
// the subscription change feed, matches the articles ingested since its
// watermark, and queues one pending item per (channel, article) with every
// hit of that channel's subscriptions. The watermark moves only after the
// queue write succeeded, so a failed run is repeated, never skipped; the
// queue merges repeats. Safe for concurrent use (runs are serialised).
type Matcher struct {
	mu    sync.Mutex
	st    MatcherStore
	opt   MatcherOptions
	log   *slog.Logger
	index *Index

	global      map[string]*Query                      // parsed global topics
	subs        map[string]*digestbot.Subscription     // by id
	guildTopics map[string]map[string]*digestbot.Topic // guild -> name -> topic
	topicCache  map[string]map[string]*Query           // guild -> name -> parsed topic
	unindexed   map[string]string                      // sub id -> why it is not in the index
	catchUp     map[string]bool                        // new subscriptions still to match against past articles
	// versions holds, per guild, the change counter the index reflects
	// (see digestbot.SubscriptionChange); a guild not in it is reloaded
	// at its next change.
	versions map[string]int64
	feedSeq  string
	loaded   bool
	lastLoad time.Time
}

// MatchStats says what one RunOnce did.
type MatchStats struct {
	Changes       int // change-feed entries applied
	Subscriptions int // subscriptions in the index afterwards
	Articles      int // new articles matched
	CaughtUp      int // past articles matched for new subscriptions
	Candidates    int // queries verified
	Hits          int // (subscription, article) matches queued
	Items         int // pending items written
	HeldBack      int // matches of a new feed's backlog, for lookup only
	Spikes        int // spike alerts queued
}

// NewMatcher returns a matcher over st.
func NewMatcher(st MatcherStore, opt MatcherOptions) *Matcher {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.BatchSize <= 0 {
		opt.BatchSize = 500
	}
	if opt.ReloadEvery <= 0 {
		opt.ReloadEvery = 15 * time.Minute
	}
	if opt.Watermark == "" {
		opt.Watermark = "matcher"
	}
	m := &Matcher{st: st, opt: opt, log: opt.Logger, index: NewIndex(), global: map[string]*Query{}}
	for _, t := range opt.GlobalTopics {
		q, err := Parse(t.Query)
		if err != nil {
			m.log.Error("matcher: global topic does not parse; subscriptions to it match nothing",
				"topic", t.Name, "err", digestbot.ErrorMessage(err))
			continue
		}
		m.global[digestbot.NormalizeTopicName(t.Name)] = q
	}
	m.reset()
	return m
}

func (m *Matcher) reset() {
	m.subs = map[string]*digestbot.Subscription{}
	m.guildTopics = map[string]map[string]*digestbot.Topic{}
	m.topicCache = map[string]map[string]*Query{}
	m.unindexed = map[string]string{}
	m.catchUp = map[string]bool{}
	m.versions = map[string]int64{}
}

// Unindexed returns the subscriptions that match nothing and why (a topic
// that no longer exists, a query that no longer parses).
func (m *Matcher) Unindexed() map[string]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]string, len(m.unindexed))
	for k, v := range m.unindexed {
		out[k] = v
	}
	return out
}

// RunOnce runs the job once. On an error the work not yet queued is
// retried by the next run.
func (m *Matcher) RunOnce(ctx context.Context) (MatchStats, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var st MatchStats
	now := m.opt.Now()
	var err error
	if !m.loaded || now.Sub(m.lastLoad) >= m.opt.ReloadEvery {
		err = m.load(ctx, now)
	} else {
		st.Changes, err = m.applyChanges(ctx)
	}
	if err != nil {
		return st, err
	}
	st.Subscriptions = m.index.Len()
	if len(m.catchUp) > 0 {
		if err := m.runCatchUp(ctx, &st); err != nil {
			return st, err
		}
	}
	if err := m.matchNew(ctx, &st); err != nil {
		return st, err
	}
	if st.Articles > 0 || st.Changes > 0 || st.CaughtUp > 0 {
		m.log.Info("matcher: run", "changes", st.Changes, "subscriptions", st.Subscriptions,
			"articles", st.Articles, "caught_up", st.CaughtUp, "candidates", st.Candidates,
			"hits", st.Hits, "items", st.Items)
	}
	return st, nil
}

// topicLookup resolves topic names for one guild: its own topic, else the
// global one.
func (m *Matcher) topicLookup(guildID string) func(string) (*Query, bool) {
	return func(name string) (*Query, bool) {
		if t := m.guildTopics[guildID][name]; t != nil {
			if q := m.topicCache[guildID][name]; q != nil {
				return q, true
			}
			q, err := Parse(t.Query)
			if err != nil {
				return nil, false
			}
			if m.topicCache[guildID] == nil {
				m.topicCache[guildID] = map[string]*Query{}
			}
			m.topicCache[guildID][name] = q
			return q, true
		}
		q, ok := m.global[name]
		return q, ok
	}
}

// indexSub puts s in the index, or takes it out (and remembers why) when
// its query cannot be used now.
func (m *Matcher) indexSub(s *digestbot.Subscription) {
	q, err := m.queryOf(s)
	if err == nil {
		err = m.index.Add(s.ID, q)
	}
	if err != nil {
		m.index.Remove(s.ID)
		reason := digestbot.ErrorMessage(err)
		if m.unindexed[s.ID] != reason {
			m.log.Warn("matcher: subscription matches nothing", "guild", s.GuildID, "channel", s.ChannelID,
				"subscription", s.ID, "label", s.Label(), "reason", reason)
		}
		m.unindexed[s.ID] = reason
		return
	}
	delete(m.unindexed, s.ID)
}

func (m *Matcher) queryOf(s *digestbot.Subscription) (*Query, error) {
	var q *Query
	if s.Topic != "" {
		q = &Query{Root: &TopicRef{Name: digestbot.NormalizeTopicName(s.Topic)}}
	} else {
		var err error
		if q, err = Parse(s.Query); err != nil {
			return nil, err
		}
	}
	return q.ResolveTopics(m.topicLookup(s.GuildID))
}

// matchNew matches the articles after the watermark, batch by batch.
func (m *Matcher) matchNew(ctx context.Context, st *MatchStats) error {
	wm, err := m.st.Watermark(ctx, m.opt.Watermark)
	if err != nil {
		return fmt.Errorf("read matcher watermark: %w", err)
	}
	for {
		entries, err := m.st.ArticlesAfter(ctx, wm, m.opt.BatchSize)
		if err != nil {
			return fmt.Errorf("read ingest log: %w", err)
		}
		if len(entries) == 0 {
			return nil
		}
		n, err := m.matchEntries(ctx, m.index, entries, st)
		if err != nil {
			return err
		}
		st.Articles += n
		last := entries[len(entries)-1].Seq
		if err := m.st.SetWatermark(ctx, m.opt.Watermark, last); err != nil {
			return fmt.Errorf("advance matcher watermark: %w", err)
		}
		wm = last
		if len(entries) < m.opt.BatchSize {
			return nil
		}
	}
}

// runCatchUp matches the new subscriptions against the articles the matcher
// has already passed (those up to its watermark) that were ingested after
// the subscriptions' cut-off. This covers the backfill option and a
// subscription whose change reached the matcher after articles it should
// match. It reads and matches the log a batch at a time, however far
// behind the watermark the cut-off lies, so memory stays bounded by the
// batch size. On an error the next run starts the catch-up again; queued
// items merge, so nothing is offered twice.
func (m *Matcher) runCatchUp(ctx context.Context, st *MatchStats) error {
	wm, err := m.st.Watermark(ctx, m.opt.Watermark)
	if err != nil {
		return fmt.Errorf("read matcher watermark: %w", err)
	}
	if wm == "" { // nothing matched yet: the new articles path sees everything
		clear(m.catchUp)
		return nil
	}
	x := NewIndex()
	var since time.Time
	for id := range m.catchUp {
		s := m.subs[id]
		if s == nil || m.unindexed[id] != "" {
			continue
		}
		q, err := m.queryOf(s)
		if err != nil || x.Add(id, q) != nil {
			continue
		}
		if c := s.CreatedAt.Add(-m.opt.Backfill); since.IsZero() || c.Before(since) {
			since = c
		}
	}
	if x.Len() == 0 {
		clear(m.catchUp)
		return nil
	}
	entries, err := m.st.ArticlesSince(ctx, since, m.opt.BatchSize)
	for {
		if err != nil {
			return fmt.Errorf("read ingest log for new subscriptions: %w", err)
		}
		// The entries after the watermark are still ahead of the matcher:
		// matchNew matches them as new.
		behind := len(entries)
		for behind > 0 && digestbot.CompareSeq(entries[behind-1].Seq, wm) > 0 {
			behind--
		}
		if behind > 0 {
			done, err := m.matchEntries(ctx, x, entries[:behind], st)
			if err != nil {
				return err
			}
			st.CaughtUp += done
		}
		if behind < len(entries) || len(entries) < m.opt.BatchSize {
			break
		}
		entries, err = m.st.ArticlesAfter(ctx, entries[len(entries)-1].Seq, m.opt.BatchSize)
	}
	clear(m.catchUp)
	return nil
}

// matchEntries matches the articles of entries against x and queues the
// hits; it returns how many articles it read.
func (m *Matcher) matchEntries(ctx context.Context, x *Index, entries []digestbot.LogEntry, st *MatchStats) (int, error) {
	ids := make([]string, len(entries))
	for i, e := range entries {
		ids[i] = e.ArticleID
	}
	arts, err := m.st.GetArticles(ctx, ids)
	if err != nil {
		return 0, fmt.Errorf("read articles: %w", err)
	}
	held, err := m.loadBacklog(ctx, arts)
	if err != nil {
		return 0, err
	}
	now := m.opt.Now()
	var items []digestbot.PendingItem
	var spikes spikeNotes
	var doc Doc
	var found []Match // reused: a Match's Terms never point into it
	read := 0
	before := x.Stats().Candidates
	for i, a := range arts {
		if a == nil { // expired or removed since it was logged
			continue
		}
		read++
		ingested := entries[i].Ingested
		if ingested.IsZero() {
			ingested = a.Ingested
		}
		doc.ResetArticle(a)
		byChannel := map[digestbot.ChannelRef]int{}
		found = x.AppendMatches(found[:0], &doc)
		for _, hit := range found {
			s := m.subs[hit.ID]
			if s == nil || ingested.Before(s.CreatedAt.Add(-m.opt.Backfill)) {
				continue
			}
			if !a.VisibleTo(s.GuildID) { // another server's own feed brought it in
				continue
			}
			if slices.Contains(entries[i].SeenBy, s.GuildID) {
				// Announced again because more servers may see it now;
				// this one could before, and was offered it then.
				continue
			}
			if held.holdsBack(a, s.GuildID, entries[i].Seq) {
				st.HeldBack++
				continue
			}
			st.Hits++
			h := digestbot.Hit{SubscriptionID: s.ID, Label: s.Label(), Terms: hit.Terms, Instant: s.Instant(), Mention: s.Mention}
			ref := digestbot.ChannelRef{GuildID: s.GuildID, ChannelID: s.ChannelID}
			if j, ok := byChannel[ref]; ok {
				items[j].Hits = append(items[j].Hits, h)
				spikes.add(s, a, now, j, len(items[j].Hits)-1)
				continue
			}
			byChannel[ref] = len(items)
			items = append(items, digestbot.PendingItem{GuildID: s.GuildID, ChannelID: s.ChannelID,
				ArticleID: a.ID, Hits: []digestbot.Hit{h}, QueuedAt: now})
			spikes.add(s, a, now, len(items)-1, 0)
		}
	}
	st.Candidates += int(x.Stats().Candidates - before)
	alerted, err := m.countSpikes(ctx, &spikes, items, now)
	if err != nil {
		return 0, err
	}
	if len(items) > 0 {
		if err := m.st.EnqueuePending(ctx, items); err != nil {
			return 0, fmt.Errorf("queue %d pending items: %w", len(items), err)
		}
		st.Items += len(items)
		if err := m.alert(ctx, items); err != nil {
			return 0, err
		}
	}
	if len(alerted) > 0 {
		st.Spikes += len(alerted)
		m.alerted(ctx, alerted)
	}
	return read, nil
}

// alert tells OnInstant of the channels that have new instant items.
func (m *Matcher) alert(ctx context.Context, items []digestbot.PendingItem) error {
	if m.opt.OnInstant == nil {
		return nil
	}
	var refs []digestbot.ChannelRef
	seen := map[digestbot.ChannelRef]bool{}
	for _, it := range items {
		ref := digestbot.ChannelRef{GuildID: it.GuildID, ChannelID: it.ChannelID}
		if it.Instant() && !seen[ref] {
			seen[ref] = true
			refs = append(refs, ref)
		}
	}
	if len(refs) == 0 {
		return nil
	}
	if err := m.opt.OnInstant(ctx, refs); err != nil {
		return fmt.Errorf("schedule the alerts of %d channels: %w", len(refs), err)
	}
	return nil
}

package subscriptions

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	digestbot "github.com/digestbot/digestbot"
)

// fakeStore is an in-memory MatcherStore with the store's documented
// behaviour: an ordered ingest log, a change feed, and a pending queue that
// merges hits per (channel, article).
type fakeStore struct {
	mu       sync.Mutex
	log      []digestbot.LogEntry
	articles map[string]*digestbot.Article
	marks    map[string]string
	subs     []*digestbot.Subscription
	topics   []*digestbot.Topic
	changes  []digestbot.SubscriptionChange
	versions map[string]int64 // per guild, as the store's change counters
	pending  []digestbot.PendingItem
	failNext error // returned once by EnqueuePending
}

func newFakeStore() *fakeStore {
	return &fakeStore{articles: map[string]*digestbot.Article{}, marks: map[string]string{}, versions: map[string]int64{}}
}

func (f *fakeStore) seq(n int) string { return fmt.Sprintf("%08d", n) }

func (f *fakeStore) ingest(id, title, text string, at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.articles[id] = &digestbot.Article{ID: id, Title: title, Text: text, Source: "Test Wire", Ingested: at}
	f.log = append(f.log, digestbot.LogEntry{Seq: f.seq(len(f.log) + 1), ArticleID: id, Ingested: at})
}

func (f *fakeStore) change(ch digestbot.SubscriptionChange) {
	ch.Seq = f.seq(len(f.changes) + 1)
	ch.PrevVersion = f.versions[ch.GuildID]
	ch.Version = ch.PrevVersion + 1
	f.versions[ch.GuildID] = ch.Version
	f.changes = append(f.changes, ch)
}

// swapLastChanges makes the last two entries of the change feed trade
// places, as when two replicas append in the other order than they
// changed the store.
func (f *fakeStore) swapLastChanges() {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := len(f.changes)
	a, b := f.changes[n-2], f.changes[n-1]
	a.Seq, b.Seq = b.Seq, a.Seq
	f.changes[n-2], f.changes[n-1] = b, a
}

// dropLastChange loses the last entry of the change feed, as when a
// replica stops between a change and its append.
func (f *fakeStore) dropLastChange() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.changes = f.changes[:len(f.changes)-1]
}

func (f *fakeStore) subscribe(s *digestbot.Subscription) *digestbot.Subscription {
	f.mu.Lock()
	defer f.mu.Unlock()
	s.ID = digestbot.SubscriptionID(s.GuildID, s.ChannelID, s.Query, s.Topic)
	f.subs = append(f.subs, s)
	f.change(digestbot.SubscriptionChange{Op: "add_sub", GuildID: s.GuildID, Subscription: s})
	return s
}

func (f *fakeStore) unsubscribe(s *digestbot.Subscription) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.subs = slices.DeleteFunc(f.subs, func(x *digestbot.Subscription) bool { return x.ID == s.ID })
	f.change(digestbot.SubscriptionChange{Op: "remove_sub", GuildID: s.GuildID, Subscription: s})
}

func (f *fakeStore) putTopic(t *digestbot.Topic) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.topics = slices.DeleteFunc(f.topics, func(x *digestbot.Topic) bool { return x.GuildID == t.GuildID && x.Name == t.Name })
	f.topics = append(f.topics, t)
	f.change(digestbot.SubscriptionChange{Op: "put_topic", GuildID: t.GuildID, Topic: t})
}

func (f *fakeStore) deleteTopic(guild, name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.topics = slices.DeleteFunc(f.topics, func(x *digestbot.Topic) bool { return x.GuildID == guild && x.Name == name })
	f.change(digestbot.SubscriptionChange{Op: "delete_topic", GuildID: guild, Topic: &digestbot.Topic{GuildID: guild, Name: name}})
}

func (f *fakeStore) ArticlesAfter(_ context.Context, seq string, max int) ([]digestbot.LogEntry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []digestbot.LogEntry
	for _, e := range f.log {
		if e.Seq > seq && len(out) < max {
			out = append(out, e)
		}
	}
	return out, nil
}

func (f *fakeStore) ArticlesSince(_ context.Context, t time.Time, max int) ([]digestbot.LogEntry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []digestbot.LogEntry
	for _, e := range f.log {
		if !e.Ingested.Before(t) && len(out) < max {
			out = append(out, e)
		}
	}
	return out, nil
}

func (f *fakeStore) GetArticles(_ context.Context, ids []string) ([]*digestbot.Article, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]*digestbot.Article, len(ids))
	for i, id := range ids {
		out[i] = f.articles[id]
	}
	return out, nil
}

func (f *fakeStore) Watermark(_ context.Context, name string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.marks[name], nil
}

func (f *fakeStore) SetWatermark(_ context.Context, name, seq string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.marks[name] = seq
	return nil
}

func (f *fakeStore) AllSubscriptions(context.Context) ([]*digestbot.Subscription, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.subs), nil
}

func (f *fakeStore) AllTopics(context.Context) ([]*digestbot.Topic, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.topics), nil
}

func (f *fakeStore) SubscriptionChanges(_ context.Context, seq string, max int) ([]digestbot.SubscriptionChange, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []digestbot.SubscriptionChange
	for _, c := range f.changes {
		if c.Seq > seq && len(out) < max {
			out = append(out, c)
		}
	}
	return out, nil
}

func (f *fakeStore) GuildSnapshot(_ context.Context, guildID string) (*digestbot.GuildSnapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	snap := &digestbot.GuildSnapshot{GuildID: guildID, Version: f.versions[guildID]}
	for _, s := range f.subs {
		if s.GuildID == guildID {
			snap.Subscriptions = append(snap.Subscriptions, s)
		}
	}
	for _, t := range f.topics {
		if t.GuildID == guildID {
			snap.Topics = append(snap.Topics, t)
		}
	}
	return snap, nil
}

func (f *fakeStore) EnqueuePending(_ context.Context, items []digestbot.PendingItem) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.failNext; err != nil {
		f.failNext = nil
		return err
	}
next:
	for _, it := range items {
		for i := range f.pending {
			p := &f.pending[i]
			if p.GuildID == it.GuildID && p.ChannelID == it.ChannelID && p.ArticleID == it.ArticleID {
				for _, h := range it.Hits {
					if !slices.ContainsFunc(p.Hits, func(x digestbot.Hit) bool { return x.SubscriptionID == h.SubscriptionID }) {
						p.Hits = append(p.Hits, h)
					}
				}
				continue next
			}
		}
		f.pending = append(f.pending, it)
	}
	return nil
}

// queued summarises the pending queue as "channel article label[terms] ..." lines.
func (f *fakeStore) queued() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, p := range f.pending {
		var hits []string
		for _, h := range p.Hits {
			hits = append(hits, h.Label+strings.ReplaceAll(fmt.Sprint(h.Terms), " ", ","))
		}
		sort.Strings(hits)
		out = append(out, p.ChannelID+" "+p.ArticleID+" "+strings.Join(hits, " "))
	}
	sort.Strings(out)
	return out
}

type testClock struct{ t time.Time }

func (c *testClock) now() time.Time { return c.t }

var t0 = time.Date(2021, 3, 20, 8, 0, 0, 0, time.UTC)

func newTestMatcher(f *fakeStore, clk *testClock, backfill time.Duration) *Matcher {
	return NewMatcher(f, MatcherOptions{
		GlobalTopics: []*digestbot.Topic{{Name: "surveillance", Query: `"facial recognition" OR "personal data" OR surveillance`}},
		Logger:       slog.New(slog.DiscardHandler),
		Now:          clk.now,
		Backfill:     backfill,
		BatchSize:    2, // several batches per run
	})
}

func run(t *testing.T, m *Matcher) MatchStats {
	t.Helper()
	st, err := m.RunOnce(context.Background())
	if err != nil {
		t.Fatalf("RunOnce: %v", err)
	}
	return st
}

func sameLines(t *testing.T, got, want []string) {
	t.Helper()
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("queue:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestMatcherQueuesOneItemPerChannelAndArticle(t *testing.T) {
	f := newFakeStore()
	clk := &testClock{t0}
	f.subscribe(&digestbot.Subscription{GuildID: "g1", ChannelID: "c1", Query: "Confucius Institute", CreatedAt: t0})
	f.subscribe(&digestbot.Subscription{GuildID: "g1", ChannelID: "c1", Topic: "surveillance", CreatedAt: t0})
	f.subscribe(&digestbot.Subscription{GuildID: "g2", ChannelID: "c2", Query: `"facial recognition" -BMW`, CreatedAt: t0})
	f.ingest("norway", "Norway closes Confucius Institute", "The institute in Bergen will close.", t0.Add(time.Minute))
	f.ingest("stores", "Facial recognition in stores", "Stores, among them BMW dealers, used facial recognition.", t0.Add(2*time.Minute))
	f.ingest("both", "Confucius Institute and surveillance", "Students say the Confucius Institute ran surveillance.", t0.Add(3*time.Minute))
	f.ingest("cams", "Cameras everywhere", "Facial recognition cameras were installed.", t0.Add(4*time.Minute))
	m := newTestMatcher(f, clk, 0)
	st := run(t, m)
	sameLines(t, f.queued(), []string{
		"c1 norway Confucius Institute[Confucius,Institute]",
		"c1 stores topic:surveillance[facial,recognition]",
		"c1 both Confucius Institute[Confucius,Institute] topic:surveillance[surveillance]",
		"c1 cams topic:surveillance[facial,recognition]",
		"c2 cams \"facial recognition\" -BMW[facial,recognition]",
	})
	if st.Articles != 4 || st.Items != 5 || st.Hits != 6 || st.Subscriptions != 3 {
		t.Errorf("stats %+v", st)
	}
	if wm := f.marks["matcher"]; wm != f.seq(4) {
		t.Errorf("watermark %q, want the last entry %q", wm, f.seq(4))
	}
	// Nothing new: nothing more is queued.
	if st := run(t, m); st.Articles != 0 || st.Items != 0 {
		t.Errorf("second run %+v", st)
	}
}

// TestMatcherKeepsServersPrivateArticlesPrivate: an article that only one
// server's own feed brought in reaches that server's subscriptions, never
// another server's, however well it matches.
func TestMatcherKeepsServersPrivateArticlesPrivate(t *testing.T) {
	f := newFakeStore()
	clk := &testClock{t0}
	f.subscribe(&digestbot.Subscription{GuildID: "g1", ChannelID: "c1", Query: "Confucius", CreatedAt: t0})
	f.subscribe(&digestbot.Subscription{GuildID: "g2", ChannelID: "c2", Query: "Confucius", CreatedAt: t0})
	f.ingest("private", "Confucius Institute closes", "From g1's own feed.", t0.Add(time.Minute))
	f.ingest("shared", "Confucius Institute reopens", "From a feed both servers added.", t0.Add(2*time.Minute))
	f.ingest("public", "Confucius Institute debated", "From the operator's feed.", t0.Add(3*time.Minute))
	f.articles["private"].Guilds = []string{"g1"}
	f.articles["shared"].Guilds = []string{"g1", "g2"}
	run(t, newTestMatcher(f, clk, 0))
	sameLines(t, f.queued(), []string{
		"c1 private Confucius[Confucius]",
		"c1 shared Confucius[Confucius]",
		"c2 shared Confucius[Confucius]",
		"c1 public Confucius[Confucius]",
		"c2 public Confucius[Confucius]",
	})
}

// TestMatcherOffersAWidenedArticleToTheNewServersOnly: when another
// server's feed (or a public source) brings an article in again, the store
// announces it once more naming who could see it before; the matcher
// offers it to the others, whose subscriptions predate the announcement,
// and not again to those that had it.
func TestMatcherOffersAWidenedArticleToTheNewServersOnly(t *testing.T) {
	f := newFakeStore()
	clk := &testClock{t0}
	f.subscribe(&digestbot.Subscription{GuildID: "g1", ChannelID: "c1", Query: "lighthouse", CreatedAt: t0})
	f.subscribe(&digestbot.Subscription{GuildID: "g2", ChannelID: "c2", Query: "lighthouse", CreatedAt: t0})
	f.ingest("keeper", "Lighthouse keeper retires", "From g1's own feed.", t0.Add(time.Minute))
	f.articles["keeper"].Guilds = []string{"g1"}
	m := newTestMatcher(f, clk, 0)
	run(t, m)
	sameLines(t, f.queued(), []string{"c1 keeper lighthouse[lighthouse]"})

	// g1 adds a second channel's subscription after the article came in;
	// then g2 adds the same feed and the article is announced again.
	f.subscribe(&digestbot.Subscription{GuildID: "g1", ChannelID: "c1b", Query: "lighthouse", CreatedAt: t0.Add(5 * time.Minute)})
	f.mu.Lock()
	f.articles["keeper"].Guilds = []string{"g1", "g2"}
	f.log = append(f.log, digestbot.LogEntry{Seq: f.seq(len(f.log) + 1), ArticleID: "keeper", Ingested: t0.Add(10 * time.Minute), SeenBy: []string{"g1"}})
	f.mu.Unlock()
	run(t, m)
	sameLines(t, f.queued(), []string{"c1 keeper lighthouse[lighthouse]", "c2 keeper lighthouse[lighthouse]"})
}

func TestMatcherKeepsWatermarkWhenQueueFails(t *testing.T) {
	f := newFakeStore()
	clk := &testClock{t0}
	f.subscribe(&digestbot.Subscription{GuildID: "g", ChannelID: "c", Query: "bergen", CreatedAt: t0})
	f.ingest("a1", "Bergen", "x", t0.Add(time.Minute))
	m := newTestMatcher(f, clk, 0)
	f.failNext = errors.New("redis down")
	if _, err := m.RunOnce(context.Background()); err == nil {
		t.Fatal("RunOnce succeeded although the queue write failed")
	}
	if wm := f.marks["matcher"]; wm != "" {
		t.Fatalf("watermark moved to %q past an article that was not queued", wm)
	}
	run(t, m)
	sameLines(t, f.queued(), []string{"c a1 bergen[bergen]"})
	if f.marks["matcher"] != f.seq(1) {
		t.Errorf("watermark %q after the retry", f.marks["matcher"])
	}
}

func TestMatcherCreatedAtAndCatchUp(t *testing.T) {
	f := newFakeStore()
	clk := &testClock{t0}
	f.ingest("old", "Bergen news", "before any subscription", t0.Add(-48*time.Hour))
	f.ingest("recent", "Bergen news", "an hour before", t0.Add(-time.Hour))
	m := newTestMatcher(f, clk, 0)
	run(t, m) // passes both articles with no subscriptions

	// A subscription created now does not get the articles before it...
	late := f.subscribe(&digestbot.Subscription{GuildID: "g", ChannelID: "c", Query: "bergen", CreatedAt: t0})
	run(t, m)
	sameLines(t, f.queued(), nil)

	// ...but one whose change reached the matcher after an article it
	// should match gets that article on the next run.
	f.ingest("race", "Bergen again", "ingested after the subscription", t0.Add(time.Minute))
	m2 := newTestMatcher(f, clk, 0)
	run(t, m2) // loads everything, matches "race" as new
	sameLines(t, f.queued(), []string{"c race bergen[bergen]"})
	f.unsubscribe(late)

	// A matcher with a day of backfill gives a new subscription the
	// article from an hour ago, not the one from two days ago.
	m3 := newTestMatcher(f, clk, 24*time.Hour)
	run(t, m3)
	f.subscribe(&digestbot.Subscription{GuildID: "g", ChannelID: "c2", Query: "bergen", CreatedAt: t0})
	st := run(t, m3)
	sameLines(t, f.queued(), []string{"c race bergen[bergen]", "c2 race bergen[bergen]", "c2 recent bergen[bergen]"})
	if st.CaughtUp != 2 {
		t.Errorf("caught up %d articles, want the 2 since the cut-off", st.CaughtUp)
	}
}

func TestMatcherFollowsTopicsAndRemovals(t *testing.T) {
	f := newFakeStore()
	clk := &testClock{t0}
	sub := f.subscribe(&digestbot.Subscription{GuildID: "g", ChannelID: "c", Topic: "surveillance", CreatedAt: t0})
	other := f.subscribe(&digestbot.Subscription{GuildID: "h", ChannelID: "d", Topic: "surveillance", CreatedAt: t0})
	m := newTestMatcher(f, clk, 0)
	run(t, m)
	article := func(id, text string) {
		f.ingest(id, "Story "+id, text, clk.t)
		clk.t = clk.t.Add(time.Minute)
		run(t, m)
	}
	// Guild g overrides the global topic; guild h keeps the global one.
	f.putTopic(&digestbot.Topic{GuildID: "g", Name: "surveillance", Query: "cameras -bmw"})
	article("a1", "cameras and facial recognition")
	sameLines(t, f.queued(), []string{"c a1 topic:surveillance[cameras]", "d a1 topic:surveillance[facial,recognition]"})
	// Deleting the guild topic falls back to the global one.
	f.deleteTopic("g", "surveillance")
	article("a2", "surveillance cameras at BMW")
	sameLines(t, f.queued(), []string{"c a1 topic:surveillance[cameras]", "d a1 topic:surveillance[facial,recognition]",
		"c a2 topic:surveillance[surveillance]", "d a2 topic:surveillance[surveillance]"})
	// A removed subscription matches nothing more; a topic that is gone
	// leaves its subscription unindexed, with the reason.
	f.unsubscribe(other)
	f.putTopic(&digestbot.Topic{GuildID: "g", Name: "surveillance", Query: "topic:missing"})
	article("a3", "surveillance")
	if n := len(f.queued()); n != 4 {
		t.Errorf("queue has %d items, want still 4: %q", n, f.queued())
	}
	if why := m.Unindexed()[sub.ID]; !strings.Contains(why, `no topic named "missing"`) {
		t.Errorf("unindexed reason %q", why)
	}
}

// A change whose feed entry was lost is healed by the periodic full reload.
func TestMatcherReloadHealsLostChanges(t *testing.T) {
	f := newFakeStore()
	clk := &testClock{t0}
	gone := f.subscribe(&digestbot.Subscription{GuildID: "g", ChannelID: "c", Query: "bergen", CreatedAt: t0})
	m := newTestMatcher(f, clk, 0)
	m.opt.ReloadEvery = time.Hour
	run(t, m)
	// Change the store behind the feed's back.
	f.mu.Lock()
	f.subs = nil
	quiet := &digestbot.Subscription{GuildID: "g", ChannelID: "c2", Query: "oslo", CreatedAt: t0}
	quiet.ID = digestbot.SubscriptionID(quiet.GuildID, quiet.ChannelID, quiet.Query, quiet.Topic)
	f.subs = append(f.subs, quiet)
	f.mu.Unlock()
	f.ingest("a1", "Bergen and Oslo", "x", t0.Add(time.Minute))
	clk.t = t0.Add(2 * time.Minute)
	run(t, m) // before the reload: the matcher still has the old view
	sameLines(t, f.queued(), []string{"c a1 bergen[bergen]"})
	clk.t = t0.Add(2 * time.Hour)
	f.ingest("a2", "Bergen and Oslo again", "x", clk.t)
	st := run(t, m)
	sameLines(t, f.queued(), []string{"c a1 bergen[bergen]", "c2 a1 oslo[oslo]", "c2 a2 oslo[oslo]"})
	if st.Subscriptions != 1 || m.index.Has(gone.ID) {
		t.Errorf("after the reload: %+v, removed subscription still indexed: %v", st, m.index.Has(gone.ID))
	}
}

// TestMatcherMatchesEveryOutletOfAStory: source: finds a story by any of
// its outlets (here the second of a numbered list), a phrase never spans
// two outlet names, and an outlet's name is not a word of the story.
func TestMatcherMatchesEveryOutletOfAStory(t *testing.T) {
	f := newFakeStore()
	clk := &testClock{t0}
	queries := map[string]bool{ // query: matches
		`source:Northsound`:           true,
		`source:"Northsound Radio"`:   true,
		`source:Courier`:              true,
		`source:"Courier Northsound"`: false,
		`Northsound`:                  false,
		`source:Tessaly`:              false,
	}
	for q := range queries {
		f.subscribe(&digestbot.Subscription{GuildID: "g1", ChannelID: "c1", Query: q, CreatedAt: t0})
	}
	f.ingest("vellmar", "Vellmar University closes its institute", "The senate voted to close the institute.", t0.Add(time.Minute))
	a := f.articles["vellmar"]
	a.Source, a.URL = "Vellmar Courier", "https://vellmar-courier.example/a"
	a.Sources = []digestbot.Source{{Name: a.Source, URL: a.URL}, {Name: "Northsound Radio", URL: "https://northsound-radio.example/b"}}
	run(t, newTestMatcher(f, clk, 0))
	sameLines(t, f.queued(), []string{
		`c1 vellmar source:"Northsound Radio"[Northsound,Radio] source:Courier[Courier] source:Northsound[Northsound]`,
	})
	// Query.Match on the article reads the same outlets.
	for q, ok := range queries {
		if _, got := MustParse(q).Match(DocFromArticle(a)); got != ok {
			t.Errorf("Match(%s) = %v, want %v", q, got, ok)
		}
	}
}

// Two replicas change one guild; the feed gets their entries in the other
// order. The matcher sees the gap and reads the guild, so it ends with what
// the store has: the unsubscribe that was stored last wins.
func TestMatcherAppliesAGuildsChangesInTheirOrder(t *testing.T) {
	f := newFakeStore()
	clk := &testClock{t0}
	m := newTestMatcher(f, clk, 0)
	f.subscribe(&digestbot.Subscription{GuildID: "other", ChannelID: "x", Query: "bergen", CreatedAt: t0})
	run(t, m)
	s := f.subscribe(&digestbot.Subscription{GuildID: "g", ChannelID: "c", Query: "bergen", CreatedAt: t0})
	run(t, m)
	f.unsubscribe(s)
	f.subscribe(&digestbot.Subscription{GuildID: "g", ChannelID: "c", Query: "bergen", CreatedAt: t0})
	f.unsubscribe(s)
	f.swapLastChanges() // the feed says: subscribe last
	f.ingest("a1", "Bergen", "x", t0.Add(time.Minute))
	clk.t = t0.Add(2 * time.Minute)
	run(t, m)
	sameLines(t, f.queued(), []string{"x a1 bergen[bergen]"})
	if m.index.Has(s.ID) {
		t.Error("a subscription the store no longer has is still indexed")
	}
	// The late entry is not applied again afterwards.
	f.ingest("a2", "Bergen", "x", t0.Add(3*time.Minute))
	run(t, m)
	if m.index.Has(s.ID) {
		t.Error("the late subscribe entry was applied after the guild was read")
	}
}

// A change whose feed entry was lost is seen at the guild's next change,
// without waiting for the full reload.
func TestMatcherHealsALostChangeAtTheNextOne(t *testing.T) {
	f := newFakeStore()
	clk := &testClock{t0}
	m := newTestMatcher(f, clk, 0)
	m.opt.ReloadEvery = time.Hour
	first := f.subscribe(&digestbot.Subscription{GuildID: "g", ChannelID: "c", Query: "bergen", CreatedAt: t0})
	run(t, m)
	f.unsubscribe(first)
	f.dropLastChange()
	f.subscribe(&digestbot.Subscription{GuildID: "g", ChannelID: "d", Query: "oslo", CreatedAt: t0})
	f.ingest("a1", "Bergen and Oslo", "x", t0.Add(time.Minute))
	clk.t = t0.Add(2 * time.Minute)
	run(t, m)
	sameLines(t, f.queued(), []string{"d a1 oslo[oslo]"})
}

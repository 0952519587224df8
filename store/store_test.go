package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/store"
	"github.com/digestbot/digestbot/store/storetest"
)

var _ digestbot.Store = (*store.Store)(nil)

// backend is one place the suite runs: a real redis-server, a real Redis
// Cluster or the embedded store.
type backend struct{ *storetest.Backend }

func (b backend) open(t *testing.T, opts store.Options) *store.Store { return b.Open(t, opts) }

// age lets d pass for the keys of st: a real wait on a real server, the
// embedded clock moved forward on the embedded one.
func (b backend) age(t *testing.T, st *store.Store, d time.Duration) {
	if b.Embedded() {
		if err := st.AdvanceClock(d); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Logf("waiting %v for keys to expire on the real %s", d, b.Name)
	time.Sleep(d)
}

// shortRetention is a retention that age can get past in a test.
func (b backend) shortRetention() time.Duration {
	if b.Embedded() {
		return time.Hour
	}
	return 2 * time.Second
}

// TestStore runs the same suite against a real redis-server, a real Redis
// Cluster and the embedded store.
func TestStore(t *testing.T) {
	cases := []struct {
		name string
		run  func(t *testing.T, b backend)
	}{
		{"articles new, updated, unchanged", testPutArticles},
		{"article sources", testArticleSources},
		{"ingest log paging", testIngestLog},
		{"retention expiry", testRetention},
		{"watermarks", testWatermarks},
		{"subscription add is idempotent", testIdempotentAdd},
		{"subscription limit", testSubscriptionLimit},
		{"concurrent adds and removes", testConcurrentSubscriptions},
		{"guild isolation", testGuildIsolation},
		{"topics", testTopics},
		{"change feed", testChangeFeed},
		{"feeds and health", testFeeds},
		{"schedules and channel state", testSchedules},
		{"pending merge and delivered skip", testPending},
		{"delivery claim", testClaim},
		{"delivery protocol", testDelivery},
		{"delivery resumes after a crash", testDeliveryCrash},
		{"delete guild", testDeleteGuild},
		{"guilds left", testGuildsLeft},
		{"lookup state", testLookupState},
		{"reply state", testReplyState},
		{"job leases", testJobLeases},
		{"article visibility merges", testArticleScope},
		{"article visibility and content", testArticleScopeContent},
	}
	storetest.EachBackend(t, func(t *testing.T, sb *storetest.Backend) {
		b := backend{sb}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) { c.run(t, b) })
		}
	})
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := digestbot.ErrorCode(err); got != code {
		t.Fatalf("error %v: code %q, want %q", err, got, code)
	}
}

func article(n int) *digestbot.Article {
	url := fmt.Sprintf("https://news.example.org/story/%d", n)
	return &digestbot.Article{
		ID:      digestbot.ArticleID(url, "", "", ""),
		Title:   fmt.Sprintf("Story number %d", n),
		URL:     url,
		Source:  "Example News",
		Text:    fmt.Sprintf("The body of story %d.", n),
		Summary: fmt.Sprintf("Summary %d.", n),
	}
}

func sub(guild, channel, query string) *digestbot.Subscription {
	return &digestbot.Subscription{
		ID:        digestbot.SubscriptionID(guild, channel, query, ""),
		GuildID:   guild,
		ChannelID: channel,
		Query:     query,
	}
}

func testPutArticles(t *testing.T, b backend) {
	st := b.open(t, store.Options{})
	c := ctx(t)
	a1, a2 := article(1), article(2)
	out, err := st.PutArticles(c, []*digestbot.Article{a1, a2})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(out, []digestbot.PutOutcome{digestbot.PutNew, digestbot.PutNew}) {
		t.Fatalf("first put: %v, want new, new", out)
	}
	got, err := st.GetArticles(c, []string{a2.ID, "missing", a1.ID})
	if err != nil {
		t.Fatal(err)
	}
	if got[0] == nil || got[0].Title != a2.Title || got[1] != nil || got[2] == nil || got[2].Title != a1.Title {
		t.Fatalf("GetArticles = %+v", got)
	}
	ingested := got[2].Ingested
	if ingested.IsZero() {
		t.Fatal("stored article has no ingest time")
	}

	changed := *a1
	changed.Text = "A corrected body."
	out, err = st.PutArticles(c, []*digestbot.Article{a2, &changed, article(3)})
	if err != nil {
		t.Fatal(err)
	}
	want := []digestbot.PutOutcome{digestbot.PutUnchanged, digestbot.PutUpdated, digestbot.PutNew}
	if !slices.Equal(out, want) {
		t.Fatalf("second put: %v, want %v", out, want)
	}
	got, err = st.GetArticles(c, []string{a1.ID})
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Text != "A corrected body." || !got[0].Ingested.Equal(ingested) {
		t.Fatalf("updated article: text %q ingested %v, want the new text and the first ingest time %v",
			got[0].Text, got[0].Ingested, ingested)
	}
	log, err := st.ArticlesAfter(c, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range log {
		ids = append(ids, e.ArticleID)
	}
	if !slices.Equal(ids, []string{a1.ID, a2.ID, article(3).ID}) {
		t.Fatalf("ingest log holds %v; only the three new articles should be there, in order", ids)
	}

	t.Run("a put cut off before the log append is finished by the next put", func(t *testing.T) {
		a := article(7)
		stale := *a
		stale.Ingested = time.Now().Add(-time.Hour).UTC()
		// What a put that stored the article and then lost its connection
		// leaves behind (see the key schema).
		err := st.Client().HSet(c, st.Prefix()+"a:"+a.ID, "body", mustJSON(t, &stale), "h", "",
			"ing", stale.Ingested.Format(time.RFC3339Nano), "unlogged", "1").Err()
		if err != nil {
			t.Fatal(err)
		}
		out, err := st.PutArticles(c, []*digestbot.Article{a})
		if err != nil || out[0] != digestbot.PutNew {
			t.Fatalf("put = %v, %v; want new, so that it is matched", out, err)
		}
		log, _ := st.ArticlesAfter(c, "", 0)
		if last := log[len(log)-1]; last.ArticleID != a.ID {
			t.Fatalf("the article is not in the ingest log: last entry %+v", last)
		}
		out, _ = st.PutArticles(c, []*digestbot.Article{a})
		if out[0] != digestbot.PutUnchanged {
			t.Fatalf("third put = %v, want unchanged", out[0])
		}
	})

	t.Run("invalid article stores nothing", func(t *testing.T) {
		bad := article(4)
		bad.Title = ""
		_, err := st.PutArticles(c, []*digestbot.Article{article(5), bad})
		wantCode(t, err, digestbot.EINVALID)
		got, _ := st.GetArticles(c, []string{article(5).ID})
		if got[0] != nil {
			t.Fatal("a valid article of a refused batch was stored")
		}
	})
}

// testArticleSources: every outlet of a story is stored and read back; a
// change to an outlet is an update; sources that disagree with the
// article's own outlet are refused.
func testArticleSources(t *testing.T, b backend) {
	st := b.open(t, store.Options{})
	c := ctx(t)
	day := time.Date(2026, 11, 12, 0, 0, 0, 0, time.UTC)
	a := article(1)
	a.Published = day
	a.Sources = []digestbot.Source{
		{Name: a.Source, URL: a.URL, Published: day},
		{Name: "Northsound Radio", URL: "https://northsound-radio.example/b", Published: day.Add(-24 * time.Hour)},
		{Name: "Island Notes"},
	}
	single := article(2)
	if out, err := st.PutArticles(c, []*digestbot.Article{a, single}); err != nil || out[0] != digestbot.PutNew {
		t.Fatalf("put = %v, %v", out, err)
	}
	got, err := st.GetArticles(c, []string{a.ID, single.ID})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got[0].Sources, a.Sources) {
		t.Errorf("sources read back %+v\nwant %+v", got[0].Sources, a.Sources)
	}
	if got[1].Sources != nil {
		t.Errorf("a single-outlet article reads back sources %+v", got[1].Sources)
	}
	if out, _ := st.PutArticles(c, []*digestbot.Article{a}); out[0] != digestbot.PutUnchanged {
		t.Errorf("same put again: %v, want unchanged", out[0])
	}
	moved := *a
	moved.Sources = slices.Clone(a.Sources)
	moved.Sources[1].URL = "https://northsound-radio.example/b-corrected"
	if out, _ := st.PutArticles(c, []*digestbot.Article{&moved}); out[0] != digestbot.PutUpdated {
		t.Errorf("second outlet's link changed: %v, want updated", out[0])
	}
	if got, _ := st.GetArticles(c, []string{a.ID}); got[0].Sources[1].URL != moved.Sources[1].URL {
		t.Errorf("stored link %q after the update", got[0].Sources[1].URL)
	}

	bad := article(3)
	bad.Sources = []digestbot.Source{{Name: "Someone Else", URL: bad.URL}, {Name: "Northsound Radio"}}
	_, err = st.PutArticles(c, []*digestbot.Article{bad})
	wantCode(t, err, digestbot.EINVALID)
	if got, _ := st.GetArticles(c, []string{bad.ID}); got[0] != nil {
		t.Error("an article whose first source is not its own was stored")
	}
}

func testIngestLog(t *testing.T, b backend) {
	st := b.open(t, store.Options{})
	c := ctx(t)
	var batch []*digestbot.Article
	for i := range 25 {
		batch = append(batch, article(i))
	}
	before := time.Now().Add(-time.Second)
	if _, err := st.PutArticles(c, batch); err != nil {
		t.Fatal(err)
	}
	var seen []string
	seq := ""
	for range 10 {
		page, err := st.ArticlesAfter(c, seq, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, e := range page {
			seen = append(seen, e.ArticleID)
			if e.Ingested.Before(before) {
				t.Errorf("entry %s ingested at %v, before the put", e.Seq, e.Ingested)
			}
		}
		seq = page[len(page)-1].Seq
	}
	if len(seen) != 25 || seen[0] != batch[0].ID || seen[24] != batch[24].ID {
		t.Fatalf("paging the log gave %d entries, want the 25 articles in order", len(seen))
	}
	since, err := st.ArticlesSince(c, time.Time{}, 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(since) != 5 || since[0].ArticleID != batch[0].ID {
		t.Fatalf("ArticlesSince(zero, 5) = %d entries", len(since))
	}
	future, err := st.ArticlesSince(c, time.Now().Add(time.Hour), 5)
	if err != nil || len(future) != 0 {
		t.Fatalf("ArticlesSince(an hour ahead) = %v, %v; want nothing", future, err)
	}
	_, err = st.ArticlesAfter(c, "not-a-seq", 5)
	wantCode(t, err, digestbot.EINVALID)
}

func testRetention(t *testing.T, b backend) {
	st := b.open(t, store.Options{Retention: b.shortRetention()})
	c := ctx(t)
	a := article(1)
	if _, err := st.PutArticles(c, []*digestbot.Article{a}); err != nil {
		t.Fatal(err)
	}
	if got, err := st.GetArticles(c, []string{a.ID}); err != nil || got[0] == nil {
		t.Fatalf("fresh article not readable: %v, %v", got, err)
	}
	if err := st.EnqueuePending(c, []digestbot.PendingItem{item("g1", "c1", a.ID, "s1")}); err != nil {
		t.Fatal(err)
	}
	b.age(t, st, b.shortRetention()+time.Second)

	got, err := st.GetArticles(c, []string{a.ID})
	if err != nil {
		t.Fatal(err)
	}
	if got[0] != nil {
		t.Fatal("article still stored after the retention window")
	}
	log, err := st.ArticlesAfter(c, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 0 {
		t.Fatalf("ingest log still lists %d expired entries", len(log))
	}
	tok, _, err := st.ClaimChannel(c, "g1", "c1", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if d, err := st.BeginDelivery(c, "g1", "c1", tok, time.Now()); err != nil || d != nil {
		t.Fatalf("delivery of an expired article = %+v, %v; want nothing to deliver", d, err)
	}
	if p, err := st.Pending(c, "g1", "c1"); err != nil || len(p) != 0 {
		t.Fatalf("expired pending items stay queued: %v, %v", p, err)
	}
	// A new article is stored and logged again (and the append trims the log).
	out, err := st.PutArticles(c, []*digestbot.Article{a})
	if err != nil || out[0] != digestbot.PutNew {
		t.Fatalf("re-put after expiry = %v, %v; want new", out, err)
	}
	n, err := st.Client().XLen(c, st.Prefix()+"{log}:ingest").Result()
	if err != nil {
		t.Fatal(err)
	}
	if n > 2 {
		t.Fatalf("ingest stream holds %d entries", n)
	}
}

// TestEmbeddedExpiresOnWallClock checks that the embedded store ages TTLs
// by itself, as a long-running demo needs (miniredis alone does not).
func TestEmbeddedExpiresOnWallClock(t *testing.T) {
	st := storetest.OpenEmbeddedWith(t, store.Options{Retention: 200 * time.Millisecond})
	c := ctx(t)
	a := article(1)
	if _, err := st.PutArticles(c, []*digestbot.Article{a}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		got, err := st.GetArticles(c, []string{a.ID})
		if err != nil {
			t.Fatal(err)
		}
		if got[0] == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("an article with a 200ms retention is still stored after 10s on the embedded store")
		}
	}
}

func testWatermarks(t *testing.T, b backend) {
	st := b.open(t, store.Options{})
	c := ctx(t)
	if v, err := st.Watermark(c, "matcher"); err != nil || v != "" {
		t.Fatalf("unset watermark = %q, %v", v, err)
	}
	if err := st.SetWatermark(c, "matcher", "123-4"); err != nil {
		t.Fatal(err)
	}
	if v, err := st.Watermark(c, "matcher"); err != nil || v != "123-4" {
		t.Fatalf("watermark = %q, %v", v, err)
	}
}

func testIdempotentAdd(t *testing.T, b backend) {
	st := b.open(t, store.Options{})
	c := ctx(t)
	s := sub("g1", "c1", "taiwan strait")
	for i, want := range []bool{true, false, false} {
		created, err := st.AddSubscription(c, s, 10)
		if err != nil {
			t.Fatal(err)
		}
		if created != want {
			t.Fatalf("add #%d: created=%v, want %v", i+1, created, want)
		}
	}
	subs, err := st.Subscriptions(c, "g1", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(subs) != 1 || subs[0].ID != s.ID || subs[0].CreatedAt.IsZero() {
		t.Fatalf("subscriptions = %+v, want the one subscription with a creation time", subs)
	}
	bad := *s
	bad.ID = "0123456789ab"
	_, err = st.AddSubscription(c, &bad, 10)
	wantCode(t, err, digestbot.EINVALID)
}

func testSubscriptionLimit(t *testing.T, b backend) {
	st := b.open(t, store.Options{})
	c := ctx(t)
	for i := range 3 {
		if _, err := st.AddSubscription(c, sub("g1", "c1", fmt.Sprintf("q%d", i)), 3); err != nil {
			t.Fatal(err)
		}
	}
	_, err := st.AddSubscription(c, sub("g1", "c1", "one too many"), 3)
	wantCode(t, err, digestbot.ELIMIT)
	if msg := digestbot.ErrorMessage(err); !strings.Contains(msg, "this server has 3 subscriptions, the limit is 3") {
		t.Fatalf("limit message %q does not say the count and the limit", msg)
	}
	// Re-adding an existing one at the limit is still a quiet no-op.
	if created, err := st.AddSubscription(c, sub("g1", "c1", "q0"), 3); err != nil || created {
		t.Fatalf("re-add at the limit = %v, %v", created, err)
	}
	// Another guild has its own quota.
	if _, err := st.AddSubscription(c, sub("g2", "c9", "q0"), 3); err != nil {
		t.Fatal(err)
	}
}

func testConcurrentSubscriptions(t *testing.T, b backend) {
	st := b.open(t, store.Options{})
	c := ctx(t)
	const workers, limit = 50, 30
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		created = map[string]bool{} // kept subscriptions whose add succeeded
		limited int
	)
	errs := make(chan error, workers*4)
	for w := range workers {
		wg.Go(func() {
			// Each worker adds a subscription of its own and one it shares
			// with another worker, then removes the shared one.
			keep := sub("g1", "c1", fmt.Sprintf("keep %d", w))
			shared := sub("g1", "c2", fmt.Sprintf("shared %d", w%25))
			for _, s := range []*digestbot.Subscription{keep, shared} {
				ok, err := st.AddSubscription(c, s, limit)
				switch {
				case digestbot.ErrorCode(err) == digestbot.ELIMIT:
					mu.Lock()
					limited++
					mu.Unlock()
				case err != nil:
					errs <- err
				case ok && s == keep:
					mu.Lock()
					created[s.ID] = true
					mu.Unlock()
				}
			}
			if _, err := st.RemoveSubscription(c, "g1", shared.ID); err != nil && digestbot.ErrorCode(err) != digestbot.ENOTFOUND {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	subs, err := st.Subscriptions(c, "g1", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(subs) > limit {
		t.Fatalf("%d subscriptions stored, over the limit of %d", len(subs), limit)
	}
	if limited == 0 {
		t.Fatal("100 adds against a limit of 30 never hit the limit")
	}
	final := map[string]bool{}
	for _, s := range subs {
		if final[s.ID] {
			t.Fatalf("subscription %s listed twice", s.ID)
		}
		final[s.ID] = true
	}
	for id := range created {
		if !final[id] {
			t.Errorf("subscription %s was added and never removed, but is gone", id)
		}
	}
	// Replaying the change feed gives exactly the stored set, so a matcher
	// following the feed agrees with the store.
	replay := map[string]bool{}
	seq := ""
	for {
		chs, err := st.SubscriptionChanges(c, seq, 50)
		if err != nil {
			t.Fatal(err)
		}
		if len(chs) == 0 {
			break
		}
		for _, ch := range chs {
			switch ch.Op {
			case "add_sub":
				replay[ch.Subscription.ID] = true
			case "remove_sub":
				delete(replay, ch.Subscription.ID)
			}
		}
		seq = chs[len(chs)-1].Seq
	}
	if len(replay) != len(final) {
		t.Fatalf("change feed replays to %d subscriptions, the store holds %d", len(replay), len(final))
	}
	for id := range final {
		if !replay[id] {
			t.Fatalf("subscription %s is stored but the change feed does not have it", id)
		}
	}
}

func testGuildIsolation(t *testing.T, b backend) {
	st := b.open(t, store.Options{})
	c := ctx(t)
	a := sub("guildA", "c1", "secret plans")
	if _, err := st.AddSubscription(c, a, 10); err != nil {
		t.Fatal(err)
	}
	subs, err := st.Subscriptions(c, "guildB", "")
	if err != nil || len(subs) != 0 {
		t.Fatalf("guild B lists %v, %v; want nothing", subs, err)
	}
	subs, err = st.Subscriptions(c, "guildB", "c1")
	if err != nil || len(subs) != 0 {
		t.Fatalf("guild B lists channel c1: %v, %v; want nothing", subs, err)
	}
	_, err = st.RemoveSubscription(c, "guildB", a.ID)
	wantCode(t, err, digestbot.ENOTFOUND)
	subs, err = st.Subscriptions(c, "guildA", "")
	if err != nil || len(subs) != 1 {
		t.Fatalf("guild A's subscription was touched: %v, %v", subs, err)
	}
	removed, err := st.RemoveSubscription(c, "guildA", a.ID)
	if err != nil || removed.Query != "secret plans" {
		t.Fatalf("guild A cannot remove its own: %v, %v", removed, err)
	}
	_, err = st.RemoveSubscription(c, "guild{A}", a.ID)
	wantCode(t, err, digestbot.EINVALID)
}

func testTopics(t *testing.T, b backend) {
	st := b.open(t, store.Options{})
	c := ctx(t)
	tp := &digestbot.Topic{GuildID: "g1", Name: "surveillance", Query: `"facial recognition" OR surveillance`}
	if err := st.PutTopic(c, tp, 2); err != nil {
		t.Fatal(err)
	}
	tp2 := *tp
	tp2.Name, tp2.Query = " Surveillance", "surveillance" // the same topic, not yet normalised
	if err := st.PutTopic(c, &tp2, 1); err != nil {
		t.Fatalf("replacing a topic at the limit: %v", err)
	}
	err := st.PutTopic(c, &digestbot.Topic{GuildID: "g1", Name: "energy", Query: "solar"}, 1)
	wantCode(t, err, digestbot.ELIMIT)
	ts, err := st.Topics(c, "g1")
	if err != nil || len(ts) != 1 || ts[0].Query != "surveillance" {
		t.Fatalf("topics = %v, %v", ts, err)
	}
	all, err := st.AllTopics(c)
	if err != nil || len(all) != 1 {
		t.Fatalf("all topics = %v, %v", all, err)
	}
	wantCode(t, st.DeleteTopic(c, "g2", "surveillance"), digestbot.ENOTFOUND)
	if err := st.DeleteTopic(c, "g1", "Surveillance"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, st.DeleteTopic(c, "g1", "surveillance"), digestbot.ENOTFOUND)
	wantCode(t, st.PutTopic(c, &digestbot.Topic{Name: "global", Query: "x"}, 1), digestbot.EINVALID)
}

func testChangeFeed(t *testing.T, b backend) {
	st := b.open(t, store.Options{})
	c := ctx(t)
	s := sub("g1", "c1", "rare earths")
	if _, err := st.AddSubscription(c, s, 10); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddSubscription(c, s, 10); err != nil { // no-op: no change
		t.Fatal(err)
	}
	if err := st.PutTopic(c, &digestbot.Topic{GuildID: "g1", Name: "chips", Query: "semiconductor"}, 10); err != nil {
		t.Fatal(err)
	}
	if _, err := st.RemoveSubscription(c, "g1", s.ID); err != nil {
		t.Fatal(err)
	}
	first, err := st.SubscriptionChanges(c, "", 1)
	if err != nil || len(first) != 1 {
		t.Fatalf("first change: %v, %v", first, err)
	}
	rest, err := st.SubscriptionChanges(c, first[0].Seq, 0)
	if err != nil {
		t.Fatal(err)
	}
	all := append(first, rest...)
	var ops []string
	for _, ch := range all {
		ops = append(ops, ch.Op)
	}
	if !slices.Equal(ops, []string{"add_sub", "put_topic", "remove_sub"}) {
		t.Fatalf("change feed ops = %v", ops)
	}
	if all[0].Subscription == nil || all[0].Subscription.Query != "rare earths" || all[1].Topic.Name != "chips" {
		t.Fatalf("change feed payloads: %+v", all)
	}
}

func testFeeds(t *testing.T, b backend) {
	st := b.open(t, store.Options{})
	c := ctx(t)
	f := &digestbot.Feed{GuildID: "g1", URL: "https://news.example.org/rss", Name: "Example"}
	for i, want := range []bool{true, false} {
		created, err := st.AddFeed(c, f, 1)
		if err != nil || created != want {
			t.Fatalf("add feed #%d = %v, %v; want %v", i+1, created, err, want)
		}
	}
	_, err := st.AddFeed(c, &digestbot.Feed{GuildID: "g1", URL: "https://other.example.org/atom"}, 1)
	wantCode(t, err, digestbot.ELIMIT)
	_, err = st.AddFeed(c, &digestbot.Feed{GuildID: "g1", URL: "ftp://example.org/"}, 5)
	wantCode(t, err, digestbot.EINVALID)
	all, err := st.AllFeeds(c)
	if err != nil || len(all) != 1 || all[0].Name != "Example" {
		t.Fatalf("all feeds = %v, %v", all, err)
	}
	wantCode(t, st.RemoveFeed(c, "g2", f.URL), digestbot.ENOTFOUND)
	if err := st.RemoveFeed(c, "g1", f.URL); err != nil {
		t.Fatal(err)
	}
	if fs, err := st.Feeds(c, "g1"); err != nil || len(fs) != 0 {
		t.Fatalf("feeds after remove = %v, %v", fs, err)
	}

	h, err := st.FeedHealth(c, f.URL)
	if err != nil || h.URL != f.URL || h.Failures != 0 {
		t.Fatalf("unknown feed health = %+v, %v", h, err)
	}
	h.Failures, h.ETag = 3, `"abc"`
	if err := st.SetFeedHealth(c, h); err != nil {
		t.Fatal(err)
	}
	if h2, err := st.FeedHealth(c, f.URL); err != nil || h2.Failures != 3 || h2.ETag != `"abc"` {
		t.Fatalf("feed health = %+v, %v", h2, err)
	}
}

func testSchedules(t *testing.T, b backend) {
	st := b.open(t, store.Options{})
	c := ctx(t)
	if sc, err := st.Schedule(c, "g1", "c1"); err != nil || sc != nil {
		t.Fatalf("unset schedule = %v, %v", sc, err)
	}
	for _, sc := range []*digestbot.ChannelSchedule{
		{GuildID: "g1", ChannelID: "c1", Spec: "daily 08:00", TimeZone: "Asia/Taipei"},
		{GuildID: "g1", Spec: "hourly"},
	} {
		if err := st.SetSchedule(c, sc); err != nil {
			t.Fatal(err)
		}
	}
	if sc, err := st.Schedule(c, "g1", ""); err != nil || sc.Spec != "hourly" {
		t.Fatalf("guild default = %+v, %v", sc, err)
	}
	all, err := st.AllSchedules(c)
	if err != nil || len(all) != 2 || all[0].ChannelID != "" || all[1].TimeZone != "Asia/Taipei" {
		t.Fatalf("all schedules = %+v, %v", all, err)
	}

	state, err := st.ChannelState(c, "g1", "c1")
	if err != nil || state == nil || state.ChannelID != "c1" || !state.LastDigestAt.IsZero() {
		t.Fatalf("unknown channel state = %+v, %v", state, err)
	}
	when := time.Date(2026, 3, 20, 8, 0, 0, 0, time.UTC)
	state.LastDigestAt, state.PausedReason = when, "channel deleted"
	if err := st.SetChannelState(c, state); err != nil {
		t.Fatal(err)
	}
	if got, err := st.ChannelState(c, "g1", "c1"); err != nil || !got.LastDigestAt.Equal(when) || got.PausedReason != "channel deleted" {
		t.Fatalf("channel state = %+v, %v", got, err)
	}

	for _, s := range []*digestbot.Subscription{sub("g2", "c5", "x"), sub("g1", "c2", "y"), sub("g1", "c2", "z"), sub("g1", "c1", "x")} {
		if _, err := st.AddSubscription(c, s, 10); err != nil {
			t.Fatal(err)
		}
	}
	chans, err := st.Channels(c)
	if err != nil {
		t.Fatal(err)
	}
	want := []digestbot.ChannelRef{{GuildID: "g1", ChannelID: "c1"}, {GuildID: "g1", ChannelID: "c2"}, {GuildID: "g2", ChannelID: "c5"}}
	if !slices.Equal(chans, want) {
		t.Fatalf("channels = %v, want %v", chans, want)
	}
}

func item(guild, channel, articleID string, subs ...string) digestbot.PendingItem {
	it := digestbot.PendingItem{GuildID: guild, ChannelID: channel, ArticleID: articleID}
	for _, s := range subs {
		it.Hits = append(it.Hits, digestbot.Hit{SubscriptionID: s, Label: "label " + s, Terms: []string{"term"}})
	}
	return it
}

func hitSubs(it digestbot.PendingItem) []string {
	var out []string
	for _, h := range it.Hits {
		out = append(out, h.SubscriptionID)
	}
	slices.Sort(out)
	return out
}

func testPending(t *testing.T, b backend) {
	st := b.open(t, store.Options{})
	c := ctx(t)
	err := st.EnqueuePending(c, []digestbot.PendingItem{
		item("g1", "c1", "a1", "s1"),
		item("g1", "c1", "a1", "s2"), // same article in the same batch
		item("g1", "c1", "a2", "s1"),
		item("g1", "c2", "a1", "s3"),
	})
	if err != nil {
		t.Fatal(err)
	}
	// A later match of the same article by another subscription merges.
	if err := st.EnqueuePending(c, []digestbot.PendingItem{item("g1", "c1", "a1", "s3", "s1")}); err != nil {
		t.Fatal(err)
	}
	p, err := st.Pending(c, "g1", "c1")
	if err != nil {
		t.Fatal(err)
	}
	if len(p) != 2 {
		t.Fatalf("channel c1 has %d pending items, want 2 (one per article)", len(p))
	}
	byID := map[string]digestbot.PendingItem{p[0].ArticleID: p[0], p[1].ArticleID: p[1]}
	if got := hitSubs(byID["a1"]); !slices.Equal(got, []string{"s1", "s2", "s3"}) {
		t.Fatalf("a1 hits = %v, want s1 s2 s3 merged", got)
	}
	if byID["a1"].QueuedAt.IsZero() {
		t.Fatal("pending item has no queue time")
	}
	if p2, _ := st.Pending(c, "g1", "c2"); len(p2) != 1 {
		t.Fatalf("channel c2 has %d pending items, want 1", len(p2))
	}

	// Deliver a1 and a2 to c1; a new match of a1 is not queued again.
	tok, ok, err := st.ClaimChannel(c, "g1", "c1", time.Minute)
	if err != nil || !ok {
		t.Fatalf("claim = %v, %v", ok, err)
	}
	d, err := st.BeginDelivery(c, "g1", "c1", tok, time.Now())
	if err != nil || d == nil {
		t.Fatalf("begin = %v, %v", d, err)
	}
	if err := st.AckDelivery(c, d, tok); err != nil {
		t.Fatal(err)
	}
	if err := st.EnqueuePending(c, []digestbot.PendingItem{item("g1", "c1", "a1", "s9"), item("g1", "c1", "a3", "s1")}); err != nil {
		t.Fatal(err)
	}
	p, err = st.Pending(c, "g1", "c1")
	if err != nil || len(p) != 1 || p[0].ArticleID != "a3" {
		t.Fatalf("after delivery, pending = %+v, %v; want only the new article a3", p, err)
	}
	wantCode(t, st.EnqueuePending(c, []digestbot.PendingItem{{GuildID: "g1", ChannelID: "c1"}}), digestbot.EINVALID)

	t.Run("concurrent matches of one article keep every hit", func(t *testing.T) {
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() {
				if err := st.EnqueuePending(c, []digestbot.PendingItem{item("g1", "c9", "a1", fmt.Sprintf("s%02d", i))}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		p, err := st.Pending(c, "g1", "c9")
		if err != nil || len(p) != 1 {
			t.Fatalf("pending = %v, %v; want one item", p, err)
		}
		if n := len(hitSubs(p[0])); n != 20 {
			t.Fatalf("the item carries %d hits, want all 20", n)
		}
	})
}

func testClaim(t *testing.T, b backend) {
	st := b.open(t, store.Options{})
	c := ctx(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var winners []string
	for range 10 {
		wg.Go(func() {
			tok, ok, err := st.ClaimChannel(c, "g1", "c1", time.Minute)
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				winners = append(winners, tok)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(winners) != 1 {
		t.Fatalf("%d holders claimed the channel at once, want exactly 1", len(winners))
	}
	wantCode(t, st.ReleaseChannel(c, "g1", "c1", "not-the-token"), digestbot.ECONFLICT)
	if _, ok, _ := st.ClaimChannel(c, "g1", "c1", time.Minute); ok {
		t.Fatal("a wrong token released the claim")
	}
	if err := st.ReleaseChannel(c, "g1", "c1", winners[0]); err != nil {
		t.Fatal(err)
	}
	tok, ok, err := st.ClaimChannel(c, "g1", "c1", time.Minute)
	if err != nil || !ok {
		t.Fatalf("claim after release = %v, %v", ok, err)
	}
	if err := st.RenewChannel(c, "g1", "c1", tok, time.Hour); err != nil {
		t.Fatal(err)
	}
	ttl, err := st.Client().PTTL(c, st.Prefix()+"{c:g1:c1}:claim").Result()
	if err != nil || ttl < 30*time.Minute {
		t.Fatalf("renewed claim ttl = %v, %v; want about an hour", ttl, err)
	}
	wantCode(t, st.RenewChannel(c, "g1", "c1", winners[0], time.Hour), digestbot.ECONFLICT)
}

func testDelivery(t *testing.T, b backend) {
	st := b.open(t, store.Options{})
	c := ctx(t)
	tok, _, err := st.ClaimChannel(c, "g1", "c1", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if d, err := st.BeginDelivery(c, "g1", "c1", tok, time.Now()); err != nil || d != nil {
		t.Fatalf("begin with nothing pending = %v, %v; want nil", d, err)
	}
	if err := st.EnqueuePending(c, []digestbot.PendingItem{item("g1", "c1", "a1", "s1"), item("g1", "c1", "a2", "s1")}); err != nil {
		t.Fatal(err)
	}
	_, err = st.BeginDelivery(c, "g1", "c1", "stolen", time.Now())
	wantCode(t, err, digestbot.ECONFLICT)

	d, err := st.BeginDelivery(c, "g1", "c1", tok, time.Now())
	if err != nil || d == nil || len(d.Items) != 2 || d.WindowID == "" {
		t.Fatalf("begin = %+v, %v; want 2 frozen items", d, err)
	}
	// Arrives while the digest is being posted: must stay pending.
	if err := st.EnqueuePending(c, []digestbot.PendingItem{item("g1", "c1", "a3", "s1")}); err != nil {
		t.Fatal(err)
	}
	again, err := st.BeginDelivery(c, "g1", "c1", tok, time.Now())
	if err != nil || again.WindowID != d.WindowID || len(again.Items) != 2 {
		t.Fatalf("second begin = %+v, %v; want the same unfinished delivery", again, err)
	}
	parts := []digestbot.DeliveryPart{{Key: "0", Body: "first"}, {Key: "1", Body: "second"}}
	wantCode(t, st.SetDeliveryParts(c, d, "stolen", parts), digestbot.ECONFLICT)
	if err := st.SetDeliveryParts(c, d, tok, parts); err != nil {
		t.Fatal(err)
	}
	wantCode(t, st.MarkPartPosted(c, d, "stolen", "0", "m0"), digestbot.ECONFLICT)
	wantCode(t, st.MarkPartPosted(c, d, tok, "9", "m0"), digestbot.EINVALID)
	at := time.UnixMilli(time.Now().UnixMilli()).UTC()
	if err := st.RecordAttempt(c, d, tok, "0", at); err != nil {
		t.Fatal(err)
	}
	if err := st.RecordAttempt(c, d, tok, "0", at.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := st.MarkPartPosted(c, d, tok, "0", "m0"); err != nil {
		t.Fatal(err)
	}
	if err := st.SetPartAside(c, d, tok, "1", "Discord refused it"); err != nil {
		t.Fatal(err)
	}
	again, err = st.BeginDelivery(c, "g1", "c1", tok, time.Now())
	if err != nil || len(again.Parts) != 2 || again.Parts[0].Posted != "m0" || again.Parts[1].Body != "second" ||
		len(again.Parts[0].Attempts) != 2 || !again.Parts[0].Attempts[1].Equal(at.Add(time.Second)) || again.Parts[1].SetAside == "" {
		t.Fatalf("resumed parts = %+v, %v; want what was recorded", again.Parts, err)
	}
	wantCode(t, st.AckDelivery(c, d, "stolen"), digestbot.ECONFLICT)
	if err := st.AckDelivery(c, d, tok); err != nil {
		t.Fatal(err)
	}
	if err := st.AckDelivery(c, d, tok); err != nil {
		t.Fatalf("repeated ack: %v; want a no-op", err)
	}
	p, err := st.Pending(c, "g1", "c1")
	if err != nil || len(p) != 1 || p[0].ArticleID != "a3" {
		t.Fatalf("after ack pending = %+v, %v; want exactly the item that arrived during delivery", p, err)
	}
	wantCode(t, st.MarkPartPosted(c, d, tok, "1", "m1"), digestbot.ECONFLICT)
	if cs, err := st.ChannelState(c, "g1", "c1"); err != nil || cs.SetAside != 1 || cs.LastSetAside != "Discord refused it" {
		t.Fatalf("channel state after an ack with a part set aside = %+v, %v", cs, err)
	}
	next, err := st.BeginDelivery(c, "g1", "c1", tok, time.Now())
	if err != nil || next == nil || next.WindowID == d.WindowID || len(next.Items) != 1 {
		t.Fatalf("next delivery = %+v, %v; want a new window with a3", next, err)
	}
}

func testDeliveryCrash(t *testing.T, b backend) {
	st := b.open(t, store.Options{})
	c := ctx(t)
	if err := st.EnqueuePending(c, []digestbot.PendingItem{item("g1", "c1", "a1", "s1")}); err != nil {
		t.Fatal(err)
	}
	tok1, _, err := st.ClaimChannel(c, "g1", "c1", 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	d1, err := st.BeginDelivery(c, "g1", "c1", tok1, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetDeliveryParts(c, d1, tok1, []digestbot.DeliveryPart{{Key: "0", Body: "b"}}); err != nil {
		t.Fatal(err)
	}
	if err := st.MarkPartPosted(c, d1, tok1, "0", "m0"); err != nil {
		t.Fatal(err)
	}
	// The worker "crashes": its claim lapses and another worker claims.
	var tok2 string
	for deadline := time.Now().Add(10 * time.Second); ; {
		var ok bool
		tok2, ok, err = st.ClaimChannel(c, "g1", "c1", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the claim of a crashed worker never lapsed")
		}
		time.Sleep(50 * time.Millisecond)
	}
	d2, err := st.BeginDelivery(c, "g1", "c1", tok2, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if d2.WindowID != d1.WindowID || len(d2.Items) != 1 || d2.Items[0].ArticleID != "a1" || len(d2.Parts) != 1 || d2.Parts[0].Posted != "m0" {
		t.Fatalf("resumed delivery = %+v; want window %s with a1 and part 0 already posted", d2, d1.WindowID)
	}
	wantCode(t, st.AckDelivery(c, d1, tok1), digestbot.ECONFLICT)
	if err := st.AckDelivery(c, d2, tok2); err != nil {
		t.Fatal(err)
	}
	if p, err := st.Pending(c, "g1", "c1"); err != nil || len(p) != 0 {
		t.Fatalf("pending after ack = %v, %v", p, err)
	}
}

func testDeleteGuild(t *testing.T, b backend) {
	st := b.open(t, store.Options{})
	c := ctx(t)
	fill := func(g string) {
		t.Helper()
		must(t, func() error { _, err := st.AddSubscription(c, sub(g, "c1", "q"), 10); return err })
		must(t, func() error {
			return st.PutTopic(c, &digestbot.Topic{GuildID: g, Name: "t", Query: "q"}, 10)
		})
		must(t, func() error {
			_, err := st.AddFeed(c, &digestbot.Feed{GuildID: g, URL: "https://example.org/feed"}, 10)
			return err
		})
		must(t, func() error {
			return st.SetSchedule(c, &digestbot.ChannelSchedule{GuildID: g, ChannelID: "c1", Spec: "hourly"})
		})
		must(t, func() error {
			return st.SetChannelState(c, &digestbot.ChannelState{GuildID: g, ChannelID: "c7", PausedReason: "gone"})
		})
		must(t, func() error { return st.EnqueuePending(c, []digestbot.PendingItem{item(g, "c2", "a1", "s1")}) })
		must(t, func() error {
			tok, _, err := st.ClaimChannel(c, g, "c2", time.Minute)
			if err != nil {
				return err
			}
			_, err = st.BeginDelivery(c, g, "c2", tok, time.Now())
			return err
		})
		must(t, func() error { return st.MarkGuildLeft(c, g, time.Now()) })
	}
	fill("g1")
	fill("g2")
	if err := st.DeleteGuild(c, "g1"); err != nil {
		t.Fatal(err)
	}
	keys, err := storetest.Keys(c, st)
	if err != nil {
		t.Fatal(err)
	}
	var g2 int
	for _, k := range keys {
		if strings.Contains(k, "g1") {
			t.Errorf("key %s of the deleted guild is left", k)
		}
		if strings.Contains(k, "g2") {
			g2++
		}
	}
	if g2 < 8 {
		t.Errorf("only %d keys of guild g2 remain; deleting g1 touched g2", g2)
	}
	if subs, _ := st.AllSubscriptions(c); len(subs) != 1 || subs[0].GuildID != "g2" {
		t.Fatalf("all subscriptions after delete = %v", subs)
	}
	left, _ := st.GuildsLeftBefore(c, time.Now().Add(time.Minute))
	if !slices.Equal(left, []string{"g2"}) {
		t.Fatalf("guilds left = %v", left)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func must(t *testing.T, f func() error) {
	t.Helper()
	if err := f(); err != nil {
		t.Fatal(err)
	}
}

func testGuildsLeft(t *testing.T, b backend) {
	st := b.open(t, store.Options{})
	c := ctx(t)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	must(t, func() error { return st.MarkGuildLeft(c, "g1", base) })
	must(t, func() error { return st.MarkGuildLeft(c, "g2", base.Add(48*time.Hour)) })
	must(t, func() error { return st.MarkGuildLeft(c, "g3", base) })
	must(t, func() error { return st.MarkGuildLeft(c, "g3", time.Time{}) }) // came back
	got, err := st.GuildsLeftBefore(c, base.Add(24*time.Hour))
	if err != nil || !slices.Equal(got, []string{"g1"}) {
		t.Fatalf("left before a day later = %v, %v; want g1", got, err)
	}
}

// testJobLeases: a process-wide lease has one holder, who can extend it;
// the others get it once it is dropped or has expired.
func testJobLeases(t *testing.T, b backend) {
	st := b.open(t, store.Options{})
	c := ctx(t)
	ttl := time.Second
	if b.Embedded() {
		ttl = time.Minute
	}
	hold := func(holder string) bool {
		t.Helper()
		ok, err := st.HoldLease(c, "poller", holder, ttl)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !hold("p1") || !hold("p1") {
		t.Fatal("the holder could not take and extend a free lease")
	}
	if hold("p2") {
		t.Fatal("a second process took a held lease")
	}
	if err := st.DropLease(c, "poller", "p2"); err != nil { // not p2's: a no-op
		t.Fatal(err)
	}
	if hold("p2") {
		t.Fatal("a non-holder dropped the lease")
	}
	if err := st.DropLease(c, "poller", "p1"); err != nil {
		t.Fatal(err)
	}
	if !hold("p2") {
		t.Fatal("a dropped lease could not be taken")
	}
	b.age(t, st, ttl+time.Second)
	if !hold("p3") {
		t.Fatal("an expired lease could not be taken")
	}
	if _, err := st.HoldLease(c, "bad name", "p1", ttl); digestbot.ErrorCode(err) != digestbot.EINVALID {
		t.Errorf("a lease name with a space: %v, want EINVALID", err)
	}
}

// testArticleScope: the same article from several servers' own feeds is
// seen by all of them, one public source makes it public, and each widening
// announces the article again naming who could see it before.
func testArticleScope(t *testing.T, b backend) {
	st := b.open(t, store.Options{})
	c := ctx(t)
	put := func(guilds ...string) digestbot.PutOutcome {
		t.Helper()
		a := article(7)
		a.Guilds = guilds
		out, err := st.PutArticles(c, []*digestbot.Article{a})
		if err != nil {
			t.Fatal(err)
		}
		return out[0]
	}
	guilds := func() []string {
		t.Helper()
		got, err := st.GetArticles(c, []string{article(7).ID})
		if err != nil || got[0] == nil {
			t.Fatalf("GetArticles: %v %v", got, err)
		}
		return got[0].Guilds
	}
	steps := []struct {
		put    []string
		want   digestbot.PutOutcome
		seen   []string
		seenBy []string // of a new log entry, when one is due
		logged bool
	}{
		{[]string{"g2", "g1", "g2"}, digestbot.PutNew, []string{"g1", "g2"}, nil, true},
		{[]string{"g3"}, digestbot.PutUpdated, []string{"g1", "g2", "g3"}, []string{"g1", "g2"}, true},
		{[]string{"g1"}, digestbot.PutUnchanged, []string{"g1", "g2", "g3"}, nil, false},
		{nil, digestbot.PutUpdated, nil, []string{"g1", "g2", "g3"}, true}, // a public source: public for good
		{[]string{"g1"}, digestbot.PutUnchanged, nil, nil, false},
	}
	var entries int
	for i, s := range steps {
		if got := put(s.put...); got != s.want {
			t.Errorf("step %d: put with %v = %v, want %v", i+1, s.put, got, s.want)
		}
		if got := guilds(); !slices.Equal(got, s.seen) {
			t.Errorf("step %d: visible to %v, want %v", i+1, got, s.seen)
		}
		log, err := st.ArticlesAfter(c, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		if s.logged {
			entries++
		}
		if len(log) != entries {
			t.Fatalf("step %d: %d log entries, want %d", i+1, len(log), entries)
		}
		if s.logged && !slices.Equal(log[len(log)-1].SeenBy, s.seenBy) {
			t.Errorf("step %d: announced again with SeenBy %v, want %v", i+1, log[len(log)-1].SeenBy, s.seenBy)
		}
	}
	bad := article(8)
	bad.Guilds = []string{"g1 g2"}
	if _, err := st.PutArticles(c, []*digestbot.Article{bad}); digestbot.ErrorCode(err) != digestbot.EINVALID {
		t.Errorf("a malformed server id in Guilds: %v, want EINVALID", err)
	}
	if got, _ := st.GetArticles(c, []string{bad.ID}); got[0] != nil {
		t.Error("a refused article was stored")
	}
}

// testArticleScopeContent: a server's own feed never rewrites what another
// audience sees, and never reads it either — not its text, not its feed's
// name or URL: another source at the same URL gets a copy of its own, whose
// id stays when servers add or drop that feed.
func testArticleScopeContent(t *testing.T, b backend) {
	st := b.open(t, store.Options{})
	c := ctx(t)
	id := article(9).ID
	const shared, g3feed, public = "https://feeds.example/shared.xml", "https://g3.example/private.xml", "https://operator.example/feed.xml"
	put := func(feed, text string, guilds ...string) (*digestbot.Article, digestbot.PutOutcome) {
		t.Helper()
		a := article(9)
		a.Feed, a.Source, a.Text, a.Guilds = feed, "Name of "+feed, text, guilds
		out, err := st.PutArticles(c, []*digestbot.Article{a})
		if err != nil {
			t.Fatal(err)
		}
		return a, out[0]
	}
	stored := func(id string) *digestbot.Article {
		t.Helper()
		got, err := st.GetArticles(c, []string{id})
		if err != nil || got[0] == nil {
			t.Fatalf("GetArticles(%s): %v %v", id, got, err)
		}
		return got[0]
	}
	lastSeenBy := func() []string {
		t.Helper()
		log, err := st.ArticlesAfter(c, "", 0)
		if err != nil || len(log) == 0 {
			t.Fatalf("log: %v %v", log, err)
		}
		return log[len(log)-1].SeenBy
	}
	put(shared, "Version A.", "g1", "g2")
	// The feed edits the item after g2 dropped it: an update in place, not a
	// second story for g1.
	if _, o := put(shared, "Version B.", "g1"); o != digestbot.PutUpdated || stored(id).Text != "Version B." || !slices.Equal(stored(id).Guilds, []string{"g1", "g2"}) {
		t.Fatalf("same feed, new text: %v, %q, %v", o, stored(id).Text, stored(id).Guilds)
	}
	// Server g3's own feed has the same URL, even with the same text: its
	// own copy, so neither learns the other's feed.
	mine, o := put(g3feed, "Version B.", "g3")
	if o != digestbot.PutNew || mine.ID == id {
		t.Fatalf("another server's feed at the same URL: %v, id %s; want a new copy under its own id", o, mine.ID)
	}
	if a := stored(id); a.Feed != shared || !slices.Equal(a.Guilds, []string{"g1", "g2"}) {
		t.Errorf("g3's feed changed the shared article: feed %q, %v", a.Feed, a.Guilds)
	}
	if a := stored(mine.ID); a.Feed != g3feed || !slices.Equal(a.Guilds, []string{"g3"}) {
		t.Errorf("g3's copy: feed %q, %v", a.Feed, a.Guilds)
	}
	// g4 adds g3's feed: the same copy widens (g3 is not offered it again).
	again, o := put(g3feed, "Version B.", "g3", "g4")
	if again.ID != mine.ID || o != digestbot.PutUpdated || !slices.Equal(lastSeenBy(), []string{"g3"}) {
		t.Errorf("g4 adds g3's feed: id %s (was %s), %v, SeenBy %v", again.ID, mine.ID, o, lastSeenBy())
	}
	// A public source replaces the private body, even with the same text,
	// so no server's feed name or URL becomes public.
	if _, o := put(public, "Version B.", []string{}...); o != digestbot.PutUpdated {
		t.Fatalf("public put over a private article: %v", o)
	}
	if a := stored(id); a.Feed != public || a.Source != "Name of "+public || a.Guilds != nil {
		t.Errorf("after the public put: feed %q, source %q, %v", a.Feed, a.Source, a.Guilds)
	}
	// A server's feed cannot rewrite a public article.
	if _, o := put(g3feed, "Version E, by g3.", "g3"); o != digestbot.PutUnchanged || stored(id).Feed != public {
		t.Errorf("g3's put over a public article: %v, feed %q", o, stored(id).Feed)
	}
}

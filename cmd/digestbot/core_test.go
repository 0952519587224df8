package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/archive"
	botcommands "github.com/digestbot/digestbot/commands"
	"github.com/digestbot/digestbot/config"
	"github.com/digestbot/digestbot/store"
	"github.com/digestbot/digestbot/store/storetest"
)

// TestMatchUnderTheReplicaLease: the matcher's cron tick leaves the work
// to the replica that holds the "matcher" lease, but /digest now matches
// regardless (after a short wait), so it never misses an ingested article.
func TestMatchUnderTheReplicaLease(t *testing.T) {
	storetest.EachBackend(t, testMatchUnderTheReplicaLease)
}

func testMatchUnderTheReplicaLease(t *testing.T, b *storetest.Backend) {
	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	st := b.Open(t, store.Options{})
	c := newCore(cfg, st, newLogger(&bytes.Buffer{}), time.Now)
	ctx := context.Background()
	sub := &digestbot.Subscription{ID: digestbot.SubscriptionID("g1", "c1", "confucius", ""), GuildID: "g1", ChannelID: "c1", Query: "confucius", CreatedBy: "u1", CreatedAt: time.Now().Add(-time.Minute)}
	if _, err := st.AddSubscription(ctx, sub, 10); err != nil {
		t.Fatal(err)
	}
	art := &digestbot.Article{ID: "a1", Title: "Norway closes its last Confucius Institute", URL: "https://example.org/a1", Source: "Example Post", Text: "It closed.", Ingested: time.Now()}
	if _, err := st.PutArticles(ctx, []*digestbot.Article{art}); err != nil {
		t.Fatal(err)
	}
	if ok, err := st.HoldLease(ctx, "matcher", "another-replica", time.Minute); !ok || err != nil {
		t.Fatalf("could not take the matcher lease: %v %v", ok, err)
	}
	if _, ran, err := c.match(ctx, 0, false); ran || err != nil {
		t.Fatalf("cron tick while another replica holds the lease: ran=%v err=%v", ran, err)
	}
	if p, _ := st.Pending(ctx, "g1", "c1"); len(p) != 0 {
		t.Fatalf("%d items queued by a skipped tick", len(p))
	}
	if _, ran, err := c.match(ctx, 50*time.Millisecond, true); !ran || err != nil {
		t.Fatalf("forced match: ran=%v err=%v", ran, err)
	}
	if p, _ := st.Pending(ctx, "g1", "c1"); len(p) != 1 || p[0].ArticleID != "a1" {
		t.Fatalf("pending after /digest now's match = %+v, want the Confucius article", p)
	}
}

// TestServersSeeOnlyTheirOwnFeedsArticles wires the whole core: what one
// server's own feed brought in reaches that server's /lookup and digests,
// a second server's feed with the same story adds that server, and a third
// server never sees it.
func TestServersSeeOnlyTheirOwnFeedsArticles(t *testing.T) {
	storetest.EachBackend(t, testServersSeeOnlyTheirOwnFeedsArticles)
}

func testServersSeeOnlyTheirOwnFeedsArticles(t *testing.T, b *storetest.Backend) {
	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	st := b.Open(t, store.Options{})
	c := newCore(cfg, st, newLogger(&bytes.Buffer{}), time.Now)
	ctx := context.Background()
	for _, g := range []string{"100", "200", "300"} {
		sub := &digestbot.Subscription{ID: digestbot.SubscriptionID(g, "7"+g, "lighthouse", ""), GuildID: g, ChannelID: "7" + g, Query: "lighthouse", CreatedBy: "u1", CreatedAt: time.Now().Add(-time.Minute)}
		if _, err := st.AddSubscription(ctx, sub, 10); err != nil {
			t.Fatal(err)
		}
	}
	put := func(guild string) {
		t.Helper()
		a := &digestbot.Article{ID: "keeper", Title: "The last lighthouse keeper retires", URL: "https://example.org/keeper",
			Source: "Harbour Herald", Text: "After forty years the light is automated.", Guilds: []string{guild}}
		outs, err := st.PutArticles(ctx, []*digestbot.Article{a})
		if err != nil {
			t.Fatal(err)
		}
		c.onStored(ctx, []*digestbot.Article{a}, outs)
		if _, _, err := c.indexNow(ctx, 10*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	lookup := func(guild string) string {
		t.Helper()
		r, err := c.service.Handle(ctx, &botcommands.Request{Name: "lookup", GuildID: guild, ChannelID: "7" + guild, UserID: "u1", Options: map[string]string{"query": "lighthouse"}})
		if err != nil {
			t.Fatal(err)
		}
		return r.Content
	}
	put("100") // server 100's own feed
	if _, _, err := c.match(ctx, 0, false); err != nil {
		t.Fatal(err)
	}
	put("200") // server 200's feed carries the same story
	if _, _, err := c.match(ctx, 0, false); err != nil {
		t.Fatal(err)
	}
	for guild, want := range map[string]string{"100": "1 article match", "200": "1 article match", "300": "No article matches"} {
		if got := lookup(guild); !strings.Contains(got, want) {
			t.Errorf("/lookup lighthouse in server %s: %q, want %q", guild, got, want)
		}
	}
	if p, _ := st.Pending(ctx, "100", "7100"); len(p) != 1 {
		t.Errorf("server 100's subscription has %d pending items, want its feed's article", len(p))
	}
	if p, _ := st.Pending(ctx, "200", "7200"); len(p) != 1 {
		t.Errorf("server 200's subscription has %d pending items, want the story its feed also carries", len(p))
	}
	if p, _ := st.Pending(ctx, "300", "7300"); len(p) != 0 {
		t.Errorf("server 300 was queued another server's private article: %+v", p)
	}
}

// slowReader hands out, once, what the store held before: as if another
// server's feed brought the story between the indexer's read of the log
// and its read of the article.
type slowReader struct {
	*store.Store
	stale   []*digestbot.Article
	between func()
}

func (r *slowReader) GetArticles(ctx context.Context, ids []string) ([]*digestbot.Article, error) {
	if r.stale != nil {
		stale := r.stale
		r.stale = nil
		r.between()
		return stale, nil
	}
	return r.Store.GetArticles(ctx, ids)
}

// TestIndexerKeepsTheWiderAudience: a server's feed brings a story that
// another server's feed brought before, while the indexer has read the
// old audience; the store announces the wider audience in the ingest log,
// so the next pass of the indexer gives the story to both servers.
func TestIndexerKeepsTheWiderAudience(t *testing.T) {
	storetest.EachBackend(t, testIndexerKeepsTheWiderAudience)
}

func testIndexerKeepsTheWiderAudience(t *testing.T, b *storetest.Backend) {
	st := b.Open(t, store.Options{})
	ctx := context.Background()
	idx := newArchive(st)
	story := func(guild string) *digestbot.Article {
		return &digestbot.Article{ID: "keeper", Title: "The last lighthouse keeper retires", URL: "https://example.org/keeper",
			Source: "Harbour Herald", Text: "The light is automated.", Guilds: []string{guild}}
	}
	put := func(a *digestbot.Article) {
		if _, err := st.PutArticles(ctx, []*digestbot.Article{a}); err != nil {
			t.Fatal(err)
		}
	}
	put(story("100"))
	staleRead, _ := st.GetArticles(ctx, []string{"keeper"}) // audience {100}
	r := &slowReader{Store: st, stale: staleRead, between: func() { put(story("200")) }}
	if _, err := idx.CatchUp(ctx, r); err != nil {
		t.Fatal(err)
	}
	if _, err := idx.CatchUp(ctx, r); err != nil {
		t.Fatal(err)
	}
	for _, g := range []string{"100", "200"} {
		page, err := idx.Search(ctx, archive.Request{Query: "lighthouse", Guild: g})
		if err != nil {
			t.Fatal(err)
		}
		if page.Total != 1 {
			t.Errorf("server %s finds %d articles, want the story its feed carries", g, page.Total)
		}
	}
	if page, _ := idx.Search(ctx, archive.Request{Query: "lighthouse", Guild: "300"}); page == nil || page.Total != 0 {
		t.Errorf("server 300 finds another server's private story: %+v", page)
	}
	if lag, err := idx.Lag(ctx, st); err != nil || lag != 0 {
		t.Errorf("Lag after catching up = %v, %v; want 0", lag, err)
	}
}

// TestFeedsAddNamesTheFeedFromItsFetch: /feeds add fetches the feed once
// and calls it by its title.
func TestFeedsAddNamesTheFeedFromItsFetch(t *testing.T) {
	feed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml")
		io.WriteString(w, `<?xml version="1.0"?><rss version="2.0"><channel><title>Harbour Wire</title><link>https://harbourwire.example/</link>`+
			`<item><title>Ferry strike ends</title><link>https://harbourwire.example/a</link><description>x</description></item></channel></rss>`)
	}))
	defer feed.Close()
	cfg, err := config.Load(func(k string) string {
		if k == "DIGESTBOT_ALLOW_PRIVATE_FEEDS" {
			return "true"
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	c := newCore(cfg, storetest.OpenEmbedded(t), newLogger(&bytes.Buffer{}), time.Now)
	resp, err := c.service.Handle(context.Background(), &botcommands.Request{Name: "feeds add", GuildID: "g1", ChannelID: "c1", UserID: "u1",
		CanManage: true, Options: map[string]string{"url": feed.URL + "/feed.xml"}})
	if err != nil || !strings.HasPrefix(resp.Content, "Added the feed **Harbour Wire** (") || !strings.Contains(resp.Content, "It holds 1 article now, for /lookup.") {
		t.Fatalf("/feeds add: %+v, %v", resp, err)
	}
}

package store_test

import (
	"slices"
	"testing"
	"time"

	"github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/store"
	"github.com/digestbot/digestbot/store/storetest"
)

// TestArticleStatus follows one article through a channel's queues: what
// the store says while it is pending, while its digest is posted, and
// after, with the message each article went out in; another server's
// channel knows nothing of it; the record leaves with the retention window.
func TestArticleStatus(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, sb *storetest.Backend) {
		b := backend{sb}
		st := b.open(t, store.Options{Retention: b.shortRetention()})
		c := ctx(t)
		status := func(guild, channel, id string) *digestbot.ArticleStatus {
			t.Helper()
			s, err := st.ArticleStatus(c, guild, channel, id)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		deliver := func(placed func(d *digestbot.Delivery), items ...digestbot.PendingItem) {
			t.Helper()
			if err := st.EnqueuePending(c, items); err != nil {
				t.Fatal(err)
			}
			if s := status("g1", "c1", items[0].ArticleID); s.Pending == nil || hitSubs(*s.Pending)[0] != "s1" {
				t.Fatalf("queued: status %+v, want its pending item", s)
			}
			tok, ok, err := st.ClaimChannel(c, "g1", "c1", time.Minute)
			if err != nil || !ok {
				t.Fatalf("claim = %v, %v", ok, err)
			}
			d, err := st.BeginDelivery(c, "g1", "c1", tok, time.Now())
			if err != nil || d == nil {
				t.Fatalf("begin = %v, %v", d, err)
			}
			if s := status("g1", "c1", items[0].ArticleID); !s.Delivering || s.Pending == nil || !s.DeliveredAt.IsZero() {
				t.Fatalf("being posted: status %+v", s)
			}
			placed(d)
			if err := st.AckDelivery(c, d, tok); err != nil {
				t.Fatal(err)
			}
			if err := st.ReleaseChannel(c, "g1", "c1", tok); err != nil {
				t.Fatal(err)
			}
		}

		deliver(func(d *digestbot.Delivery) {
			d.Placed = []digestbot.Placement{
				{ArticleID: "a1", ChannelID: "c1", MessageID: "m1"},
				{ArticleID: "a2", ChannelID: "t1", MessageID: "m2"},
				{ArticleID: "a3", ChannelID: "c1", How: digestbot.PlacedSetAside},
			}
		}, item("g1", "c1", "a1", "s1"), item("g1", "c1", "a2", "s1"), item("g1", "c1", "a3", "s1"))
		s := status("g1", "c1", "a2")
		if s.Pending != nil || s.Delivering || s.DeliveredAt.IsZero() || s.Placement == nil {
			t.Fatalf("delivered: status %+v", s)
		}
		if want := (digestbot.Placement{ArticleID: "a2", ChannelID: "t1", MessageID: "m2"}); *s.Placement != want {
			t.Errorf("placement %+v, want %+v", *s.Placement, want)
		}
		if p := status("g1", "c1", "a3").Placement; p == nil || p.How != digestbot.PlacedSetAside || p.MessageID != "" {
			t.Errorf("set aside: placement %+v", p)
		}
		for _, other := range [][2]string{{"g2", "c1"}, {"g1", "c2"}} {
			if s := status(other[0], other[1], "a1"); s.Pending != nil || s.Delivering || !s.DeliveredAt.IsZero() || s.Placement != nil {
				t.Errorf("%s/%s knows of another channel's article: %+v", other[0], other[1], s)
			}
		}
		wantCode(t, func() error { _, err := st.ArticleStatus(c, "g1", "", "a1"); return err }(), digestbot.EINVALID)

		// Past the retention window, the next delivery takes the old
		// records with it.
		b.age(t, st, b.shortRetention()+time.Second)
		deliver(func(d *digestbot.Delivery) {
			d.Placed = []digestbot.Placement{{ArticleID: "a4", ChannelID: "c1", MessageID: "m4"}}
		}, item("g1", "c1", "a4", "s1"))
		if s := status("g1", "c1", "a1"); !s.DeliveredAt.IsZero() || s.Placement != nil {
			t.Errorf("an article delivered before the retention window is still recorded: %+v", s)
		}
		if s := status("g1", "c1", "a4"); s.Placement == nil || s.Placement.MessageID != "m4" {
			t.Errorf("the new delivery: %+v", s)
		}
	})
}

// TestArticleCopies: a server's own copy of a URL another audience holds
// is found from the URL's id.
func TestArticleCopies(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, sb *storetest.Backend) {
		st := backend{sb}.open(t, store.Options{})
		c := ctx(t)
		put := func(feed string, guilds ...string) *digestbot.Article {
			t.Helper()
			a := article(5)
			a.Feed, a.Source, a.Guilds = feed, "Name of "+feed, guilds
			if _, err := st.PutArticles(c, []*digestbot.Article{a}); err != nil {
				t.Fatal(err)
			}
			return a
		}
		id := article(5).ID
		if got, err := st.ArticleCopies(c, id); err != nil || len(got) != 0 {
			t.Fatalf("copies of an article never copied: %v, %v", got, err)
		}
		put("https://g1.example/feed.xml", "g1")
		mine := put("https://g2.example/feed.xml", "g2")
		if mine.ID == id {
			t.Fatal("the second server's feed did not get a copy of its own")
		}
		got, err := st.ArticleCopies(c, id)
		if err != nil || !slices.Equal(got, []string{mine.ID}) {
			t.Fatalf("copies = %v, %v; want [%s]", got, err, mine.ID)
		}
		stored, err := st.GetArticles(c, got)
		if err != nil || stored[0] == nil || !stored[0].VisibleTo("g2") || stored[0].VisibleTo("g1") {
			t.Fatalf("the copy: %+v, %v", stored[0], err)
		}
	})
}

package subscriptions_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/store"
	"github.com/digestbot/digestbot/store/storetest"
	"github.com/digestbot/digestbot/subscriptions"
)

// TestMatcherOnStore runs the matcher job against the real store: on a real
// redis-server and on the embedded one.
func TestMatcherOnStore(t *testing.T) {
	backends := []struct {
		name string
		open func(testing.TB) *store.Store
	}{
		{"redis-server", storetest.Open},
		{"embedded", storetest.OpenEmbedded},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			st := b.open(t)
			created := time.Now().Add(-time.Minute)
			sub := func(ch, query, topic string) *digestbot.Subscription {
				s := &digestbot.Subscription{GuildID: "g1", ChannelID: ch, Query: query, Topic: topic, CreatedAt: created}
				s.ID = digestbot.SubscriptionID(s.GuildID, s.ChannelID, s.Query, s.Topic)
				if _, err := st.AddSubscription(ctx, s, 100); err != nil {
					t.Fatal(err)
				}
				return s
			}
			sub("c1", "Confucius Institute", "")
			sub("c1", "", "surveillance")
			m := subscriptions.NewMatcher(st, subscriptions.MatcherOptions{
				GlobalTopics: []*digestbot.Topic{{Name: "surveillance", Query: `"facial recognition" OR surveillance`}},
				Logger:       slog.New(slog.DiscardHandler),
			})
			if _, err := m.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
			put := func(id, title, text string) {
				a := &digestbot.Article{ID: id, Title: title, Text: text, Source: "Wire"}
				if _, err := st.PutArticles(ctx, []*digestbot.Article{a}); err != nil {
					t.Fatal(err)
				}
			}
			put("a1", "Norway closes Confucius Institute", "The Confucius Institute in Bergen closes; surveillance worries.")
			put("a2", "Weather", "Sunny.")
			// Added after the first run: reaches the matcher through the change feed.
			sub("c2", `"facial recognition" -BMW`, "")
			put("a3", "Stores", "Facial recognition cameras in stores.")
			stats, err := m.RunOnce(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if stats.Articles != 3 || stats.Items != 3 {
				t.Errorf("stats %+v, want 3 articles and 3 items", stats)
			}
			got := map[string]int{}
			for _, ch := range []string{"c1", "c2"} {
				items, err := st.Pending(ctx, "g1", ch)
				if err != nil {
					t.Fatal(err)
				}
				for _, it := range items {
					got[ch+"/"+it.ArticleID] = len(it.Hits)
				}
			}
			want := map[string]int{"c1/a1": 2, "c1/a3": 1, "c2/a3": 1}
			if len(got) != len(want) {
				t.Fatalf("pending %v, want %v", got, want)
			}
			for k, n := range want {
				if got[k] != n {
					t.Errorf("pending %v, want %v", got, want)
				}
			}
			if _, err := m.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestCatchUpMatchesEveryArticleBehindTheWatermark: a subscription added
// with backfill after the matcher has passed 25,000 articles gets every one
// of them that matches, however many there are, read a batch at a time.
func TestCatchUpMatchesEveryArticleBehindTheWatermark(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	const n = 25_000
	batch := make([]*digestbot.Article, 0, 1000)
	for i := range n {
		text := "Nothing to see."
		if i%10 == 9 { // one in ten matches, the last one among them
			text = "A story about lighthouses."
		}
		batch = append(batch, &digestbot.Article{ID: fmt.Sprintf("a%05d", i), Title: fmt.Sprintf("Story %d", i), Text: text, Source: "Wire"})
		if len(batch) == cap(batch) {
			if _, err := st.PutArticles(ctx, batch); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	m := subscriptions.NewMatcher(st, subscriptions.MatcherOptions{Backfill: time.Hour, Logger: slog.New(slog.DiscardHandler)})
	// No subscription yet: the watermark passes every article.
	if stats, err := m.RunOnce(ctx); err != nil || stats.Articles != n {
		t.Fatalf("first run: %+v, %v; want %d articles passed", stats, err, n)
	}
	s := &digestbot.Subscription{GuildID: "g1", ChannelID: "c1", Query: "lighthouses", CreatedAt: time.Now()}
	s.ID = digestbot.SubscriptionID(s.GuildID, s.ChannelID, s.Query, s.Topic)
	if _, err := st.AddSubscription(ctx, s, 10); err != nil {
		t.Fatal(err)
	}
	stats, err := m.RunOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	items, err := st.Pending(ctx, "g1", "c1")
	if err != nil {
		t.Fatal(err)
	}
	if want := n / 10; len(items) != want || stats.CaughtUp != n {
		t.Fatalf("caught up %d articles and queued %d items; want all %d read and %d queued", stats.CaughtUp, len(items), n, want)
	}
}

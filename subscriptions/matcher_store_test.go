package subscriptions_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/store"
	"github.com/digestbot/digestbot/store/storetest"
	"github.com/digestbot/digestbot/subscriptions"
)

// TestMatcherOnStore runs the matcher job against the real store: on a real
// redis-server, a real Redis Cluster and the embedded store.
func TestMatcherOnStore(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, b *storetest.Backend) {
		ctx := context.Background()
		st := b.Open(t, store.Options{})
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

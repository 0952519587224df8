package subscriptions_test

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/store"
	"github.com/digestbot/digestbot/store/storetest"
	"github.com/digestbot/digestbot/subscriptions"
)

// TestSpikeAlert puts stories of a query from one outlet after another and
// checks that the story of the Nth distinct outlet within the window is
// queued with the alert, once, as an instant hit (so the channel's alert
// is scheduled), and that a
// story of another query, an old story or a repeat outlet makes no alert.
func TestSpikeAlert(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, b *storetest.Backend) {
		ctx := context.Background()
		st := b.Open(t, store.Options{})
		now := time.Now().UTC()
		add := func(ch, query string, spike *digestbot.Spike) *digestbot.Subscription {
			s := &digestbot.Subscription{GuildID: "g1", ChannelID: ch, Query: query, CreatedAt: now.Add(-time.Hour), Spike: spike}
			s.ID = digestbot.SubscriptionID(s.GuildID, s.ChannelID, s.Query, s.Topic)
			if _, err := st.AddSubscription(ctx, s, 100); err != nil {
				t.Fatal(err)
			}
			return s
		}
		spiky := add("c1", "ferry strike", &digestbot.Spike{Outlets: 3, Hours: 6})
		add("c2", "ferry strike", nil) // the same query without a rule
		var mu sync.Mutex
		var announced []digestbot.ChannelRef
		m := subscriptions.NewMatcher(st, subscriptions.MatcherOptions{Logger: slog.New(slog.DiscardHandler), Spikes: st,
			OnInstant: func(_ context.Context, refs []digestbot.ChannelRef) error {
				mu.Lock()
				announced = append(announced, refs...)
				mu.Unlock()
				return nil
			}})
		put := func(id, outlet string, ago time.Duration) {
			a := &digestbot.Article{ID: id, Title: "Ferry strike spreads", Text: "The ferry strike goes on.", Source: outlet, Published: now.Add(-ago)}
			if _, err := st.PutArticles(ctx, []*digestbot.Article{a}); err != nil {
				t.Fatal(err)
			}
		}
		run := func() {
			t.Helper()
			if _, err := m.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
		}
		alerts := func(ch string) map[string]*digestbot.SpikeAlert {
			t.Helper()
			items, err := st.Pending(ctx, "g1", ch)
			if err != nil {
				t.Fatal(err)
			}
			out := map[string]*digestbot.SpikeAlert{}
			for _, it := range items {
				for _, h := range it.Hits {
					if h.Spike != nil {
						out[it.ArticleID] = h.Spike
						if !h.Instant {
							t.Errorf("the spike hit of %s is not instant", it.ArticleID)
						}
					}
				}
			}
			return out
		}

		put("a1", "Harbour Wire", time.Hour)
		put("a2", "Harbour Wire", 50*time.Minute)     // the same outlet again
		put("a3", "Coastal Ledger", 30*time.Minute)   // two outlets
		put("old", "Rendal Post", 8*time.Hour)        // before the window: counts for nothing
		put("other", "Rendal Post", 20*time.Minute)   // the third outlet
		put("later", "Northsound Radio", time.Minute) // a fourth, in the same window
		run()
		got := alerts("c1")
		if len(got) != 1 || got["other"] == nil {
			t.Fatalf("alerts %v, want one, on the story of the third outlet", got)
		}
		a := got["other"]
		if a.Outlets != 3 || a.Hours != 6 || !slices.Contains(a.Names, "Coastal Ledger") || !slices.Contains(a.Names, "Rendal Post") {
			t.Errorf("alert %+v, want 3 outlets in 6 h naming them", a)
		}
		if len(alerts("c2")) != 0 {
			t.Errorf("a subscription without a spike rule got an alert")
		}
		if want := []digestbot.ChannelRef{{GuildID: "g1", ChannelID: spiky.ChannelID}}; !slices.Equal(announced, want) {
			t.Errorf("announced %v, want %v", announced, want)
		}

		// More outlets within the window: no second alert.
		put("more", "Bayline Review", time.Minute)
		run()
		if got := alerts("c1"); len(got) != 1 {
			t.Errorf("alerts %v after a fifth outlet, want still one", got)
		}
		if len(announced) != 1 {
			t.Errorf("announced %d times, want once", len(announced))
		}
	})
}

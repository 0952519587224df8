package subscriptions_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"testing"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/store"
	"github.com/digestbot/digestbot/store/storetest"
	"github.com/digestbot/digestbot/subscriptions"
)

// The matcher marks what an instant subscription matched and tells the
// scheduler which channels have an alert to post, before its watermark
// moves: when telling fails, the run fails and the next run matches the
// same articles again (the queue merges them) and tells it again. A later
// change of a subscription's mode reaches the matcher through the change
// feed.
func TestMatcherSchedulesAlerts(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, b *storetest.Backend) {
		ctx := context.Background()
		st := b.Open(t, store.Options{})
		created := time.Now().Add(-time.Minute)
		add := func(ch, query string) *digestbot.Subscription {
			s := &digestbot.Subscription{GuildID: "g1", ChannelID: ch, Query: query, CreatedAt: created}
			s.ID = digestbot.SubscriptionID(s.GuildID, s.ChannelID, s.Query, "")
			if _, err := st.AddSubscription(ctx, s, 100); err != nil {
				t.Fatal(err)
			}
			return s
		}
		ferry := add("c1", "ferry")
		add("c2", "ferry")
		if _, err := st.SetDelivery(ctx, "g1", ferry.ID, digestbot.ModeInstant, "42"); err != nil {
			t.Fatal(err)
		}
		var told [][]digestbot.ChannelRef
		var fail error
		m := subscriptions.NewMatcher(st, subscriptions.MatcherOptions{Logger: slog.New(slog.DiscardHandler),
			OnInstant: func(_ context.Context, refs []digestbot.ChannelRef) error {
				told = append(told, refs)
				return fail
			}})
		if _, err := m.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := st.PutArticles(ctx, []*digestbot.Article{{ID: "a1", Title: "Ferry strike", Text: "The ferry is late.", Source: "Wire"}}); err != nil {
			t.Fatal(err)
		}
		fail = errors.New("redis went away")
		if _, err := m.RunOnce(ctx); err == nil {
			t.Fatal("the run succeeded although the alert could not be scheduled")
		}
		fail = nil
		if _, err := m.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		want := []digestbot.ChannelRef{{GuildID: "g1", ChannelID: "c1"}}
		if len(told) != 2 || !slices.Equal(told[0], want) || !slices.Equal(told[1], want) {
			t.Fatalf("told %v; want channel c1 on the failed run and again on the next", told)
		}
		items, err := st.Pending(ctx, "g1", "c1")
		if err != nil || len(items) != 1 || !items[0].Instant() || items[0].Hits[0].Mention != "42" {
			t.Fatalf("c1 pending %+v, %v; want one instant item mentioning role 42", items, err)
		}
		if items, _ := st.Pending(ctx, "g1", "c2"); len(items) != 1 || items[0].Instant() {
			t.Fatalf("c2 pending %+v; want one digest item", items)
		}
		// Back to the digest: the next story is not an alert.
		if _, err := st.SetDelivery(ctx, "g1", ferry.ID, digestbot.ModeDigest, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := st.PutArticles(ctx, []*digestbot.Article{{ID: "a2", Title: "Ferry back", Text: "The ferry sails.", Source: "Wire"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := m.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if len(told) != 2 {
			t.Errorf("told %v after the subscription went back to the digest", told[2:])
		}
	})
}

// A personal watch matches only what the server it was made in may see:
// another server's own feed's article never reaches it, a public one does.
func TestWatchSeesOnlyItsServersArticles(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, b *storetest.Backend) {
		ctx := context.Background()
		st := b.Open(t, store.Options{})
		w := &digestbot.Subscription{GuildID: "g1", ChannelID: "900", Query: "lanternhall", Owner: "11", CreatedAt: time.Now().Add(-time.Minute)}
		w.ID = digestbot.SubscriptionID(w.GuildID, w.ChannelID, w.Query, "")
		if _, err := st.AddWatch(ctx, w, 0, 0); err != nil {
			t.Fatal(err)
		}
		m := subscriptions.NewMatcher(st, subscriptions.MatcherOptions{Logger: slog.New(slog.DiscardHandler)})
		if _, err := m.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		arts := []*digestbot.Article{
			{ID: "private", Title: "Lanternhall closes", Text: "Lanternhall.", Source: "Other server's wire", Guilds: []string{"g2"}},
			{ID: "ours", Title: "Lanternhall vote", Text: "Lanternhall.", Source: "Our wire", Guilds: []string{"g1"}},
			{ID: "public", Title: "Lanternhall reopens", Text: "Lanternhall.", Source: "Public wire"},
		}
		if _, err := st.PutArticles(ctx, arts); err != nil {
			t.Fatal(err)
		}
		if _, err := m.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		items, err := st.Pending(ctx, "g1", "900")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, it := range items {
			got = append(got, it.ArticleID)
		}
		slices.Sort(got)
		if !slices.Equal(got, []string{"ours", "public"}) {
			t.Errorf("the watch got %v; want its server's own and the public article, never another server's", got)
		}
	})
}

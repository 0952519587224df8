package why_test

import (
	"context"
	"strings"
	"testing"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/store"
	"github.com/digestbot/digestbot/store/storetest"
	"github.com/digestbot/digestbot/why"
)

// TestExplainBeforeDelivery covers the answers for a story that no
// digest has carried yet: not matched yet, stored before the
// subscription, matched once without it, a subscription to a deleted
// topic, a language-only subscription; what a server's own feed of the
// same URL shows, and its feed trouble, to it alone.
func TestExplainBeforeDelivery(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, b *storetest.Backend) {
		st := b.Open(t, store.Options{})
		ctx := context.Background()
		now := time.Now().UTC()
		const url = "https://harbour.example/ferry-gates"
		a := &digestbot.Article{ID: digestbot.ArticleID(url, "", "", ""), Title: "Ferry gates get cameras", URL: url, Source: "Harbour Notes",
			Text:     "The ferry operator will fit cameras at both gates this winter, the harbour board said on Monday, and will publish what they record every month.",
			Language: "en", Ingested: now.Add(-time.Hour), Feed: "https://harbour.example/feed.xml"}
		if _, err := st.PutArticles(ctx, []*digestbot.Article{a}); err != nil {
			t.Fatal(err)
		}
		add := func(guild, query, topic string, created time.Time) {
			t.Helper()
			s := &digestbot.Subscription{ID: digestbot.SubscriptionID(guild, "c1", query, topic), GuildID: guild, ChannelID: "c1", Query: query, Topic: topic, CreatedAt: created}
			if _, err := st.AddSubscription(ctx, s, 10); err != nil {
				t.Fatal(err)
			}
		}
		add("g1", "ferry cameras", "", now.Add(-2*time.Hour))
		add("g1", "gates", "", now) // created after the story arrived
		add("g1", "", "gone", now.Add(-2*time.Hour))
		add("g1", "lang:en", "", now.Add(-2*time.Hour))
		e := &why.Explainer{Store: st, OperatorFeeds: []*digestbot.Feed{{URL: "https://harbour.example/feed.xml", Name: "Harbour"}}}
		outcomes := func(guild string) (map[string]why.Subscription, *why.Report) {
			t.Helper()
			r, err := e.Explain(ctx, guild, url+"?utm_source=x")
			if err != nil {
				t.Fatal(err)
			}
			out := map[string]why.Subscription{}
			for _, s := range r.Subscriptions {
				out[s.Label] = s
			}
			return out, r
		}
		got, r := outcomes("g1")
		if r.Article == nil || r.Article.From != "the bot's feed Harbour (https://harbour.example/feed.xml)" || r.Article.Language != "en" {
			t.Fatalf("article %+v", r.Article)
		}
		if s := got["ferry cameras"]; s.Outcome != why.OutcomeNotMatchedYet || strings.Join(s.Terms, " ") != "ferry cameras" {
			t.Errorf("before the matcher ran: %+v", s)
		}
		if s := got["topic:gone"]; s.Outcome != why.OutcomeBroken || !strings.Contains(s.Reason, "gone") {
			t.Errorf("a deleted topic: %+v", s)
		}
		// The matcher passes the story (without queueing it, as if the
		// subscriptions had matched nothing then).
		log, err := st.ArticlesAfter(ctx, "", 0)
		if err != nil || len(log) == 0 {
			t.Fatal(log, err)
		}
		if err := st.SetWatermark(ctx, "matcher", log[len(log)-1].Seq); err != nil {
			t.Fatal(err)
		}
		got, r = outcomes("g1")
		for label, want := range map[string]string{"ferry cameras": why.OutcomeNotQueued, "gates": why.OutcomeBeforeSubscription, "lang:en": why.OutcomeNotQueued} {
			if got[label].Outcome != want {
				t.Errorf("%s: %+v, want %s", label, got[label], want)
			}
		}
		text := r.Text(why.TextOptions{})
		for _, w := range []string{"stored before the subscription was created", "matches it now, but did not when it arrived", "matches nothing"} {
			if !strings.Contains(text, w) {
				t.Errorf("the text lacks %q:\n%s", w, text)
			}
		}

		// Server g2's own feed carries the same URL: a public source has
		// it, so g2 sees the public version (from the bot's feed); a
		// failing feed of its own is named when a story is not stored.
		if _, err := st.AddFeed(ctx, &digestbot.Feed{GuildID: "g2", URL: "https://g2.example/rss", Name: "Our wire"}, 10); err != nil {
			t.Fatal(err)
		}
		mine := *a
		mine.Feed, mine.Source, mine.Guilds, mine.Text = "https://g2.example/rss", "Our wire", []string{"g2"}, "Our own text about the ferry gates."
		if _, err := st.PutArticles(ctx, []*digestbot.Article{&mine}); err != nil {
			t.Fatal(err)
		}
		_, r = outcomes("g2")
		if r.Status != why.StatusStored || r.Article.ID != a.ID || !strings.Contains(r.Article.From, "the bot's feed") {
			t.Fatalf("g2: %+v", r.Article)
		}
		if err := st.SetFeedHealth(ctx, &digestbot.FeedHealth{URL: "https://g2.example/rss", Failures: 3, LastError: "timeout"}); err != nil {
			t.Fatal(err)
		}
		r, err = e.Explain(ctx, "g2", "https://g2.example/never")
		if err != nil || r.Status != why.StatusNotStored || len(r.FeedTrouble) != 1 || !strings.Contains(r.FeedTrouble[0].Trouble, "timeout") {
			t.Fatalf("not stored for g2: %+v, %v", r, err)
		}
		r, err = e.Explain(ctx, "g1", "https://g2.example/never")
		if err != nil || len(r.FeedTrouble) != 0 {
			t.Errorf("g1 is told of g2's feed: %+v, %v", r, err)
		}

		// A URL only servers' own feeds carry: g3's feed first, then g2's,
		// which gets a copy under an id of its own. Each finds its own
		// copy from the URL; g1 finds none it may see.
		const shared = "https://shared.example/story"
		for _, f := range []struct{ guild, feed string }{{"g3", "https://g3.example/rss"}, {"g2", "https://g2.example/rss"}} {
			p := &digestbot.Article{ID: digestbot.ArticleID(shared, "", "", ""), Title: "Shared story", URL: shared, Source: "Name of " + f.guild,
				Feed: f.feed, Guilds: []string{f.guild}, Ingested: now}
			if _, err := st.PutArticles(ctx, []*digestbot.Article{p}); err != nil {
				t.Fatal(err)
			}
		}
		for guild, want := range map[string]string{"g2": "this server's feed Our wire (https://g2.example/rss)", "g3": "a feed of this server"} {
			r, err := e.Explain(ctx, guild, shared)
			if err != nil || r.Status != why.StatusStored || r.Article.From != want || r.Article.Source != "" {
				t.Errorf("%s: %+v, %v; want it from %q and no source name", guild, r.Article, err, want)
			}
		}
		if r, err := e.Explain(ctx, "g1", shared); err != nil || r.Status != why.StatusNotVisible || r.Article != nil {
			t.Errorf("g1: %+v, %v", r, err)
		}
	})
}

package bot

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/backoff"
	"github.com/digestbot/digestbot/digest"
	"github.com/digestbot/digestbot/discordtest"
	"github.com/digestbot/digestbot/store"
)

// TestDigestDeliveryThroughDiscord runs the digest deliverer with the
// embedded store and this transport against the test server: a failed post
// leaves the items pending, the next tick posts them once, and a 429 is
// waited out without losing or doubling anything.
func TestDigestDeliveryThroughDiscord(t *testing.T) {
	t.Parallel()
	hs := start(t, nil)
	ctx := context.Background()
	st, err := store.OpenEmbedded(ctx, store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })

	now := time.Now().UTC()
	ref := digestbot.ChannelRef{GuildID: hs.srv.GuildID, ChannelID: hs.srv.ChannelID}
	enqueue := func(url, title string) {
		t.Helper()
		a := &digestbot.Article{
			ID: digestbot.ArticleID(url, "", "", ""), Title: title, URL: url, Source: "Example News",
			Published: now.Add(-2 * time.Hour), Ingested: now.Add(-time.Hour),
			Text: title + ". More text.", Summary: title + ".",
		}
		if _, err := st.PutArticles(ctx, []*digestbot.Article{a}); err != nil {
			t.Fatal(err)
		}
		item := digestbot.PendingItem{GuildID: ref.GuildID, ChannelID: ref.ChannelID, ArticleID: a.ID, QueuedAt: now,
			Hits: []digestbot.Hit{{SubscriptionID: "s1", Label: "facial recognition", Terms: []string{"facial", "recognition"}}}}
		if err := st.EnqueuePending(ctx, []digestbot.PendingItem{item}); err != nil {
			t.Fatal(err)
		}
	}
	pending := func() int {
		t.Helper()
		items, err := st.Pending(ctx, ref.GuildID, ref.ChannelID)
		if err != nil {
			t.Fatal(err)
		}
		return len(items)
	}
	d := &digest.Deliverer{
		Store: st, Transport: hs.bot, Attempts: 1,
		Logger: slog.New(slog.DiscardHandler),
		Retry:  backoff.Policy{First: time.Millisecond, Max: time.Millisecond},
	}

	enqueue("https://example.org/norway-facial-recognition", "Norway limits facial recognition in schools")
	hs.srv.FailMessages(1, discordtest.Fault{Status: 500})
	if _, err := d.Deliver(ctx, ref); digestbot.ErrorCode(err) != digestbot.EUNAVAILABLE {
		t.Fatalf("first tick: %v, want EUNAVAILABLE", err)
	}
	if n, p := len(hs.srv.Messages(ref.ChannelID)), pending(); n != 0 || p != 1 {
		t.Fatalf("after a 500: %d messages, %d pending; want 0 and 1", n, p)
	}

	res, err := d.Deliver(ctx, ref)
	if err != nil || res.Posted == 0 {
		t.Fatalf("second tick: %+v, %v", res, err)
	}
	msgs := hs.srv.Messages(ref.ChannelID)
	if len(msgs) != 1 || pending() != 0 {
		t.Fatalf("after the next tick: %d messages, %d pending; want 1 and 0", len(msgs), pending())
	}
	if !linksTo(msgs[0], "https://example.org/norway-facial-recognition") || msgs[0].Nonce == "" || !msgs[0].EnforceNonce {
		t.Errorf("posted digest = %+v", msgs[0])
	}

	enqueue("https://example.org/oslo-cameras", "Oslo removes cameras after the ruling")
	hs.srv.FailMessages(1, discordtest.Fault{Status: 429, RetryAfter: 100 * time.Millisecond})
	if _, err := d.Deliver(ctx, ref); err != nil {
		t.Fatalf("tick with a 429: %v", err)
	}
	msgs = hs.srv.Messages(ref.ChannelID)
	if len(msgs) != 2 || pending() != 0 || !linksTo(msgs[1], "https://example.org/oslo-cameras") {
		t.Errorf("after a 429: %d messages, %d pending", len(msgs), pending())
	}
}

func linksTo(m discordtest.Message, url string) bool {
	for _, e := range m.Embeds {
		if e.URL == url || strings.Contains(e.Description, url) {
			return true
		}
	}
	return strings.Contains(m.Content, url)
}

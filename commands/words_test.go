package commands

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/digest"
	"github.com/digestbot/digestbot/store"
)

// operatorWords are what replies to server members never show: variable
// names, the store's name, Go durations and the schedule's spec syntax.
var operatorWords = regexp.MustCompile(`DIGESTBOT_|DISCORD_TOKEN|[Rr]edis|\b\d+h\d+m|\b\d+m\d+s\b|\(UTC\)|daily \d|weekly [a-z]{3} `)

// TestRepliesSpeakToPeople: replies say durations and schedules in words
// and leave the operator's words (variables, the store, Go durations) out,
// also when the store cannot be reached or Discord slows posts down.
func TestRepliesSpeakToPeople(t *testing.T) {
	ctx := context.Background()
	s := newEmbeddedService(t)
	s.Config.Backfill = 30 * 24 * time.Hour
	s.Search = func(context.Context, LookupQuery) (*LookupPage, error) { return &LookupPage{}, nil }
	s.CheckFeed = func(context.Context, string) (FeedCheck, error) {
		return FeedCheck{Title: "Harbour Wire", Articles: 3}, nil
	}
	s.PostNow = func(context.Context, digestbot.ChannelRef) (digest.Result, error) {
		return digest.Result{WindowID: "w", Parts: 3, Posted: 1}, digestbot.Errorf(digestbot.ELIMIT, "Discord rate-limits posts to channel 200 for 1m0s")
	}
	check := func(r *Request, wants ...string) {
		t.Helper()
		resp, err := s.Handle(ctx, r)
		text := digestbot.ErrorMessage(err)
		if err == nil {
			text = resp.Content
		}
		if m := operatorWords.FindString(text); m != "" {
			t.Errorf("/%s says %q:\n%s", r.Name, m, text)
		}
		for _, w := range wants {
			if !strings.Contains(text, w) {
				t.Errorf("/%s does not say %q:\n%s", r.Name, w, text)
			}
		}
	}
	check(req("subscribe", "query", "ferry", "schedule", "weekly mon 08:00"), "the last 30 days", "every Monday at 08:00, UTC")
	check(req("feeds add", "url", "https://example.org/feed.xml"), "polled every 15 minutes")
	check(req("schedule", "when", "hourly", "timezone", "Europe/Oslo"), "every hour")
	check(req("subscriptions"), "Digests every hour")
	check(req("digest now"), "1 of the digest's 3 messages are posted", "no message is posted twice")
	check(req("schedule", "when", "*/2 * * * *"), "fires every 2 minutes at times; the shortest allowed interval is 5 minutes")

	if err := s.Store.(*store.Store).Close(); err != nil {
		t.Fatal(err)
	}
	check(req("subscribe", "query", "harbour"), "cannot reach its database")
	check(req("subscriptions"), "cannot reach its database")
}

package commands

import (
	"context"
	"strings"
	"testing"

	digestbot "github.com/digestbot/digestbot"
)

// TestSubscribeRecognisesTheSameQuery: a query written another way (case,
// spaces, the order of ORed or ANDed parts, NOT for -) is the subscription
// the channel has, also one stored before ids came from the normalised
// query; and /unsubscribe finds it however it is typed.
func TestSubscribeRecognisesTheSameQuery(t *testing.T) {
	ctx := context.Background()
	s := newEmbeddedService(t)
	// Stored the old way: the id from the query as written.
	legacy := &digestbot.Subscription{GuildID: "100", ChannelID: "200", Query: "Confucius Institute", CreatedAt: testNow}
	legacy.ID = digestbot.SubscriptionID("100", "200", legacy.Query, "")
	if _, err := s.Store.AddSubscription(ctx, legacy, 0); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ first, again string }{
		{"", "confucius   institute"},
		{"", "Institute AND Confucius"},
		{"Huawei OR ZTE", "zte OR huawei"},
		{"surveillance -bmw", "Surveillance NOT BMW"},
		{"site:Example.org ferry", "ferry site:example.org"},
	} {
		if tt.first != "" {
			if r := mustHandle(t, s, req("subscribe", "query", tt.first)); !strings.Contains(r.Content, "Subscribed") {
				t.Fatalf("/subscribe %s: %s", tt.first, r.Content)
			}
		}
		r := mustHandle(t, s, req("subscribe", "query", tt.again))
		if !strings.Contains(r.Content, "already subscribed") {
			t.Errorf("/subscribe %s after %s: %s", tt.again, tt.first, r.Content)
		}
	}
	subs, _ := s.Store.Subscriptions(ctx, "100", "200")
	if len(subs) != 4 {
		t.Errorf("%d subscriptions, want 4: %+v", len(subs), subs)
	}
	// Another channel may follow the same query.
	other := req("subscribe", "query", "ZTE OR Huawei", "channel", "201")
	if r := mustHandle(t, s, other); !strings.Contains(r.Content, "Subscribed <#201>") {
		t.Errorf("the same query in another channel: %s", r.Content)
	}
	r := mustHandle(t, s, req("unsubscribe", "subscription", "confucius institute"))
	if !strings.Contains(r.Content, "Confucius Institute") {
		t.Errorf("/unsubscribe by the query written another way: %s", r.Content)
	}
	mustHandle(t, s, req("unsubscribe", "subscription", "ZTE OR huawei"))
	if subs, _ := s.Store.Subscriptions(ctx, "100", "200"); len(subs) != 2 {
		t.Errorf("%d subscriptions after two unsubscribes, want 2", len(subs))
	}
	if subs, _ := s.Store.Subscriptions(ctx, "100", "201"); len(subs) != 1 {
		t.Errorf("the other channel's subscription went too: %d left", len(subs))
	}
}

package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/config"
	"github.com/digestbot/digestbot/store/storetest"
)

// TestMatchUnderTheReplicaLease: the matcher's cron tick leaves the work
// to the replica that holds the "matcher" lease, but /digest now matches
// regardless (after a short wait), so it never misses an ingested article.
func TestMatchUnderTheReplicaLease(t *testing.T) {
	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	st := storetest.OpenEmbedded(t)
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

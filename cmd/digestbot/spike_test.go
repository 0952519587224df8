package main

import (
	"context"
	"strings"
	"testing"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/discordtest"
	"github.com/digestbot/digestbot/store/storetest"
)

// TestSpikeAlertEndToEnd subscribes with spike:3/6 through Discord, stores
// stories of the query from three outlets, runs the matcher, and checks
// that the story that made the spread goes out within a minute as an
// instant alert, marked, while the others wait for the digest.
func TestSpikeAlertEndToEnd(t *testing.T) { storetest.EachBackend(t, testSpikeAlertEndToEnd) }

func testSpikeAlertEndToEnd(t *testing.T, b *storetest.Backend) {
	ch := startChat(t, b, nil)
	ctx := context.Background()
	rep := ch.command(t, "subscribe", discordtest.Str("query", "ferry strike"), discordtest.Str("spike", "3/6"), discordtest.Str("schedule", "daily 08:00"))
	if !strings.Contains(rep.Content, "📈 Spike alert: when 3 outlets") {
		t.Fatalf("/subscribe spike:3/6 answered %q", rep.Content)
	}
	if rep := ch.command(t, "subscriptions"); !strings.Contains(rep.Content, "📈 spike alert at 3 outlets within 6 h") {
		t.Errorf("/subscriptions does not show the rule: %q", rep.Content)
	}
	if rep := ch.command(t, "subscribe", discordtest.Str("query", "walkout"), discordtest.Str("spike", "1/6")); !strings.Contains(rep.Content, "number of outlets must be 2 to 50") {
		t.Errorf("a rule below the limits answered %q", rep.Content)
	}
	ref := digestbot.ChannelRef{GuildID: ch.dc.GuildID, ChannelID: ch.dc.ChannelID}
	if _, _, err := ch.c.match(ctx, time.Second, true); err != nil { // the matcher learns of the subscription
		t.Fatal(err)
	}
	due, _, err := ch.st.DueQueue("digests").When(ctx, ref.Key())
	if err != nil || due.Before(time.Now().Add(time.Minute)) {
		t.Fatalf("before the spread the digest is due %v (%v); want the schedule's next 08:00", due, err)
	}
	now := time.Now().UTC()
	var arts []*digestbot.Article
	for i, outlet := range []string{"Harbour Wire", "Coastal Ledger", "Rendal Post"} {
		arts = append(arts, &digestbot.Article{ID: "spread" + outlet[:3], Title: "Ferry strike reaches " + outlet, URL: "https://news.example/" + outlet[:3],
			Source: outlet, Text: "The ferry strike spreads.", Published: now.Add(-time.Duration(3-i) * time.Hour)})
	}
	if _, err := ch.st.PutArticles(ctx, arts); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ch.c.match(ctx, time.Second, true); err != nil {
		t.Fatal(err)
	}
	// The story that made the spread goes out as an instant alert; the
	// digest keeps its time.
	due, ok, err := ch.st.DueQueue("alerts").When(ctx, ref.Key())
	if err != nil || !ok || due.After(time.Now().Add(time.Minute)) {
		t.Fatalf("after the spread the channel's alert is due %v (queued %v, %v); want within a minute", due, ok, err)
	}
	if d, _, _ := ch.st.DueQueue("digests").When(ctx, ref.Key()); d.Before(time.Now().Add(time.Minute)) {
		t.Errorf("the digest was brought forward to %v", d)
	}
	if _, err := ch.c.deliverer.DeliverAlert(ctx, ref); err != nil {
		t.Fatal(err)
	}
	msgs := ch.dc.WaitMessages(ch.dc.ChannelID, 1)
	var titles, alerts []string
	for _, m := range msgs {
		for _, e := range m.Embeds {
			titles = append(titles, e.Title)
			if e.Author != nil && strings.Contains(e.Author.Name, "📈") {
				alerts = append(alerts, e.Title+": "+e.Author.Name)
			}
		}
	}
	if want := "Ferry strike reaches Rendal Post: 📈 spreading: 3 outlets in 6 h"; len(alerts) != 1 || alerts[0] != want {
		t.Errorf("alerts %q, want one, %q", alerts, want)
	}
	if len(titles) != 1 {
		t.Errorf("the alert carries %q; want the story that made the spread only (the others wait for the digest)", titles)
	}
	if pending, _ := ch.st.Pending(ctx, ref.GuildID, ref.ChannelID); len(pending) != 2 {
		t.Errorf("%d stories wait for the digest, want the other 2", len(pending))
	}
}

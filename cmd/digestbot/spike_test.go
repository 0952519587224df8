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
// that the channel's digest falls due at once and carries the alert above
// the story that made the spread.
func TestSpikeAlertEndToEnd(t *testing.T) { storetest.EachBackend(t, testSpikeAlertEndToEnd) }

func testSpikeAlertEndToEnd(t *testing.T, b *storetest.Backend) {
	ch := startChat(t, b, nil)
	ctx := context.Background()
	rep := ch.command(t, "subscribe", discordtest.Str("query", "ferry strike"), discordtest.Str("spike", "3/6"), discordtest.Str("schedule", "daily 08:00"))
	if !strings.Contains(rep.Content, "📈 Spike alert: when 3 outlets") {
		t.Fatalf("/subscribe spike:3/6 answered %q", rep.Content)
	}
	if rep := ch.command(t, "subscriptions"); !strings.Contains(rep.Content, "spike 3/6") {
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
	due, _, err = ch.st.DueQueue("digests").When(ctx, ref.Key())
	if err != nil || due.After(time.Now()) {
		t.Fatalf("after the spread the digest is due %v (%v); want now", due, err)
	}
	if _, err := ch.c.deliverer.Deliver(ctx, ref); err != nil {
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
	if len(titles) != 3 || titles[0] != "Ferry strike reaches Rendal Post" {
		t.Errorf("stories %q: want all three, the alert first", titles)
	}
}

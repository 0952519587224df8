package archive_test

import (
	"context"
	"testing"
	"time"

	"github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/archive"
	"github.com/digestbot/digestbot/store"
	"github.com/digestbot/digestbot/subscriptions"
)

func TestOccurrences(t *testing.T) {
	backends(t, store.Options{}, archive.Options{}, testOccurrences)
}

func testOccurrences(t *testing.T, b *backend) {
	ctx := context.Background()
	base := time.Now().UTC().Truncate(time.Hour)
	art := func(id, title string, ago time.Duration, guilds ...string) *digestbot.Article {
		at := base.Add(-ago)
		return &digestbot.Article{ID: id, Title: title, URL: "https://news.example/" + id, Source: "Wire " + id,
			Text: title + ".", Published: at, Ingested: at.Add(10 * time.Minute), Guilds: guilds}
	}
	b.ingest(t, []*digestbot.Article{
		art("t1", "Ferry strike spreads to the north", 2*time.Hour),
		art("t2", "Ferry strike ends in the south", 26*time.Hour),
		art("t3", "Strike of the ferry crews", 50*time.Hour),           // the words, not the phrase
		art("t4", "Ferry strike talks fail", 10*24*time.Hour),          // before the window
		art("t5", "Ferry strike in a private feed", 3*time.Hour, "g2"), // another server's
		art("t6", "Ferry strike in our own feed", 4*time.Hour, "g1"),
		art("t7", "Harbour news", time.Hour),
	})
	q := func(text string) *subscriptions.Query {
		p, err := subscriptions.Parse(text)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	since := base.Add(-7 * 24 * time.Hour)

	got, err := b.idx.Occurrences(ctx, archive.OccurrencesRequest{Query: q("ferry strike"), Since: since, Guild: "g1", IDs: 2})
	if err != nil {
		t.Fatal(err)
	}
	var hours []time.Duration
	for _, o := range got {
		hours = append(hours, base.Sub(o.Hour))
		if !o.Sure {
			t.Errorf("a match of two words at %v is not sure", o.Hour)
		}
	}
	want := []time.Duration{2 * time.Hour, 4 * time.Hour, 26 * time.Hour, 50 * time.Hour}
	if len(hours) != len(want) {
		t.Fatalf("occurrences %v ago, want %v (newest first, none of another server, none before the window)", hours, want)
	}
	for i := range want {
		if hours[i] != want[i] {
			t.Fatalf("occurrences %v ago, want %v", hours, want)
		}
	}
	if got[0].ID != "t1" || got[1].ID != "t6" || got[2].ID != "" {
		t.Errorf("ids %q %q %q, want the newest two only", got[0].ID, got[1].ID, got[2].ID)
	}

	// A phrase is only a maybe from the index: positions are not indexed.
	// The neighbour signatures rule out t3, whose words stand apart.
	got, err = b.idx.Occurrences(ctx, archive.OccurrencesRequest{Query: q(`"ferry strike"`), Since: since})
	if err != nil {
		t.Fatal(err)
	}
	// The operator sees every server's articles.
	if len(got) != 4 {
		t.Errorf("the operator gets %d occurrences of the phrase, want 4 (t1, t2, t5, t6)", len(got))
	}
	for _, o := range got {
		if o.Sure {
			t.Errorf("a phrase match at %v is sure; the index cannot know", o.Hour)
		}
	}
}

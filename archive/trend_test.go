package archive_test

import (
	"context"
	"slices"
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
	// Per hour, oldest first: none of another server, none before the window.
	var hours []time.Duration
	for _, h := range got.Hours {
		hours = append(hours, base.Sub(h.Hour))
		if h.Sure != 1 || h.Unsure != 0 {
			t.Errorf("hour %v: %d sure, %d unsure; want one sure match of two words", h.Hour, h.Sure, h.Unsure)
		}
	}
	want := []time.Duration{50 * time.Hour, 26 * time.Hour, 4 * time.Hour, 2 * time.Hour}
	if !slices.Equal(hours, want) {
		t.Fatalf("matches %v ago, want %v", hours, want)
	}
	if len(got.Newest) != 2 || got.Newest[0].ID != "t1" || got.Newest[1].ID != "t6" || base.Sub(got.Newest[1].Hour) != 4*time.Hour {
		t.Errorf("newest %+v, want t1 then t6", got.Newest)
	}

	// A phrase is only a maybe from the index: positions are not indexed.
	// The neighbour signatures rule out t3, whose words stand apart.
	got, err = b.idx.Occurrences(ctx, archive.OccurrencesRequest{Query: q(`"ferry strike"`), Since: since, IDs: 10})
	if err != nil {
		t.Fatal(err)
	}
	unsure := 0
	for _, h := range got.Hours {
		unsure += h.Unsure
		if h.Sure != 0 {
			t.Errorf("a phrase match at %v is sure; the index cannot know", h.Hour)
		}
	}
	// The operator sees every server's articles.
	if unsure != 4 || len(got.Newest) != 4 || got.Newest[0].Sure {
		t.Errorf("the operator gets %d matches of the phrase (%d newest), want 4 maybes (t1, t2, t5, t6)", unsure, len(got.Newest))
	}
}

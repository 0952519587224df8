package trend_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/archive"
	"github.com/digestbot/digestbot/store"
	"github.com/digestbot/digestbot/store/storetest"
	"github.com/digestbot/digestbot/subscriptions"
	"github.com/digestbot/digestbot/trend"
)

// TestTrendFromTheLookupIndex is /trend as a server sees it, on each Redis:
// the phrase is checked on the stored articles, another server's private
// story and stories before the window are not counted, and the outlets are
// those of the stories counted.
func TestTrendFromTheLookupIndex(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, b *storetest.Backend) {
		ctx := context.Background()
		st := b.Open(t, store.Options{})
		idx := archive.New(st.Client(), st.Prefix(), archive.Options{Articles: st, Retention: 30 * 24 * time.Hour})
		now := time.Now().UTC()
		base := now.Truncate(time.Hour)
		art := func(id, title, outlet string, ago time.Duration, guilds ...string) *digestbot.Article {
			at := base.Add(-ago)
			return &digestbot.Article{ID: id, Title: title, URL: "https://news.example/" + id, Source: outlet,
				Text: title + ".", Published: at, Ingested: at.Add(5 * time.Minute), Guilds: guilds}
		}
		as := []*digestbot.Article{
			art("t1", "Ferry strike spreads to the north", "Harbour Wire", 2*time.Hour),
			art("t2", "Ferry strike ends in the south", "Harbour Wire", 26*time.Hour),
			art("t3", "Strike of the ferry crews", "Coastal Ledger", 50*time.Hour),            // the words, not the phrase
			art("t4", "Ferry strike talks fail", "Coastal Ledger", 10*24*time.Hour),           // before the window
			art("t5", "Ferry strike in a private feed", "Private Desk", 3*time.Hour, "other"), // another server's
			art("t6", "Ferry strike in our own feed", "Our Desk", 4*time.Hour, "mine"),
			art("t7", "Harbour news", "Harbour Wire", time.Hour),
		}
		if _, err := st.PutArticles(ctx, as); err != nil {
			t.Fatal(err)
		}
		if err := idx.Add(ctx, as); err != nil {
			t.Fatal(err)
		}
		q, err := subscriptions.Parse(`"ferry strike"`)
		if err != nil {
			t.Fatal(err)
		}
		c := &trend.Counter{Finder: trend.ArchiveFinder{Index: idx}, Articles: st}
		s, err := c.Series(ctx, trend.Request{Query: q, Label: `"ferry strike"`, Since: now.Add(-7 * 24 * time.Hour), Now: now, Guild: "mine", Location: time.UTC})
		if err != nil {
			t.Fatal(err)
		}
		if s.Total != 3 || s.Approximate {
			t.Errorf("%d stories (approximate %v), want 3 checked ones: t1, t2, t6", s.Total, s.Approximate)
		}
		sum := 0
		for _, n := range s.Counts {
			sum += n
		}
		if sum != s.Total {
			t.Errorf("the chart's steps add up to %d, the total says %d", sum, s.Total)
		}
		if got := s.OutletLine(); !strings.Contains(got, "Harbour Wire 2") || !strings.Contains(got, "Our Desk 1") ||
			strings.Contains(got, "Coastal") || strings.Contains(got, "Private") {
			t.Errorf("outlets %q, want Harbour Wire 2 and Our Desk 1 only", got)
		}

		// site: is checked on the stored articles, like the phrase.
		for query, want := range map[string]int{"strike site:news.example": 4, "strike -site:news.example": 0, "strike site:other.example": 0} {
			q, err := subscriptions.Parse(query)
			if err != nil {
				t.Fatal(err)
			}
			s, err := c.Series(ctx, trend.Request{Query: q, Label: query, Since: now.Add(-7 * 24 * time.Hour), Now: now, Guild: "mine", Location: time.UTC})
			if err != nil || s.Total != want || s.Approximate {
				t.Errorf("%s: %+v, %v; want %d stories, all checked", query, s, err, want)
			}
		}
	})
}

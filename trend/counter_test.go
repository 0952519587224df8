package trend

import (
	"context"
	"strings"
	"testing"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/subscriptions"
)

type fakeFinder struct {
	found *Found
	asked Find
}

func (f *fakeFinder) Occurrences(_ context.Context, q Find) (*Found, error) {
	f.asked = q
	return f.found, nil
}

type fakeArticles map[string]*digestbot.Article

func (a fakeArticles) GetArticles(_ context.Context, ids []string) ([]*digestbot.Article, error) {
	out := make([]*digestbot.Article, len(ids))
	for i, id := range ids {
		out[i] = a[id]
	}
	return out, nil
}

func (a fakeArticles) ArticleOutlets(_ context.Context, ids []string) ([]string, error) {
	out := make([]string, len(ids))
	for i, id := range ids {
		if art := a[id]; art != nil && id != "legacy" {
			out[i] = art.Source
		}
	}
	return out, nil
}

// TestCounterChecksWhatTheIndexCannot: phrase matches are read and checked
// within the budget, those that fail leave their hour's count, the rest
// make the series approximate; outlets come from the newest stories.
func TestCounterChecksWhatTheIndexCannot(t *testing.T) {
	hour := now.Truncate(time.Hour)
	q, _ := subscriptions.Parse(`"ferry strike"`)
	arts := fakeArticles{
		"yes":    {ID: "yes", Title: "Ferry strike", Source: "Harbour Wire"},
		"no":     {ID: "no", Title: "Strike at the ferry", Source: "Coastal Ledger"},
		"legacy": {ID: "legacy", Title: "Ferry strike", Source: "Old Copy"},
		"theirs": {ID: "theirs", Title: "Ferry strike", Source: "Private", Guilds: []string{"other"}},
	}
	f := &fakeFinder{found: &Found{
		Hours: []HourCount{{Hour: hour.Add(-2 * time.Hour), Sure: 0, Unsure: 5}, {Hour: hour, Sure: 0, Unsure: 4}},
		Newest: []Occurrence{
			{Hour: hour, ID: "yes"}, {Hour: hour, ID: "no"}, {Hour: hour, ID: "legacy"}, {Hour: hour, ID: "theirs"},
			{Hour: hour.Add(-2 * time.Hour), ID: "yes"},
		},
	}}
	c := &Counter{Finder: f, Articles: arts, MaxVerify: 4, MaxOutlets: 7}
	s, err := c.Series(context.Background(), Request{Query: q, Label: `"ferry strike"`, Since: now.Add(-24 * time.Hour), Now: now, Guild: "mine"})
	if err != nil {
		t.Fatal(err)
	}
	if f.asked.IDs != 7 || f.asked.Guild != "mine" {
		t.Errorf("asked the index %+v", f.asked)
	}
	// 9 maybes, 4 checked: "no" does not hold the phrase, "theirs" is
	// another server's; 5 remain unchecked.
	if s.Total != 7 || !s.Approximate {
		t.Errorf("total %d (approximate %v), want 7, approximate", s.Total, s.Approximate)
	}
	if got := s.OutletLine(); !strings.Contains(got, "Harbour Wire 2 · Old Copy 1") || strings.Contains(got, "Coastal") || strings.Contains(got, "Private") {
		t.Errorf("outlets %q", got)
	}
}

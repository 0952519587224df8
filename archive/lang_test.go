package archive_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/archive"
	"github.com/digestbot/digestbot/store"
)

// searchCase is a query and the ids it finds, in any order.
type searchCase struct {
	query string
	want  []string
}

func searchCases(t *testing.T, b *backend, cases []searchCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.query, func(t *testing.T) {
			got := ids(b.search(t, archive.Request{Query: tt.query}))
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestSearchByLanguage: lang: in a lookup keeps the stories of that
// language; the words still find the candidates.
func TestSearchByLanguage(t *testing.T) {
	backends(t, store.Options{}, archive.Options{}, func(t *testing.T, b *backend) {
		day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
		arts := []*digestbot.Article{
			{ID: "en", Title: "Ferry timetable delayed", URL: "https://harbour.example/en", Source: "Harbour Notes", Published: day, Ingested: day,
				Text: "The ferry winter timetable starts later.", Language: "en-GB"},
			{ID: "fr", Title: "Ferry : l'horaire d'hiver retardé", URL: "https://harbour.example/fr", Source: "Harbour Notes", Published: day, Ingested: day,
				Text: "L'horaire d'hiver du ferry commence plus tard.", Language: "fr"},
			{ID: "unknown", Title: "Ferry notes", URL: "https://harbour.example/x", Source: "Harbour Notes", Published: day, Ingested: day,
				Text: "Ferry."},
		}
		b.ingest(t, arts)
		searchCases(t, b, []searchCase{
			{"ferry lang:fr", []string{"fr"}},
			{"ferry lang:EN", []string{"en"}},
			{"ferry lang:(fr OR en)", []string{"en", "fr"}},
			{"ferry -lang:fr", []string{"en", "unknown"}},
		})
		_, err := b.idx.Search(context.Background(), archive.Request{Query: "lang:fr", Now: now})
		if digestbot.ErrorCode(err) != digestbot.EINVALID {
			t.Errorf("a language alone: %v, want a request for a word", err)
		}
	})
}

package archive_test

import (
	"context"
	"strings"
	"testing"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/archive"
	"github.com/digestbot/digestbot/store"
)

// TestSearchBySite: site: in a lookup keeps (or, negated, leaves out) the
// stories with a link on that domain or a subdomain of it, any outlet's
// link counting; the words still find the candidates, and a domain alone
// asks for a word.
func TestSearchBySite(t *testing.T) {
	backends(t, store.Options{}, archive.Options{}, func(t *testing.T, b *backend) {
		day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
		arts := []*digestbot.Article{
			{ID: "wire", Title: "Lighthouse keepers return", URL: "https://news.harbourwire.example/keepers", Source: "Harbour Wire", Published: day, Ingested: day,
				Text: "The lighthouse has keepers again."},
			{ID: "ledger", Title: "Lighthouse lamp replaced", URL: "https://coastalledger.example/lamp", Source: "Coastal Ledger", Published: day, Ingested: day,
				Text:    "A new lamp for the lighthouse.",
				Sources: []digestbot.Source{{Name: "Coastal Ledger", URL: "https://coastalledger.example/lamp", Published: day}, {Name: "Harbour Wire", URL: "https://harbourwire.example/lamp"}}},
			{ID: "lookalike", Title: "Lighthouse tours", URL: "https://badharbourwire.example/tours", Source: "Bad Harbour", Published: day, Ingested: day,
				Text: "Tours of the lighthouse."},
		}
		b.ingest(t, arts)
		searchCases(t, b, []searchCase{
			{"lighthouse site:harbourwire.example", []string{"ledger", "wire"}},
			{"lighthouse site:coastalledger.example", []string{"ledger"}},
			{"lighthouse -site:harbourwire.example", []string{"lookalike"}},
			{"lighthouse site:example", []string{"ledger", "lookalike", "wire"}},
			{"lighthouse site:elsewhere.example", nil},
		})
		_, err := b.idx.Search(context.Background(), archive.Request{Query: "site:harbourwire.example", Now: now})
		if digestbot.ErrorCode(err) != digestbot.EINVALID || !strings.Contains(digestbot.ErrorMessage(err), "word") {
			t.Errorf("a domain alone: %v, want a request for a word", err)
		}
	})
}

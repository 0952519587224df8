package archive_test

import (
	"context"
	"slices"
	"testing"

	"github.com/digestbot/digestbot/archive"
	"github.com/digestbot/digestbot/store"
)

// A search keeps what it read of the document tables (lengths and
// publication hours) and later reads only what was appended. Its ranking
// must stay that of an index that reads everything afresh: after more
// articles were indexed, and after the index was cleared and refilled in
// another order, so that every document number stands for another article.
func TestSearchRanksAsAFreshIndexAfterTheIndexChanged(t *testing.T) {
	backends(t, store.Options{}, archive.Options{}, func(t *testing.T, b *backend) {
		ctx := context.Background()
		as := loadFixtures(t)
		queries := []string{"lighthouse", "recycl*", "glass", "personal information", "cranes OR keepers"}
		same := func(stage string) {
			t.Helper()
			fresh := archive.New(b.st.Client(), b.st.Prefix(), archive.Options{Articles: b.st})
			for _, q := range queries {
				got := b.search(t, archive.Request{Query: q})
				want, err := fresh.Search(ctx, archive.Request{Query: q, Now: now})
				if err != nil {
					t.Fatal(err)
				}
				if !slices.EqualFunc(got.Results, want.Results, func(x, y archive.Result) bool {
					return x.Article.ID == y.Article.ID && x.Score == y.Score
				}) || got.Total != want.Total {
					t.Errorf("%s: %q ranks %v (total %d), a fresh index %v (total %d)", stage, q, scored(got), got.Total, scored(want), want.Total)
				}
			}
		}
		half := len(as) / 2
		b.ingest(t, as[:half])
		same("first half")
		b.ingest(t, as[half:])
		same("all")
		if err := b.idx.Clear(ctx); err != nil {
			t.Fatal(err)
		}
		rev := slices.Clone(as)
		slices.Reverse(rev)
		if err := b.idx.Add(ctx, rev); err != nil {
			t.Fatal(err)
		}
		same("cleared and indexed in reverse")
		if got := ids(b.search(t, archive.Request{Query: "lighthouse"})); !slices.Equal(got, []string{"keepers-strike", "old-ferry", "harbour-cranes"}) {
			t.Errorf("lighthouse after the refill: %v", got)
		}
	})
}

func scored(p *archive.Page) []any {
	var out []any
	for _, r := range p.Results {
		out = append(out, r.Article.ID, r.Score)
	}
	return out
}

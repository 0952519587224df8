package archive_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/archive"
	"github.com/digestbot/digestbot/store/storetest"
)

// BenchmarkLookupUpTo times what the chat /lookup does when it runs: one
// SearchUpTo of 100 results as a server (the ranked list its pages are
// cut from), next to a Search of one page of 5 and a SearchUpTo of 500
// (the list /lookup kept before), for the benchmark corpus's
// mid-frequency words and its 20 most frequent ones.
//
//	go test ./archive -run '^$' -bench LookupUpTo -benchtime 1x
func BenchmarkLookupUpTo(b *testing.B) {
	const n = 20_000
	ctx := context.Background()
	st := storetest.Open(b)
	now := time.Now()
	c := genCorpus(n, now)
	idx := archive.New(st.Client(), st.Prefix(), archive.Options{Articles: st})
	c.load(b, 1, 500, func(arts []*digestbot.Article) error {
		if _, err := st.PutArticles(ctx, arts); err != nil {
			return err
		}
		return idx.Add(ctx, arts)
	})
	qs := c.queries(100)
	b.ResetTimer()
	for range b.N {
		for _, kind := range []string{"1 term", "frequent"} {
			for _, upTo := range []int{0, 100, 500} {
				var lat []time.Duration
				results := 0
				for j, q := range qs[kind] {
					req := archive.Request{Query: q, Now: now, Guild: c.servers[j%numServers]}
					t := time.Now()
					var p *archive.Page
					var err error
					if upTo == 0 {
						p, err = idx.Search(ctx, req)
					} else {
						p, err = idx.SearchUpTo(ctx, req, upTo)
					}
					lat = append(lat, time.Since(t))
					if err != nil {
						b.Fatal(err)
					}
					results += len(p.Results)
				}
				slices.Sort(lat)
				pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
				name := fmt.Sprintf("%s, up to %d", kind, max(upTo, archive.DefaultLimit))
				b.Logf("%-22s p50 %.1f p95 %.1f p99 %.1f ms, mean results %d", name, pct(0.5), pct(0.95), pct(0.99), results/len(lat))
			}
		}
	}
}

package main

import (
	"context"

	"github.com/digestbot/digestbot/archive"
	"github.com/digestbot/digestbot/store"
	"github.com/digestbot/digestbot/trend"
)

// archiveFinder lets /trend count from the lookup index (trend.Finder). It
// is the one place that knows both, so another index can take its place.
type archiveFinder struct{ idx *archive.Index }

func (f archiveFinder) Occurrences(ctx context.Context, q trend.Find) ([]trend.Occurrence, error) {
	occ, err := f.idx.Occurrences(ctx, archive.OccurrencesRequest{Query: q.Query, Since: q.Since, Guild: q.Guild, IDs: q.IDs})
	if err != nil {
		return nil, err
	}
	out := make([]trend.Occurrence, len(occ))
	for i, o := range occ {
		out[i] = trend.Occurrence{Hour: o.Hour, Sure: o.Sure, ID: o.ID}
	}
	return out, nil
}

// newTrends returns /trend's counter over the index and the store.
func newTrends(idx *archive.Index, st *store.Store) *trend.Counter {
	return &trend.Counter{Finder: archiveFinder{idx}, Articles: st}
}

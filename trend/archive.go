package trend

import (
	"context"

	"github.com/digestbot/digestbot/archive"
)

// ArchiveFinder counts from the lookup index (package archive). It is the
// one place that knows the index's answer, so another index can take its
// place behind Finder.
type ArchiveFinder struct{ Index *archive.Index }

// Occurrences implements Finder.
func (f ArchiveFinder) Occurrences(ctx context.Context, q Find) (*Found, error) {
	occ, err := f.Index.Occurrences(ctx, archive.OccurrencesRequest{Query: q.Query, Since: q.Since, Guild: q.Guild, IDs: q.IDs})
	if err != nil {
		return nil, err
	}
	out := &Found{Hours: make([]HourCount, len(occ.Hours)), Newest: make([]Occurrence, len(occ.Newest))}
	for i, h := range occ.Hours {
		out.Hours[i] = HourCount{Hour: h.Hour, Sure: h.Sure, Unsure: h.Unsure}
	}
	for i, o := range occ.Newest {
		out.Newest[i] = Occurrence{Hour: o.Hour, Sure: o.Sure, ID: o.ID}
	}
	return out, nil
}

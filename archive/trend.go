package archive

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/subscriptions"
)

// Counting matches over time, for /trend: which articles a query matches
// and when each was published, from the postings alone. Unlike Search
// nothing is scored and no article is read; only the newest occurrences
// get their article ids (one read per article), so a trend over a large
// archive costs about what reading the query's postings costs.

// maxPublishLead is how far ahead of its ingest time an article's
// publication time may lie (ingest stores a later one as unknown). An
// article published at or after a time t was therefore ingested no
// earlier than t minus this, which bounds the buckets to read.
const maxPublishLead = 48 * time.Hour

// OccurrencesRequest asks which articles a query matches since a time.
type OccurrencesRequest struct {
	Query *subscriptions.Query // parsed, topics resolved
	// Since keeps articles published (else ingested) in or after the hour
	// of Since.
	Since time.Time
	// Guild is the server asking: it sees public articles and its own
	// private ones, never another server's. "" sees every article.
	Guild string
	// IDs is how many of the newest occurrences get their article id; the
	// rest have ID "". Zero: none.
	IDs int
}

// Occurrence is one article a query matches, as the index knows it.
type Occurrence struct {
	// Hour is the hour the article was published in (else ingested).
	Hour time.Time
	// Sure is false when the index could not decide the match alone (a
	// phrase, a CJK word: the words are there, maybe not side by side);
	// the article must then be read to be certain.
	Sure bool
	// ID is the article's id, for the newest OccurrencesRequest.IDs.
	ID string
}

// Occurrences returns the articles req.Query matches since req.Since that
// req.Guild may see, newest first. EINVALID when the index cannot take
// the query (a bare exclusion, a prefix that stands for too many words).
func (x *Index) Occurrences(ctx context.Context, req OccurrencesRequest) ([]Occurrence, error) {
	if req.Query == nil {
		return nil, digestbot.Errorf(digestbot.EINVALID, "no query to count")
	}
	p := compile(req.Query.Root)
	var buckets []int64
	first := x.bucketOf(req.Since.Add(-maxPublishLead))
	for _, b := range x.liveBuckets(x.opts.Now()) {
		if req.Since.IsZero() || b >= first {
			buckets = append(buckets, b)
		}
	}
	if err := x.expandPrefixes(ctx, p, buckets); err != nil {
		return nil, err
	}
	if req.Guild != "" {
		p.restrict(req.Guild)
	}
	ls, _, err := x.fetch(ctx, p, buckets)
	if err != nil {
		return nil, err
	}
	drv, _, ok := p.drivers(p.root, ls)
	if !ok {
		return nil, digestbot.Errorf(digestbot.EINVALID, "the query needs a word or phrase that must occur")
	}
	var cands []posting
	for _, l := range drv {
		cands = append(cands, ls[l]...)
	}
	if len(drv) > 1 {
		slices.SortFunc(cands, byDoc)
		cands = slices.CompactFunc(cands, func(a, b posting) bool { return a.doc == b.doc })
	}
	var since uint32
	if !req.Since.IsZero() {
		since = toHours(req.Since)
	}
	type found struct {
		doc   uint64
		hours uint32
		sure  bool
	}
	w := newWalker(ls)
	var hits []found
	for _, c := range cands {
		if c.hours < since {
			continue
		}
		if v := p.eval(p.root, w, c.doc); v != tNo {
			hits = append(hits, found{c.doc, c.hours, v == tYes})
		}
	}
	slices.SortFunc(hits, func(a, b found) int { return cmp.Or(cmp.Compare(b.hours, a.hours), cmp.Compare(b.doc, a.doc)) })
	out := make([]Occurrence, len(hits))
	for i, h := range hits {
		out[i] = Occurrence{Hour: fromHours(h.hours), Sure: h.sure}
	}
	if n := min(req.IDs, len(hits)); n > 0 {
		rs := make([]ranked, n)
		for i := range rs {
			rs[i].doc = hits[i].doc
		}
		if err := x.resolveIDs(ctx, rs); err != nil {
			return nil, err
		}
		for i, r := range rs {
			out[i].ID = r.id
		}
	}
	return out, nil
}

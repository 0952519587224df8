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

// HourCount is how many matching articles were published in one hour:
// Sure of them decided by the index, Unsure only maybe (see Occurrence).
type HourCount struct {
	Hour         time.Time
	Sure, Unsure int
}

// Occurrence is one article a query matches, as the index knows it.
type Occurrence struct {
	// Hour is the hour the article was published in (else ingested).
	Hour time.Time
	// Sure is false when the index could not decide the match alone (a
	// phrase, a CJK word: the words are there, maybe not side by side);
	// the article must then be read to be certain.
	Sure bool
	ID   string // the article's id
}

// Occurrences is what a query matches since a time.
type Occurrences struct {
	Hours  []HourCount  // by hour, oldest first; only hours with matches
	Newest []Occurrence // the newest OccurrencesRequest.IDs, newest first
}

// Occurrences counts the articles req.Query matches since req.Since that
// req.Guild may see, per hour, and names the newest. EINVALID when the
// index cannot take the query (a bare exclusion, a prefix that stands for
// too many words).
func (x *Index) Occurrences(ctx context.Context, req OccurrencesRequest) (*Occurrences, error) {
	if req.Query == nil {
		return nil, digestbot.Errorf(digestbot.EINVALID, "no query to count")
	}
	g, err := x.liveGen(ctx)
	if err != nil {
		return nil, err
	}
	p := compile(req.Query.Root)
	var buckets []int64
	first := x.bucketOf(req.Since.Add(-maxPublishLead))
	for _, b := range x.liveBuckets(x.opts.Now()) {
		if req.Since.IsZero() || b >= first {
			buckets = append(buckets, b)
		}
	}
	if err := x.expandPrefixes(ctx, g, p, buckets); err != nil {
		return nil, err
	}
	if req.Guild != "" {
		p.restrict(req.Guild)
	}
	ls, _, err := x.fetch(ctx, g, p, buckets)
	if err != nil {
		return nil, err
	}
	drv, _, ok := p.drivers(p.root, ls)
	if !ok {
		return nil, digestbot.Errorf(digestbot.EINVALID, "the query needs a word or phrase that must occur")
	}
	cands := ls[drv[0]]
	if len(drv) > 1 {
		var all []posting
		for _, l := range drv {
			all = append(all, ls[l]...)
		}
		slices.SortFunc(all, byDoc)
		cands = slices.CompactFunc(all, func(a, b posting) bool { return a.doc == b.doc })
	} else if len(drv) == 0 {
		cands = nil
	}
	var since uint32
	if !req.Since.IsZero() {
		since = toHours(req.Since)
	}
	// One pass: each match is counted in its hour and kept in 12 bytes;
	// only the newest are sorted and resolved to ids.
	type found struct {
		doc   uint64
		hours uint32
	}
	const unsure = 1 << 31 // flag in hours: packed hours stay below 2^24
	w := newWalker(ls)
	var hits []found
	perHour := map[uint32]*HourCount{}
	for _, c := range cands {
		if c.hours < since {
			continue
		}
		v := p.eval(p.root, w, c.doc)
		if v == tNo {
			continue
		}
		hc := perHour[c.hours]
		if hc == nil {
			hc = &HourCount{Hour: fromHours(c.hours)}
			perHour[c.hours] = hc
		}
		h := found{c.doc, c.hours}
		if v == tYes {
			hc.Sure++
		} else {
			hc.Unsure++
			h.hours |= unsure
		}
		hits = append(hits, h)
	}
	out := &Occurrences{Hours: make([]HourCount, 0, len(perHour))}
	for _, hc := range perHour {
		out.Hours = append(out.Hours, *hc)
	}
	slices.SortFunc(out.Hours, func(a, b HourCount) int { return a.Hour.Compare(b.Hour) })
	if req.IDs <= 0 || len(hits) == 0 {
		return out, nil
	}
	// The newest hour that, with every later one, holds req.IDs matches.
	cut, n := uint32(0), 0
	for i := len(out.Hours) - 1; i >= 0 && n < req.IDs; i-- {
		n += out.Hours[i].Sure + out.Hours[i].Unsure
		cut = toHours(out.Hours[i].Hour)
	}
	newest := slices.DeleteFunc(hits, func(h found) bool { return h.hours&^unsure < cut })
	slices.SortFunc(newest, func(a, b found) int {
		return cmp.Or(cmp.Compare(b.hours&^unsure, a.hours&^unsure), cmp.Compare(b.doc, a.doc))
	})
	newest = newest[:min(req.IDs, len(newest))]
	rs := make([]ranked, len(newest))
	for i, h := range newest {
		rs[i].doc = h.doc
	}
	if err := x.resolveIDs(ctx, g, rs); err != nil {
		return nil, err
	}
	out.Newest = make([]Occurrence, 0, len(rs))
	for i, r := range rs {
		if r.id == "" {
			continue // retired since it was indexed
		}
		out.Newest = append(out.Newest, Occurrence{Hour: fromHours(newest[i].hours &^ unsure), Sure: newest[i].hours&unsure == 0, ID: r.id})
	}
	return out, nil
}

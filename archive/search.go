package archive

import (
	"context"
	"errors"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/analysis"
	"github.com/digestbot/digestbot/subscriptions"
	"github.com/redis/go-redis/v9"
)

// Page sizes.
const (
	DefaultLimit = 5    // what the chat command shows per page
	MaxLimit     = 100  // the most one page may hold
	MaxUpTo      = 1000 // the most SearchUpTo returns
)

// Request is one search.
type Request struct {
	Query  string    // in the subscription query language
	Since  time.Time // only articles published (else ingested) at or after Since; zero: all
	Source string    // only articles one of whose outlets' names holds these words, in order; "" = all
	Limit  int       // page size; 0 = DefaultLimit, at most MaxLimit
	Cursor string    // Page.Next of the previous page; "" = the first page
	Now    time.Time // the reference time for recency; zero = the index clock
	// Guild is the server asking: it sees public articles and its own
	// private ones (see digestbot.Article.Guilds), never another server's.
	// "" is the operator's command line, which sees every article.
	Guild string
	// ResolveTopic looks up `topic:NAME` references; nil refuses them.
	ResolveTopic func(name string) (*subscriptions.Query, bool)
}

// Result is one article found.
type Result struct {
	Article *digestbot.Article
	Snippet string   // summary (or a sentence) with the matched terms in **bold**
	Score   float64  // see Scoring
	Matched []string // the query terms that matched, as written
}

// Page is one page of results, best first.
type Page struct {
	Results []Result
	Next    string // cursor of the next page; "" when this is the last
	// Total is how many articles the index matched. Results are verified
	// on the stored article, so for a phrase (including a CJK word) Total
	// may count a few whose words are all there but not side by side.
	Total int
}

// Search finds the articles that match req.Query, best first (see
// Scoring), one page at a time. A bad query is the parser's EINVALID error;
// a bad cursor or limit is EINVALID too.
func (x *Index) Search(ctx context.Context, req Request) (*Page, error) {
	limit := req.Limit
	switch {
	case limit == 0:
		limit = DefaultLimit
	case limit < 0 || limit > MaxLimit:
		return nil, digestbot.Errorf(digestbot.EINVALID, "page size must be between 1 and %d", MaxLimit)
	}
	return x.search(ctx, req, limit, limit)
}

// SearchUpTo returns the first n results of req (n at most MaxUpTo) in
// one go, in Search's order. Only the first req.Limit (DefaultLimit when
// 0) have a Snippet: the page on screen; making the others would cost a
// third of the time (BENCHMARKS.md). It is for a caller that
// keeps the ranked list itself, so that its pages do not shift as
// articles arrive (the chat /lookup), or that wants a count and a few
// examples (a subscription's preview).
func (x *Index) SearchUpTo(ctx context.Context, req Request, n int) (*Page, error) {
	if n < 1 || n > MaxUpTo {
		return nil, digestbot.Errorf(digestbot.EINVALID, "the number of results must be between 1 and %d", MaxUpTo)
	}
	snippets := req.Limit
	if snippets <= 0 {
		snippets = DefaultLimit
	}
	return x.search(ctx, req, n, snippets)
}

// search finds the first limit results of req, the first snippets of them
// with their Snippet.
func (x *Index) search(ctx context.Context, req Request, limit, snippets int) (*Page, error) {
	if x.opts.Articles == nil {
		return nil, digestbot.Errorf(digestbot.EINTERNAL, "archive index has no article store")
	}
	q, err := subscriptions.Parse(req.Query)
	if err != nil {
		return nil, err
	}
	if len(q.Topics()) > 0 {
		if req.ResolveTopic == nil {
			return nil, digestbot.Errorf(digestbot.EINVALID, "lookup does not take topic: references; search for the topic's words instead")
		}
		if q, err = q.ResolveTopics(req.ResolveTopic); err != nil {
			return nil, err
		}
	}
	root := q.Root
	var sourceToks []string
	if req.Source != "" {
		sourceToks = analysis.Terms(req.Source)
		if len(sourceToks) == 0 {
			return nil, digestbot.Errorf(digestbot.EINVALID, "source %q has no letters or digits to search for", req.Source)
		}
		root = &subscriptions.And{Children: []subscriptions.Node{root, &subscriptions.Phrase{Field: subscriptions.FieldSource, Terms: sourceToks, Raw: req.Source}}}
	}
	if req.Guild != "" && visTerm(req.Guild) == visPrivate {
		// Its term would be the private marker, which every private
		// article carries. Discord ids are numbers; refuse rather than
		// match other servers' articles.
		return nil, digestbot.Errorf(digestbot.EINVALID, "server id %q is reserved", req.Guild)
	}
	key := requestKey(req.Query, req.Since, req.Source, req.Guild)
	now := req.Now
	if now.IsZero() {
		now = x.opts.Now()
	}
	var cur *cursor
	if req.Cursor != "" {
		c, err := decodeCursor(req.Cursor, key)
		if err != nil {
			return nil, err
		}
		cur, now = &c, c.now
	}

	g, err := x.liveGen(ctx)
	if err != nil {
		return nil, err
	}
	p := compile(root)
	buckets := x.liveBuckets(x.opts.Now())
	if err := x.expandPrefixes(ctx, g, p, buckets); err != nil {
		return nil, err
	}
	if req.Guild != "" {
		// In the plan, not only in verify: so Total and the candidates
		// never hold another server's private articles.
		p.restrict(req.Guild)
	}
	ls, st, err := x.fetch(ctx, g, p, buckets)
	if err != nil {
		return nil, err
	}
	var sinceHours uint32
	if !req.Since.IsZero() {
		sinceHours = toHours(req.Since)
	}
	rs, ok := p.rank(ls, sinceHours, st, x.sc, x.sc.boostFunc(now))
	if !ok {
		return nil, digestbot.Errorf(digestbot.EINVALID, "the query needs a word or phrase that must occur")
	}
	total := len(rs)
	if cur != nil {
		// Everything scored above the cursor was on earlier pages.
		rs = slices.DeleteFunc(rs, func(r ranked) bool { return r.score > cur.score })
	}

	verify := func(a *digestbot.Article) ([]string, bool) {
		// The plan already left out what req.Guild may not see; checking
		// the stored article too guards against an index that lags the
		// store (or was given a wider set of servers than it holds).
		if req.Guild != "" && !a.VisibleTo(req.Guild) {
			return nil, false
		}
		if !req.Since.IsZero() && pubTime(a, a.Ingested).Before(req.Since) {
			return nil, false
		}
		if sourceToks != nil && !slices.ContainsFunc(a.SourceNames(), func(name string) bool { return containsSeq(analysis.Terms(name), sourceToks) }) {
			return nil, false
		}
		return q.Match(subscriptions.DocFromArticle(a))
	}
	results, failed, more, err := x.page(ctx, g, rs, limit, cur, verify)
	if err != nil {
		return nil, err
	}
	for i := range results[:min(snippets, len(results))] {
		results[i].Snippet = Snippet(results[i].Article, results[i].Matched)
	}
	// Total counts every candidate the index matched, less those found
	// to fail verification on the way.
	page := &Page{Results: results, Total: max(total-failed, len(results))}
	if more {
		last := results[len(results)-1]
		page.Next = cursor{now: now, score: last.Score, pub: pubNanos(last.Article), id: last.Article.ID, req: key}.encode()
	}
	return page, nil
}

// page verifies the ranked candidates after cur best first, reading their
// ids and articles in growing batches, until it has limit results and knows
// whether one more exists (more). failed counts the candidates that turned
// out not to match (or to have expired).
func (x *Index) page(ctx context.Context, g int64, rs []ranked, limit int, cur *cursor, verify func(*digestbot.Article) ([]string, bool)) (results []Result, failed int, more bool, err error) {
	seen := map[string]bool{}
	for round := 0; len(rs) > 0 && !more; round++ {
		// The next best few, with all that tie with the last of them, so
		// equal scores are ordered by date and id together. The batch
		// doubles each round: when many candidates fail verification (a
		// phrase of frequent words) the round trips stay few.
		n := topRanked(rs, min(max(2*(limit+1-len(results)), 8)<<round, 1024))
		chunk := rs[:n]
		rs = rs[n:]
		if err := x.resolveIDs(ctx, g, chunk); err != nil {
			return nil, 0, false, err
		}
		// An article is in one bucket, that of its ingest time, unless it
		// was added twice without one (Add files it under now): keep its
		// best document only.
		chunk = slices.DeleteFunc(chunk, func(r ranked) bool {
			if r.id == "" || seen[r.id] {
				return true
			}
			seen[r.id] = true
			return false
		})
		ids := make([]string, len(chunk))
		for i, r := range chunk {
			ids[i] = r.id
		}
		// The articles are read before the chunk is ordered: equal scores
		// are ordered by publication time, which the postings hold only
		// to the hour.
		as, err := x.opts.Articles.GetArticles(ctx, ids)
		if err != nil {
			return nil, 0, false, err
		}
		type cand struct {
			r ranked
			a *digestbot.Article
		}
		cs := make([]cand, 0, len(chunk))
		for i, r := range chunk {
			if as[i] != nil {
				r.pub = pubNanos(as[i])
			}
			if cur != nil && !cur.after(&r) {
				continue // shown on an earlier page
			}
			cs = append(cs, cand{r, as[i]})
		}
		sort.SliceStable(cs, func(i, j int) bool { return before(&cs[i].r, &cs[j].r) })
		for _, c := range cs {
			var matched []string
			ok := c.a != nil
			if ok {
				matched, ok = verify(c.a)
			}
			if !ok {
				failed++
				continue
			}
			if len(results) == limit {
				more = true
				break
			}
			results = append(results, Result{Article: c.a, Score: c.r.score, Matched: matched})
		}
	}
	return results, failed, more, nil
}

// containsSeq reports whether seq occurs in toks as consecutive tokens.
func containsSeq(toks, seq []string) bool {
	for i := 0; i+len(seq) <= len(toks); i++ {
		if slices.Equal(toks[i:i+len(seq)], seq) {
			return true
		}
	}
	return false
}

// expandPrefixes looks every prefix of p up in the vocabularies of the
// buckets, in one round trip.
func (x *Index) expandPrefixes(ctx context.Context, g int64, p *plan, buckets []int64) error {
	if len(p.prefixes) == 0 {
		return nil
	}
	pipe := x.rdb.Pipeline()
	cmds := make([][]*redis.StringSliceCmd, len(p.prefixes))
	for i := range p.prefixes {
		pre := p.prefixPattern(i)
		for _, b := range buckets {
			cmds[i] = append(cmds[i], pipe.ZRangeByLex(ctx, x.bucketKey("v", g, b), &redis.ZRangeBy{
				Min: "[" + pre, Max: "(" + pre + "\xff", Count: int64(x.opts.MaxExpansion) + 1,
			}))
		}
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return x.fail("expand prefixes", err)
	}
	for i, cs := range cmds {
		seen := map[string]bool{}
		var terms []string
		for _, c := range cs {
			for _, t := range c.Val() {
				if !seen[t] {
					seen[t] = true
					terms = append(terms, t)
				}
			}
		}
		if len(terms) > x.opts.MaxExpansion {
			return digestbot.Errorf(digestbot.EINVALID, "%s* stands for more than %d words; make the prefix longer", p.prefixes[i].prefix, x.opts.MaxExpansion)
		}
		sort.Strings(terms)
		p.expand(i, terms)
	}
	return nil
}

// fetch reads, in one round trip, the posting lists of every leaf in every
// bucket, the buckets' retired documents and their collection statistics.
func (x *Index) fetch(ctx context.Context, g int64, p *plan, buckets []int64) (lists, stats, error) {
	pipe := x.rdb.Pipeline()
	gets := make([][]*redis.StringCmd, len(p.leaves))
	for i, l := range p.leaves {
		for _, b := range buckets {
			gets[i] = append(gets[i], pipe.Get(ctx, x.postingKey(g, b, l.term)))
		}
	}
	dead := make([]*redis.StringSliceCmd, len(buckets))
	st := make([]*redis.SliceCmd, len(buckets))
	docs := make([]*redis.StringCmd, len(buckets))
	known := make([]docTable, len(buckets))
	for j, b := range buckets {
		// The birth mark is read before the table: a table made anew after
		// this read has another mark, which the next search notices.
		st[j] = pipe.HMGet(ctx, x.bucketKey("n", g, b), "docs", "len", "born")
		dk := x.bucketKey("d", g, b)
		known[j] = x.docs.known(dk)
		docs[j] = pipe.GetRange(ctx, dk, int64(len(known[j].table)), -1)
		dead[j] = pipe.SMembers(ctx, x.bucketKey("x", g, b))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, stats{}, x.fail("read postings", err)
	}
	var total stats
	gone := map[uint64]bool{}
	tables := make([]string, len(buckets))
	var stale []int // buckets whose copy of the table belongs to a deleted key
	for j, b := range buckets {
		for _, d := range dead[j].Val() {
			if n, err := strconv.ParseUint(d, 10, 32); err == nil {
				gone[uint64(b)<<32|n] = true
			}
		}
		vals := st[j].Val()
		born := ""
		if len(vals) == 3 {
			total.docs += parseFloat(vals[0])
			total.length += parseFloat(vals[1])
			born, _ = vals[2].(string)
		}
		switch {
		case known[j].table == "" || born == known[j].born:
			tables[j] = known[j].table + docs[j].Val()
		default:
			stale = append(stale, j)
		}
		known[j] = docTable{born: born, table: tables[j]}
	}
	if len(stale) > 0 {
		again := x.rdb.Pipeline()
		whole := make([]*redis.StringCmd, len(stale))
		for k, j := range stale {
			whole[k] = again.Get(ctx, x.bucketKey("d", g, buckets[j]))
		}
		if _, err := again.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return nil, stats{}, x.fail("read document tables", err)
		}
		for k, j := range stale {
			tables[j] = whole[k].Val()
			known[j].table = tables[j]
		}
	}
	keep := make(map[string]docTable, len(buckets))
	for j, b := range buckets {
		keep[x.bucketKey("d", g, b)] = known[j]
	}
	x.docs.keep(keep)
	ls := make(lists, len(p.leaves))
	for i := range p.leaves {
		size := 0
		for j := range buckets {
			size += len(gets[i][j].Val()) / recSize
		}
		ps := make([]posting, 0, size)
		for j, b := range buckets {
			blob, err := gets[i][j].Result()
			if err != nil {
				continue // redis.Nil: the word is not in this bucket
			}
			ps = decodePostings(ps, b, blob, tables[j])
		}
		if len(gone) > 0 {
			ps = slices.DeleteFunc(ps, func(p posting) bool { return gone[p.doc] })
		}
		// Concurrent writers may append out of order; buckets come in order.
		if !slices.IsSortedFunc(ps, byDoc) {
			slices.SortFunc(ps, byDoc)
		}
		ls[i] = ps
	}
	return ls, total, nil
}

func parseFloat(v any) float64 {
	s, ok := v.(string)
	if !ok {
		return 0
	}
	f, _ := strconv.ParseFloat(s, 64)
	return f
}

// resolveIDs fills in the article ids of rs from the buckets' document
// tables; a retired document keeps an empty id.
func (x *Index) resolveIDs(ctx context.Context, g int64, rs []ranked) error {
	if len(rs) == 0 {
		return nil
	}
	byBucket := map[int64][]int{}
	for i, r := range rs {
		b := int64(r.doc >> 32)
		byBucket[b] = append(byBucket[b], i)
	}
	pipe := x.rdb.Pipeline()
	cmds := map[int64]*redis.SliceCmd{}
	for b, idx := range byBucket {
		fields := make([]string, len(idx))
		for k, i := range idx {
			fields[k] = strconv.FormatUint(rs[i].doc&0xffffffff, 10)
		}
		cmds[b] = pipe.HMGet(ctx, x.bucketKey("m", g, b), fields...)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return x.fail("read document ids", err)
	}
	for b, idx := range byBucket {
		vals := cmds[b].Val()
		for k, i := range idx {
			if k < len(vals) {
				if s, ok := vals[k].(string); ok {
					rs[i].id = s
				}
			}
		}
	}
	return nil
}

package subscriptions

import (
	"slices"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	digestbot "github.com/digestbot/digestbot"
)

// Index is a percolator: it holds many queries and finds those that match a
// document without evaluating them all. Each query registers under a set of
// keys such that any document it matches contains at least one of them
// (Lucene Monitor's presearcher idea): a word or phrase registers one of its
// tokens, an AND the cheapest of its positive children, an OR every branch, a
// prefix its prefix. Matching looks the document's terms up in the key
// tables to collect candidates, then verifies each candidate exactly.
// Adding and removing queries never rebuilds anything. Identical queries
// (the same canonical text, as when many channels follow one topic) are
// stored and verified once and reported under each of their ids.
//
// How a document is matched:
//
//   - Every term and prefix of every query has a small integer id. One pass
//     over the document's tokens marks the ids present (a bitset), chains
//     the positions of the ids that phrases and title scopes read, and
//     answers each word from a per-scratch cache (word -> term id and the
//     registered prefixes it starts with), so a word costs one map lookup.
//   - Then the postings of the present keys are read. A posting carries a
//     second term its query cannot match without; when that term is absent
//     the posting is dropped without reading the query. Postings of a single
//     term, a two-term AND or a two-word phrase decide their query outright.
//   - The remaining candidates are verified on compiled queries (16-byte
//     nodes, term ids instead of strings).
//
// An Index is safe for concurrent use; Match calls run in parallel with one
// another and wait for Add and Remove.
type Index struct {
	mu       sync.RWMutex
	slots    []slot
	cold     []slotIDs // by slot: what removal and some verifications need
	multi    []uint64  // bit per slot: the query is held under more than one id
	dyn      []uint64  // bit per slot: the terms a match reports depend on the document
	free     []int32
	byID     map[string]int32          // id -> slot
	byKey    map[string]int32          // Query.String() -> slot
	dict     [nFields]map[string]int32 // exact term -> term id
	prefixes [nFields]prefixTable      // prefix -> term id
	terms    []termInfo                // by term id
	post     [][]posting               // by term id: queries that become candidates when the term occurs
	hasPost  []uint64                  // bit per term id: its postings are not empty
	needPos  []uint64                  // bit per term id: some query reads its positions
	freeIDs  []int32
	adding   termRefs  // Add's buffers
	scratch  sync.Pool // *matchScratch
	// gen changes whenever a term or prefix id is created or freed, which
	// invalidates the word caches of the scratches.
	gen uint64

	docs, candidates, hits atomic.Uint64
}

// Term fields: title-scoped terms use the body's ids (a title is part of the
// body) and check the title on verification.
const (
	kBody = iota
	kSource
	kTag
	kSite // exact domains only: the document's site field holds every suffix
	kLang
	nFields
)

func keyField(f string) int {
	switch f {
	case FieldSource:
		return kSource
	case FieldTag:
		return kTag
	case FieldSite:
		return kSite
	case FieldLang:
		return kLang
	}
	return kBody
}

type termInfo struct {
	field   uint8
	prefix  bool
	text    string
	refs    int32 // queries using the term (0: the id is free)
	posUses int32 // queries that read the term's positions (phrases, title scopes)
}

// posting is one query registered under a term. also is another term the
// query cannot match without (-1 if none): a candidate whose also term is
// absent is dropped without reading the query at all, which saves the
// cache misses of loading it.
type posting struct {
	slot, also int32
	// kind says whether the posting alone decides the query (see fastKind);
	// then a candidate needs no evaluation. keyFirst orders a two-word phrase.
	kind     uint8
	keyFirst bool
}

// Posting kinds.
const (
	verify      = iota // evaluate the query
	exactIfAlso        // matches when the key and also (if any) occur
	phrase2            // a two-word phrase: key and also adjacent, in order
)

// fastKind tells how postings of a query with static terms can decide it
// without evaluation, and the term ids involved (-1 when unused).
func fastKind(nodes []cnode) (kind uint8, a, b int32) {
	plain := func(n *cnode) bool { return (n.op == opTerm || n.op == opPrefix) && !n.title }
	root := &nodes[0]
	if root.nkids == 2 {
		k0, k1 := &nodes[root.kid], &nodes[root.kid+1]
		switch {
		case root.op == opAnd && plain(k0) && plain(k1):
			return exactIfAlso, k0.id, k1.id
		case root.op == opPhrase && root.field == kBody && !root.title && k0.id != k1.id:
			return phrase2, k0.id, k1.id
		}
	}
	if plain(root) {
		return exactIfAlso, root.id, -1
	}
	return verify, -1, -1
}

// slot is one stored query, kept to one cache line (64 bytes) because
// Match reads the slot of every candidate and every hit: a hit decided by
// its posting is reported from the slot alone.
type slot struct {
	id    string  // the first id the query was added under
	nodes []cnode // the compiled query; nodes[0] is the root
	// terms are the query's terms for every match when they do not depend
	// on the document (no OR below the root's positive part): every match
	// of the query shares them. When they do (the slot's dyn bit), terms
	// are instead the text of each leaf by node index, which a match's
	// terms are collected from.
	terms []string
}

// slotIDs are the colder parts of a stored query: its further ids, its
// canonical text and the term ids it holds references to.
type slotIDs struct {
	more []string // ids after the first, in the order they were added
	key  string   // Query.String()
	// tids are the term ids the query holds, in one allocation: those
	// whose postings hold it, then every term id it uses once each, then
	// those whose positions it reads (see termRefs).
	tids        []int32
	nReq, nRefs int32
}

func (c *slotIDs) req() []int32  { return c.tids[:c.nReq] }
func (c *slotIDs) refs() []int32 { return c.tids[c.nReq:c.nRefs] }
func (c *slotIDs) pos() []int32  { return c.tids[c.nRefs:] }

// termRefs are the term ids of a query being added.
type termRefs struct {
	req  []int32 // term ids whose postings hold the query
	refs []int32 // every term id the query uses, once each
	pos  []int32 // term ids whose positions the query reads, once each
}

// Match is one query of the index that matched a document.
type Match struct {
	ID    string
	Terms []string // as Query.Match reports them
}

// IndexStats describes an index and the work it has done.
type IndexStats struct {
	Queries    int    // queries held (ids)
	Distinct   int    // distinct queries: identical ones are stored and verified once
	Terms      int    // distinct terms and prefixes of those queries
	Docs       uint64 // documents matched so far
	Candidates uint64 // candidate queries verified (read and evaluated), summed over documents
	Hits       uint64 // verified matches, summed over documents
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	x := &Index{byID: make(map[string]int32), byKey: make(map[string]int32)}
	for i := range x.dict {
		x.dict[i] = make(map[string]int32)
		x.prefixes[i] = prefixTable{nodes: make(map[string]*prefixNode)}
	}
	x.scratch.New = func() any { return &matchScratch{} }
	return x
}

// Add stores q under id, replacing any query stored under the same id. q
// must have its topic references resolved (ResolveTopics) and must require
// something (Parse ensures both for user queries); otherwise Add returns an
// EINVALID error and stores nothing.
func (x *Index) Add(id string, q *Query) error {
	if t := q.Topics(); len(t) > 0 {
		return digestbot.Errorf(digestbot.EINVALID, "query %q still refers to topic %q", q.String(), t[0])
	}
	keys, ok := extract(q.Root)
	if !ok {
		return digestbot.Errorf(digestbot.EINVALID, "query %q matches by exclusion only and cannot be indexed", q.String())
	}
	key := q.String()
	x.mu.Lock()
	defer x.mu.Unlock()
	x.removeLocked(id)
	if s, ok := x.byKey[key]; ok {
		// The same query again (many channels follow the same topic or
		// name): one copy is verified and reported under every id.
		x.cold[s].more = append(x.cold[s].more, id)
		setBit(&x.multi, s, true)
		x.byID[id] = s
		return nil
	}
	var s int32
	if n := len(x.free); n > 0 {
		s = x.free[n-1]
		x.free = x.free[:n-1]
	} else {
		s = int32(len(x.slots))
		x.slots = append(x.slots, slot{})
		x.cold = append(x.cold, slotIDs{})
	}
	ids := &x.adding
	ids.req, ids.refs, ids.pos = ids.req[:0], ids.refs[:0], ids.pos[:0]
	sl := slot{id: id}
	comp := x.compile(q.Root, ids)
	sl.nodes = comp.nodes
	raws := comp.raws()
	static := comp.staticTerms(0)
	if static {
		sl.terms = (&verifier{nodes: sl.nodes, raws: raws}).collect(0, nil, 0)
	} else {
		sl.terms = raws
		setBit(&x.dyn, s, true)
	}
	for _, tid := range ids.pos {
		if x.terms[tid].posUses++; x.terms[tid].posUses == 1 {
			setBit(&x.needPos, tid, true)
		}
	}
	conj := comp.conjunction(0, nil)
	kind, fa, fb := uint8(verify), int32(-1), int32(-1)
	if static {
		kind, fa, fb = fastKind(sl.nodes)
	}
	for _, k := range keys {
		tid := x.termID(int(k.field), k.text, k.prefix, &ids.refs)
		if slices.Contains(ids.req, tid) {
			continue
		}
		ids.req = append(ids.req, tid)
		also, cost := int32(-1), 0.0
		for _, c := range conj {
			if t := &x.terms[c]; c != tid {
				if tc := termCost(int(t.field), t.text, t.prefix); also < 0 || tc < cost {
					also, cost = c, tc
				}
			}
		}
		p := posting{slot: s, also: also}
		// The fast kinds hold when the key and also are exactly the terms
		// the query is made of.
		switch {
		case kind == exactIfAlso && fb < 0 && tid == fa:
			p.kind, p.also = exactIfAlso, -1
		case kind != verify && fb >= 0 && (tid == fa && also == fb || tid == fb && also == fa):
			p.kind, p.keyFirst = kind, tid == fa
		}
		x.post[tid] = append(x.post[tid], p)
		setBit(&x.hasPost, tid, true)
	}
	x.slots[s] = sl
	tids := make([]int32, 0, len(ids.req)+len(ids.refs)+len(ids.pos))
	tids = append(append(append(tids, ids.req...), ids.refs...), ids.pos...)
	x.cold[s] = slotIDs{key: key, tids: tids,
		nReq: int32(len(ids.req)), nRefs: int32(len(ids.req) + len(ids.refs))}
	x.byID[id] = s
	x.byKey[key] = s
	return nil
}

// termID returns the id of a term, creating it; the first time a query
// (whose ids are collected in refs) uses it, its reference count goes up.
func (x *Index) termID(field int, text string, prefix bool, refs *[]int32) int32 {
	var tid int32
	var ok bool
	if prefix {
		tid, ok = x.prefixes[field].get(text)
	} else {
		tid, ok = x.dict[field][text]
	}
	if !ok {
		if n := len(x.freeIDs); n > 0 {
			tid = x.freeIDs[n-1]
			x.freeIDs = x.freeIDs[:n-1]
		} else {
			tid = int32(len(x.terms))
			x.terms = append(x.terms, termInfo{})
			x.post = append(x.post, nil)
		}
		x.terms[tid] = termInfo{field: uint8(field), prefix: prefix, text: text}
		x.gen++
		if prefix {
			x.prefixes[field].add(text, tid)
		} else {
			x.dict[field][text] = tid
		}
	}
	if !slices.Contains(*refs, tid) {
		*refs = append(*refs, tid)
		x.terms[tid].refs++
	}
	return tid
}

// Remove drops the query stored under id, if any.
func (x *Index) Remove(id string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.removeLocked(id)
}

func (x *Index) removeLocked(id string) {
	s, ok := x.byID[id]
	if !ok {
		return
	}
	delete(x.byID, id)
	sl, ids := &x.slots[s], &x.cold[s]
	last := false
	switch {
	case sl.id == id && len(ids.more) == 0:
		last = true
	case sl.id == id:
		sl.id = ids.more[0]
		ids.more = slices.Delete(ids.more, 0, 1)
	default:
		if i := slices.Index(ids.more, id); i >= 0 {
			ids.more = slices.Delete(ids.more, i, i+1)
		}
	}
	if len(ids.more) == 0 {
		ids.more = nil
		setBit(&x.multi, s, false)
	}
	if !last {
		return
	}
	delete(x.byKey, ids.key)
	for _, tid := range ids.req() {
		x.post[tid] = removePosting(x.post[tid], s)
		if len(x.post[tid]) == 0 {
			x.post[tid] = nil
			setBit(&x.hasPost, tid, false)
		}
	}
	for _, tid := range ids.pos() {
		if x.terms[tid].posUses--; x.terms[tid].posUses == 0 {
			setBit(&x.needPos, tid, false)
		}
	}
	for _, tid := range ids.refs() {
		t := &x.terms[tid]
		if t.refs--; t.refs > 0 {
			continue
		}
		if t.prefix {
			x.prefixes[t.field].remove(t.text)
		} else {
			delete(x.dict[t.field], t.text)
		}
		*t = termInfo{}
		x.freeIDs = append(x.freeIDs, tid)
		x.gen++
	}
	x.slots[s] = slot{}
	x.cold[s] = slotIDs{}
	setBit(&x.dyn, s, false)
	x.free = append(x.free, s)
}

// removePosting removes the posting of slot s from l, not keeping order.
func removePosting(l []posting, s int32) []posting {
	for i, p := range l {
		if p.slot == s {
			l[i] = l[len(l)-1]
			return l[:len(l)-1]
		}
	}
	return l
}

// setBit sets or clears bit i of *bits, growing it as needed.
func setBit(bits *[]uint64, i int32, on bool) {
	w := int(i >> 6)
	if w >= len(*bits) {
		if !on {
			return
		}
		*bits = append(*bits, make([]uint64, w+1-len(*bits)+len(*bits)/4)...)
	}
	if on {
		(*bits)[w] |= 1 << (i & 63)
	} else {
		(*bits)[w] &^= 1 << (i & 63)
	}
}

func hasBit(bits []uint64, i int32) bool {
	w := int(i >> 6)
	return w < len(bits) && bits[w]&(1<<(i&63)) != 0
}

// Len returns the number of queries held.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.byID)
}

// Has reports whether a query is stored under id.
func (x *Index) Has(id string) bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	_, ok := x.byID[id]
	return ok
}

// Stats returns the size of the index and counters of the work done.
func (x *Index) Stats() IndexStats {
	x.mu.RLock()
	st := IndexStats{Queries: len(x.byID), Distinct: len(x.byKey), Terms: len(x.terms) - len(x.freeIDs)}
	x.mu.RUnlock()
	st.Docs, st.Candidates, st.Hits = x.docs.Load(), x.candidates.Load(), x.hits.Load()
	return st
}

// matchScratch is the per-call state of Match, pooled. Presence and
// candidacy are bitsets (a hundred thousand queries fit in 12 KiB, so the
// checks made for every token and every posting stay in the L1 cache); the
// bits set are remembered and cleared after the document.
type matchScratch struct {
	seen    []uint64 // by slot: candidate already collected
	present []uint64 // by term id: term occurs in the document
	marked  []int32  // term ids whose present bit is set
	cands   []int32  // candidate slots to verify, each once
	hits    []int32  // slots decided by their posting alone
	ok      []verified
	lists   []postList
	phrase  []string // the terms of a phrase being verified outside the body
	sink    int32    // keeps the loads that fetch memory ahead of use
	terms   []string // of the matches in ok whose terms depend on the document
	first   []int32  // by term id: first body token with the term
	last    []int32  // by term id: latest body token with the term, while scanning
	tokID   []int32  // by body token: its term id, or -1
	next    []int32  // by body token: next token with the same term id, or -1

	// words caches lookupWord for the index generation wordsGen.
	words    wordTable
	wordPfx  []int32
	wordsGen uint64
}

func (sc *matchScratch) prepare(slots, terms, toks int) {
	if len(sc.seen)*64 < slots {
		sc.seen = make([]uint64, (slots+slots/4)/64+1)
	}
	if len(sc.present)*64 < terms {
		sc.present = make([]uint64, (terms+terms/4)/64+1)
		sc.first = make([]int32, len(sc.present)*64)
		sc.last = make([]int32, len(sc.present)*64)
	}
	if cap(sc.tokID) < toks {
		sc.tokID = make([]int32, toks, toks+toks/2)
		sc.next = make([]int32, toks, toks+toks/2)
	}
	sc.tokID, sc.next = sc.tokID[:toks], sc.next[:toks]
}

// done clears the bits this document set.
func (sc *matchScratch) done() {
	for _, c := range sc.cands {
		sc.seen[c>>6] = 0
	}
	for _, c := range sc.hits {
		sc.seen[c>>6] = 0
	}
	sc.hits = sc.hits[:0]
	sc.ok = sc.ok[:0]
	clear(sc.terms) // they point into queries that may be removed
	sc.terms = sc.terms[:0]
	for _, t := range sc.marked {
		sc.present[t>>6] = 0
	}
	sc.cands, sc.marked = sc.cands[:0], sc.marked[:0]
}

func (sc *matchScratch) isPresent(tid int32) bool { return sc.present[tid>>6]&(1<<(tid&63)) != 0 }

// Match returns every query of the index that matches d. The order is
// deterministic (the same index and document give the same order) but not
// sorted. The Terms slices must not be modified: a query whose terms do not
// depend on the document shares one slice across all its matches.
func (x *Index) Match(d *Doc) []Match { return x.AppendMatches(nil, d) }

// AppendMatches is Match appending to dst, which it returns. A caller that
// matches many documents in turn can pass the previous result as dst[:0]
// and so reuse its memory: the Terms of a Match never point into dst, so
// they stay valid.
func (x *Index) AppendMatches(dst []Match, d *Doc) []Match {
	x.mu.RLock()
	defer x.mu.RUnlock()
	sc := x.scratch.Get().(*matchScratch)
	defer func() {
		sc.done()
		x.scratch.Put(sc)
	}()
	sc.prepare(len(x.slots), len(x.terms), len(d.body.toks))
	x.scanBody(sc, d)
	x.scanSmall(sc, &d.source, kSource)
	x.scanSmall(sc, &d.tags, kTag)
	x.scanSmall(sc, &d.site, kSite)
	x.scanSmall(sc, &d.lang, kLang)
	x.gather(sc, d)
	// Verify first, collecting the terms that depend on the document in the
	// scratch, so that the results are sized exactly and the terms of all
	// matches share one backing array: no allocation per match.
	v := verifier{d: d, sc: sc, x: x}
	// Fetch the slots, then the nodes of the candidates, ahead of use, as
	// gather does the postings.
	var touch int32
	for _, h := range sc.hits {
		touch += int32(len(x.slots[h].id))
	}
	for _, c := range sc.cands {
		touch += int32(len(x.slots[c].nodes))
	}
	for _, c := range sc.cands {
		touch += int32(x.slots[c].nodes[0].op)
	}
	sc.sink += touch
	n := 0
	for _, h := range sc.hits {
		n += x.idCount(h)
	}
	for _, c := range sc.cands {
		v.nodes = x.slots[c].nodes
		if v.eval(0) {
			sc.ok = append(sc.ok, verified{slot: c})
			n += x.idCount(c)
		}
	}
	// The leaf texts of the matches whose terms depend on the document are
	// fetched ahead, as above.
	touch = 0
	for _, m := range sc.ok {
		if hasBit(x.dyn, m.slot) {
			touch += int32(len(x.slots[m.slot].terms[0]))
		}
	}
	sc.sink += touch
	for i := range sc.ok {
		m := &sc.ok[i]
		if !hasBit(x.dyn, m.slot) {
			continue
		}
		sl := &x.slots[m.slot]
		v.nodes, v.raws = sl.nodes, sl.terms
		m.t0 = int32(len(sc.terms))
		sc.terms = v.collect(0, sc.terms, len(sc.terms))
		m.t1 = int32(len(sc.terms))
	}
	dst = slices.Grow(dst, n)
	var slab []string
	if len(sc.terms) > 0 {
		slab = slices.Clone(sc.terms)
	}
	for _, h := range sc.hits {
		dst = x.appendIDs(dst, h, x.slots[h].terms)
	}
	for _, m := range sc.ok {
		terms := x.slots[m.slot].terms
		if hasBit(x.dyn, m.slot) {
			terms = slab[m.t0:m.t1:m.t1]
		}
		dst = x.appendIDs(dst, m.slot, terms)
	}
	x.docs.Add(1)
	x.candidates.Add(uint64(len(sc.cands)))
	x.hits.Add(uint64(n))
	return dst
}

// verified is a candidate that matched; when its terms depend on the
// document they are the scratch's terms[t0:t1].
type verified struct{ slot, t0, t1 int32 }

// idCount returns the number of ids slot s is held under.
func (x *Index) idCount(s int32) int {
	if hasBit(x.multi, s) {
		return 1 + len(x.cold[s].more)
	}
	return 1
}

// appendIDs appends a match with terms under every id of slot s.
func (x *Index) appendIDs(dst []Match, s int32, terms []string) []Match {
	dst = append(dst, Match{ID: x.slots[s].id, Terms: terms})
	if hasBit(x.multi, s) {
		for _, id := range x.cold[s].more {
			dst = append(dst, Match{ID: id, Terms: terms})
		}
	}
	return dst
}

// mark records that term id tid occurs; it reports whether this is the
// first occurrence.
func (x *Index) mark(sc *matchScratch, tid int32) bool {
	w, bit := tid>>6, uint64(1)<<(tid&63)
	if sc.present[w]&bit != 0 {
		return false
	}
	sc.present[w] |= bit
	sc.marked = append(sc.marked, tid)
	return true
}

// gather collects the candidates registered under the terms present, once
// every field has been scanned: a posting whose also term is absent is
// dropped here, before it costs a candidate slot or a look at its query.
func (x *Index) gather(sc *matchScratch, d *Doc) {
	// The postings lists lie scattered over a large heap, so each costs a
	// cache miss or two. Touching them all first, in a loop whose loads do
	// not depend on one another, lets the processor fetch many at once
	// rather than one after another.
	lists := sc.lists[:0]
	for _, tid := range sc.marked {
		if hasBit(x.hasPost, tid) {
			lists = append(lists, postList{tid: tid, l: x.post[tid]})
		}
	}
	var touch int32
	for i := range lists {
		touch += lists[i].l[0].slot
	}
	sc.sink += touch
	for _, pl := range lists {
		tid := pl.tid
		for _, p := range pl.l {
			if p.also >= 0 && !sc.isPresent(p.also) {
				continue
			}
			if p.kind == phrase2 && !sc.adjacent(d, tid, p.also, p.keyFirst) {
				continue
			}
			w, bit := p.slot>>6, uint64(1)<<(p.slot&63)
			if sc.seen[w]&bit != 0 {
				continue
			}
			sc.seen[w] |= bit
			if p.kind == verify {
				sc.cands = append(sc.cands, p.slot)
			} else {
				sc.hits = append(sc.hits, p.slot)
			}
		}
	}
	clear(lists) // the lists may be replaced by Add and Remove
	sc.lists = lists[:0]
}

// postList is the postings of a term present in the document.
type postList struct {
	tid int32
	l   []posting
}

// adjacent reports whether body terms key and other stand next to each
// other, key first when keyFirst, within the title or within the text.
func (sc *matchScratch) adjacent(d *Doc, key, other int32, keyFirst bool) bool {
	a, b := other, key
	if keyFirst {
		a, b = key, other
	}
	for i := int(sc.first[a]); i >= 0; i = int(sc.next[i]) {
		if i+1 < len(sc.tokID) && sc.tokID[i+1] == b && d.body.within(i, i+1) {
			return true
		}
	}
	return false
}

// scanBody looks every body token up once: it marks the query terms present,
// chains the positions of each term id (for phrases and title scopes), and
// gathers candidates, including those of registered prefixes.
func (x *Index) scanBody(sc *matchScratch, d *Doc) {
	if sc.wordsGen != x.gen || sc.words.len() > maxWords {
		sc.words.reset()
		sc.wordPfx = sc.wordPfx[:0]
		sc.wordsGen = x.gen
	}
	for i := range d.body.toks {
		t := d.body.toks[i].Text
		sc.next[i] = -1
		e, ok := sc.words.get(t)
		if !ok {
			e = x.lookupWord(sc, t)
		}
		for _, p := range sc.wordPfx[e.pfx0:e.pfxN] {
			x.mark(sc, p)
		}
		tid := e.tid
		if tid < 0 {
			sc.tokID[i] = -1
		} else {
			sc.tokID[i] = tid
			first := x.mark(sc, tid)
			if hasBit(x.needPos, tid) {
				if first {
					sc.first[tid] = int32(i)
				} else {
					sc.next[sc.last[tid]] = int32(i)
				}
				sc.last[tid] = int32(i)
			}
		}
	}
}

// maxWords bounds the word cache of a scratch; past it the cache starts over.
const maxWords = 1 << 20

// wordEntry is what the index says about a document word: its term id (-1
// when no query uses it) and the ids of the registered prefixes it starts
// with, wordPfx[pfx0:pfxN].
type wordEntry struct {
	tid, pfx0, pfxN int32
}

// lookupWord looks a body word up in the term table and the prefix table
// and caches the answer: news text repeats its vocabulary, so most words are
// answered by one map lookup instead of a term lookup and a prefix walk.
func (x *Index) lookupWord(sc *matchScratch, t string) wordEntry {
	e := wordEntry{tid: -1, pfx0: int32(len(sc.wordPfx))}
	if tid, ok := x.dict[kBody][t]; ok {
		e.tid = tid
	}
	if pt := &x.prefixes[kBody]; pt.count > 0 && pt.mayHave(t) {
		pt.lookup(t, func(id int32) { sc.wordPfx = append(sc.wordPfx, id) })
	}
	e.pfxN = int32(len(sc.wordPfx))
	sc.words.put(t, e)
	return e
}

// scanSmall marks the query terms of a short field (source, tags).
func (x *Index) scanSmall(sc *matchScratch, f *field, kf int) {
	dict := x.dict[kf]
	pt := &x.prefixes[kf]
	for i := range f.toks {
		t := f.toks[i].Text
		if tid, ok := dict[t]; ok {
			x.mark(sc, tid)
		}
		if pt.count > 0 {
			pt.lookup(t, func(tid int32) { x.mark(sc, tid) })
		}
	}
}

// prefixTable finds the registered prefixes of a term. It is a trie kept in
// a map from every prefix of every registered prefix to its node, so a
// lookup walks the term one character at a time and stops at the first
// prefix nothing is registered under.
type prefixTable struct {
	nodes map[string]*prefixNode
	count int // registered prefixes
	// byLen counts registered prefixes by length in bytes (the last slot
	// holds every longer one), so a lookup probes only lengths in use.
	byLen [maxLenSlot + 1]int32
	// starts3 counts prefixes of three bytes or more by a hash of their
	// first three bytes, and short those of one or two bytes by their
	// bytes, so most terms are ruled out without a map lookup.
	starts3 []int32
	short   []int32
}

// maxLenSlot is the prefix length from which byLen stops telling lengths apart.
const maxLenSlot = 32

func lenSlot(n int) int { return min(n, maxLenSlot) }

const starts3Bits = 18

func hash3(s string) int {
	h := (uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16) * 2654435761
	return int(h >> (32 - starts3Bits))
}

// shortKey indexes short for a one- or two-byte string.
func shortKey(s string) int {
	if len(s) == 1 {
		return 1<<16 | int(s[0])
	}
	return int(s[0])<<8 | int(s[1])
}

// mayHave reports whether some registered prefix may start term.
func (t *prefixTable) mayHave(term string) bool {
	if t.short != nil && len(term) >= 1 {
		if t.short[shortKey(term[:1])] > 0 || (len(term) >= 2 && t.short[shortKey(term[:2])] > 0) {
			return true
		}
	}
	return len(term) >= 3 && t.starts3 != nil && t.starts3[hash3(term)] > 0
}

func (t *prefixTable) countStarts(p string, delta int32) {
	if len(p) >= 3 {
		if t.starts3 == nil {
			t.starts3 = make([]int32, 1<<starts3Bits)
		}
		t.starts3[hash3(p)] += delta
		return
	}
	if t.short == nil {
		t.short = make([]int32, 1<<16+256)
	}
	t.short[shortKey(p)] += delta
}

type prefixNode struct {
	id     int32 // term id of this prefix, -1 when it is only on the way to longer ones
	longer int   // registered prefixes that extend this one
}

func (t *prefixTable) get(p string) (int32, bool) {
	if n := t.nodes[p]; n != nil && n.id >= 0 {
		return n.id, true
	}
	return 0, false
}

func (t *prefixTable) add(p string, id int32) {
	for i := range p {
		if i > 0 {
			t.node(p[:i]).longer++
		}
	}
	t.node(p).id = id
	t.count++
	t.byLen[lenSlot(len(p))]++
	t.countStarts(p, 1)
}

func (t *prefixTable) node(p string) *prefixNode {
	n := t.nodes[p]
	if n == nil {
		n = &prefixNode{id: -1}
		t.nodes[p] = n
	}
	return n
}

func (t *prefixTable) remove(p string) {
	n := t.nodes[p]
	if n == nil || n.id < 0 {
		return
	}
	n.id = -1
	t.count--
	t.byLen[lenSlot(len(p))]--
	t.countStarts(p, -1)
	t.prune(p)
	for i := range p {
		if i > 0 {
			if m := t.nodes[p[:i]]; m != nil {
				m.longer--
				t.prune(p[:i])
			}
		}
	}
}

func (t *prefixTable) prune(p string) {
	if n := t.nodes[p]; n != nil && n.longer <= 0 && n.id < 0 {
		delete(t.nodes, p)
	}
}

// lookup calls f with the id of every registered prefix of term. It probes
// only the lengths some prefix has; every prefix of a registered prefix has
// a node, so a missing node at one length rules out all longer ones.
func (t *prefixTable) lookup(term string, f func(int32)) {
	for l := 1; l <= len(term); l++ {
		if l < maxLenSlot && t.byLen[l] == 0 {
			continue
		}
		if l < len(term) && !utf8.RuneStart(term[l]) {
			continue // not a character boundary
		}
		node := t.nodes[term[:l]]
		if node == nil {
			return
		}
		if node.id >= 0 {
			f(node.id)
		}
		if node.longer <= 0 {
			return
		}
	}
}

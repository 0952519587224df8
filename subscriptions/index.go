package subscriptions

import (
	"slices"
	"strings"
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
// prefix its prefix. Matching looks the document's distinct terms up in the
// key tables to collect candidates, then verifies each candidate exactly.
// Adding and removing queries never rebuilds anything.
//
// Every term and prefix of every query gets a small integer id, so that one
// map lookup per distinct document term both finds the candidates and marks
// the term present; verification then checks presence by id instead of
// hashing strings again, and reads document positions only for phrases and
// title scopes.
//
// An Index is safe for concurrent use; Match calls run in parallel with one
// another and wait for Add and Remove.
type Index struct {
	mu       sync.RWMutex
	slots    []slot
	free     []int32
	byID     map[string]int32
	dict     [nFields]map[string]int32 // exact term -> term id
	prefixes [nFields]prefixTable      // prefix -> term id
	terms    []termInfo                // by term id
	freeIDs  []int32
	scratch  sync.Pool // *matchScratch

	docs, candidates, hits atomic.Uint64
}

// Term fields: title-scoped terms use the body's ids (a title is part of the
// body) and check the title on verification.
const (
	kBody = iota
	kSource
	kTag
	nFields
)

func keyField(f string) int {
	switch f {
	case FieldSource:
		return kSource
	case FieldTag:
		return kTag
	}
	return kBody
}

type termInfo struct {
	field  uint8
	prefix bool
	text   string
	refs   int32   // queries using the term (0: the id is free)
	post   []int32 // slots of queries that need the term to be a candidate
}

type slot struct {
	id    string
	nodes []cnode // the compiled query; nodes[0] is the root
	req   []int32 // term ids whose postings hold this slot
	refs  []int32 // every term id the query uses, once each
}

// Match is one query of the index that matched a document.
type Match struct {
	ID    string
	Terms []string // as Query.Match reports them
}

// IndexStats describes an index and the work it has done.
type IndexStats struct {
	Queries    int    // queries held
	Terms      int    // distinct terms and prefixes of those queries
	Docs       uint64 // documents matched so far
	Candidates uint64 // candidate queries verified, summed over documents
	Hits       uint64 // verified matches, summed over documents
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	x := &Index{byID: make(map[string]int32)}
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
	x.mu.Lock()
	defer x.mu.Unlock()
	x.removeLocked(id)
	var s int32
	if n := len(x.free); n > 0 {
		s = x.free[n-1]
		x.free = x.free[:n-1]
	} else {
		s = int32(len(x.slots))
		x.slots = append(x.slots, slot{})
	}
	sl := slot{id: id}
	sl.nodes = x.compile(q.Root, &sl.refs)
	for _, k := range keys {
		tid := x.termID(int(k.field), k.text, k.prefix, &sl.refs)
		if !slices.Contains(sl.req, tid) {
			sl.req = append(sl.req, tid)
			x.terms[tid].post = append(x.terms[tid].post, s)
		}
	}
	x.slots[s] = sl
	x.byID[id] = s
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
		}
		x.terms[tid] = termInfo{field: uint8(field), prefix: prefix, text: text}
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
	sl := &x.slots[s]
	for _, tid := range sl.req {
		t := &x.terms[tid]
		t.post = removeSlot(t.post, s)
	}
	for _, tid := range sl.refs {
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
	}
	x.slots[s] = slot{}
	x.free = append(x.free, s)
	delete(x.byID, id)
}

// removeSlot removes one s from l, not keeping order.
func removeSlot(l []int32, s int32) []int32 {
	for i, v := range l {
		if v == s {
			l[i] = l[len(l)-1]
			return l[:len(l)-1]
		}
	}
	return l
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
	st := IndexStats{Queries: len(x.byID), Terms: len(x.terms) - len(x.freeIDs)}
	x.mu.RUnlock()
	st.Docs, st.Candidates, st.Hits = x.docs.Load(), x.candidates.Load(), x.hits.Load()
	return st
}

// matchScratch is the per-call state of Match, pooled: epoch-stamped marks
// avoid clearing arrays sized to the whole index for every document.
type matchScratch struct {
	seen  []uint32    // by slot: candidate already collected
	terms []termState // by term id
	epoch uint32
	cands []int32
	tokID []int32 // by body token: its term id, or -1
	next  []int32 // by body token: next token with the same term id, or -1
}

// termState is what one document says about one term id; kept together so
// a lookup touches one cache line.
type termState struct {
	present uint32 // == epoch: the term occurs in the document
	first   int32  // first body token with the term
	last    int32  // latest body token with the term, while scanning
}

func (sc *matchScratch) prepare(slots, terms, toks int) {
	if len(sc.seen) < slots || len(sc.terms) < terms {
		sc.seen = make([]uint32, slots+slots/4+16)
		sc.terms = make([]termState, terms+terms/4+16)
		sc.epoch = 0
	}
	sc.epoch++
	if sc.epoch == 0 { // wrapped: stale stamps could collide
		clear(sc.seen)
		clear(sc.terms)
		sc.epoch = 1
	}
	sc.cands = sc.cands[:0]
	if cap(sc.tokID) < toks {
		sc.tokID = make([]int32, toks, toks+toks/2)
		sc.next = make([]int32, toks, toks+toks/2)
	}
	sc.tokID, sc.next = sc.tokID[:toks], sc.next[:toks]
}

// Match returns every query of the index that matches d, ordered by id.
func (x *Index) Match(d *Doc) []Match {
	x.mu.RLock()
	defer x.mu.RUnlock()
	sc := x.scratch.Get().(*matchScratch)
	defer x.scratch.Put(sc)
	sc.prepare(len(x.slots), len(x.terms), len(d.body.toks))
	x.scanBody(sc, d)
	x.scanSmall(sc, &d.source, kSource)
	x.scanSmall(sc, &d.tags, kTag)
	v := verifier{d: d, sc: sc}
	var out []Match
	// The terms of all matches share one backing array: a handful of
	// allocations per document instead of one per match.
	var slab []string
	for _, s := range sc.cands {
		sl := &x.slots[s]
		if v.eval(&sl.nodes[0]) {
			start := len(slab)
			slab = v.collect(&sl.nodes[0], slab, start)
			out = append(out, Match{ID: sl.id, Terms: slab[start:len(slab):len(slab)]})
		}
	}
	if len(out) > 1 {
		slices.SortFunc(out, func(a, b Match) int { return strings.Compare(a.ID, b.ID) })
	}
	x.docs.Add(1)
	x.candidates.Add(uint64(len(sc.cands)))
	x.hits.Add(uint64(len(out)))
	return out
}

// mark records that term id tid occurs and gathers its candidates; it
// reports whether this is the first occurrence.
func (x *Index) mark(sc *matchScratch, tid int32) bool {
	if sc.terms[tid].present == sc.epoch {
		return false
	}
	sc.terms[tid].present = sc.epoch
	for _, s := range x.terms[tid].post {
		if sc.seen[s] != sc.epoch {
			sc.seen[s] = sc.epoch
			sc.cands = append(sc.cands, s)
		}
	}
	return true
}

// scanBody looks every body token up once: it marks the query terms present,
// chains the positions of each term id (for phrases and title scopes), and
// gathers candidates, including those of registered prefixes.
func (x *Index) scanBody(sc *matchScratch, d *Doc) {
	dict := x.dict[kBody]
	pt := &x.prefixes[kBody]
	markPrefix := func(tid int32) { x.mark(sc, tid) }
	for i := range d.body.toks {
		t := d.body.toks[i].Text
		sc.next[i] = -1
		tid, ok := dict[t]
		if !ok {
			sc.tokID[i] = -1
		} else {
			sc.tokID[i] = tid
			ts := &sc.terms[tid]
			if x.mark(sc, tid) {
				ts.first = int32(i)
			} else {
				sc.next[ts.last] = int32(i)
			}
			ts.last = int32(i)
		}
		if pt.count > 0 && pt.mayHave(t) {
			pt.lookup(t, markPrefix)
		}
	}
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
	// starts counts registered prefixes by their first two bytes (a
	// one-byte prefix counts under every second byte), so most terms are
	// ruled out without a map lookup.
	starts []int32
}

func pairOf(a, b byte) int { return int(a)<<8 | int(b) }

// mayHave reports whether some registered prefix may start term.
func (t *prefixTable) mayHave(term string) bool {
	if len(term) < 2 {
		return true
	}
	return t.starts[pairOf(term[0], term[1])] > 0
}

func (t *prefixTable) countStarts(p string, delta int32) {
	if t.starts == nil {
		t.starts = make([]int32, 1<<16)
	}
	if len(p) >= 2 {
		t.starts[pairOf(p[0], p[1])] += delta
		return
	}
	for b := range 256 {
		t.starts[pairOf(p[0], byte(b))] += delta
	}
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

// lookup calls f with the id of every registered prefix of term.
func (t *prefixTable) lookup(term string, f func(int32)) {
	for i := 0; i < len(term); {
		_, n := utf8.DecodeRuneInString(term[i:])
		i += n
		node := t.nodes[term[:i]]
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

package subscriptions

import (
	"sort"
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
// An Index is safe for concurrent use; Match calls run in parallel with one
// another and wait for Add and Remove.
type Index struct {
	mu       sync.RWMutex
	slots    []slot
	free     []int32
	byID     map[string]int32
	exact    [nFields]map[string][]int32 // token -> slots
	prefixes [nFields]prefixTable
	scratch  sync.Pool // *matchScratch

	docs, candidates, hits atomic.Uint64
}

// Key fields: title-scoped terms register under the body (a title is part of
// the body) and are checked exactly on verification.
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

type slot struct {
	id   string
	q    *Query
	keys []key
}

type key struct {
	field  uint8
	prefix bool
	text   string
}

// Match is one query of the index that matched a document.
type Match struct {
	ID    string
	Terms []string // as Query.Match reports them
}

// IndexStats describes an index and the work it has done.
type IndexStats struct {
	Queries    int    // queries held
	Keys       int    // distinct exact keys plus prefix keys
	Docs       uint64 // documents matched so far
	Candidates uint64 // candidate queries verified, summed over documents
	Hits       uint64 // verified matches, summed over documents
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	x := &Index{byID: make(map[string]int32)}
	for i := range x.exact {
		x.exact[i] = make(map[string][]int32)
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
	x.slots[s] = slot{id: id, q: q, keys: keys}
	x.byID[id] = s
	for _, k := range keys {
		if k.prefix {
			x.prefixes[k.field].add(k.text, s)
		} else {
			m := x.exact[k.field]
			m[k.text] = append(m[k.text], s)
		}
	}
	return nil
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
	for _, k := range x.slots[s].keys {
		if k.prefix {
			x.prefixes[k.field].remove(k.text, s)
			continue
		}
		m := x.exact[k.field]
		if l := removeSlot(m[k.text], s); len(l) == 0 {
			delete(m, k.text)
		} else {
			m[k.text] = l
		}
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
	st := IndexStats{Queries: len(x.byID)}
	for i := range x.exact {
		st.Keys += len(x.exact[i]) + x.prefixes[i].count
	}
	x.mu.RUnlock()
	st.Docs, st.Candidates, st.Hits = x.docs.Load(), x.candidates.Load(), x.hits.Load()
	return st
}

type matchScratch struct {
	mark  []uint32
	epoch uint32
	cands []int32
}

// Match returns every query of the index that matches d, ordered by id.
func (x *Index) Match(d *Doc) []Match {
	x.mu.RLock()
	defer x.mu.RUnlock()
	sc := x.scratch.Get().(*matchScratch)
	defer x.scratch.Put(sc)
	if len(sc.mark) < len(x.slots) {
		sc.mark = make([]uint32, len(x.slots)+len(x.slots)/4)
		sc.epoch = 0
	}
	sc.epoch++
	if sc.epoch == 0 { // wrapped: old marks could collide
		clear(sc.mark)
		sc.epoch = 1
	}
	sc.cands = sc.cands[:0]
	x.collect(sc, &d.body, kBody)
	if len(d.source.toks) > 0 {
		x.collect(sc, &d.source, kSource)
	}
	if len(d.tags.toks) > 0 {
		x.collect(sc, &d.tags, kTag)
	}
	var out []Match
	for _, s := range sc.cands {
		sl := &x.slots[s]
		if terms, ok := sl.q.Match(d); ok {
			out = append(out, Match{ID: sl.id, Terms: terms})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	x.docs.Add(1)
	x.candidates.Add(uint64(len(sc.cands)))
	x.hits.Add(uint64(len(out)))
	return out
}

// collect adds the candidates registered under the terms of f.
func (x *Index) collect(sc *matchScratch, f *field, kf int) {
	exact := x.exact[kf]
	pt := &x.prefixes[kf]
	add := func(l []int32) {
		for _, s := range l {
			if sc.mark[s] != sc.epoch {
				sc.mark[s] = sc.epoch
				sc.cands = append(sc.cands, s)
			}
		}
	}
	for _, t := range f.distinct {
		if l, ok := exact[t]; ok {
			add(l)
		}
		if pt.count > 0 {
			pt.lookup(t, add)
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
}

type prefixNode struct {
	slots  []int32 // queries registered under exactly this prefix
	longer int     // registered prefixes that extend this one
}

func (t *prefixTable) add(p string, s int32) {
	for i := range p {
		if i == 0 {
			continue
		}
		t.node(p[:i]).longer++
	}
	n := t.node(p)
	if len(n.slots) == 0 {
		t.count++
	}
	n.slots = append(n.slots, s)
}

func (t *prefixTable) node(p string) *prefixNode {
	n := t.nodes[p]
	if n == nil {
		n = &prefixNode{}
		t.nodes[p] = n
	}
	return n
}

func (t *prefixTable) remove(p string, s int32) {
	n := t.nodes[p]
	if n == nil {
		return
	}
	n.slots = removeSlot(n.slots, s)
	if len(n.slots) == 0 {
		t.count--
		t.prune(p)
	}
	for i := range p {
		if i == 0 {
			continue
		}
		q := p[:i]
		if m := t.nodes[q]; m != nil {
			m.longer--
			t.prune(q)
		}
	}
}

func (t *prefixTable) prune(p string) {
	if n := t.nodes[p]; n != nil && n.longer <= 0 && len(n.slots) == 0 {
		delete(t.nodes, p)
	}
}

// lookup calls f with the slots of every registered prefix of term.
func (t *prefixTable) lookup(term string, f func([]int32)) {
	for i := 0; i < len(term); {
		_, n := utf8.DecodeRuneInString(term[i:])
		i += n
		node := t.nodes[term[:i]]
		if node == nil {
			return
		}
		if len(node.slots) > 0 {
			f(node.slots)
		}
		if node.longer <= 0 {
			return
		}
	}
}

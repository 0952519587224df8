package archive

import (
	"cmp"
	"slices"
	"sort"
	"strings"

	"github.com/digestbot/digestbot/subscriptions"
)

// This file turns a query into a plan over posting lists and evaluates it on
// decoded postings. It is pure: the Redis side fetches what the plan names.

// field is where a query word must occur.
type field uint8

const (
	fieldAny    field = iota // title or text
	fieldTitle               // title only
	fieldSource              // the source name
	fieldTag                 // a tag
)

func fieldOf(name string) field {
	switch name {
	case subscriptions.FieldTitle:
		return fieldTitle
	case subscriptions.FieldSource:
		return fieldSource
	case subscriptions.FieldTag:
		return fieldTag
	}
	return fieldAny
}

// leaf is one posting list the plan reads.
type leaf struct {
	term  string // posting term: the token, with a field marker for source and tag
	title bool   // only title occurrences count
}

// termKey is the posting term of a token in a field. Source and tag words
// get their own namespace: a control character cannot be part of a token.
func termKey(f field, tok string) string {
	switch f {
	case fieldSource:
		return "\x01s:" + tok
	case fieldTag:
		return "\x01g:" + tok
	}
	return tok
}

// Visibility terms (see Index.analyse): a private article carries
// visPrivate and visTerm(g) for each server g that may see it. No query
// can name them: a query word or prefix is a token (never empty, never a
// control character) or a source or tag term, so neither a word nor a
// prefix expansion through the vocabulary reaches the "\x01v:" namespace.
const visPrivate = "\x01v:private"

func visTerm(guild string) string { return "\x01v:" + guild }

// eop is an operator of the evaluation tree.
type eop uint8

const (
	eLeaf eop = iota
	eAnd
	eOr
	eNot
	eNone // matches nothing (an unresolved topic, an empty expansion)
)

// enode is a node of the evaluation tree.
type enode struct {
	op      eop
	leaf    int
	inexact bool // a yes here is only a maybe: word positions are not indexed
	kids    []*enode
	// seq is a phrase's leaves in order (with repeats): consecutive pairs
	// must pass the neighbour signatures.
	seq []int
}

// Three-valued match from the index alone: no, maybe (verify on the article),
// yes (certain).
const (
	tNo    = 0
	tMaybe = 1
	tYes   = 2
)

// plan is a compiled query.
type plan struct {
	leaves   []leaf
	positive []bool  // leaf counts towards the score (not under a NOT)
	bits     []uint8 // neighbourBit of each leaf's term
	root     *enode
	prefixes []prefixRef // prefixes to expand before the postings are read
}

// prefixRef is a prefix term whose expansion fills in its node's kids.
type prefixRef struct {
	node   *enode
	field  field
	prefix string
	neg    bool
}

// compile builds the plan of a parsed query. Prefix terms are left empty;
// expand fills them once the vocabulary is known.
func compile(root subscriptions.Node) *plan {
	p := &plan{}
	p.root = p.build(root, false)
	return p
}

func (p *plan) addLeaf(l leaf, neg bool) int {
	for i, x := range p.leaves {
		if x == l {
			if !neg {
				p.positive[i] = true
			}
			return i
		}
	}
	p.leaves = append(p.leaves, l)
	p.positive = append(p.positive, !neg)
	p.bits = append(p.bits, neighbourBit(l.term))
	return len(p.leaves) - 1
}

func (p *plan) build(n subscriptions.Node, neg bool) *enode {
	switch n := n.(type) {
	case *subscriptions.And:
		e := &enode{op: eAnd}
		for _, k := range n.Children {
			e.kids = append(e.kids, p.build(k, neg))
		}
		return e
	case *subscriptions.Or:
		e := &enode{op: eOr}
		for _, k := range n.Children {
			e.kids = append(e.kids, p.build(k, neg))
		}
		return e
	case *subscriptions.Not:
		return &enode{op: eNot, kids: []*enode{p.build(n.Child, !neg)}}
	case *subscriptions.Term:
		if n.Field == subscriptions.FieldLang || n.Field == subscriptions.FieldSite {
			// Languages and the links' domains are not in the postings: a
			// maybe that verification on the article decides, and never a
			// way in (an AND with no leaves cannot drive), so the query's
			// words find the candidates.
			return &enode{op: eAnd, inexact: true}
		}
		f := fieldOf(n.Field)
		if n.Prefix {
			e := &enode{op: eOr}
			p.prefixes = append(p.prefixes, prefixRef{node: e, field: f, prefix: n.Text, neg: neg})
			return e
		}
		return p.words([]string{n.Text}, f, neg)
	case *subscriptions.Phrase:
		f := fieldOf(n.Field)
		e := p.words(n.Terms, f, neg)
		// Positions are not indexed: the words being there, with matching
		// neighbour signatures, is only a maybe.
		if len(n.Terms) > 1 {
			e.inexact = true
			for _, t := range n.Terms {
				e.seq = append(e.seq, p.addLeaf(leaf{term: termKey(f, t), title: f == fieldTitle}, neg))
			}
		}
		return e
	}
	return &enode{op: eNone} // an unresolved topic matches nothing
}

// words is the AND of the postings of toks in field f.
func (p *plan) words(toks []string, f field, neg bool) *enode {
	n := &enode{op: eAnd}
	seen := map[string]bool{}
	for _, t := range toks {
		if seen[t] {
			continue
		}
		seen[t] = true
		l := leaf{term: termKey(f, t), title: f == fieldTitle}
		n.kids = append(n.kids, &enode{op: eLeaf, leaf: p.addLeaf(l, neg)})
	}
	return n
}

// restrict keeps the plan to the documents guild may see: root AND (NOT
// private OR guild). The leaves are added as under a NOT, so they never
// count towards a score: a document that passes scores what it did
// without the filter. And as the OR holds a NOT it can never be a driver,
// so the candidates still come from the query's own words.
func (p *plan) restrict(guild string) {
	private := p.addLeaf(leaf{term: visPrivate}, true)
	mine := p.addLeaf(leaf{term: visTerm(guild)}, true)
	vis := &enode{op: eOr, kids: []*enode{
		{op: eNot, kids: []*enode{{op: eLeaf, leaf: private}}},
		{op: eLeaf, leaf: mine},
	}}
	p.root = &enode{op: eAnd, kids: []*enode{p.root, vis}}
}

// expand fills prefix i with the posting terms its prefix expands to.
func (p *plan) expand(i int, terms []string) {
	ref := p.prefixes[i]
	ref.node.kids = ref.node.kids[:0]
	for _, t := range terms {
		l := leaf{term: t, title: ref.field == fieldTitle}
		ref.node.kids = append(ref.node.kids, &enode{op: eLeaf, leaf: p.addLeaf(l, ref.neg)})
	}
}

// prefixPattern is the posting-term prefix of prefix reference i.
func (p *plan) prefixPattern(i int) string {
	ref := p.prefixes[i]
	return termKey(ref.field, ref.prefix)
}

// lists holds the decoded postings of every leaf, each sorted by doc.
type lists [][]posting

// walker finds postings of documents visited in increasing doc order, as
// a merge join: each leaf keeps its position and gallops forward, so
// looking up every candidate of a long list costs about one pass over it.
type walker struct {
	ls  lists
	pos []int
}

func newWalker(ls lists) *walker { return &walker{ls: ls, pos: make([]int, len(ls))} }

// find returns the posting of doc in leaf l. doc must not be below the
// doc of an earlier call.
func (w *walker) find(l int, doc uint64) (posting, bool) {
	ps, i := w.ls[l], w.pos[l]
	if i >= len(ps) || ps[i].doc >= doc {
		if i < len(ps) && ps[i].doc == doc {
			return ps[i], true
		}
		return posting{}, false
	}
	// Gallop: ps[i].doc < doc; find a bound hi with ps[hi].doc >= doc.
	step := 1
	lo, hi := i, i+1
	for hi < len(ps) && ps[hi].doc < doc {
		lo = hi
		step *= 2
		hi = lo + step
	}
	hi = min(hi, len(ps))
	j := lo + 1 + sort.Search(hi-lo-1, func(k int) bool { return ps[lo+1+k].doc >= doc })
	w.pos[l] = j
	if j < len(ps) && ps[j].doc == doc {
		return ps[j], true
	}
	return posting{}, false
}

// eval is the three-valued match of n for doc.
func (p *plan) eval(n *enode, ls *walker, doc uint64) int {
	switch n.op {
	case eNone:
		return tNo
	case eLeaf:
		ps, ok := ls.find(n.leaf, doc)
		if !ok || (p.leaves[n.leaf].title && ps.tfT == 0) {
			return tNo
		}
		return tYes
	case eNot:
		return tYes - p.eval(n.kids[0], ls, doc)
	case eOr:
		v := tNo
		for _, k := range n.kids {
			v = max(v, p.eval(k, ls, doc))
			if v == tYes {
				break
			}
		}
		return v
	}
	v := tYes // eAnd
	for _, k := range n.kids {
		v = min(v, p.eval(k, ls, doc))
		if v == tNo {
			return tNo
		}
	}
	if n.inexact && v == tYes {
		v = tMaybe
	}
	for i := 0; i+1 < len(n.seq); i++ {
		a, _ := ls.find(n.seq[i], doc)
		b, _ := ls.find(n.seq[i+1], doc)
		if a.next&p.bits[n.seq[i+1]] == 0 || b.prev&p.bits[n.seq[i]] == 0 {
			return tNo
		}
	}
	return v
}

// drivers returns leaves whose postings together hold every document n can
// match, choosing the cheapest child of each AND; ok is false when n can
// match documents that contain none of its words (a bare NOT).
func (p *plan) drivers(n *enode, ls lists) (leaves []int, cost int, ok bool) {
	switch n.op {
	case eNone:
		return nil, 0, true
	case eLeaf:
		return []int{n.leaf}, len(ls[n.leaf]), true
	case eNot:
		return nil, 0, false
	case eOr:
		for _, k := range n.kids {
			l, c, ok := p.drivers(k, ls)
			if !ok {
				return nil, 0, false
			}
			leaves, cost = append(leaves, l...), cost+c
		}
		return leaves, cost, true
	}
	best := -1
	for _, k := range n.kids {
		l, c, ok := p.drivers(k, ls)
		if ok && (best < 0 || c < cost) {
			leaves, cost, best = l, c, 1
		}
	}
	return leaves, cost, best >= 0
}

// stats are the collection statistics BM25 needs.
type stats struct {
	docs   float64
	length float64 // sum of weighted document lengths
}

func (s stats) avgLen() float64 {
	if s.docs <= 0 {
		return 0
	}
	return s.length / s.docs
}

// rank evaluates the plan on every document of the driver leaves and
// scores those that may match and were published at or after sinceHours
// (see Scoring); ok is false when the plan has no driver (a bare NOT). The
// idf of a leaf comes from the length of its posting list; boost is the
// recency factor of a publication hour.
func (p *plan) rank(ls lists, sinceHours uint32, st stats, sc Scoring, boost func(uint32) float64) (out []ranked, ok bool) {
	drv, _, ok := p.drivers(p.root, ls)
	if !ok {
		return nil, false
	}
	if len(drv) == 0 {
		// The cheapest way in matches nothing: a prefix that expanded to
		// no word, or an unresolved topic.
		return nil, true
	}
	w := newWalker(ls)
	cands := ls[drv[0]]
	if len(drv) > 1 {
		// Several drivers (an OR): merge them, each document once.
		var all []posting
		for _, l := range drv {
			all = append(all, ls[l]...)
		}
		slices.SortFunc(all, func(a, b posting) int { return cmp.Compare(a.doc, b.doc) })
		cands = slices.CompactFunc(all, func(a, b posting) bool { return a.doc == b.doc })
	}
	idfs := make([]float64, len(p.leaves))
	for i := range p.leaves {
		idfs[i] = idf(st.docs, float64(len(ls[i])))
	}
	avg := st.avgLen()
	out = make([]ranked, 0, len(cands))
	for _, c := range cands {
		if c.hours < sinceHours {
			continue
		}
		v := p.eval(p.root, w, c.doc)
		if v == tNo {
			continue
		}
		var s float64
		for l, lf := range p.leaves {
			if !p.positive[l] {
				continue
			}
			ps, found := c, len(drv) == 1 && l == drv[0]
			if !found {
				if ps, found = w.find(l, c.doc); !found {
					continue
				}
			}
			switch {
			case strings.HasPrefix(lf.term, "\x01"):
				s += idfs[l]
			case lf.title:
				s += sc.termScore(idfs[l], float64(sc.TitleWeight*int(ps.tfT)), ps.norm, avg)
			default:
				s += sc.termScore(idfs[l], float64(sc.TitleWeight*int(ps.tfT)+int(ps.tfB)), ps.norm, avg)
			}
		}
		out = append(out, ranked{doc: c.doc, score: s * boost(c.hours)})
	}
	return out, true
}

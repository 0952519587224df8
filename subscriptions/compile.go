package subscriptions

import "slices"

// cnode is a query node compiled for an index: leaves carry term ids, so a
// candidate is verified by checking marks set while the document's terms
// were looked up, not by hashing strings again.
type cnode struct {
	op    uint8
	field uint8   // kBody, kSource or kTag
	title bool    // a title-scoped leaf: also check that it is in the title
	id    int32   // term id (opTerm, opPrefix)
	kids  []cnode // children; for opPhrase one opTerm per token
	leaf  Node    // *Term or *Phrase, for its text and Raw
}

const (
	opTerm = iota
	opPrefix
	opPhrase
	opAnd
	opOr
	opNot
)

// compile turns n into nodes held in one slice (nodes[0] is the root),
// registering its terms: their ids go to sl.refs once each, and those whose
// positions verification reads to sl.pos.
func (x *Index) compile(n Node, sl *slotIDs) []cnode {
	nodes := make([]cnode, count(n))
	x.fill(n, &nodes[0], nodes[1:], sl)
	return nodes
}

// conjunction appends the term ids that every match of n contains.
func conjunction(n *cnode, out []int32) []int32 {
	switch n.op {
	case opTerm, opPrefix:
		return append(out, n.id)
	case opPhrase, opAnd:
		for i := range n.kids {
			out = conjunction(&n.kids[i], out)
		}
	}
	return out
}

// staticTerms reports whether the terms a match of n reports are always
// the same: true when no OR lies on the way to a positive leaf.
func staticTerms(n *cnode) bool {
	switch n.op {
	case opOr:
		return false
	case opAnd:
		for i := range n.kids {
			if !staticTerms(&n.kids[i]) {
				return false
			}
		}
	}
	return true // leaves; NOT contributes no terms
}

func addOnce(l *[]int32, id int32) {
	if !slices.Contains(*l, id) {
		*l = append(*l, id)
	}
}

func count(n Node) int {
	switch n := n.(type) {
	case *Phrase:
		return 1 + len(n.Terms)
	case *And:
		return 1 + countAll(n.Children)
	case *Or:
		return 1 + countAll(n.Children)
	case *Not:
		return 1 + count(n.Child)
	}
	return 1
}

func countAll(ns []Node) int {
	c := 0
	for _, n := range ns {
		c += count(n)
	}
	return c
}

// fill compiles n into dst, taking the nodes below it from rest; it returns
// what is left of rest. Children are laid out next to each other so a
// parent's kids are one subslice.
func (x *Index) fill(n Node, dst *cnode, rest []cnode, sl *slotIDs) []cnode {
	refs := &sl.refs
	switch n := n.(type) {
	case *Term:
		op := uint8(opTerm)
		if n.Prefix {
			op = opPrefix
		}
		*dst = cnode{op: op, field: uint8(keyField(n.Field)), title: n.Field == FieldTitle, leaf: n,
			id: x.termID(keyField(n.Field), n.Text, n.Prefix, refs)}
		if dst.title && !n.Prefix {
			addOnce(&sl.pos, dst.id)
		}
	case *Phrase:
		kids := rest[:len(n.Terms)]
		for i, t := range n.Terms {
			kids[i] = cnode{op: opTerm, id: x.termID(keyField(n.Field), t, false, refs)}
			if keyField(n.Field) == kBody {
				addOnce(&sl.pos, kids[i].id)
			}
		}
		*dst = cnode{op: opPhrase, field: uint8(keyField(n.Field)), title: n.Field == FieldTitle, leaf: n, kids: kids}
		return rest[len(n.Terms):]
	case *And:
		*dst = cnode{op: opAnd}
		return x.fillKids(dst, n.Children, rest, sl)
	case *Or:
		*dst = cnode{op: opOr}
		return x.fillKids(dst, n.Children, rest, sl)
	case *Not:
		*dst = cnode{op: opNot, kids: rest[:1]}
		return x.fill(n.Child, &rest[0], rest[1:], sl)
	}
	return rest
}

func (x *Index) fillKids(dst *cnode, children []Node, rest []cnode, sl *slotIDs) []cnode {
	dst.kids = rest[:len(children)]
	rest = rest[len(children):]
	for i, c := range children {
		rest = x.fill(c, &dst.kids[i], rest, sl)
	}
	return rest
}

// verifier evaluates compiled queries against one document, reading the
// marks and position chains Index.Match left in the scratch.
type verifier struct {
	d  *Doc
	sc *matchScratch
}

func (v *verifier) present(tid int32) bool { return v.sc.isPresent(tid) }

func (v *verifier) eval(n *cnode) bool {
	switch n.op {
	case opTerm:
		if !v.present(n.id) {
			return false
		}
		return !n.title || int(v.sc.first[n.id]) < v.d.nTitle
	case opPrefix:
		if !v.present(n.id) {
			return false
		}
		return !n.title || v.d.body.hasPrefix(n.leaf.(*Term).Text, v.d.nTitle)
	case opPhrase:
		for i := range n.kids {
			if !v.present(n.kids[i].id) {
				return false
			}
		}
		if n.field != kBody {
			p := n.leaf.(*Phrase)
			f, limit := v.d.fieldOf(p.Field)
			return f.hasPhrase(p.Terms, limit)
		}
		return v.bodyPhrase(n)
	case opAnd:
		for i := range n.kids {
			if !v.eval(&n.kids[i]) {
				return false
			}
		}
		return true
	case opOr:
		for i := range n.kids {
			if v.eval(&n.kids[i]) {
				return true
			}
		}
		return false
	case opNot:
		return !v.eval(&n.kids[0])
	}
	return false
}

// bodyPhrase checks a phrase in the title and text by term ids.
func (v *verifier) bodyPhrase(n *cnode) bool {
	sc, kids := v.sc, n.kids
	limit := len(v.d.body.toks)
	if n.title {
		limit = v.d.nTitle
	}
	for i := int(sc.first[kids[0].id]); i >= 0; i = int(sc.next[i]) {
		end := i + len(kids)
		if end > limit {
			return false
		}
		k := 1
		for ; k < len(kids); k++ {
			if sc.tokID[i+k] != kids[k].id {
				break
			}
		}
		if k == len(kids) && v.d.body.within(i, end-1) {
			return true
		}
	}
	return false
}

// collect is Doc.collect for compiled nodes; it appends to out, and
// out[from:] are this query's terms so far (for appendOnce).
func (v *verifier) collect(n *cnode, out []string, from int) []string {
	switch n.op {
	case opTerm, opPrefix:
		return appendOnceFrom(out, from, n.leaf.(*Term).Raw)
	case opPhrase:
		return appendOnceFrom(out, from, n.leaf.(*Phrase).Raw)
	case opAnd:
		for i := range n.kids {
			out = v.collect(&n.kids[i], out, from)
		}
	case opOr:
		for i := range n.kids {
			if v.eval(&n.kids[i]) {
				out = v.collect(&n.kids[i], out, from)
			}
		}
	}
	return out
}

func appendOnceFrom(out []string, from int, s string) []string {
	for _, have := range out[from:] {
		if have == s {
			return out
		}
	}
	return append(out, s)
}

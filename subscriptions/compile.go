package subscriptions

import "slices"

// cnode is a query node compiled for an index: leaves carry term ids, so a
// candidate is verified by checking marks set while the document's terms
// were looked up, not by hashing strings again. A query's nodes live in one
// slice (the root first, every node's children next to each other) and are
// small, so verifying a candidate usually reads a single cache line.
type cnode struct {
	op    uint8
	field uint8 // kBody, kSource or kTag
	title bool  // a title-scoped leaf: also check that it is in the title
	nkids uint16
	id    int32 // term id (opTerm, opPrefix)
	kid   int32 // index of the first child (opPhrase: one opTerm per token)
}

const (
	opTerm = iota
	opPrefix
	opPhrase
	opAnd
	opOr
	opNot
)

// compiled is a compiled query: nodes[0] is the root; leaves[i] is the
// *Term or *Phrase of leaf node i (for its text and Raw), nil elsewhere.
type compiled struct {
	nodes  []cnode
	leaves []Node
}

// compiler builds a compiled query, registering its terms: their ids go to
// ids.refs once each, and those whose positions verification reads to
// ids.pos.
type compiler struct {
	x    *Index
	c    compiled
	ids  *termRefs
	next int32
}

func (x *Index) compile(n Node, ids *termRefs) compiled {
	k := count(n)
	cp := compiler{x: x, ids: ids, next: 1,
		c: compiled{nodes: make([]cnode, k), leaves: make([]Node, k)}}
	cp.fill(n, 0)
	return cp.c
}

func (cp *compiler) alloc(n int) int32 {
	i := cp.next
	cp.next += int32(n)
	return i
}

func (cp *compiler) fill(n Node, i int32) {
	nodes := cp.c.nodes
	switch n := n.(type) {
	case *Term:
		op := uint8(opTerm)
		if n.Prefix {
			op = opPrefix
		}
		nodes[i] = cnode{op: op, field: uint8(keyField(n.Field)), title: n.Field == FieldTitle,
			id: cp.x.termID(keyField(n.Field), n.Text, n.Prefix, &cp.ids.refs)}
		cp.c.leaves[i] = n
		if nodes[i].title && !n.Prefix {
			addOnce(&cp.ids.pos, nodes[i].id)
		}
	case *Phrase:
		k := cp.alloc(len(n.Terms))
		for j, t := range n.Terms {
			nodes[k+int32(j)] = cnode{op: opTerm, id: cp.x.termID(keyField(n.Field), t, false, &cp.ids.refs)}
			if keyField(n.Field) == kBody {
				addOnce(&cp.ids.pos, nodes[k+int32(j)].id)
			}
		}
		nodes[i] = cnode{op: opPhrase, field: uint8(keyField(n.Field)), title: n.Field == FieldTitle,
			kid: k, nkids: uint16(len(n.Terms))}
		cp.c.leaves[i] = n
	case *And:
		cp.fillKids(opAnd, n.Children, i)
	case *Or:
		cp.fillKids(opOr, n.Children, i)
	case *Not:
		cp.fillKids(opNot, []Node{n.Child}, i)
	}
}

func (cp *compiler) fillKids(op uint8, children []Node, i int32) {
	k := cp.alloc(len(children))
	cp.c.nodes[i] = cnode{op: op, kid: k, nkids: uint16(len(children))}
	for j, c := range children {
		cp.fill(c, k+int32(j))
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

// raws returns the text of each leaf as written (Raw) by node index, ""
// for other nodes.
func (c *compiled) raws() []string {
	out := make([]string, len(c.nodes))
	for i, l := range c.leaves {
		switch l := l.(type) {
		case *Term:
			if l.Field != FieldLang { // a language is not a matched term
				out[i] = l.Raw
			}
		case *Phrase:
			out[i] = l.Raw
		}
	}
	return out
}

// conjunction appends the term ids that every match of node i contains.
func (c *compiled) conjunction(i int32, out []int32) []int32 {
	n := &c.nodes[i]
	switch n.op {
	case opTerm, opPrefix:
		return append(out, n.id)
	case opPhrase, opAnd:
		for k := n.kid; k < n.kid+int32(n.nkids); k++ {
			out = c.conjunction(k, out)
		}
	}
	return out
}

// staticTerms reports whether the terms a match of node i reports are
// always the same: true when no OR lies on the way to a positive leaf.
func (c *compiled) staticTerms(i int32) bool {
	n := &c.nodes[i]
	switch n.op {
	case opOr:
		return false
	case opAnd:
		for k := n.kid; k < n.kid+int32(n.nkids); k++ {
			if !c.staticTerms(k) {
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

// verifier evaluates compiled queries against one document, reading the
// marks and position chains Index.Match left in the scratch.
type verifier struct {
	d     *Doc
	sc    *matchScratch
	x     *Index
	nodes []cnode  // of the query being verified
	raws  []string // its leaf texts by node index (collect only)
}

// keyFieldNames are the scopes of the term fields.
var keyFieldNames = [nFields]string{kBody: "", kSource: FieldSource, kTag: FieldTag, kSite: FieldSite, kLang: FieldLang}

func (v *verifier) present(tid int32) bool { return v.sc.isPresent(tid) }

func (v *verifier) eval(i int32) bool {
	n := &v.nodes[i]
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
		return !n.title || v.d.body.hasPrefix(v.x.terms[n.id].text, v.d.nTitle)
	case opPhrase:
		kids := v.nodes[n.kid : n.kid+int32(n.nkids)]
		for k := range kids {
			if !v.present(kids[k].id) {
				return false
			}
		}
		if n.field != kBody {
			terms := v.sc.phrase[:0]
			for k := range kids {
				terms = append(terms, v.x.terms[kids[k].id].text)
			}
			v.sc.phrase = terms
			f, limit := v.d.fieldOf(keyFieldNames[n.field])
			return f.hasPhrase(terms, limit)
		}
		return v.bodyPhrase(n, kids)
	case opAnd:
		for k := n.kid; k < n.kid+int32(n.nkids); k++ {
			if !v.eval(k) {
				return false
			}
		}
		return true
	case opOr:
		for k := n.kid; k < n.kid+int32(n.nkids); k++ {
			if v.eval(k) {
				return true
			}
		}
		return false
	case opNot:
		return !v.eval(n.kid)
	}
	return false
}

// bodyPhrase checks a phrase in the title and text by term ids.
func (v *verifier) bodyPhrase(n *cnode, kids []cnode) bool {
	sc := v.sc
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
func (v *verifier) collect(i int32, out []string, from int) []string {
	n := &v.nodes[i]
	switch n.op {
	case opTerm, opPrefix, opPhrase:
		if v.raws[i] == "" {
			return out // a lang: term
		}
		return appendOnceFrom(out, from, v.raws[i])
	case opAnd:
		for k := n.kid; k < n.kid+int32(n.nkids); k++ {
			out = v.collect(k, out, from)
		}
	case opOr:
		for k := n.kid; k < n.kid+int32(n.nkids); k++ {
			if v.eval(k) {
				out = v.collect(k, out, from)
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

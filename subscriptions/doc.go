package subscriptions

import (
	"sort"
	"strings"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/analysis"
)

// Doc is an article analysed once for matching: every query (and the index)
// reads the same Doc. A Doc is not safe for concurrent use (it builds a
// sorted term list lazily, the first time a prefix is looked up).
type Doc struct {
	body   field // title tokens, then text tokens
	nTitle int   // body.toks[:nTitle] are the title
	source field
	tags   field
}

// field is the analysed tokens of one field. seg separates parts that a
// phrase may not span (title and text; one tag and the next).
type field struct {
	toks     []analysis.Token
	seg      []int32
	first    map[string]int32 // term -> index of its first occurrence
	next     []int32          // index of the next occurrence of the same term, -1 at the end
	distinct []string         // each term once, in order of first occurrence
	sorted   []string         // distinct, sorted; built on first prefix lookup
}

// NewDoc analyses an article given by its parts.
func NewDoc(title, text, source string, tags []string) *Doc {
	d := &Doc{}
	toks := analysis.Tokenize(title)
	d.nTitle = len(toks)
	d.body.toks = analysis.AppendTokens(toks, text)
	d.body.seg = make([]int32, len(d.body.toks))
	for i := d.nTitle; i < len(d.body.seg); i++ {
		d.body.seg[i] = 1
	}
	d.body.index()
	d.source.toks = analysis.Tokenize(source)
	d.source.seg = make([]int32, len(d.source.toks))
	d.source.index()
	for i, tag := range tags {
		d.tags.toks = analysis.AppendTokens(d.tags.toks, tag)
		for len(d.tags.seg) < len(d.tags.toks) {
			d.tags.seg = append(d.tags.seg, int32(i))
		}
	}
	d.tags.index()
	return d
}

// DocFromArticle analyses an article: its title, text, source name and tags.
func DocFromArticle(a *digestbot.Article) *Doc {
	return NewDoc(a.Title, a.Text, a.Source, a.Tags)
}

func (f *field) index() {
	f.first = make(map[string]int32, len(f.toks)/2+1)
	f.next = make([]int32, len(f.toks))
	// Walking backwards, first[t] holds the nearest later occurrence of t,
	// so every occurrence links forward to the next one with one map.
	for i := len(f.toks) - 1; i >= 0; i-- {
		t := f.toks[i].Text
		if j, ok := f.first[t]; ok {
			f.next[i] = j
		} else {
			f.next[i] = -1
		}
		f.first[t] = int32(i)
	}
	f.distinct = make([]string, 0, len(f.first))
	for i, t := range f.toks {
		if f.first[t.Text] == int32(i) {
			f.distinct = append(f.distinct, t.Text)
		}
	}
}

// has reports whether term occurs in the field, at an index below limit.
func (f *field) has(term string, limit int) bool {
	i, ok := f.first[term]
	return ok && int(i) < limit
}

// hasPrefix reports whether a term starting with p occurs below limit.
func (f *field) hasPrefix(p string, limit int) bool {
	if limit < len(f.toks) {
		for _, t := range f.toks[:limit] {
			if strings.HasPrefix(t.Text, p) {
				return true
			}
		}
		return false
	}
	if len(f.distinct) < 16 {
		for _, t := range f.distinct {
			if strings.HasPrefix(t, p) {
				return true
			}
		}
		return false
	}
	if f.sorted == nil {
		f.sorted = append([]string(nil), f.distinct...)
		sort.Strings(f.sorted)
	}
	i := sort.SearchStrings(f.sorted, p)
	return i < len(f.sorted) && strings.HasPrefix(f.sorted[i], p)
}

// hasPhrase reports whether terms occur consecutively within one segment,
// ending below limit.
func (f *field) hasPhrase(terms []string, limit int) bool {
	i, ok := f.first[terms[0]]
	if !ok {
		return false
	}
	if len(terms) == 1 {
		return int(i) < limit
	}
	for ; i >= 0; i = f.next[i] {
		end := int(i) + len(terms)
		if end > limit {
			return false
		}
		seg := f.seg[i]
		k := 1
		for ; k < len(terms); k++ {
			j := int(i) + k
			if f.seg[j] != seg || f.toks[j].Text != terms[k] {
				break
			}
		}
		if k == len(terms) {
			return true
		}
	}
	return false
}

// fieldOf returns the field a scope searches and the index limit in it.
func (d *Doc) fieldOf(name string) (*field, int) {
	switch name {
	case FieldTitle:
		return &d.body, d.nTitle
	case FieldSource:
		return &d.source, len(d.source.toks)
	case FieldTag:
		return &d.tags, len(d.tags.toks)
	}
	return &d.body, len(d.body.toks)
}

// eval reports whether n matches d.
func (d *Doc) eval(n Node) bool {
	switch n := n.(type) {
	case *Term:
		f, limit := d.fieldOf(n.Field)
		if n.Prefix {
			return f.hasPrefix(n.Text, limit)
		}
		return f.has(n.Text, limit)
	case *Phrase:
		f, limit := d.fieldOf(n.Field)
		return f.hasPhrase(n.Terms, limit)
	case *And:
		for _, c := range n.Children {
			if !d.eval(c) {
				return false
			}
		}
		return true
	case *Or:
		for _, c := range n.Children {
			if d.eval(c) {
				return true
			}
		}
		return false
	case *Not:
		return !d.eval(n.Child)
	}
	return false // an unresolved topic matches nothing
}

// collect appends the terms (as written) of the leaves that make the
// matching node n match: every positive leaf of every matching branch.
func (d *Doc) collect(n Node, out []string) []string {
	switch n := n.(type) {
	case *Term:
		return appendOnce(out, n.Raw)
	case *Phrase:
		return appendOnce(out, n.Raw)
	case *And:
		for _, c := range n.Children {
			out = d.collect(c, out)
		}
	case *Or:
		for _, c := range n.Children {
			if d.eval(c) {
				out = d.collect(c, out)
			}
		}
	}
	return out // Not contributes no terms
}

func appendOnce(out []string, s string) []string {
	for _, have := range out {
		if have == s {
			return out
		}
	}
	return append(out, s)
}

// Match reports whether q matches d, and the terms that made it match, as
// written in the query (a prefix keeps its *, a phrase has no quotes): what
// the digest shows as "why" and bolds in the text (analyse each term with
// analysis.Tokenize to find it). Unresolved topic references match nothing.
func (q *Query) Match(d *Doc) (terms []string, ok bool) {
	if !d.eval(q.Root) {
		return nil, false
	}
	return d.collect(q.Root, nil), true
}

package subscriptions

import (
	"slices"
	"strings"

	digestbot "github.com/digestbot/digestbot"
)

// Operator precedence levels for rendering.
const (
	precOr = iota
	precAnd
	precNot
)

// String returns the canonical text of q: single spaces, "OR" between
// alternatives, parentheses only where precedence needs them, a field scope
// shared by a whole group written once (title:(a OR b)), quotes as ", and
// words and phrases as the user wrote them (so a subscription's label reads
// like its author's query). It parses back to an equal query, and Parse
// keeps it within MaxQueryChars.
func (q *Query) String() string {
	var b strings.Builder
	render(&b, q.Root, precOr, "", false)
	return b.String()
}

// Key returns the fully normalised form of q: like String with every word
// and phrase replaced by its analysed tokens, and the alternatives of an OR
// and the parts of an AND in one order, each once. Two queries that match
// exactly the same articles because they differ only in case, accents,
// quoting style, spacing, the order of ORed or ANDed parts or a repeated
// part have the same Key ("Confucius" and "confucius"; "a OR b" and
// "b OR a"). It is what makes two subscriptions the same one.
func (q *Query) Key() string {
	var b strings.Builder
	render(&b, normalize(q.Root), precOr, "", true)
	return b.String()
}

// Equal reports whether q and o are the same query (same Key).
func (q *Query) Equal(o *Query) bool { return q.Key() == o.Key() }

// normalize returns n with the children of every AND and OR sorted by
// their Key form and repeats dropped; an AND or OR left with one child is
// that child, and one that becomes the child of its own kind is merged
// into its parent. The leaves are shared with n.
func normalize(n Node) Node {
	switch n := n.(type) {
	case *Not:
		return &Not{Child: normalize(n.Child)}
	case *And:
		return regroup(n, normalizeAll(n, n.Children))
	case *Or:
		return regroup(n, normalizeAll(n, n.Children))
	}
	return n
}

// regroup returns a group of g's kind that holds cs, or cs[0] alone.
func regroup(g Node, cs []Node) Node {
	switch {
	case len(cs) == 1:
		return cs[0]
	case isAnd(g):
		return &And{Children: cs}
	}
	return &Or{Children: cs}
}

func isAnd(n Node) bool { _, ok := n.(*And); return ok }

// normalizeAll normalises the children of group g, merges those that are
// groups of g's kind into it, and sorts and dedupes them.
func normalizeAll(g Node, children []Node) []Node {
	type keyed struct {
		key string
		n   Node
	}
	var ks []keyed
	for _, c := range children {
		c = normalize(c)
		parts := []Node{c}
		switch c := c.(type) {
		case *And:
			if isAnd(g) {
				parts = c.Children
			}
		case *Or:
			if !isAnd(g) {
				parts = c.Children
			}
		}
		for _, p := range parts {
			var b strings.Builder
			if _, ok := p.(*Not); ok {
				b.WriteByte(0xff) // exclusions last: "a -b" reads better than "-b a"
			}
			render(&b, p, precNot, "", true)
			ks = append(ks, keyed{b.String(), p})
		}
	}
	slices.SortFunc(ks, func(a, b keyed) int { return strings.Compare(a.key, b.key) })
	ks = slices.CompactFunc(ks, func(a, b keyed) bool { return a.key == b.key })
	out := make([]Node, len(ks))
	for i, k := range ks {
		out[i] = k.n
	}
	return out
}

// commonField returns the field every leaf of n is scoped to, or "" when
// they differ, any is unscoped, or n holds a topic reference.
func commonField(n Node) string {
	switch n := n.(type) {
	case *Term:
		return n.Field
	case *Phrase:
		return n.Field
	case *Not:
		return commonField(n.Child)
	case *And:
		return commonFieldOf(n.Children)
	case *Or:
		return commonFieldOf(n.Children)
	}
	return ""
}

func commonFieldOf(children []Node) string {
	f := commonField(children[0])
	for _, c := range children[1:] {
		if f == "" || commonField(c) != f {
			return ""
		}
	}
	return f
}

// render writes n; scoped is the field already written by an enclosing
// group, and key selects the normalised form.
func render(b *strings.Builder, n Node, parent int, scoped string, key bool) {
	switch n := n.(type) {
	case *Term:
		if scoped == "" && n.Field != "" {
			b.WriteString(n.Field + ":")
		}
		if key || n.Field == FieldSite {
			b.WriteString(n.Text)
			if n.Prefix {
				b.WriteByte('*')
			}
		} else {
			b.WriteString(n.Raw)
		}
	case *Phrase:
		if scoped == "" && n.Field != "" {
			b.WriteString(n.Field + ":")
		}
		switch {
		case key:
			b.WriteString(`"` + strings.Join(n.Terms, " ") + `"`)
		case n.bare:
			b.WriteString(n.Raw)
		default:
			b.WriteString(`"` + n.Raw + `"`)
		}
	case *TopicRef:
		b.WriteString("topic:" + n.Name)
	case *Not:
		b.WriteByte('-')
		render(b, n.Child, precNot, scoped, key)
	case *And:
		renderGroup(b, n.Children, " ", precAnd, parent, scoped, key)
	case *Or:
		renderGroup(b, n.Children, " OR ", precOr, parent, scoped, key)
	}
}

func renderGroup(b *strings.Builder, children []Node, sep string, prec, parent int, scoped string, key bool) {
	field := ""
	if scoped == "" {
		field = commonFieldOf(children)
	}
	parens := parent > prec || field != ""
	if field != "" {
		b.WriteString(field + ":")
		scoped = field
	}
	if parens {
		b.WriteByte('(')
	}
	for i, c := range children {
		if i > 0 {
			b.WriteString(sep)
		}
		render(b, c, prec, scoped, key)
	}
	if parens {
		b.WriteByte(')')
	}
}

// Topics returns the names of the topics q refers to, in order, each once.
func (q *Query) Topics() []string {
	var out []string
	walk(q.Root, func(n Node) {
		if t, ok := n.(*TopicRef); ok {
			for _, have := range out {
				if have == t.Name {
					return
				}
			}
			out = append(out, t.Name)
		}
	})
	return out
}

// Uses reports whether some term of q is scoped to field (FieldSite, ...).
func (q *Query) Uses(field string) bool {
	found := false
	walk(q.Root, func(n Node) {
		if t, ok := n.(*Term); ok && t.Field == field {
			found = true
		}
	})
	return found
}

// walk calls f on n and every node below it, parents first.
func walk(n Node, f func(Node)) {
	f(n)
	switch n := n.(type) {
	case *And:
		for _, c := range n.Children {
			walk(c, f)
		}
	case *Or:
		for _, c := range n.Children {
			walk(c, f)
		}
	case *Not:
		walk(n.Child, f)
	}
}

// maxTopicDepth bounds how deeply topics may refer to other topics.
const maxTopicDepth = 8

// ResolveTopics returns q with every topic reference replaced by the query
// of that topic, as returned by lookup (which applies the guild-over-global
// rule). Topics may refer to topics; a cycle or an unknown topic is an error
// (ENOTFOUND for an unknown one); a cycle's error shows the path of
// references ("topics cannot refer to each other in a circle (ports →
// ports2 → ports)"). q itself is not changed; the result shares
// its leaves. A query without references is returned as is.
func (q *Query) ResolveTopics(lookup func(name string) (*Query, bool)) (*Query, error) {
	if len(q.Topics()) == 0 {
		return q, nil
	}
	root, err := resolve(q.Root, lookup, nil)
	if err != nil {
		return nil, err
	}
	return &Query{Root: root}, nil
}

func resolve(n Node, lookup func(string) (*Query, bool), stack []string) (Node, error) {
	switch n := n.(type) {
	case *TopicRef:
		path := strings.Join(append(stack[:len(stack):len(stack)], n.Name), " → ")
		if slices.Contains(stack, n.Name) {
			return nil, digestbot.Errorf(digestbot.EINVALID, "topics cannot refer to each other in a circle (%s)", path)
		}
		if len(stack) >= maxTopicDepth {
			return nil, digestbot.Errorf(digestbot.EINVALID, "topics refer to each other more than %d deep (%s)", maxTopicDepth, path)
		}
		t, ok := lookup(n.Name)
		if !ok || t == nil {
			return nil, digestbot.Errorf(digestbot.ENOTFOUND, "there is no topic named %q", n.Name)
		}
		return resolve(t.Root, lookup, append(stack, n.Name))
	case *And:
		cs, err := resolveAll(n.Children, lookup, stack)
		if err != nil {
			return nil, err
		}
		return &And{Children: cs}, nil
	case *Or:
		cs, err := resolveAll(n.Children, lookup, stack)
		if err != nil {
			return nil, err
		}
		return &Or{Children: cs}, nil
	case *Not:
		c, err := resolve(n.Child, lookup, stack)
		if err != nil {
			return nil, err
		}
		return &Not{Child: c}, nil
	}
	return n, nil
}

func resolveAll(children []Node, lookup func(string) (*Query, bool), stack []string) ([]Node, error) {
	out := make([]Node, len(children))
	for i, c := range children {
		r, err := resolve(c, lookup, stack)
		if err != nil {
			return nil, err
		}
		out[i] = r
	}
	return out, nil
}

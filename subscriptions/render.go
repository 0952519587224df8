package subscriptions

import (
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
// and phrase replaced by its analysed tokens. Two queries that match exactly
// the same articles because they differ only in case, accents, quoting style
// or spacing have the same Key.
func (q *Query) Key() string {
	var b strings.Builder
	render(&b, q.Root, precOr, "", true)
	return b.String()
}

// Equal reports whether q and o are the same query (same Key).
func (q *Query) Equal(o *Query) bool { return q.Key() == o.Key() }

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
		if key {
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
// (ENOTFOUND for an unknown one). q itself is not changed; the result shares
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
		for _, s := range stack {
			if s == n.Name {
				return nil, digestbot.Errorf(digestbot.EINVALID, "topic %q refers to itself through %s", n.Name, strings.Join(stack, " -> "))
			}
		}
		if len(stack) >= maxTopicDepth {
			return nil, digestbot.Errorf(digestbot.EINVALID, "topics refer to each other more than %d deep (%s)", maxTopicDepth, strings.Join(stack, " -> "))
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

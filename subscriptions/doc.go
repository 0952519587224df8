package subscriptions

import (
	"net"
	"net/url"
	"slices"
	"sort"
	"strings"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/analysis"
)

// Doc is an article analysed once for matching: every query (and the index)
// reads the same Doc. A Doc is not safe for concurrent use: Query.Match
// builds its term maps lazily, on first use.
type Doc struct {
	body   field // title tokens, then text tokens
	nTitle int   // body.toks[:nTitle] are the title
	source field
	tags   field
	// site holds, for the host of every link of the story, the host and
	// each domain it is a subdomain of (news.example.org, example.org,
	// org), so site:example.org is one exact term for the index and the
	// evaluation alike and never matches badexample.org.
	site field
	urls []string // ResetArticle's buffer
	lang field    // the language's code (analysis.LanguageBase), when known
}

// field is the analysed tokens of one field. bounds separate parts that a
// phrase may not span (title and text; one tag and the next): a phrase from
// i to j is within one part when no bound b has i < b <= j.
type field struct {
	toks     []analysis.Token
	bounds   []int32
	first    map[string]int32 // term -> index of its first occurrence
	next     []int32          // index of the next occurrence of the same term, -1 at the end
	distinct []string         // each term once, in order of first occurrence
	sorted   []string         // distinct, sorted; built on first prefix lookup
	isSorted bool
	indexed  bool // first, next and distinct are built (on first use)
}

func (f *field) reset(toks []analysis.Token) {
	f.toks = toks
	f.isSorted = false
	f.indexed = false
}

// NewDoc analyses an article given by its parts.
func NewDoc(title, text, source string, tags []string) *Doc {
	d := &Doc{}
	d.Reset(title, text, source, tags)
	return d
}

// Reset makes d the analysis of another article, reusing its memory: a
// matcher that analyses many articles in turn allocates far less (and so
// spends far less in the garbage collector) with one Doc it resets. Match
// results do not point into a Doc, so they stay valid.
func (d *Doc) Reset(title, text, source string, tags []string) {
	d.resetBody(title, text, tags)
	d.source.reset(analysis.AppendTokens(d.source.toks[:0], source))
	d.source.bounds = d.source.bounds[:0]
	d.resetSites(nil)
	d.SetLanguage("")
}

// ResetArticle is Reset for an article: its source field holds the name
// of every outlet (Article.AllSources), each a part of its own, so that
// source:NAME finds a story whatever place its outlet has in the list and
// a phrase never spans two names.
func (d *Doc) ResetArticle(a *digestbot.Article) {
	d.resetBody(a.Title, a.Text, a.Tags)
	toks := d.source.toks[:0]
	d.source.bounds = d.source.bounds[:0]
	for _, name := range a.SourceNames() {
		toks = analysis.AppendTokens(toks, name)
		d.source.bounds = append(d.source.bounds, int32(len(toks)))
	}
	d.source.reset(toks)
	urls := d.urls[:0]
	for _, s := range a.AllSources() {
		urls = append(urls, s.URL)
	}
	d.urls = urls
	d.resetSites(urls)
	d.SetLanguage(a.Language)
}

// resetSites fills the site field from the story's links.
func (d *Doc) resetSites(urls []string) {
	toks := d.site.toks[:0]
	for _, u := range urls {
		for h := Host(u); h != ""; {
			if !slices.ContainsFunc(toks, func(t analysis.Token) bool { return t.Text == h }) {
				toks = append(toks, analysis.Token{Text: h, Pos: len(toks)})
			}
			if net.ParseIP(h) != nil {
				break // 192.0.2.1 is not a subdomain of 0.2.1
			}
			_, h, _ = strings.Cut(h, ".")
		}
	}
	d.site.reset(toks)
	d.site.bounds = d.site.bounds[:0]
}

// Host returns the host name of a link in lower case, without a port or a
// final dot; "" when there is none.
func Host(link string) string {
	u, err := url.Parse(link)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
}

// resetBody analyses the title, text and tags.
func (d *Doc) resetBody(title, text string, tags []string) {
	toks := d.body.toks[:0]
	if n := (len(title)+len(text))/5 + 8; cap(toks) < n {
		toks = make([]analysis.Token, 0, n)
	}
	toks = analysis.AppendTokens(toks, title)
	d.nTitle = len(toks)
	toks = analysis.AppendTokens(toks, text)
	d.body.reset(toks)
	d.body.bounds = append(d.body.bounds[:0], int32(d.nTitle))

	toks = d.tags.toks[:0]
	d.tags.bounds = d.tags.bounds[:0]
	for _, tag := range tags {
		toks = analysis.AppendTokens(toks, tag)
		d.tags.bounds = append(d.tags.bounds, int32(len(toks)))
	}
	d.tags.reset(toks)
}

// DocFromArticle analyses an article: its title, text, the names of its
// outlets and its tags (see ResetArticle).
func DocFromArticle(a *digestbot.Article) *Doc {
	d := &Doc{}
	d.ResetArticle(a)
	return d
}

// index builds the term map of the field. The Index does not need it (it
// works on term ids), so only Query.Match pays for it.
func (f *field) index() {
	if f.indexed {
		return
	}
	f.indexed = true
	if f.first == nil {
		f.first = make(map[string]int32, len(f.toks)/2+1)
	} else {
		clear(f.first)
	}
	if cap(f.next) < len(f.toks) {
		f.next = make([]int32, len(f.toks))
	}
	f.next = f.next[:len(f.toks)]
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
	f.distinct = f.distinct[:0]
	for i, t := range f.toks {
		if f.first[t.Text] == int32(i) {
			f.distinct = append(f.distinct, t.Text)
		}
	}
}

// has reports whether term occurs in the field, at an index below limit.
func (f *field) has(term string, limit int) bool {
	f.index()
	i, ok := f.first[term]
	return ok && int(i) < limit
}

// hasPrefix reports whether a term starting with p occurs below limit.
func (f *field) hasPrefix(p string, limit int) bool {
	f.index()
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
	if !f.isSorted {
		f.sorted = append(f.sorted[:0], f.distinct...)
		sort.Strings(f.sorted)
		f.isSorted = true
	}
	i := sort.SearchStrings(f.sorted, p)
	return i < len(f.sorted) && strings.HasPrefix(f.sorted[i], p)
}

// hasPhrase reports whether terms occur consecutively within one segment,
// ending below limit.
func (f *field) hasPhrase(terms []string, limit int) bool {
	f.index()
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
		k := 1
		for ; k < len(terms); k++ {
			if f.toks[int(i)+k].Text != terms[k] {
				break
			}
		}
		if k == len(terms) && f.within(int(i), end-1) {
			return true
		}
	}
	return false
}

// within reports whether tokens i..j are in one part of the field.
func (f *field) within(i, j int) bool {
	for _, b := range f.bounds {
		if int(b) > i && int(b) <= j {
			return false
		}
	}
	return true
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
	case FieldSite:
		return &d.site, len(d.site.toks)
	case FieldLang:
		return &d.lang, len(d.lang.toks)
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
		if n.Field == FieldLang {
			return out // a language is not a term of the text
		}
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

// Excluded explains a miss: when q does not match d but would without its
// exclusions, it returns the exclusions that d set off, as written
// ("-BMW"); otherwise nil. It is for showing users why an article they
// expected is not there.
func (q *Query) Excluded(d *Doc) []string {
	if d.eval(q.Root) || !d.evalIgnoringExclusions(q.Root) {
		return nil
	}
	var out []string
	var walk func(Node)
	walk = func(n Node) {
		switch n := n.(type) {
		case *And:
			for _, c := range n.Children {
				walk(c)
			}
		case *Or:
			for _, c := range n.Children {
				walk(c)
			}
		case *Not:
			if d.eval(n.Child) {
				var b strings.Builder
				render(&b, n, precOr, "", false)
				out = appendOnce(out, b.String())
			}
		}
	}
	walk(q.Root)
	return out
}

// evalIgnoringExclusions is eval with every exclusion taken as met.
func (d *Doc) evalIgnoringExclusions(n Node) bool {
	switch n := n.(type) {
	case *And:
		for _, c := range n.Children {
			if !d.evalIgnoringExclusions(c) {
				return false
			}
		}
		return true
	case *Or:
		for _, c := range n.Children {
			if d.evalIgnoringExclusions(c) {
				return true
			}
		}
		return false
	case *Not:
		return true
	}
	return d.eval(n)
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

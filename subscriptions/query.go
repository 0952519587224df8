// Package subscriptions holds the query language of keyword subscriptions,
// the matcher index that evaluates every stored query against each new
// article at once (a percolator), topics, and the matcher job that turns
// ingested articles into per-channel pending items.
//
// # Query language
//
//	confucius institute          both words (AND is implicit; AND may be written)
//	"facial recognition"         the exact phrase (“typographic quotes” work too)
//	huawei OR zte                either
//	-bmw  -"red line"  -(a OR b) excluded word, phrase or group
//	surveillance NOT bmw         the same as surveillance -bmw
//	(huawei OR zte) 5g           grouping
//	surveil*                     any word starting with surveil
//	title:norway                 field scopes: title:, source:, tag: (also on
//	source:"radio free asia"     a phrase or a group: title:(a OR b))
//	site:example.org             stories whose link is on example.org or a
//	                             subdomain of it (news.example.org)
//	topic:surveillance           a named topic (see ResolveTopics)
//	lang:zh                      the article's language (see FieldLang)
//
// Precedence: "-" (NOT) binds tightest, then AND (juxtaposition), then OR:
// a b OR c -d means (a AND b) OR (c AND NOT d). OR, AND and NOT are operators
// only in upper case, as Google Alerts' habits have them; in lower case they
// are words. Any other word followed by a colon and a letter (intitle:x) is
// refused as an unknown field rather than searched for as two words, so a
// habit from another search engine never silently matches nothing.
// Words are analysed as article text is (package analysis):
// case, width and accents do not matter, words match whole words, and a word
// that analyses to several tokens (China-centric, U.S., 人脸识别) is a phrase.
// Unscoped terms search the title and the text; a phrase never spans the two.
//
// Limits: 500 characters, 50 terms (words, phrases and topic references),
// and every alternative must require something that is not excluded (-bmw
// alone, or a OR -b, would match nearly every article). Errors are EINVALID
// and give the 1-based character position: "unclosed quote at 14".
package subscriptions

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/analysis"
)

// Limits of a query.
const (
	MaxQueryChars = digestbot.MaxQueryLen // characters (runes)
	MaxQueryTerms = 50                    // words, phrases and topic references
)

// Field names usable as scopes. FieldAny (empty) searches title and text.
const (
	FieldAny    = ""
	FieldTitle  = "title"
	FieldSource = "source"
	FieldTag    = "tag"
	// FieldSite scopes a domain name: site:example.org matches a story one
	// of whose links is on example.org or any subdomain of it.
	FieldSite = "site"
)

// Query is a parsed query. Its Root is the syntax tree; it is immutable once
// parsed and safe for concurrent use.
type Query struct {
	Root Node
}

// Node is a node of the query syntax tree: *Term, *Phrase, *And, *Or, *Not
// or *TopicRef.
type Node interface{ node() }

// Term is one analysed word, optionally a prefix, or a domain name.
type Term struct {
	Field  string // FieldAny, FieldTitle, FieldSource, FieldTag or FieldSite
	Text   string // the analysed token (analysis.Tokenize), without the *; for FieldSite the domain in lower case
	Prefix bool   // matches every token that starts with Text
	Raw    string // as written, including a trailing * (what Match reports); for FieldSite "site:" and the domain
}

// Phrase is a sequence of analysed tokens that must stand together in this
// order. A quoted phrase, or a word that analyses to several tokens.
type Phrase struct {
	Field string
	Terms []string // analysed tokens, at least one
	Raw   string   // as written, without quotes, spaces collapsed
	bare  bool     // written as one word (China-centric), not quoted
}

// And matches when every child matches.
type And struct{ Children []Node }

// Or matches when any child matches.
type Or struct{ Children []Node }

// Not matches when its child does not. It only appears under an And (or as
// a branch that the parser has checked is not alone).
type Not struct{ Child Node }

// TopicRef refers to a named topic; ResolveTopics replaces it with the
// topic's query. An unresolved reference matches nothing.
type TopicRef struct{ Name string }

func (*Term) node()     {}
func (*Phrase) node()   {}
func (*And) node()      {}
func (*Or) node()       {}
func (*Not) node()      {}
func (*TopicRef) node() {}

// Parse parses a query. Errors are EINVALID and name the position.
func Parse(s string) (*Query, error) {
	if n := utf8.RuneCountInString(s); n > MaxQueryChars {
		return nil, digestbot.Errorf(digestbot.EINVALID, "query is %d characters long; the limit is %d", n, MaxQueryChars)
	}
	if !utf8.ValidString(s) {
		return nil, digestbot.Errorf(digestbot.EINVALID, "query is not valid UTF-8")
	}
	p := &parser{lx: lexer{s: s}}
	if err := p.advance(); err != nil {
		return nil, err
	}
	if p.tok.kind == tEOF {
		return nil, digestbot.Errorf(digestbot.EINVALID, "query is empty")
	}
	root, err := p.parseOr("")
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tEOF {
		return nil, p.errorf(p.tok.off, "unexpected %s", p.tok.describe())
	}
	if p.terms > MaxQueryTerms {
		return nil, digestbot.Errorf(digestbot.EINVALID, "query has %d terms; the limit is %d", p.terms, MaxQueryTerms)
	}
	q := &Query{Root: root}
	// The canonical text is what a subscription stores, so it must be
	// within the limit too (it can be a little longer than the input when
	// it adds a space between a word and a group: a(b) is a (b)).
	if n := utf8.RuneCountInString(q.String()); n > MaxQueryChars {
		return nil, digestbot.Errorf(digestbot.EINVALID, "query is %d characters long when written out; the limit is %d", n, MaxQueryChars)
	}
	if !required(root) {
		if _, ok := root.(*Or); ok {
			return nil, digestbot.Errorf(digestbot.EINVALID, "every OR alternative needs a word or phrase that is not excluded")
		}
		return nil, digestbot.Errorf(digestbot.EINVALID, "a query cannot be made only of exclusions; add a word or phrase to look for")
	}
	return q, nil
}

// MustParse is Parse for queries known to be valid (tests, built-in
// defaults); it panics on an error.
func MustParse(s string) *Query {
	q, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return q
}

// required reports whether n can only match an article that contains at
// least one of its positive terms, which is what lets the index find it.
func required(n Node) bool {
	switch n := n.(type) {
	case *Term, *Phrase, *TopicRef:
		return true
	case *And:
		for _, c := range n.Children {
			if required(c) {
				return true
			}
		}
		return false
	case *Or:
		for _, c := range n.Children {
			if !required(c) {
				return false
			}
		}
		return true
	}
	return false
}

type parser struct {
	lx    lexer
	tok   token
	terms int
}

func (p *parser) advance() error {
	t, err := p.lx.next(p)
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

// errorf returns an EINVALID error that names the 1-based character position
// of byte offset off.
func (p *parser) errorf(off int, format string, args ...any) error {
	return digestbot.Errorf(digestbot.EINVALID, "%s at %d", fmt.Sprintf(format, args...), p.pos(off))
}

// pos is the 1-based character position of byte offset off.
func (p *parser) pos(off int) int { return utf8.RuneCountInString(p.lx.s[:off]) + 1 }

// unknownField refuses name: as a field scope, naming the ones there are.
// A link gets its own advice: site: is what finds a site's stories.
func (p *parser) unknownField(off int, name string) error {
	if n := strings.ToLower(name); n == "http" || n == "https" {
		return digestbot.Errorf(digestbot.EINVALID, "a link cannot be searched for (at %d): write site:example.org for a site's stories, or quote the text", p.pos(off))
	}
	return digestbot.Errorf(digestbot.EINVALID, "unknown field %s: at %d; the fields are %s (put the word in quotes to search for it as it is)", name, p.pos(off), fieldList)
}

func (p *parser) parseOr(field string) (Node, error) {
	var children []Node
	for {
		if p.tok.kind == tOr {
			return nil, p.errorf(p.tok.off, "OR needs a term before it")
		}
		n, err := p.parseAnd(field)
		if err != nil {
			return nil, err
		}
		if o, ok := n.(*Or); ok {
			children = append(children, o.Children...)
		} else {
			children = append(children, n)
		}
		if p.tok.kind != tOr {
			break
		}
		orTok := p.tok
		if err := p.advance(); err != nil {
			return nil, err
		}
		if p.tok.kind == tEOF || p.tok.kind == tRParen || p.tok.kind == tOr {
			return nil, p.errorf(orTok.off, "OR needs a term after it")
		}
	}
	if len(children) == 1 {
		return children[0], nil
	}
	return &Or{Children: children}, nil
}

func (p *parser) parseAnd(field string) (Node, error) {
	var children []Node
	for {
		switch p.tok.kind {
		case tEOF, tRParen, tOr:
			if len(children) == 0 {
				if p.tok.kind == tRParen {
					return nil, p.errorf(p.tok.off, "unexpected )")
				}
				return nil, p.errorf(p.tok.off, "expected a word, phrase or group, found %s", p.tok.describe())
			}
			if len(children) == 1 {
				return children[0], nil
			}
			return &And{Children: children}, nil
		case tAnd:
			andTok := p.tok
			if len(children) == 0 {
				return nil, p.errorf(andTok.off, "AND needs a term before it")
			}
			if err := p.advance(); err != nil {
				return nil, err
			}
			if k := p.tok.kind; k == tEOF || k == tRParen || k == tOr || k == tAnd {
				return nil, p.errorf(andTok.off, "AND needs a term after it")
			}
			continue
		}
		n, err := p.parseUnary(field)
		if err != nil {
			return nil, err
		}
		if a, ok := n.(*And); ok {
			children = append(children, a.Children...)
		} else {
			children = append(children, n)
		}
	}
}

func (p *parser) parseUnary(field string) (Node, error) {
	if p.tok.kind == tNot {
		notTok := p.tok
		if err := p.advance(); err != nil {
			return nil, err
		}
		if k := p.tok.kind; notTok.text != "" && (k == tEOF || k == tRParen || k == tOr || k == tAnd) {
			return nil, p.errorf(notTok.off, "NOT must be followed by the word, phrase or group to exclude")
		}
		child, err := p.parseUnary(field)
		if err != nil {
			return nil, err
		}
		return &Not{Child: child}, nil
	}
	return p.parsePrimary(field)
}

func (p *parser) parsePrimary(field string) (Node, error) {
	t := p.tok
	switch t.kind {
	case tField:
		if field != "" {
			return nil, p.errorf(t.off, "%s: inside %s: is not allowed", t.text, field)
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		switch p.tok.kind {
		case tWord, tPhrase, tLParen, tField, tTopic:
		default:
			return nil, p.errorf(t.off, "%s: needs a word, phrase or group right after it", t.text)
		}
		return p.parsePrimary(t.text)
	case tTopic:
		if field != "" {
			return nil, p.errorf(t.off, "topic: cannot be scoped to %s:", field)
		}
		name := digestbot.NormalizeTopicName(t.text)
		if err := digestbot.ValidateTopicName(name); err != nil {
			return nil, p.errorf(t.off, "%s", digestbot.ErrorMessage(err))
		}
		p.terms++
		if err := p.advance(); err != nil {
			return nil, err
		}
		return &TopicRef{Name: name}, nil
	case tLParen:
		if err := p.advance(); err != nil {
			return nil, err
		}
		if p.tok.kind == tRParen {
			return nil, p.errorf(t.off, "empty parentheses")
		}
		n, err := p.parseOr(field)
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tRParen {
			return nil, p.errorf(t.off, "unclosed parenthesis")
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		return n, nil
	case tWord:
		n, err := p.word(field, t)
		if err != nil {
			return nil, err
		}
		p.terms++
		return n, p.advance()
	case tPhrase:
		if field == FieldLang {
			return nil, p.errorf(t.off, "lang: takes a language code such as en, zh or fr, not a phrase")
		}
		if field == FieldSite {
			return nil, p.errorf(t.off, "site: takes a domain name such as example.org, not a phrase")
		}
		raw := strings.Join(strings.Fields(t.text), " ")
		terms := analysis.Terms(raw)
		if len(terms) == 0 {
			return nil, p.errorf(t.off, "phrase %s has no letters or digits to search for", t.describe())
		}
		p.terms++
		return &Phrase{Field: field, Terms: terms, Raw: raw}, p.advance()
	case tRParen:
		return nil, p.errorf(t.off, "unexpected )")
	}
	return nil, p.errorf(t.off, "expected a word, phrase or group, found %s", t.describe())
}

func (p *parser) word(field string, t token) (Node, error) {
	if field == FieldLang {
		return p.langTerm(t)
	}
	w := t.text
	if field == FieldSite {
		d, err := domain(w)
		if err != "" {
			return nil, p.errorf(t.off, "site:%s: %s", w, err)
		}
		return &Term{Field: FieldSite, Text: d, Raw: FieldSite + ":" + d}, nil
	}
	prefix := strings.HasSuffix(w, "*")
	body := strings.TrimSuffix(w, "*")
	if i := strings.IndexByte(body, '*'); i >= 0 {
		return nil, p.errorf(t.off+i, "* may only end a word")
	}
	terms := analysis.Terms(body)
	switch {
	case len(terms) == 0:
		return nil, p.errorf(t.off, "%q has no letters or digits to search for", w)
	case len(terms) == 1:
		return &Term{Field: field, Text: terms[0], Prefix: prefix, Raw: w}, nil
	case prefix:
		return nil, p.errorf(t.off, "prefix %q must be a single word", w)
	}
	return &Phrase{Field: field, Terms: terms, Raw: w, bare: true}, nil
}

// MaxDomainLen is the longest domain name (RFC 1035).
const MaxDomainLen = 253

// domain checks a site: domain and returns it in lower case without a
// final dot; the reason is "" when it is good. Letters of any script,
// digits and hyphens make a label; a single label (site:gov) is a
// top-level domain.
func domain(w string) (string, string) {
	d := strings.TrimSuffix(strings.ToLower(w), ".")
	switch {
	case strings.Contains(d, "://") || strings.ContainsAny(d, "/?#"):
		return "", "give the domain name alone, such as example.org, without http:// or a path"
	case strings.Contains(d, "*"):
		return "", "a domain name has no *; site:example.org already covers its subdomains"
	case utf8.RuneCountInString(d) > MaxDomainLen:
		return "", fmt.Sprintf("a domain name has at most %d characters", MaxDomainLen)
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" {
			return "", "not a domain name such as example.org (an empty part between dots)"
		}
		for _, r := range label {
			if r != '-' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
				return "", fmt.Sprintf("%q cannot be part of a domain name", r)
			}
		}
	}
	return d, ""
}

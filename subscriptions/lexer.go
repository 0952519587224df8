package subscriptions

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// The lexer cuts a query into tokens: words, phrases, parentheses, the
// operators OR, AND, NOT and -, field scopes and topic references.

type tokKind int

const (
	tEOF tokKind = iota
	tWord
	tPhrase
	tLParen
	tRParen
	tOr
	tAnd
	tNot
	tField
	tTopic
)

type token struct {
	kind tokKind
	text string // word text, phrase contents, field name or topic name
	off  int    // byte offset in the query
}

func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "end of query"
	case tLParen:
		return "("
	case tRParen:
		return ")"
	case tOr:
		return "OR"
	case tAnd:
		return "AND"
	case tNot:
		if t.text != "" {
			return t.text
		}
		return "-"
	case tField:
		return t.text + ":"
	case tTopic:
		return "topic:" + t.text
	case tPhrase:
		return `"` + t.text + `"`
	}
	return strings.TrimSpace(t.text)
}

type lexer struct {
	s   string
	off int
	// fieldPending is set right after a field scope ("title:"), where no
	// space may follow; field is that scope.
	fieldPending bool
	field        string
}

func isQuoteRune(r rune) bool {
	switch r {
	case '"', '\u201C', '\u201D', '\u201E', '\u201F', '\uFF02':
		return true
	}
	return false
}

func isWordBreak(r rune) bool {
	return unicode.IsSpace(r) || r == '(' || r == ')' || isQuoteRune(r)
}

var fieldNames = map[string]bool{FieldTitle: true, FieldSource: true, FieldTag: true, FieldSite: true, FieldLang: true, "topic": true}

// fieldList names the fields for an error about an unknown one.
const fieldList = "title:, source:, tag:, site:, lang: and topic:"

// looksLikeField reports whether word[:colon] followed by what comes after
// the colon reads as a field scope: letters, a colon, and no space after it
// (intitle:x, foo:bar), unlike "10:30", "Note: x" or "人民日报:".
func looksLikeField(s string, start, colon int) bool {
	if colon == start || colon+1 >= len(s) {
		return false
	}
	for _, c := range []byte(s[start:colon]) {
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') {
			return false
		}
	}
	r, _ := utf8.DecodeRuneInString(s[colon+1:])
	return !isWordBreak(r)
}

// next returns the next token. Errors are positioned at the offending rune.
func (lx *lexer) next(p *parser) (token, error) {
	s := lx.s
	afterField := lx.fieldPending
	lx.fieldPending = false
	if !afterField {
		for lx.off < len(s) {
			r, n := utf8.DecodeRuneInString(s[lx.off:])
			if !unicode.IsSpace(r) {
				break
			}
			lx.off += n
		}
	}
	if lx.off >= len(s) {
		if afterField {
			return token{}, p.errorf(lx.off, "a field scope needs a word, phrase or group right after it")
		}
		return token{kind: tEOF, off: lx.off}, nil
	}
	start := lx.off
	r, n := utf8.DecodeRuneInString(s[start:])
	switch {
	case unicode.IsSpace(r):
		return token{}, p.errorf(start, "a field scope needs a word, phrase or group right after it")
	case r == '(':
		lx.off += n
		return token{kind: tLParen, off: start}, nil
	case r == ')':
		lx.off += n
		return token{kind: tRParen, off: start}, nil
	case isQuoteRune(r):
		i := start + n
		for i < len(s) {
			q, m := utf8.DecodeRuneInString(s[i:])
			if isQuoteRune(q) {
				lx.off = i + m
				return token{kind: tPhrase, text: s[start+n : i], off: start}, nil
			}
			i += m
		}
		return token{}, p.errorf(start, "unclosed quote")
	case r == '-':
		if start+n >= len(s) {
			return token{}, p.errorf(start, "- must be followed by the word, phrase or group to exclude")
		}
		if q, _ := utf8.DecodeRuneInString(s[start+n:]); unicode.IsSpace(q) || q == ')' {
			return token{}, p.errorf(start, "- must be followed directly by the word, phrase or group to exclude")
		}
		lx.off += n
		return token{kind: tNot, off: start}, nil
	}
	i := start
	for i < len(s) {
		q, m := utf8.DecodeRuneInString(s[i:])
		if isWordBreak(q) {
			break
		}
		if q == ':' {
			name := strings.ToLower(s[start:i])
			// site:https://… gets site:'s own advice.
			if !fieldNames[name] && !(afterField && lx.field == FieldSite) && looksLikeField(s, start, i) {
				return token{}, p.unknownField(start, s[start:i])
			}
			if fieldNames[name] {
				if name == "topic" {
					j := i + 1
					for j < len(s) {
						q, m := utf8.DecodeRuneInString(s[j:])
						if isWordBreak(q) {
							break
						}
						j += m
					}
					lx.off = j
					return token{kind: tTopic, text: s[i+1 : j], off: start}, nil
				}
				lx.off = i + 1
				lx.fieldPending, lx.field = true, name
				return token{kind: tField, text: name, off: start}, nil
			}
		}
		i += m
	}
	lx.off = i
	w := s[start:i]
	switch w {
	case "OR":
		return token{kind: tOr, off: start}, nil
	case "AND":
		return token{kind: tAnd, off: start}, nil
	case "NOT":
		// The word form of "-": what follows may be written after a space.
		return token{kind: tNot, text: w, off: start}, nil
	}
	return token{kind: tWord, text: w, off: start}, nil
}

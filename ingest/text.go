package ingest

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// HTMLToText turns an HTML fragment (or plain text) into plain text:
// scripts, styles and other non-content elements are dropped, entities are
// decoded, block elements become paragraph breaks ("\n\n"), <br> a line
// break, and white space inside a paragraph is folded to single spaces.
// Text without markup takes a fast path with the same folding.
func HTMLToText(s string) string {
	if !strings.ContainsAny(s, "<&") {
		return foldParagraphs(s)
	}
	var w textWriter
	w.b.Grow(len(s))
	z := html.NewTokenizer(strings.NewReader(s))
	skip := 0 // depth inside elements whose content is not text
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return w.String()
		case html.TextToken:
			if skip == 0 {
				w.text(z.Text())
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			if skipped[a] {
				if tt == html.StartTagToken && !voidSkipped[a] {
					skip++
				}
				continue
			}
			switch {
			case a == atom.Br:
				w.lineBreak()
			case blocks[a]:
				w.paragraph()
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			if skipped[a] && !voidSkipped[a] {
				if skip > 0 {
					skip--
				}
				continue
			}
			if blocks[a] {
				w.paragraph()
			}
		}
	}
}

// skipped elements hold no readable text of the article.
var skipped = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Noscript: true, atom.Template: true,
	atom.Iframe: true, atom.Object: true, atom.Svg: true, atom.Math: true,
	atom.Head: true, atom.Title: true, atom.Select: true, atom.Button: true,
	atom.Canvas: true, atom.Audio: true, atom.Video: true, atom.Embed: true,
}

// voidSkipped are skipped elements that never have an end tag.
var voidSkipped = map[atom.Atom]bool{atom.Embed: true}

// blocks start and end a paragraph.
var blocks = map[atom.Atom]bool{
	atom.P: true, atom.Div: true, atom.Section: true, atom.Article: true,
	atom.Header: true, atom.Footer: true, atom.Aside: true, atom.Nav: true,
	atom.Main: true, atom.Blockquote: true, atom.Pre: true, atom.Figure: true,
	atom.Figcaption: true, atom.Ul: true, atom.Ol: true, atom.Li: true,
	atom.Dl: true, atom.Dt: true, atom.Dd: true, atom.Table: true, atom.Tr: true,
	atom.Td: true, atom.Th: true, atom.Caption: true, atom.H1: true, atom.H2: true,
	atom.H3: true, atom.H4: true, atom.H5: true, atom.H6: true, atom.Hr: true,
	atom.Address: true, atom.Details: true, atom.Summary: true, atom.Form: true,
	atom.Fieldset: true, atom.Body: true, atom.Html: true,
}

// textWriter accumulates folded text with pending breaks, so that runs of
// breaks and spaces collapse and nothing dangles at either end.
type textWriter struct {
	b       strings.Builder
	space   bool // a space is pending
	breakTo int  // pending break: 0 none, 1 line, 2 paragraph
}

func (w *textWriter) text(t []byte) {
	for i := 0; i < len(t); {
		c := t[i]
		var (
			r    rune
			size = 1
		)
		if c < utf8.RuneSelf {
			// ASCII without the Unicode tables: space, control, or text.
			switch {
			case c == ' ' || (c >= '\t' && c <= '\r'):
				w.space = true
				i++
				continue
			case c < ' ' || c == 0x7f:
				i++
				continue
			}
			r = rune(c)
		} else {
			r, size = utf8.DecodeRune(t[i:])
		}
		if isSpace(r) {
			w.space = true
			i += size
			continue
		}
		if isControl(r) {
			i += size
			continue
		}
		w.flush()
		// Copy the run of plain characters up to the next space or control.
		j := i + size
		for j < len(t) {
			c := t[j]
			if c >= utf8.RuneSelf || c <= ' ' || c == 0x7f {
				break
			}
			j++
		}
		w.b.Write(t[i:j])
		i = j
	}
}

// flush writes the pending separator before more text.
func (w *textWriter) flush() {
	if w.b.Len() > 0 {
		switch {
		case w.breakTo == 2:
			w.b.WriteString("\n\n")
		case w.breakTo == 1:
			w.b.WriteByte('\n')
		case w.space:
			w.b.WriteByte(' ')
		}
	}
	w.breakTo, w.space = 0, false
}

func (w *textWriter) paragraph() { w.breakTo = 2 }

func (w *textWriter) lineBreak() {
	if w.breakTo < 1 {
		w.breakTo = 1
	}
}

func (w *textWriter) String() string { return w.b.String() }

// foldParagraphs folds white space inside paragraphs of plain text (a
// paragraph ends at a blank line; a single newline is a space) and drops
// control characters.
func foldParagraphs(s string) string {
	var w textWriter
	w.b.Grow(len(s))
	newlines := 0
	for _, r := range s {
		switch {
		case r == '\n':
			newlines++
			if newlines >= 2 {
				w.paragraph()
			}
			w.space = true
			continue
		case r == '\r':
			continue
		case isSpace(r):
			w.space = true
			continue
		}
		newlines = 0
		if isControl(r) {
			continue
		}
		var buf [utf8.UTFMax]byte
		n := utf8.EncodeRune(buf[:], r)
		w.text(buf[:n])
	}
	return w.String()
}

// FoldSpace folds every run of white space (no-break spaces included) to a
// single space and trims the ends: for titles, names and other one-line text.
func FoldSpace(s string) string {
	var w textWriter
	for _, r := range s {
		if isSpace(r) {
			w.space = true
			continue
		}
		if isControl(r) {
			continue
		}
		var buf [utf8.UTFMax]byte
		n := utf8.EncodeRune(buf[:], r)
		w.text(buf[:n])
	}
	return w.String()
}

// isSpace reports white space, counting no-break and zero-width spaces that
// pages use as filler.
func isSpace(r rune) bool {
	return unicode.IsSpace(r) || r == '\u00a0' || r == '\u200b' || r == '\ufeff' || r == '\u2060'
}

// isControl reports control and format characters that carry no text (and
// the replacement character left by invalid input).
func isControl(r rune) bool {
	return (r < 0x20 || (r >= 0x7f && r < 0xa0)) || r == utf8.RuneError
}

// Package summarize makes short extractive summaries: it splits plain text
// into sentences (Latin and CJK punctuation alike) and keeps the lead that
// fits a size, cutting at a word boundary with an ellipsis only when a
// sentence has to be broken. It is pure: no I/O, no state.
package summarize

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Ellipsis ends a summary or a cut that broke off inside a sentence.
const Ellipsis = "…"

// Summarize returns the lead of text in at most max runes: as many whole
// sentences from the start as fit, or, when even the first sentence is too
// long, that sentence cut at a word boundary and ended with an ellipsis.
// White space is folded to single spaces. max <= 0 yields "".
func Summarize(text string, max int) string {
	if max <= 0 {
		return ""
	}
	var (
		b     strings.Builder
		n     int
		first = true
		sents []string
	)
	// Paragraphs are split one at a time: only the lead is needed, and
	// articles can be long.
	for rest := text; rest != ""; {
		para := rest
		if i := strings.Index(rest, "\n\n"); i >= 0 {
			para, rest = rest[:i], rest[i+2:]
		} else {
			rest = ""
		}
		if para = fold(para); para == "" {
			continue
		}
		sents = splitParagraph(para, sents[:0])
		for _, s := range sents {
			sep := ""
			if !first {
				sep = joiner(b.String(), s)
			}
			sn := utf8.RuneCountInString(s) + len(sep)
			if n+sn > max {
				if first {
					return Cut(s, max)
				}
				return b.String()
			}
			b.WriteString(sep)
			b.WriteString(s)
			n += sn
			first = false
		}
	}
	return b.String()
}

// joiner is the separator between two sentences: none between CJK
// sentences (they are written without spaces), one space otherwise.
func joiner(prev, next string) string {
	last, _ := utf8.DecodeLastRuneInString(prev)
	first, _ := utf8.DecodeRuneInString(next)
	if isCJK(last) || isCJKPunct(last) {
		if isCJK(first) || isCJKPunct(first) {
			return ""
		}
	}
	return " "
}

// Cut returns text folded to single spaces and shortened to at most max
// runes. When it must shorten, it breaks at the last word boundary (a space,
// or between two CJK characters, which are written without spaces) that
// leaves room for the ellipsis, drops trailing punctuation that would dangle
// before it, and appends "…". A single word longer than max is broken inside.
func Cut(text string, max int) string {
	text = fold(text)
	if max <= 0 {
		return ""
	}
	if utf8.RuneCountInString(text) <= max {
		return text
	}
	if max == 1 {
		return Ellipsis
	}
	// Byte offset just past the (max-1)th rune: the most we may keep.
	limit, count := 0, 0
	for i := range text {
		if count == max-1 {
			limit = i
			break
		}
		count++
	}
	cut := -1
	prev := rune(-1)
	for i, r := range text {
		if i > limit {
			break
		}
		switch {
		case r == ' ':
			cut = i
		case i > 0 && isCJK(r) && (isCJK(prev) || isCJKPunct(prev)):
			cut = i
		}
		prev = r
	}
	if cut <= 0 {
		cut = limit
	}
	kept := strings.TrimRightFunc(text[:cut], func(r rune) bool {
		return unicode.IsSpace(r) || strings.ContainsRune(",;:-–—、，；：(", r)
	})
	if kept == "" {
		kept = text[:limit]
	}
	return kept + Ellipsis
}

// Sentences splits plain text into sentences, in order, with white space
// folded inside each. A sentence ends at '.', '!' or '?' followed by white
// space (after any closing quotes or brackets), at the CJK marks 。！？ (no
// space needed), at an ellipsis followed by space, and at every paragraph
// break (a blank line). Common abbreviations ("Mr.", "U.S.", "Co.") and
// single-letter initials do not end a sentence; neither do decimal points.
func Sentences(text string) []string {
	var out []string
	for _, para := range paragraphs(text) {
		out = splitParagraph(para, out)
	}
	return out
}

// paragraphs splits at blank lines and folds white space inside each.
func paragraphs(text string) []string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	var out []string
	for _, p := range strings.Split(text, "\n\n") {
		if p = fold(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func splitParagraph(p string, out []string) []string {
	start := 0
	for i := 0; i < len(p); {
		r, size := utf8.DecodeRuneInString(p[i:])
		end := -1 // byte offset where the sentence ends (exclusive)
		switch {
		case r == '。' || r == '！' || r == '？' || r == '｡':
			end = skipClosers(p, i+size)
		case r == '.' || r == '!' || r == '?' || r == '…':
			j := skipClosers(p, i+size)
			if j == len(p) {
				end = j
			} else if next, _ := utf8.DecodeRuneInString(p[j:]); next == ' ' {
				if r != '.' || !isAbbreviation(p[start:i]) {
					end = j
				}
			}
		}
		if end < 0 {
			i += size
			continue
		}
		if s := strings.TrimSpace(p[start:end]); s != "" {
			out = append(out, s)
		}
		start, i = end, end
	}
	if s := strings.TrimSpace(p[start:]); s != "" {
		out = append(out, s)
	}
	return out
}

// skipClosers moves past repeated terminators and closing quotes and
// brackets, which belong to the sentence they close.
func skipClosers(p string, i int) int {
	for i < len(p) {
		r, size := utf8.DecodeRuneInString(p[i:])
		if !strings.ContainsRune(`"')]}”’»」』）】.!?。！？…`, r) {
			break
		}
		i += size
	}
	return i
}

// abbreviations end in a period that rarely ends a sentence.
var abbreviations = map[string]bool{
	"mr": true, "mrs": true, "ms": true, "dr": true, "prof": true, "sr": true, "jr": true,
	"st": true, "co": true, "corp": true, "inc": true, "ltd": true, "vs": true,
	"no": true, "gen": true, "gov": true, "sen": true, "rep": true, "rev": true, "lt": true,
	"col": true, "capt": true, "mt": true, "jan": true, "feb": true, "mar": true, "apr": true,
	"jun": true, "jul": true, "aug": true, "sep": true, "sept": true, "oct": true, "nov": true,
	"dec": true, "e.g": true, "i.e": true, "approx": true, "est": true, "fig": true,
}

// isAbbreviation reports whether before (the sentence so far, up to a
// period) ends in a known abbreviation or in initials such as "U.S" or "J".
func isAbbreviation(before string) bool {
	k := strings.LastIndexAny(before, " (\"“‘")
	word := before[k+1:]
	if word == "" {
		return false
	}
	if abbreviations[strings.ToLower(word)] {
		return true
	}
	// Initials: single capital letters separated by periods ("U.S", "J.R.R", "J").
	for _, part := range strings.Split(word, ".") {
		r, size := utf8.DecodeRuneInString(part)
		if size != len(part) || !unicode.IsUpper(r) {
			return false
		}
	}
	return true
}

// fold replaces every run of white space (including no-break spaces) with a
// single space and trims the ends.
func fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			if c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' {
				space = true
				continue
			}
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteByte(c)
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if unicode.IsSpace(r) || r == '\u00a0' || r == '\u200b' || r == '\ufeff' {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteString(s[i-size : i])
	}
	return b.String()
}

// isCJK reports whether r is a Han, Hiragana or Katakana character, scripts
// whose words are not separated by spaces. (Korean uses spaces.)
func isCJK(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana)
}

// isCJKPunct reports whether r is full-width punctuation used with CJK text.
func isCJKPunct(r rune) bool {
	return (r >= 0x3000 && r <= 0x303f) || (r >= 0xff00 && r <= 0xff65)
}

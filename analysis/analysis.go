// Package analysis turns text into the normalised tokens that queries,
// the matcher index, lookup and digest highlighting all agree on.
//
// The rules, the same for queries and for articles:
//
//   - Unicode NFKC (full-width and compatibility forms fold to their plain
//     forms), full case folding (ß ~ ss), and accent folding: diacritics of
//     the general combining blocks are removed and a few letters that have no
//     decomposition are spelled out (ø→o, æ→ae, ł→l, đ→d, þ→th, œ→oe), so
//     "Bøckman" finds "Bockman" and "Café" finds "cafe". Marks that belong to
//     a script's own blocks (Devanagari vowel signs, Japanese dakuten) are kept
//     because they change the letter, not its accent.
//   - Typographic apostrophes (’ ‘ ʼ ＇) fold to ' and typographic quotes
//     (“ ” „ « ») to " in Normalize.
//   - Scripts written with spaces are split into whole words: a token is a run
//     of letters, digits and combining marks; an apostrophe between two
//     letters stays inside the word ("don't", "o'brien"). Everything else
//     separates words, so "China-centric" is the two tokens china, centric and
//     "China" never matches inside "Chinatown".
//   - Possessives: a trailing 's is dropped, so "China’s" and "China's" are
//     both the token china, and the query China finds "China’s". The query
//     China's is the same as China.
//   - Chinese, Japanese and Korean (Han, Hiragana, Katakana, Hangul) are not
//     segmented into words: every character is a token of its own, with
//     consecutive positions. A CJK word in a query therefore becomes a phrase
//     of its characters and matches wherever those characters stand together,
//     however the text would be segmented into words (人脸识别 matches
//     "…的人脸识别系统…").
//
// Tokenize is on the hot path of both the matcher and the lookup index: ASCII
// words are handled without Unicode tables and without allocating per token.
package analysis

import (
	"strings"
	"unicode"
	"unicode/utf8"
	"unsafe"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Token is one normalised word of a text.
type Token struct {
	Text  string // normalised form, see the package documentation
	Start int    // byte offset of the word in the original text
	End   int    // byte offset just past the word (includes a dropped 's)
	Pos   int    // index of the token in the text: consecutive words have consecutive positions
}

// ASCII character classes for the fast path.
const (
	cSep = iota
	cLower
	cUpper
	cApos
)

var asciiClass = func() (t [128]uint8) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = cLower
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = cLower
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = cUpper
	}
	t['\''] = cApos
	return t
}()

// Tokenize splits s into normalised tokens. Start and End index s, so a
// caller can highlight s[t.Start:t.End].
func Tokenize(s string) []Token {
	return AppendTokens(make([]Token, 0, len(s)/6+1), s)
}

// AppendTokens appends the tokens of s to dst and returns the extended
// slice; positions start at 0 for s whatever dst holds. It lets a caller
// reuse one token slice across texts.
func AppendTokens(dst []Token, s string) []Token {
	t := tokenizer{s: s, out: dst, base: len(dst)}
	t.run()
	return t.out
}

type tokenizer struct {
	s    string
	out  []Token
	base int
	// buf receives the normalised bytes of tokens that are not a plain
	// substring of s. It is only ever appended to, so strings made from its
	// bytes stay valid even after an append moves it.
	buf []byte
}

func (t *tokenizer) emit(text string, start, end int) {
	t.out = append(t.out, Token{Text: text, Start: start, End: end, Pos: len(t.out) - t.base})
}

func (t *tokenizer) run() {
	s := t.s
	i := 0
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if asciiClass[c] == cLower || asciiClass[c] == cUpper {
				i = t.word(i)
			} else {
				i++
			}
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case isCJK(r):
			i = t.cjk(i, r, n)
		case isWordRune(r) && !isApostrophe(r):
			i = t.word(i)
		default:
			i += n
		}
	}
}

// word scans the word starting at i and emits its token(s); it returns the
// offset after the word.
func (t *tokenizer) word(i int) int {
	s := t.s
	j := i
	ascii, upper, apos, curly := true, false, false, false
	for j < len(s) {
		c := s[j]
		if c == 0xE2 && j+2 < len(s) && s[j+1] == 0x80 && (s[j+2] == 0x98 || s[j+2] == 0x99) {
			// A typographic apostrophe (U+2018/U+2019) inside an ASCII word
			// is common in news text; keep such words on the fast path.
			if j+3 < len(s) && wordStartsAt(s, j+3) {
				apos, curly = true, true
				j += 3
				continue
			}
			break
		}
		if c < utf8.RuneSelf {
			switch asciiClass[c] {
			case cLower:
				j++
				continue
			case cUpper:
				upper = true
				j++
				continue
			case cApos:
				if j+1 < len(s) && wordStartsAt(s, j+1) {
					apos = true
					j++
					continue
				}
			}
			break
		}
		r, n := utf8.DecodeRuneInString(s[j:])
		if isApostrophe(r) {
			if j+n < len(s) && wordStartsAt(s, j+n) {
				ascii, apos = false, true
				j += n
				continue
			}
			break
		}
		if isCJK(r) || !isWordRune(r) {
			break
		}
		ascii = false
		j += n
	}
	w := s[i:j]
	if ascii {
		if !upper && !curly {
			if apos {
				w = stripPossessive(w)
			}
			t.emit(w, i, j)
			return j
		}
		if t.buf == nil {
			// One buffer for the whole text: lowered words never outgrow it.
			t.buf = make([]byte, 0, len(s)-i)
		}
		start := len(t.buf)
		for k := 0; k < len(w); k++ {
			c := w[k]
			switch {
			case 'A' <= c && c <= 'Z':
				c += 'a' - 'A'
			case c == 0xE2: // U+2018 or U+2019, see above
				c = '\''
				k += 2
			}
			t.buf = append(t.buf, c)
		}
		text := t.bufString(start)
		if apos {
			text = stripPossessive(text)
		}
		t.emit(text, i, j)
		return j
	}
	// Slow path: the word holds non-ASCII letters. Normalising may split it
	// (NFKC turns some compatibility letters into several characters), so
	// every resulting piece is a token spanning the whole original word.
	norm := foldWord(w)
	for len(norm) > 0 {
		k := 0
		for k < len(norm) {
			r, n := utf8.DecodeRuneInString(norm[k:])
			if r == '\'' && k > 0 && k+1 < len(norm) && wordStartsAt(norm, k+1) {
				k += n
				continue
			}
			if !isWordRune(r) || r == '\'' {
				break
			}
			k += n
		}
		if k > 0 {
			t.emit(stripPossessive(norm[:k]), i, j)
		}
		if k == len(norm) {
			break
		}
		_, n := utf8.DecodeRuneInString(norm[k:])
		norm = norm[k+n:]
	}
	return j
}

// bufString returns buf[start:] as a string without copying. Safe because
// buf is append-only (see tokenizer.buf).
func (t *tokenizer) bufString(start int) string {
	if start == len(t.buf) {
		return ""
	}
	b := t.buf[start:]
	return unsafe.String(&b[0], len(b))
}

// cjk emits the CJK character r at i (n bytes) as one token, together with
// any combining marks that follow it (dakuten, for instance).
func (t *tokenizer) cjk(i int, r rune, n int) int {
	s := t.s
	j := i + n
	plain := !needsNFKC(r)
	for j < len(s) {
		m, k := utf8.DecodeRuneInString(s[j:])
		if !isMark(m) && m != 0xFF9E && m != 0xFF9F {
			break
		}
		plain = false
		j += k
	}
	if plain {
		t.emit(s[i:j], i, j)
		return j
	}
	t.emit(cases.Fold().String(norm.NFKC.String(s[i:j])), i, j)
	return j
}

// stripPossessive drops a trailing 's (the apostrophe is already ASCII).
func stripPossessive(w string) string {
	if len(w) > 2 && w[len(w)-2] == '\'' && (w[len(w)-1] == 's' || w[len(w)-1] == 'S') {
		return w[:len(w)-2]
	}
	return w
}

// wordStartsAt reports whether a letter or digit (of a spaced script)
// begins at s[i].
func wordStartsAt(s string, i int) bool {
	c := s[i]
	if c < utf8.RuneSelf {
		return asciiClass[c] == cLower || asciiClass[c] == cUpper
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	return !isCJK(r) && !isApostrophe(r) && (unicode.IsLetter(r) || unicode.IsNumber(r))
}

func isApostrophe(r rune) bool {
	switch r {
	case '\'', '\u2019', '\u2018', '\u02BC', '\uFF07':
		return true
	}
	return false
}

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsNumber(r) || isMark(r)
}

func isMark(r rune) bool { return unicode.In(r, unicode.Mn, unicode.Mc, unicode.Me) }

// IsCJK reports whether r is written without word spaces here (Han,
// Hiragana, Katakana, Hangul) and so is a token on its own.
func IsCJK(r rune) bool { return isCJK(r) }

func isCJK(r rune) bool {
	if r < 0x1100 {
		return false
	}
	switch r {
	case 0x3005, 0x3006, 0x303B, 0x30FC, 0xFF70: // iteration marks, prolonged sound marks
		return true
	}
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul)
}

// needsNFKC reports whether a CJK character may change under NFKC:
// half-width forms and compatibility ideographs.
func needsNFKC(r rune) bool {
	return (r >= 0xF900 && r <= 0xFAFF) || (r >= 0xFF00 && r <= 0xFFEF) ||
		(r >= 0x2F800 && r <= 0x2FA1F) || (r >= 0x2E80 && r <= 0x2FDF) ||
		(r >= 0x3200 && r <= 0x33FF)
}

// foldWord normalises a word of a spaced script: NFKC, case folding, accent
// folding, apostrophes.
func foldWord(w string) string {
	w = norm.NFKC.String(w)
	w = cases.Fold().String(w)
	return foldAccents(w, false)
}

// specialFold spells out letters that carry a stroke or ligature rather than
// a combining accent, so they have no canonical decomposition.
var specialFold = map[rune]string{
	'ø': "o", 'đ': "d", 'ł': "l", 'ħ': "h", 'ŧ': "t", 'ƀ': "b", 'ɨ': "i",
	'æ': "ae", 'œ': "oe", 'þ': "th", 'ð': "d", 'ı': "i", 'ŀ': "l",
}

// foldAccents removes diacritics from the general combining blocks, spells
// out specialFold letters and folds typographic apostrophes (and quotes when
// quotes is set). Its input is already NFKC and case folded.
func foldAccents(w string, quotes bool) string {
	d := norm.NFD.String(w)
	var b strings.Builder
	b.Grow(len(d))
	for _, r := range d {
		switch {
		case isDiacritic(r):
			continue
		case isApostrophe(r):
			b.WriteByte('\'')
		case quotes && isQuote(r):
			b.WriteByte('"')
		default:
			if s, ok := specialFold[r]; ok {
				b.WriteString(s)
			} else {
				b.WriteRune(r)
			}
		}
	}
	return norm.NFC.String(b.String())
}

// isDiacritic reports whether r is a combining mark of the general-purpose
// blocks (accents, not script-specific vowel signs or kana voicing marks).
func isDiacritic(r rune) bool {
	return (r >= 0x0300 && r <= 0x036F) || (r >= 0x1AB0 && r <= 0x1AFF) ||
		(r >= 0x1DC0 && r <= 0x1DFF) || (r >= 0x20D0 && r <= 0x20FF) ||
		(r >= 0xFE20 && r <= 0xFE2F)
}

func isQuote(r rune) bool {
	switch r {
	case '\u201C', '\u201D', '\u201E', '\u201F', '\u00AB', '\u00BB', '\uFF02', '\u301D', '\u301E':
		return true
	}
	return false
}

// Normalize returns s with the analysis applied to the whole string, spacing
// and punctuation kept: NFKC, case folding, accent folding, and typographic
// apostrophes and quotes folded to ' and ". Two strings a user would call
// the same name (“Bøckman’s” and "BOCKMAN's") normalise equal.
func Normalize(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToLower(s)
	}
	s = norm.NFKC.String(s)
	s = cases.Fold().String(s)
	return foldAccents(s, true)
}

// Terms returns just the token texts of s: the analysed words of a query
// word or phrase.
func Terms(s string) []string {
	toks := Tokenize(s)
	out := make([]string, len(toks))
	for i, t := range toks {
		out[i] = t.Text
	}
	return out
}

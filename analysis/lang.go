package analysis

// Language detection of articles, and the one reading of language tags
// that the query field lang: and the stored articles share.
//
// Detection uses github.com/abadojack/whatlanggo (trigram profiles after
// Cavnar and Trenkle, 84 languages, pure Go). It was chosen over
// github.com/pemistahl/lingua-go, which is more accurate on very short
// texts but embeds all its models in the binary (about 120 MB more than
// the 27 MB the bot is without it) and needs from 50 MB (low accuracy,
// models loaded as met) to 1.4 GB (every model) of memory, where
// whatlanggo adds about 300 KB to the binary and keeps nothing in memory.
// On a headline alone whatlanggo is often unsure (it says so, and then the
// feed's own tag is used, see ingest); on a title with a paragraph of text
// it is right for the languages the archive mostly holds, and Chinese,
// Japanese and Korean are told apart by their scripts, which needs no
// statistics. BENCHMARKS.md gives its cost at ingest.

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/abadojack/whatlanggo"
	"golang.org/x/text/language"
)

// languageSample is how much of an article detection reads: the title and
// the start of the text. A paragraph settles the language; reading more
// costs time at ingest (the trigram count grows with the text) and gains
// nothing.
const languageSample = 300 // bytes

// minTrigramLetters is how many letters a text in an alphabet that several
// languages share (Latin, Cyrillic, Arabic, ...) needs before trigram
// statistics are trusted: below about two sentences, whatlanggo calls
// "Look west after dusk. The pass lasts four minutes." French and is sure
// of it.
const minTrigramLetters = 160

// DetectLanguage returns the language of an article from its title and
// text: an ISO 639-1 code ("en", "zh", "fr") or, for the few languages
// without one, ISO 639-3; "" when the text has no letters to judge.
// sure is false when the text is too short for the statistics of its
// alphabet, or detection could not tell the language apart from a close
// one; callers then prefer a declared language. A language that its
// script alone tells (Chinese, Japanese, Korean, Greek, Thai, ...) is
// sure at any length.
func DetectLanguage(title, text string) (code string, sure bool) {
	sample := title
	if text != "" {
		sample += "\n" + cutBytes(text, languageSample)
	}
	// An alphabet several languages share needs trigrams over enough
	// letters to tell them apart; a sample too short for a sure answer is
	// not worth the trigrams (the costly part of detection).
	if script := whatlanggo.DetectScript(sample); script == nil || sharedScript(script) && letters(sample, minTrigramLetters) < minTrigramLetters {
		return "", false
	}
	info := whatlanggo.Detect(sample)
	if info.Lang < 0 {
		return "", false
	}
	code = info.Lang.Iso6391()
	if code == "" {
		code = info.Lang.Iso6393()
	}
	if code == "zh" && hasKana(sample) {
		// Japanese written with many kanji can have more Han characters
		// than kana, but kana are Japanese only.
		return "ja", true
	}
	if !sharedScript(info.Script) {
		return code, true
	}
	return code, info.IsReliable() && letters(sample, minTrigramLetters) >= minTrigramLetters
}

// sharedScript reports whether several languages that whatlanggo knows
// are written in script, so that telling them apart takes statistics.
func sharedScript(script *unicode.RangeTable) bool {
	switch script {
	case unicode.Latin, unicode.Cyrillic, unicode.Arabic, unicode.Devanagari, unicode.Hebrew, unicode.Ethiopic:
		return true
	}
	return false
}

// letters counts the letters of s, stopping at max.
func letters(s string, max int) int {
	n := 0
	for _, r := range s {
		if unicode.IsLetter(r) {
			if n++; n >= max {
				break
			}
		}
	}
	return n
}

// hasKana reports whether s has a real share of Hiragana or Katakana: at
// least two, and one for every ten Han characters.
func hasKana(s string) bool {
	kana, han := 0, 0
	for _, r := range s {
		switch {
		case r < 0x3000:
		case unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r):
			kana++
		case unicode.Is(unicode.Han, r):
			han++
		}
	}
	return kana >= 2 && kana*10 >= han
}

// cutBytes returns at most max bytes of s, cut at a rune boundary.
func cutBytes(s string, max int) string {
	if len(s) <= max {
		return s
	}
	for max > 0 && !utf8.RuneStart(s[max]) {
		max--
	}
	return s[:max]
}

// LanguageBase returns the language of a BCP 47 tag without region or
// script, lower-cased, in its shortest code: "zh" for "zh-Hant-TW" and for
// "zho", "en" for "en-GB" and for "eng". It is what lang: compares. ""
// when tag is empty or does not start with a language code.
func LanguageBase(tag string) string {
	base, _, _ := strings.Cut(strings.TrimSpace(tag), "-")
	if len(base) == 2 && isASCIILetters(base) {
		return strings.ToLower(base) // already the shortest form: the common case, no parsing
	}
	if len(base) < 2 || len(base) > 3 || !isASCIILetters(base) {
		return ""
	}
	b, err := language.ParseBase(base)
	if err != nil {
		return ""
	}
	return b.String()
}

// LanguageCode reads a language code as a user writes it in a query:
// ISO 639-1 ("zh") or 639-2/3 ("zho", "eng"), any case. It returns the
// code LanguageBase gives articles of that language, and ok=false for
// anything that is not a known language code ("english", "xx").
func LanguageCode(s string) (code string, ok bool) {
	if len(s) < 2 || len(s) > 3 || !isASCIILetters(s) {
		return "", false
	}
	b, err := language.ParseBase(s)
	if err != nil || b.String() == "und" {
		return "", false
	}
	return b.String(), true
}

func isASCIILetters(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

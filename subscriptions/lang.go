package subscriptions

import (
	"strings"

	"github.com/digestbot/digestbot/analysis"
)

// FieldLang scopes a word to the article's language: lang:zh matches the
// articles whose language (digestbot.Article.Language, detected at
// ingest, see analysis.DetectLanguage) is Chinese, whatever their region
// or script (zh-CN, zh-Hant). It takes language codes only: ISO 639-1
// ("zh", "fr"), or 639-2/3 ("zho", "fra"), which mean the same language;
// case does not matter. lang:(zh OR ja) and -lang:en work as for other
// fields. An article whose language is unknown matches no lang: term.
//
// A language term matches by the article's language, not by its words, so
// it is not a matched term: Match and the index report the other terms of
// the query (none for lang:zh alone), and digests bold nothing for it.
const FieldLang = "lang"

// langCost is the presearch cost of a lang: key: a language is shared by a
// large part of the archive, as a very common word is, so a query that
// also needs a word registers under the word.
const langCost = 10

// langTerm reads the word after lang:.
func (p *parser) langTerm(t token) (Node, error) {
	w := t.text
	if strings.HasSuffix(w, "*") {
		return nil, p.errorf(t.off, "lang: takes a whole language code, not a prefix: lang:zh")
	}
	code, ok := analysis.LanguageCode(w)
	if !ok {
		return nil, p.errorf(t.off, "lang: takes a language code such as en, zh or fr, not %q", w)
	}
	return &Term{Field: FieldLang, Text: code, Raw: w}, nil
}

// SetLanguage sets the language the document is matched as, a BCP 47 tag
// ("" when unknown). ResetArticle sets it from the article; Reset clears it.
func (d *Doc) SetLanguage(tag string) {
	toks := d.lang.toks[:0]
	if base := analysis.LanguageBase(tag); base != "" {
		toks = append(toks, analysis.Token{Text: base})
	}
	d.lang.reset(toks)
}

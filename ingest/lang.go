package ingest

import "github.com/digestbot/digestbot/analysis"

// articleLanguage decides an article's language (digestbot.Article.Language):
//
//   - the language sent with the article itself (the push API's language
//     field) wins;
//   - else the language detected from its title and text, when detection
//     is sure of it (the feed's tag when that is the same language with
//     more detail, "en-GB"): a feed declares one language for all its
//     items, and feeds that carry stories in several languages still
//     declare one;
//   - else the feed's declared language (a headline alone is often too
//     short to be sure of);
//   - else none: "" (unknown) rather than a guess, since lang:xx should
//     not find an English headline that detection mistook for Dutch.
func articleLanguage(r rawArticle, title, text string) string {
	if r.ownLanguage && r.language != "" {
		return r.language
	}
	code, sure := analysis.DetectLanguage(title, text)
	switch {
	case !sure:
		return r.language
	case r.language != "" && analysis.LanguageBase(r.language) == code:
		return r.language // the same language, and the feed says more ("en-GB")
	}
	return code
}

package subscriptions

import (
	"reflect"
	"slices"
	"testing"

	digestbot "github.com/digestbot/digestbot"
)

func TestParseLang(t *testing.T) {
	for in, want := range map[string]string{
		"lang:zh huawei":         "lang:zh huawei",
		"LANG:ZH":                "lang:ZH",
		"lang:(zh OR ja) ferry":  "lang:(zh OR ja) ferry",
		"ferry -lang:en":         "ferry -lang:en",
		"lang:zho":               "lang:zho",
		"title:ferry lang:fr":    "title:ferry lang:fr",
		"lang:de OR tag:germany": "lang:de OR tag:germany",
	} {
		q, err := Parse(in)
		if err != nil {
			t.Errorf("Parse(%q): %v", in, err)
			continue
		}
		if got := q.String(); got != want {
			t.Errorf("Parse(%q).String() = %q, want %q", in, got, want)
		}
		if _, err := Parse(q.String()); err != nil {
			t.Errorf("the canonical form %q does not parse: %v", q.String(), err)
		}
	}
	// Codes that mean the same language are the same query.
	if !MustParse("lang:zho ferry").Equal(MustParse("LANG:zh ferry")) {
		t.Error("lang:zho and lang:zh are different queries")
	}
}

func TestParseLangErrors(t *testing.T) {
	for in, want := range map[string]string{
		"lang:chinese":  `lang: takes a language code such as en, zh or fr, not "chinese" at 6`,
		"ferry lang:xx": `lang: takes a language code such as en, zh or fr, not "xx" at 12`,
		"lang:z*":       "lang: takes a whole language code, not a prefix: lang:zh at 6",
		`lang:"zh ja"`:  "lang: takes a language code such as en, zh or fr, not a phrase at 6",
		"lang:title:x":  "title: inside lang: is not allowed at 6",
		"lang: zh":      "a field scope needs a word, phrase or group right after it at 6",
		"-lang:zh":      "a query cannot be made only of exclusions; add a word or phrase to look for",
	} {
		_, err := Parse(in)
		if err == nil {
			t.Errorf("Parse(%q) succeeded", in)
			continue
		}
		if digestbot.ErrorCode(err) != digestbot.EINVALID || digestbot.ErrorMessage(err) != want {
			t.Errorf("Parse(%q) = %q, want %q", in, digestbot.ErrorMessage(err), want)
		}
	}
}

// TestMatchLang: lang: compares the article's language without region or
// script, and is never reported as a matched term.
func TestMatchLang(t *testing.T) {
	art := func(lang string) *digestbot.Article {
		return &digestbot.Article{Title: "Ferry strike", Text: "Crews of the ferry stop work.", Source: "Harbour Notes", Language: lang}
	}
	tests := []struct {
		query, lang string
		want        bool
		terms       []string
	}{
		{"lang:zh", "zh-CN", true, []string{}},
		{"lang:zh", "zh-Hant-TW", true, []string{}},
		{"lang:zh", "en", false, nil},
		{"lang:zh", "", false, nil},
		{"ferry lang:en", "en-GB", true, []string{"ferry"}},
		{"ferry -lang:en", "en-GB", false, nil},
		{"ferry -lang:en", "", true, []string{"ferry"}},
		{"ferry lang:(fr OR en)", "en", true, []string{"ferry"}},
		{"lang:fr OR strike", "en", true, []string{"strike"}},
	}
	x := NewIndex()
	for i, tt := range tests {
		doc := DocFromArticle(art(tt.lang))
		q := MustParse(tt.query)
		terms, ok := q.Match(doc)
		if ok != tt.want || (ok && !reflect.DeepEqual(append([]string{}, terms...), tt.terms)) {
			t.Errorf("%q on %q: Match = %q, %v; want %q, %v", tt.query, tt.lang, terms, ok, tt.terms, tt.want)
		}
		// The index agrees, alone and next to queries on other languages.
		x.Add("q", q)
		x.Add("other", MustParse("ferry lang:de"))
		got := slices.ContainsFunc(x.Match(doc), func(m Match) bool { return m.ID == "q" })
		if got != tt.want {
			t.Errorf("%d: %q on %q: index %v, want %v", i, tt.query, tt.lang, got, tt.want)
		}
	}
}

// TestResetClearsLanguage: a Doc reused for another article does not keep
// the language of the one before.
func TestResetClearsLanguage(t *testing.T) {
	d := DocFromArticle(&digestbot.Article{Title: "Ferry", Language: "fr"})
	d.Reset("Ferry", "", "", nil)
	if _, ok := MustParse("ferry lang:fr").Match(d); ok {
		t.Error("the reset Doc still reads as French")
	}
}

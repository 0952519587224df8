package ingest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// Long enough for detection to be sure (two sentences and more).
const (
	longEnglish = "The ferry operator said on Tuesday that the winter timetable will start two weeks later than planned. Crews had asked for more rest between crossings, and the harbour board agreed to review the schedule before the first storms of the season."
	longFrench  = "L'exploitant des ferries a annoncé mardi que l'horaire d'hiver commencera deux semaines plus tard que prévu. Les équipages avaient demandé plus de repos entre les traversées, et le conseil du port a accepté de revoir le calendrier avant les premières tempêtes."
	shortZh     = "渡轮冬季时刻表推迟两周"
)

func rssWithLanguage(lang string, items ...[2]string) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0"?><rss version="2.0"><channel><title>Harbour Notes</title>`)
	if lang != "" {
		fmt.Fprintf(&b, "<language>%s</language>", lang)
	}
	for i, it := range items {
		fmt.Fprintf(&b, "<item><title>%s</title><link>https://harbour.example/%d</link><description>%s</description></item>", it[0], i, it[1])
	}
	b.WriteString("</channel></rss>")
	return []byte(b.String())
}

// TestFeedArticleLanguage: detection decides when it is sure; the feed's
// own tag fills in for what is too short to judge and adds its detail
// when it names the same language.
func TestFeedArticleLanguage(t *testing.T) {
	for _, tc := range []struct {
		name, feedLang, title, text, want string
	}{
		{"detected, the tag adds its region", "en-GB", "Winter timetable delayed", longEnglish, "en-GB"},
		{"detected over a wrong tag", "de", "Winter timetable delayed", longEnglish, "en"},
		{"another language in the feed", "en-US", "L'horaire d'hiver retardé", longFrench, "fr"},
		{"chinese by its script, however short", "en", shortZh, "", "zh"},
		{"too short: the feed's tag", "fr", "Pass tonight", "Look west after dusk.", "fr"},
		{"too short and no tag: unknown", "", "Pass tonight", "Look west after dusk.", ""},
		{"no tag: detected", "", "Le calendrier", longFrench, "fr"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			arts, err := Parse(rssWithLanguage(tc.feedLang, [2]string{tc.title, tc.text}), "https://harbour.example/feed", LoadOptions{Now: fixedNow})
			if err != nil {
				t.Fatal(err)
			}
			if got := arts[0].Language; got != tc.want {
				t.Errorf("language %q, want %q", got, tc.want)
			}
			if j := arts[0].JSON(nil); j.Language != tc.want {
				t.Errorf("JSON language %q, want %q", j.Language, tc.want)
			}
		})
	}
}

// TestPushLanguageWins: the language a push names is the article's, even
// where detection would say otherwise; without one, detection decides.
func TestPushLanguageWins(t *testing.T) {
	sink := newMemSink()
	h := PushHandler(PushOptions{Token: "tok", Articles: sink, Now: fixedNow})
	body := fmt.Sprintf(`[{"title":"Winter timetable","url":"https://harbour.example/a","text":%q,"language":"cy"},
	 {"title":"Winter timetable","url":"https://harbour.example/b","text":%q}]`, longEnglish, longFrench)
	if code, out := pushRequest(t, h, "Bearer tok", body); code != http.StatusOK {
		t.Fatalf("status %d: %v", code, out)
	}
	got := map[string]string{}
	for _, a := range sink.byID {
		got[a.URL] = a.Language
	}
	if got["https://harbour.example/a"] != "cy" || got["https://harbour.example/b"] != "fr" {
		t.Errorf("languages %v, want a: cy (as pushed), b: fr (detected)", got)
	}
}

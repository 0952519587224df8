package analysis

import "testing"

// The samples are written for these tests: a headline and the start of a
// story, as an article reaches detection.
func TestDetectLanguage(t *testing.T) {
	for _, tc := range []struct {
		want, title, text string
	}{
		{"en", "Ferry crews vote to strike over winter timetable",
			"The crews of the island ferries voted on Monday to stop work for two days next month. Their union says the new winter timetable leaves too little rest between crossings, and the operator has asked for talks before the end of the week."},
		{"zh", "渡轮船员投票决定罢工",
			"海岛渡轮的船员星期一投票决定下月停工两天。工会表示，新的冬季时刻表让每次航行之间的休息时间太短，运营公司已要求在本周结束前进行谈判。"},
		{"fr", "Les équipages des ferries votent la grève",
			"Les équipages des ferries des îles ont voté lundi un arrêt de travail de deux jours le mois prochain. Leur syndicat estime que le nouvel horaire d'hiver laisse trop peu de repos entre les traversées, et l'exploitant a demandé des négociations avant la fin de la semaine."},
		{"de", "Fährbesatzungen stimmen für einen Streik",
			"Die Besatzungen der Inselfähren haben am Montag beschlossen, im nächsten Monat zwei Tage lang die Arbeit niederzulegen. Ihre Gewerkschaft sagt, der neue Winterfahrplan lasse zu wenig Ruhe zwischen den Überfahrten, und der Betreiber hat noch vor Ende der Woche um Gespräche gebeten."},
		{"ja", "フェリー乗組員がストライキを決定",
			"島のフェリーの乗組員は月曜日、来月二日間の就労停止を決めた。組合は新しい冬のダイヤでは航海の間の休息が短すぎると主張している。"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			got, sure := DetectLanguage(tc.title, tc.text)
			if got != tc.want || !sure {
				t.Errorf("DetectLanguage = %q (sure %v), want %q, sure", got, sure, tc.want)
			}
		})
	}
}

func TestDetectLanguageOfNothing(t *testing.T) {
	for _, s := range []string{"", "12 345 — 67", "!!!"} {
		if got, sure := DetectLanguage(s, ""); got != "" || sure {
			t.Errorf("DetectLanguage(%q) = %q, %v; want nothing", s, got, sure)
		}
	}
}

func TestDetectLanguageReadsOnlyTheStart(t *testing.T) {
	// A long English story whose tail is Chinese (a quoted statement): the
	// start decides.
	text := ""
	for range 20 {
		text += "The harbour board met again on Thursday and agreed to publish the figures. "
	}
	for range 200 {
		text += "港口委员会星期四再次开会。"
	}
	if got, _ := DetectLanguage("Harbour board publishes figures", text); got != "en" {
		t.Errorf("DetectLanguage = %q, want en", got)
	}
}

func TestLanguageBase(t *testing.T) {
	for in, want := range map[string]string{
		"zh": "zh", "zh-CN": "zh", "zh-Hant-TW": "zh", "en-GB": "en", "EN": "en", "eng": "en",
		"fr-CA": "fr", "": "", "x": "", "english": "", "12": "", "ceb": "ceb",
	} {
		if got := LanguageBase(in); got != want {
			t.Errorf("LanguageBase(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLanguageCode(t *testing.T) {
	for in, want := range map[string]string{"zh": "zh", "ZH": "zh", "zho": "zh", "eng": "en", "De": "de"} {
		if got, ok := LanguageCode(in); !ok || got != want {
			t.Errorf("LanguageCode(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "x", "xx", "english", "z1", "zh-CN", "und"} {
		if got, ok := LanguageCode(in); ok {
			t.Errorf("LanguageCode(%q) = %q, want it refused", in, got)
		}
	}
}

// BenchmarkDetectLanguage measures detection on an article as ingest
// gives it: a headline and a story of about 1.5 KB (only the start is read).
func BenchmarkDetectLanguage(b *testing.B) {
	text := ""
	for range 8 {
		text += "The crews of the island ferries voted on Monday to stop work for two days next month, and the operator asked for talks. "
	}
	for _, tc := range []struct{ name, title, text string }{
		{"en", "Ferry crews vote to strike over winter timetable", text},
		{"zh", "渡轮船员投票决定罢工", "海岛渡轮的船员星期一投票决定下月停工两天。工会表示，新的冬季时刻表让每次航行之间的休息时间太短。"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				DetectLanguage(tc.title, tc.text)
			}
		})
	}
}

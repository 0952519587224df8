package ingest

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	digestbot "github.com/digestbot/digestbot"
)

func TestParseNewsletter(t *testing.T) {
	date := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	tests := []struct {
		name string
		text string
		want []NewsletterStory
	}{
		{
			name: "chrome before the first story, a byline passed over",
			text: "Skip to main content\nNewsroom Home\n\nBridge Reopens After Repairs\nBy A. Writer\n\nThe old bridge carries traffic again from today, the council said.\n\nSource: Town Hall, May 5, 2024\nhttps://town.example/bridge\n",
			want: []NewsletterStory{{Line: 4, Title: "Bridge Reopens After Repairs",
				Paragraphs: []string{"The old bridge carries traffic again from today, the council said."},
				Sources:    []NewsletterSource{{Line: 9, Name: "Town Hall", Published: date(2024, 5, 5), URL: "https://town.example/bridge"}}}},
		},
		{
			name: "later stories keep a short first paragraph",
			text: "First Story\n\nA body line that reads like prose and ends with a stop.\n\nSource: A, 2024-01-01\nhttps://a.example/1\n\nSecond Story\n\nShort line\n\nMore prose follows in this second paragraph of the story.\n\nSource: B, 2024-01-02\nhttps://b.example/2\n",
			want: []NewsletterStory{
				{Line: 1, Title: "First Story", Paragraphs: []string{"A body line that reads like prose and ends with a stop."},
					Sources: []NewsletterSource{{Line: 5, Name: "A", Published: date(2024, 1, 1), URL: "https://a.example/1"}}},
				{Line: 8, Title: "Second Story", Paragraphs: []string{"Short line", "More prose follows in this second paragraph of the story."},
					Sources: []NewsletterSource{{Line: 14, Name: "B", Published: date(2024, 1, 2), URL: "https://b.example/2"}}},
			},
		},
		{
			name: "numbered sources, blank and no-break lines between",
			text: "Joint Exercise Announced\n\nTwo navies will train together next month in open water off the coast.\n\u00a0\u00a0\nSource:\n\n1. First Wire, Jan. 5, 2024\n\nhttps://first.example/a\n\u00a0\n2) Second Wire, 6 January 2024\nhttps://second.example/b\n",
			want: []NewsletterStory{{Line: 1, Title: "Joint Exercise Announced",
				Paragraphs: []string{"Two navies will train together next month in open water off the coast."},
				Sources: []NewsletterSource{
					{Line: 7, Name: "First Wire", Published: date(2024, 1, 5), URL: "https://first.example/a"},
					{Line: 11, Name: "Second Wire", Published: date(2024, 1, 6), URL: "https://second.example/b"},
				}}},
		},
		{
			name: "url on the source line",
			text: "Canal Dredging Begins\n\nBarges arrived on Tuesday to clear silt from the old canal basin.\n\nSource: Canal Times, April 2, 2024, https://canal.example/dredge\n\nNext Story Title\n\nA second story follows with words enough to read as prose.\n\nSource:\n1. First Desk, April 3, 2024 https://first.example/x\n",
			want: []NewsletterStory{
				{Line: 1, Title: "Canal Dredging Begins", Paragraphs: []string{"Barges arrived on Tuesday to clear silt from the old canal basin."},
					Sources: []NewsletterSource{{Line: 5, Name: "Canal Times", Published: date(2024, 4, 2), URL: "https://canal.example/dredge"}}},
				{Line: 7, Title: "Next Story Title", Paragraphs: []string{"A second story follows with words enough to read as prose."},
					Sources: []NewsletterSource{{Line: 12, Name: "First Desk", Published: date(2024, 4, 3), URL: "https://first.example/x"}}},
			},
		},
		{
			name: "chinese story and date",
			text: "跳到内容\n\n港口新航线开通\n\n渡轮公司宣布今晚开通夜间航线，首班船将在十一点出发。\n\nSource: 港口日报, 2024年3月5日\nhttps://port.example/ferry\n",
			want: []NewsletterStory{{Line: 3, Title: "港口新航线开通",
				Paragraphs: []string{"渡轮公司宣布今晚开通夜间航线，首班船将在十一点出发。"},
				Sources:    []NewsletterSource{{Line: 7, Name: "港口日报", Published: date(2024, 3, 5), URL: "https://port.example/ferry"}}}},
		},
		{
			name: "name with commas, no URL, no date, trailing chrome",
			text: "Factory Expands\n\nThe plant will hire two hundred people over the next year, managers said.\n\nSource: Widgets, Inc., Sept 9, 2023\n\nQuiet Week at the Port\n\nNothing much happened at the port this week, said the harbour master.\n\nSource: Harbour Log\n\nBack to top\nShare\n",
			want: []NewsletterStory{
				{Line: 1, Title: "Factory Expands", Paragraphs: []string{"The plant will hire two hundred people over the next year, managers said."},
					Sources: []NewsletterSource{{Line: 5, Name: "Widgets, Inc.", Published: date(2023, 9, 9)}}},
				{Line: 7, Title: "Quiet Week at the Port", Paragraphs: []string{"Nothing much happened at the port this week, said the harbour master."},
					Sources: []NewsletterSource{{Line: 11, Name: "Harbour Log"}}},
			},
		},
		{
			name: "first story without chrome, only short paragraphs",
			text: "My Title\n\nFirst para of body.\n\nSecond para.\n\nSource: Foo, March 20, 2021\n\nhttp://e.com/x\n",
			want: []NewsletterStory{{Line: 1, Title: "My Title", Paragraphs: []string{"First para of body.", "Second para."},
				Sources: []NewsletterSource{{Line: 7, Name: "Foo", Published: date(2021, 3, 20), URL: "http://e.com/x"}}}},
		},
		{
			name: "chrome, then a short paragraph before the prose one",
			text: "Skip to content\nWeekly Brief\n\nLibrary Hours Extended\n\nIt opens at eight.\n\nThe library will stay open until ten on weekdays from next month, the council said.\n\nSource: Council News, 2024-06-01\nhttps://council.example/library\n",
			want: []NewsletterStory{{Line: 4, Title: "Library Hours Extended",
				Paragraphs: []string{"It opens at eight.", "The library will stay open until ten on weekdays from next month, the council said."},
				Sources:    []NewsletterSource{{Line: 10, Name: "Council News", Published: date(2024, 6, 1), URL: "https://council.example/library"}}}},
		},
		{
			name: "byline, then a short quoted paragraph",
			text: "Newsroom Home\n\nSchool Wins Robot Contest\nBy A. Writer\n\n\u201cBuilt in a week.\u201d\n\nPupils from the village school beat twenty teams at the regional final on Saturday.\n\nSource: Valley Post, May 4, 2024\nhttps://valley.example/robots\n",
			want: []NewsletterStory{{Line: 3, Title: "School Wins Robot Contest",
				Paragraphs: []string{"\u201cBuilt in a week.\u201d", "Pupils from the village school beat twenty teams at the regional final on Saturday."},
				Sources:    []NewsletterSource{{Line: 10, Name: "Valley Post", Published: date(2024, 5, 4), URL: "https://valley.example/robots"}}}},
		},
		{
			name: "a question is a heading, not a paragraph",
			text: "Newsroom Home\n\nIs the Ferry Late Again?\n\nPassengers waited an hour on the pier this morning while the crew fixed a pump.\n\nSource: Pier Office, 2024-06-03\n",
			want: []NewsletterStory{{Line: 3, Title: "Is the Ferry Late Again?",
				Paragraphs: []string{"Passengers waited an hour on the pier this morning while the crew fixed a pump."},
				Sources:    []NewsletterSource{{Line: 7, Name: "Pier Office", Published: date(2024, 6, 3)}}}},
		},
		{
			// Nothing reads like prose, so chrome cannot be told from the
			// story: every line is kept rather than silently dropped.
			name: "no prose line at all keeps every line",
			text: "Skip to content\nWeekly Brief\n\nPool Closed\n\nRepairs this week\n\nSource: Leisure Desk, 2024-06-05\n",
			want: []NewsletterStory{{Line: 2, Title: "Weekly Brief", Paragraphs: []string{"Pool Closed", "Repairs this week"},
				Sources: []NewsletterSource{{Line: 8, Name: "Leisure Desk", Published: date(2024, 6, 5)}}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseNewsletter(tt.text, "brief.txt")
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d stories, want %d: %+v", len(got), len(tt.want), got)
			}
			for i := range got {
				g, w := got[i], tt.want[i]
				if g.Line != w.Line || g.Title != w.Title || strings.Join(g.Paragraphs, "|") != strings.Join(w.Paragraphs, "|") {
					t.Errorf("[%d] got line %d %q %q\nwant line %d %q %q", i, g.Line, g.Title, g.Paragraphs, w.Line, w.Title, w.Paragraphs)
				}
				if len(g.Sources) != len(w.Sources) {
					t.Fatalf("[%d] sources %+v, want %+v", i, g.Sources, w.Sources)
				}
				for j := range g.Sources {
					gs, ws := g.Sources[j], w.Sources[j]
					if gs.Line != ws.Line || gs.Name != ws.Name || !gs.Published.Equal(ws.Published) || gs.URL != ws.URL {
						t.Errorf("[%d] source %d = %+v, want %+v", i, j, gs, ws)
					}
				}
			}
		})
	}
}

// TestParseNewsletterShortParagraphsFile: a file whose first story has
// only short paragraphs keeps that story's title and text, and the next
// story is read as before.
func TestParseNewsletterShortParagraphsFile(t *testing.T) {
	b, err := os.ReadFile("testdata/newsletter-short-paras.txt")
	if err != nil {
		t.Fatal(err)
	}
	arts, err := Parse(b, "newsletter-short-paras.txt", LoadOptions{Format: FormatNewsletter})
	if err != nil {
		t.Fatal(err)
	}
	if len(arts) != 2 {
		t.Fatalf("%d articles, want 2", len(arts))
	}
	if a := arts[0]; a.Title != "Ferry Timetable Changes" || a.Text != "New times start on Monday.\n\nCheck the board at the pier." {
		t.Errorf("first story: title %q, text %q", a.Title, a.Text)
	}
	if a := arts[1]; a.Title != "Market Hall Reopens" || !strings.HasPrefix(a.Text, "Traders moved back") {
		t.Errorf("second story: title %q, text %q", a.Title, a.Text)
	}
}

func TestParseNewsletterErrors(t *testing.T) {
	tests := []struct{ name, text, want string }{
		{"no stories", "Hello\n\nNothing to see.\n", "brief.txt:1: no story found"},
		{"source without story", "Source: Somebody, May 1, 2024\nhttps://x.example/\n", "brief.txt:1: source line without a story"},
		{"unreadable date", "Title\n\nBody text that reads like a sentence of prose here.\n\nSource: Outlet, 32 Foo 2024\n", "brief.txt:5: cannot read the date"},
		{"empty list", "Title\n\nBody.\n\nSource:\n\nsomething else\n", "brief.txt:5:"},
		{"too many sources", "Title\n\nBody.\n\nSource:\n" + numberedSources(digestbot.MaxSources+1), fmt.Sprintf("brief.txt:%d: more than %d sources for one story", 6+2*digestbot.MaxSources, digestbot.MaxSources)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseNewsletter(tt.text, "brief.txt")
			if err == nil {
				t.Fatalf("no error, %d stories", len(got))
			}
			if got != nil {
				t.Errorf("stories returned with the error")
			}
			if digestbot.ErrorCode(err) != digestbot.EINVALID || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v (code %s), want EINVALID containing %q", err, digestbot.ErrorCode(err), tt.want)
			}
		})
	}
}

// numberedSources is a numbered source list of n outlets, each with a link.
func numberedSources(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "%d. Outlet %d, 2024-05-01\nhttps://o%d.example/story\n", i, i, i)
	}
	return b.String()
}

func FuzzNewsletter(f *testing.F) {
	for _, name := range []string{"testdata/newsletter.txt", "testdata/newsletter-bad-date.txt", "testdata/newsletter-bad-list.txt", "testdata/newsletter-short-paras.txt", "../samples/estuary-brief-2026-11-13.txt"} {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(string(b))
		}
	}
	f.Add("T\n\nSource:\n1. A, May 1, 2024\nhttps://a\n2. B\n")
	f.Add("Source: , ,\n")
	f.Fuzz(func(t *testing.T, text string) {
		stories, err := ParseNewsletter(text, "fuzz.txt")
		if err != nil {
			if stories != nil {
				t.Fatal("stories with an error")
			}
			if digestbot.ErrorCode(err) != digestbot.EINVALID {
				t.Fatalf("error code %s: %v", digestbot.ErrorCode(err), err)
			}
			return
		}
		for _, s := range stories {
			if s.Title == "" || len(s.Sources) == 0 {
				t.Fatalf("story without title or source: %+v", s)
			}
		}
		arts, err := Parse([]byte(text), "fuzz.txt", LoadOptions{Format: FormatNewsletter})
		if err != nil {
			return
		}
		for i, a := range arts {
			if a.ID == "" || !utf8.ValidString(a.Title) && utf8.ValidString(text) {
				t.Fatalf("bad article %+v", a)
			}
			// Sources are those of the story (one article per story, as
			// long as no two share an id), and every article can be stored.
			if len(arts) == len(stories) && len(a.Sources) != len(stories[i].Sources) && len(stories[i].Sources) > 1 {
				t.Fatalf("%d sources, the story lists %d", len(a.Sources), len(stories[i].Sources))
			}
			if err := a.Validate(); err != nil && utf8.ValidString(text) {
				t.Fatalf("invalid article: %v", err)
			}
		}
	})
}

func FuzzDetect(f *testing.F) {
	for _, name := range []string{"rss2.xml", "rss1.rdf", "rss091.xml", "atom.xml", "feed.json", "newsletter.txt", "page.html"} {
		if b, err := os.ReadFile("testdata/" + name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("\xff\xfe<\x00r\x00s\x00s\x00>\x00"))
	f.Add([]byte(`<?xml version="1.0" encoding="x-unknown"?><rss><channel><item><title>t</title></item></channel></rss>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		format := DetectFormat(data)
		arts, err := Parse(data, "fuzz", LoadOptions{})
		if err != nil {
			if arts != nil {
				t.Fatal("articles with an error")
			}
			return
		}
		if format == "" {
			t.Fatalf("Parse succeeded on input DetectFormat rejects")
		}
		for _, a := range arts {
			if err := a.Validate(); err != nil {
				t.Fatalf("invalid article from %s: %v", format, err)
			}
		}
	})
}

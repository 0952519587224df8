package ingest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	digestbot "github.com/digestbot/digestbot"
)

// want is what a test expects of one article; empty fields are not checked
// except where noted.
type want struct {
	title     string
	url       string // checked always ("" = no URL)
	source    string
	published string // RFC 3339, checked always ("" = unknown)
	text      string // checked when set
	summary   string // checked when set
	tags      []string
	language  string
	sources   []digestbot.SourceJSON // every outlet, when the story lists several; else it must list one
}

func checkArticles(t *testing.T, got []*digestbot.Article, wants []want) {
	t.Helper()
	if len(got) != len(wants) {
		for _, a := range got {
			t.Logf("got %q %q", a.Title, a.URL)
		}
		t.Fatalf("got %d articles, want %d", len(got), len(wants))
	}
	for i, w := range wants {
		a := got[i]
		j := a.JSON(nil)
		if a.Title != w.title {
			t.Errorf("[%d] title %q, want %q", i, a.Title, w.title)
		}
		if a.URL != w.url {
			t.Errorf("[%d] url %q, want %q", i, a.URL, w.url)
		}
		if w.source != "" && a.Source != w.source {
			t.Errorf("[%d] source %q, want %q", i, a.Source, w.source)
		}
		if j.Published != w.published {
			t.Errorf("[%d] published %q, want %q", i, j.Published, w.published)
		}
		if w.text != "" && a.Text != w.text {
			t.Errorf("[%d] text\n got %q\nwant %q", i, a.Text, w.text)
		}
		if w.summary != "" && a.Summary != w.summary {
			t.Errorf("[%d] summary\n got %q\nwant %q", i, a.Summary, w.summary)
		}
		if w.tags != nil && !reflect.DeepEqual(a.Tags, w.tags) {
			t.Errorf("[%d] tags %q, want %q", i, a.Tags, w.tags)
		}
		if w.language != "" && a.Language != w.language {
			t.Errorf("[%d] language %q, want %q", i, a.Language, w.language)
		}
		if w.sources != nil && !reflect.DeepEqual(j.Sources, w.sources) {
			t.Errorf("[%d] sources\n got %+v\nwant %+v", i, j.Sources, w.sources)
		}
		if w.sources == nil && (len(a.Sources) != 0 || len(j.Sources) > 1) {
			t.Errorf("[%d] one outlet, yet sources %+v", i, a.Sources)
		}
		if err := a.Validate(); err != nil {
			t.Errorf("[%d] invalid article: %v", i, err)
		}
		if a.ID != digestbot.ArticleID(a.URL, "", "", "") && a.URL != "" {
			t.Errorf("[%d] id %s is not the id of its canonical URL", i, a.ID)
		}
	}
}

var fixedNow = func() time.Time { return time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC) }

func TestLoadFormats(t *testing.T) {
	tests := []struct {
		file   string
		format string // detected format
		want   []want
	}{
		{"rss2.xml", FormatRSS, []want{
			{
				title: "Ferry timetable changes & new night route", url: "https://courier.example/news/ferry-night-route?id=7",
				source: "Harbour Town Courier", published: "2024-01-02T06:30:00Z",
				text:     "The harbour board has agreed a night crossing to the island.\n\nBoats will leave at 23:00 — tickets go on sale Monday.",
				summary:  "The harbour board has agreed a night crossing to the island. Boats will leave at 23:00 — tickets go on sale Monday.",
				tags:     []string{"Transport", "Harbour"},
				language: "en-GB",
			},
			{title: "Library extends opening hours", url: "https://courier.example/news/library-hours", published: "2024-01-03T09:00:00Z"},
			{title: "A short note without a headline.", url: "https://courier.example/news/untitled-note"},
			// The repeated ferry item (same canonical URL) is not returned twice.
			{title: "Market square repaving starts", url: "", text: "Works begin\n\nStalls move to the quay for six weeks.\n\nParking is closed\n\nBuses divert"},
		}},
		{"rss1.rdf", FormatRSS, []want{
			{title: "Frost warning for the upper valley", url: "https://valley.example/warnings/frost", source: "Valley Weather Desk", published: "2024-02-10T17:00:00Z", language: "de"},
		}},
		{"rss091.xml", FormatRSS, []want{
			{title: "Chess club meets on Thursday", url: "http://bulletin.example/chess", source: "Old School Bulletin", published: "", language: "en-US"},
		}},
		{"atom.xml", FormatAtom, []want{
			{title: "Pottery kiln repaired", url: "https://atelier.example/posts/kiln", source: "Atelier Notes", published: "2024-03-04T07:15:00Z",
				text: "The kiln fires again after a new element was fitted.\n\nClasses resume next week.", tags: []string{"workshop"}},
			{title: "Open studio day", url: "", published: "2024-03-01T10:00:00Z", text: "Visitors can try the wheel on Saturday."},
		}},
		{"feed.json", FormatJSON, []want{
			{title: "Satellite pass visible tonight", url: "https://orbit.example/posts/42", source: "Orbit Hobbyists", published: "2024-04-01T19:00:00Z",
				text: "Look west after dusk.\n\nThe pass lasts four minutes.", tags: []string{"sky", "satellites"}, language: "en"},
			{title: "Telescope swap meet", url: "", published: "", text: "Bring lenses to trade.\n\nTables are free."},
		}},
		{"newsletter.txt", FormatNewsletter, []want{
			{
				title: "Fishing Quotas Cut for the Coming Season", url: "https://coastal-radio.example/news/quotas",
				source: "Coastal Radio", published: "2024-03-04T00:00:00Z",
				text: "The regional fisheries office announced on Monday that quotas for cod will fall by a fifth next season, citing survey results from the autumn.\n\n" +
					"Skippers said the cut would force smaller boats to stay in port for several weeks. The office promised a review in the spring.",
			},
			{
				title: "Lighthouse Restoration Wins Heritage Grant", url: "https://heritage-today.example/grants/lighthouse",
				source: "Heritage Today", published: "2024-03-02T00:00:00Z",
				text: "Volunteers who have repaired the north lighthouse for three years received a national heritage grant this week.\n\n" +
					"The money pays for a new lamp housing and a small visitor room.",
				// The second outlet is a source with its own date and
				// canonical link, not a line of the text.
				sources: []digestbot.SourceJSON{
					{Name: "Heritage Today", URL: "https://heritage-today.example/grants/lighthouse", Published: "2024-03-02T00:00:00Z"},
					{Name: "The Island Post", URL: "http://island-post.example/lighthouse-grant", Published: "2024-03-01T00:00:00Z"},
				},
			},
			{title: "Storm Damage Survey Published", url: "https://bay-council.example/reports/storm-survey", source: "Bay Council", published: "2024-02-28T00:00:00Z"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", tt.file)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := DetectFormat(data); got != tt.format {
				t.Errorf("DetectFormat = %q, want %q", got, tt.format)
			}
			arts, err := Load(context.Background(), path, LoadOptions{Now: fixedNow})
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			checkArticles(t, arts, tt.want)
			for _, a := range arts {
				if a.Feed != path {
					t.Errorf("feed %q, want %q", a.Feed, path)
				}
				if !a.Ingested.Equal(fixedNow()) {
					t.Errorf("ingested %v, want the clock's %v", a.Ingested, fixedNow())
				}
				if a.Published.Equal(fixedNow()) {
					t.Errorf("published is the ingest time")
				}
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name   string
		source string
		opts   LoadOptions
		code   string
		msg    []string // substrings of the message
	}{
		{"missing file", "testdata/nope.xml", LoadOptions{}, digestbot.ENOTFOUND, []string{"testdata/nope.xml", "no such file"}},
		{"not a feed", "testdata/not-a-feed.txt", LoadOptions{}, digestbot.EINVALID, []string{"testdata/not-a-feed.txt:1:", "neither a feed", "Source:"}},
		{"html page", "testdata/page.html", LoadOptions{}, digestbot.EINVALID, []string{"testdata/page.html:1: this is an HTML page, not a feed or newsletter"}},
		{"json not a feed", "testdata/not-a-feed.json", LoadOptions{}, digestbot.EINVALID,
			[]string{`testdata/not-a-feed.json: a JSON document, but not a JSON Feed (no "version": "https://jsonfeed.org/version/1.1" and no "items")`}},
		{"json not a feed, forced", "testdata/not-a-feed.json", LoadOptions{Format: "json"}, digestbot.EINVALID, []string{"not a JSON Feed"}},
		{"json array", "-", LoadOptions{Stdin: strings.NewReader(`[{"title":"x"}]`)}, digestbot.EINVALID,
			[]string{"-: a JSON document, but not a JSON Feed (an array, where a JSON Feed is an object"}},
		{"json items not an array", "-", LoadOptions{Stdin: strings.NewReader(`{"version":"https://jsonfeed.org/version/1.1","items":{"title":"x"}}`)},
			digestbot.EINVALID, []string{`-: not a valid JSON Feed: "items" is an object; it must be an array of items`}},
		{"json item field of the wrong type", "-", LoadOptions{Stdin: strings.NewReader("{\"version\":\"https://jsonfeed.org/version/1.1\",\n\"items\":[{\"title\":5}]}")},
			digestbot.EINVALID, []string{`-: not a valid JSON Feed: "items.title" is a number; it must be a string`}},
		{"broken json", "-", LoadOptions{Stdin: strings.NewReader("{\"version\":\"https://jsonfeed.org/version/1.1\",\n\"items\":[}\n")}, digestbot.EINVALID,
			[]string{"-:2: not a JSON Feed: this is not valid JSON: invalid character '}'"}},
		{"forced atom on rss", "testdata/rss2.xml", LoadOptions{Format: "atom"}, digestbot.EINVALID,
			[]string{"testdata/rss2.xml:2: not an Atom feed: its root element is <rss> (an RSS feed), where an Atom feed has <feed>"}},
		{"forced rss on atom", "testdata/atom.xml", LoadOptions{Format: "rss"}, digestbot.EINVALID,
			[]string{"testdata/atom.xml:2: not an RSS feed: its root element is <feed> (an Atom feed), where an RSS feed has <rss> or <rdf:RDF>"}},
		{"forced rss on json", "testdata/feed.json", LoadOptions{Format: "rss"}, digestbot.EINVALID, []string{"testdata/feed.json:1: not an RSS feed: this is not XML"}},
		{"forced json on atom", "testdata/atom.xml", LoadOptions{Format: "json"}, digestbot.EINVALID, []string{"testdata/atom.xml:1: not a JSON Feed: this is not valid JSON"}},
		{"broken xml", "-", LoadOptions{Stdin: strings.NewReader("<rss version=\"2.0\"><channel>\n<item><title>x</title></item>")}, digestbot.EINVALID,
			[]string{"-:2: not a valid RSS feed: broken XML: unexpected EOF"}},
		{"empty, forced", "-", LoadOptions{Stdin: strings.NewReader(" \n"), Format: "atom"}, digestbot.EINVALID, []string{"-: not an Atom feed: the document is empty"}},
		{"empty", "-", LoadOptions{Stdin: strings.NewReader(" \n")}, digestbot.EINVALID, []string{"-: the document is empty"}},
		{"bad date", "testdata/newsletter-bad-date.txt", LoadOptions{}, digestbot.EINVALID, []string{"newsletter-bad-date.txt:7:", "Marchember 40, 2024", "March 20, 2021"}},
		{"bad list", "testdata/newsletter-bad-list.txt", LoadOptions{}, digestbot.EINVALID, []string{"newsletter-bad-list.txt:5:", "numbered list"}},
		{"forced wrong format", "testdata/newsletter.txt", LoadOptions{Format: "rss"}, digestbot.EINVALID, []string{"newsletter.txt:1: not an RSS feed: this is not XML"}},
		{"unknown format", "testdata/rss2.xml", LoadOptions{Format: "yaml"}, digestbot.EINVALID, []string{`unknown format "yaml"`}},
		{"stdin missing", "-", LoadOptions{}, digestbot.EINVALID, []string{"standard input"}},
		{"stdin too large", "-", LoadOptions{Stdin: strings.NewReader(strings.Repeat("x", 100)), MaxFileBytes: 10}, digestbot.ELIMIT, []string{"larger than 10 bytes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			arts, err := Load(context.Background(), tt.source, tt.opts)
			if err == nil {
				t.Fatalf("no error; %d articles", len(arts))
			}
			if arts != nil {
				t.Errorf("articles returned with the error")
			}
			if code := digestbot.ErrorCode(err); code != tt.code {
				t.Errorf("code %q, want %q (%v)", code, tt.code, err)
			}
			msg := digestbot.ErrorMessage(err)
			for _, s := range tt.msg {
				if !strings.Contains(msg, s) {
					t.Errorf("message %q does not contain %q", msg, s)
				}
			}
			// The parsers' internals are not the user's business.
			for _, s := range []string{"xpp", "offset", "event:", "alias", "Go struct"} {
				if strings.Contains(msg, s) {
					t.Errorf("message %q leaks the parser's %q", msg, s)
				}
			}
		})
	}
}

// TestLoadJSONFeedShapes: JSON Feeds that hold no item yet, or that lack
// the version, are still feeds; only JSON without either is refused
// (TestLoadErrors).
func TestLoadJSONFeedShapes(t *testing.T) {
	tests := []struct{ name, doc string }{
		{"zero items", `{"version":"https://jsonfeed.org/version/1.1","title":"Quiet","items":[]}`},
		{"version only", `{"version":"https://jsonfeed.org/version/1","title":"Quiet"}`},
		{"items without version", `{"title":"Sloppy","items":[]}`},
		{"byte order mark", "\ufeff" + `{"version":"https://jsonfeed.org/version/1.1","items":[]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			arts, err := Load(context.Background(), "-", LoadOptions{Stdin: strings.NewReader(tt.doc)})
			if err != nil || len(arts) != 0 {
				t.Errorf("got %d articles, %v; want a feed of 0 articles", len(arts), err)
			}
		})
	}
}

// TestPublishedBounds: a publication time more than 48 hours after the
// ingest time, or before 1970, is stored as unknown, for feeds and
// newsletters alike, and never replaced by the ingest time.
func TestPublishedBounds(t *testing.T) {
	now := fixedNow() // 2025-06-01T12:00:00Z
	rss := func(date string) string {
		return `<rss version="2.0"><channel><title>T</title><item><title>Item</title><link>https://t.example/1</link><pubDate>` +
			date + `</pubDate></item></channel></rss>`
	}
	atom := func(date string) string {
		return `<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><entry><title>Item</title><link href="https://t.example/1"/><updated>` +
			date + `</updated></entry></feed>`
	}
	newsletter := func(date string) string {
		return "Item\n\nA story.\n\nSource: Wire, " + date + "\n\nhttps://t.example/1\n"
	}
	tests := []struct {
		name, doc, want string // want: RFC 3339, "" = unknown
	}{
		{"rss in the past", rss("Sat, 31 May 2025 08:00:00 GMT"), "2025-05-31T08:00:00Z"},
		{"rss 47h ahead", rss("Tue, 03 Jun 2025 11:00:00 GMT"), "2025-06-03T11:00:00Z"},
		{"rss 49h ahead", rss("Tue, 03 Jun 2025 13:00:00 GMT"), ""},
		{"rss 2099", rss("Thu, 01 Jan 2099 00:00:00 GMT"), ""},
		{"rss 1969", rss("Wed, 31 Dec 1969 23:00:00 GMT"), ""},
		{"rss 1970", rss("Thu, 01 Jan 1970 00:00:00 GMT"), "1970-01-01T00:00:00Z"},
		{"atom 2099", atom("2099-01-01T00:00:00Z"), ""},
		{"atom 1900", atom("1900-01-01T00:00:00Z"), ""},
		{"newsletter 2099", newsletter("January 1, 2099"), ""},
		{"newsletter in the past", newsletter("May 30, 2025"), "2025-05-30T00:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			arts, err := Parse([]byte(tt.doc), "doc", LoadOptions{Now: fixedNow})
			if err != nil || len(arts) != 1 {
				t.Fatalf("got %d articles, %v", len(arts), err)
			}
			a := arts[0]
			if got := a.JSON(nil).Published; got != tt.want {
				t.Errorf("published %q, want %q", got, tt.want)
			}
			if a.Published.Equal(now) || !a.Ingested.Equal(now) {
				t.Errorf("published %v, ingested %v: the ingest time stands in for the publication time", a.Published, a.Ingested)
			}
		})
	}
}

func TestLoadStdinAndOverrides(t *testing.T) {
	data, err := os.ReadFile("testdata/rss091.xml")
	if err != nil {
		t.Fatal(err)
	}
	arts, err := Load(context.Background(), "-", LoadOptions{Stdin: bytes.NewReader(data), SourceName: "Bulletin Board"})
	if err != nil {
		t.Fatal(err)
	}
	if len(arts) != 1 || arts[0].Source != "Bulletin Board" || arts[0].Feed != "-" {
		t.Fatalf("got %+v", arts)
	}
	// A forced format reads a newsletter that detection would also find.
	nl, err := os.ReadFile("testdata/newsletter.txt")
	if err != nil {
		t.Fatal(err)
	}
	arts, err = Parse(nl, "brief.txt", LoadOptions{Format: "newsletter"})
	if err != nil || len(arts) != 3 {
		t.Fatalf("forced newsletter: %d articles, %v", len(arts), err)
	}
}

// TestSampleNewsletter reads the project's sample newsletter, the one the
// README's examples use: page chrome, single and numbered source blocks,
// three date styles, a Chinese story and tracking parameters in a link.
func TestSampleNewsletter(t *testing.T) {
	arts, err := Load(context.Background(), filepath.Join("..", "samples", "estuary-brief-2026-11-13.txt"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ title, source, date, url string }{
		{"Vellmar University Closes Its Lanternhall Institute", "Vellmar Courier", "2026-11-12", "https://vellmar-courier.example/campus/2026/11/12/lanternhall-closes"},
		{"Rendal Station Pauses Facial Recognition Gates", "Harbour Wire", "2026-11-10", "https://harbourwire.example/2026/11/10/rendal-gates"},
		{"灯塔学院关闭后，晚间语言课搬进维尔马市图书馆", "海港晚报", "2026-11-12", "https://haigang-evening.example/culture/vellmar-library-classes"},
		{"Facial Recognition Cameras Found in Forty Shops", "Bayline Business Review", "2026-11-09", "https://bayline-review.example/retail/facial-recognition-shops?ref=brief"},
		{"Rendal Dock Workers Win a Cap on Night Shifts", "Rendal Evening Post", "2026-11-12", "https://rendal-post.example/local/night-shift-deal"},
		{"First Chip Export Licences Granted After Six Weeks", "Eastshore Tech", "2026-11-09", "https://eastshore-tech.example/policy/first-chip-licences"},
		{"Ferry Operator Left Passenger Lists Open Online", "Coastal Radio", "2026-11-06", "https://coastal-radio.example/news/ferry-passenger-lists"},
		{"Harbour Seals Counted at a Record Number", "Island Nature Notes", "2026-11-08", "https://island-nature.example/seals-november"},
	}
	if len(arts) != len(want) {
		t.Fatalf("%d articles, want %d", len(arts), len(want))
	}
	for i, a := range arts {
		w := want[i]
		if a.Title != w.title || a.Source != w.source || a.Published.Format("2006-01-02") != w.date || a.URL != w.url {
			t.Errorf("[%d] %q %q %s %q\nwant %q %q %s %q", i, a.Title, a.Source, a.Published.Format("2006-01-02"), a.URL, w.title, w.source, w.date, w.url)
		}
		if a.Summary == "" || a.Text == "" {
			t.Errorf("[%d] no text or summary", i)
		}
		if strings.Contains(a.Text, "Share this") || strings.Contains(a.Text, "Back to top") || strings.Contains(a.Text, "Skip to content") {
			t.Errorf("[%d] page chrome in the text: %q", i, a.Text)
		}
		if err := a.Validate(); err != nil {
			t.Errorf("[%d] %v", i, err)
		}
	}
	// Every outlet of a numbered list is a source of its story, with its
	// own date (a day, not a moment) and link (tracking parameters
	// removed), and none of them is in the story's text.
	day := func(d int) time.Time { return time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC) }
	numbered := map[int][]digestbot.Source{
		0: {
			{Name: "Vellmar Courier", URL: "https://vellmar-courier.example/campus/2026/11/12/lanternhall-closes", Published: day(12), DateOnly: true},
			{Name: "Northsound Radio", URL: "https://northsound-radio.example/news/vellmar-institute-vote", Published: day(11), DateOnly: true},
		},
		4: {
			{Name: "Rendal Evening Post", URL: "https://rendal-post.example/local/night-shift-deal", Published: day(12), DateOnly: true},
			{Name: "Harbour Wire", URL: "https://harbourwire.example/2026/11/12/rendal-deal", Published: day(12), DateOnly: true},
			{Name: "Coastal Ledger", URL: "https://coastal-ledger.example/labour/rendal-night-shifts", Published: day(13), DateOnly: true},
		},
	}
	for i, a := range arts {
		if !a.DateOnly || a.Published.IsZero() {
			t.Errorf("[%d] published %v, date only %v: a newsletter dates its stories by the day", i, a.Published, a.DateOnly)
		}
	}
	for i, a := range arts {
		if !reflect.DeepEqual(a.Sources, numbered[i]) {
			t.Errorf("[%d] sources %+v\nwant %+v", i, a.Sources, numbered[i])
		}
		for _, s := range numbered[i] {
			if strings.Contains(a.Text, s.Name) || strings.Contains(a.Summary, s.Name) {
				t.Errorf("[%d] outlet %q is in the text or summary", i, s.Name)
			}
		}
	}
}

// TestNewsletterSourceNameOverride: --name renames the first outlet of a
// numbered list, which stays the article's own source, and keeps the others.
func TestNewsletterSourceNameOverride(t *testing.T) {
	arts, err := Load(context.Background(), "testdata/newsletter.txt", LoadOptions{SourceName: "Harbour Brief"})
	if err != nil {
		t.Fatal(err)
	}
	a := arts[1]
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
	if a.Source != "Harbour Brief" || len(a.Sources) != 2 || a.Sources[0].Name != "Harbour Brief" || a.Sources[1].Name != "The Island Post" {
		t.Errorf("source %q, sources %+v", a.Source, a.Sources)
	}
}

func TestCanonicalURL(t *testing.T) {
	tests := []struct {
		raw, base, want string
		ok              bool
	}{
		{"HTTPS://Example.COM:443/a/b?utm_source=x&q=1&UTM_Medium=y#frag", "", "https://example.com/a/b?q=1", true},
		{"http://example.com:80", "", "http://example.com/", true},
		{"http://example.com:8080/x", "", "http://example.com:8080/x", true},
		{"/relative/path?utm_term=z", "https://Site.example/feed.xml", "https://site.example/relative/path", true},
		{"story.html", "https://site.example/news/feed.xml", "https://site.example/news/story.html", true},
		{"https://example.com/%E4%B8%93%E6%A0%8F?a=%20b", "", "https://example.com/%E4%B8%93%E6%A0%8F?a=%20b", true},
		{"https://[2001:DB8::1]:443/x", "", "https://[2001:db8::1]/x", true},
		{"ftp://example.com/file", "", "", false},
		{"javascript:alert(1)", "", "", false},
		{"mailto:someone@example.com", "", "", false},
		{"relative-without-base", "", "", false},
		{"", "", "", false},
		{"https://example.com/" + strings.Repeat("a", 3000), "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			got, ok := CanonicalURL(tt.raw, tt.base)
			if got != tt.want || ok != tt.ok {
				t.Errorf("CanonicalURL(%q, %q) = %q, %v; want %q, %v", tt.raw, tt.base, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestHTMLToText(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "just  text\nhere", "just text here"},
		{"plain paragraphs", "one\n\n\ntwo", "one\n\ntwo"},
		{"entities", "Tom &amp; Jerry &lt;3 &eacute;t&#233; &#x263A;", "Tom & Jerry <3 été ☺"},
		{"script and style dropped", "<p>a</p><script>var x = '<p>no</p>';</script><style>.x{}</style><p>b</p>", "a\n\nb"},
		{"noscript iframe dropped", "<p>keep</p><noscript>enable js</noscript><iframe src=x>inner</iframe>", "keep"},
		{"blocks", "<div>one<div>two</div></div><h2>three</h2><ul><li>four</li><li>five</li></ul>", "one\n\ntwo\n\nthree\n\nfour\n\nfive"},
		{"br", "line one<br>line two<br/>", "line one\nline two"},
		{"inline folds", "<p>a <b>bold</b>\n <i>move</i>\u00a0here</p>", "a bold move here"},
		{"nbsp paragraph", "<p>&nbsp;</p><p>text</p>", "text"},
		{"broken markup", "<p>unclosed <b>bold", "unclosed bold"},
		{"control chars", "a\x00b\x07c", "abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := HTMLToText(tt.in); got != tt.want {
				t.Errorf("HTMLToText(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

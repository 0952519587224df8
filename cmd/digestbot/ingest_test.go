package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/ingest"
	"github.com/digestbot/digestbot/store"
	"github.com/digestbot/digestbot/store/storetest"
)

// TestIngestDryRunJSON runs the README's first ingest example: every story
// of the sample newsletter as one complete JSON article, nothing stored.
func TestIngestDryRunJSON(t *testing.T) {
	out, errOut, code := runCLI(t, nil, "ingest", "--dry-run", "--json", sampleBrief)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var arts []digestbot.ArticleJSON
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var a digestbot.ArticleJSON
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			t.Fatalf("line is not a JSON article: %v", err)
		}
		arts = append(arts, a)
	}
	if len(arts) != 8 {
		t.Fatalf("%d articles, want 8", len(arts))
	}
	for _, a := range arts {
		if a.ID == "" || a.Title == "" || a.URL == "" || a.Source == "" || a.Published == "" || a.Summary == "" || a.Tags == nil {
			t.Errorf("incomplete article %+v", a)
		}
		// "sources" lists every outlet; the first is the article's own.
		if first := (digestbot.SourceJSON{Name: a.Source, URL: a.URL, Published: a.Published}); len(a.Sources) == 0 || a.Sources[0] != first {
			t.Errorf("%q: sources %+v do not start with its own outlet", a.Title, a.Sources)
		}
	}
	wantSources := map[int][]digestbot.SourceJSON{
		0: {
			{Name: "Vellmar Courier", URL: "https://vellmar-courier.example/campus/2026/11/12/lanternhall-closes", Published: "2026-11-12T00:00:00Z"},
			{Name: "Northsound Radio", URL: "https://northsound-radio.example/news/vellmar-institute-vote", Published: "2026-11-11T00:00:00Z"},
		},
		4: {
			{Name: "Rendal Evening Post", URL: "https://rendal-post.example/local/night-shift-deal", Published: "2026-11-12T00:00:00Z"},
			{Name: "Harbour Wire", URL: "https://harbourwire.example/2026/11/12/rendal-deal", Published: "2026-11-12T00:00:00Z"},
			{Name: "Coastal Ledger", URL: "https://coastal-ledger.example/labour/rendal-night-shifts", Published: "2026-11-13T00:00:00Z"},
		},
	}
	for i, a := range arts {
		want, numbered := wantSources[i]
		if numbered && !slices.Equal(a.Sources, want) || !numbered && len(a.Sources) != 1 {
			t.Errorf("%q: sources %+v, want %+v", a.Title, a.Sources, want)
		}
		for _, s := range a.Sources[min(1, len(a.Sources)):] {
			if strings.Contains(a.Text, s.Name) || strings.Contains(a.Text, s.URL) {
				t.Errorf("%q: outlet %s is in the text", a.Title, s.Name)
			}
		}
	}
	// The lead story (after the page chrome) has a numbered source list:
	// the first entry is its source, date and link.
	if a := arts[0]; a.Title != "Vellmar University Closes Its Lanternhall Institute" || a.Source != "Vellmar Courier" ||
		a.Published != "2026-11-12T00:00:00Z" || a.URL != "https://vellmar-courier.example/campus/2026/11/12/lanternhall-closes" {
		t.Errorf("numbered-source story: %+v", a)
	}
	// The Chinese story keeps its outlet and its Chinese date.
	if a := arts[2]; a.Source != "海港晚报" || a.Published != "2026-11-12T00:00:00Z" || !strings.Contains(a.Text, "灯塔学院") {
		t.Errorf("Chinese story: %+v", a)
	}
	// The tracking parameters and the fragment are gone from the link.
	if a := arts[3]; a.URL != "https://bayline-review.example/retail/facial-recognition-shops?ref=brief" {
		t.Errorf("tracking URL not made canonical: %q", a.URL)
	}
	if !strings.Contains(errOut, "8 articles (dry run: nothing stored)") {
		t.Errorf("stderr %q does not say nothing was stored", errOut)
	}
}

func TestIngestErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "notes.txt")
	os.WriteFile(bad, []byte("hello\nworld\n"), 0o600)
	notFeed := filepath.Join(dir, "notfeed.json")
	os.WriteFile(notFeed, []byte(`{"hello":"world"}`), 0o600)
	tests := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no source", []string{"ingest"}, 2, "Usage"},
		{"bad format flag", []string{"ingest", "--format", "csv", bad}, 2, "--format"},
		{"not a feed", []string{"ingest", "--dry-run", bad}, 1, bad + ":1:"},
		{"missing file", []string{"ingest", "--dry-run", filepath.Join(dir, "nope.xml")}, 1, "no such file"},
		{"json, not a feed", []string{"ingest", "--dry-run", notFeed}, 1, notFeed + `: a JSON document, but not a JSON Feed (no "version"`},
		{"html page", []string{"ingest", "--dry-run", "../../ingest/testdata/page.html"}, 1, "page.html:1: this is an HTML page, not a feed or newsletter"},
		{"forced format", []string{"ingest", "--dry-run", "--format", "atom", "../../ingest/testdata/rss2.xml"}, 1,
			"rss2.xml:2: not an Atom feed: its root element is <rss> (an RSS feed), where an Atom feed has <feed>\n"},
		{"bad format flag after the source", []string{"ingest", bad, "--format", "csv"}, 2, "--format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errOut, code := runCLI(t, nil, tt.args...)
			if code != tt.code || !strings.Contains(errOut, tt.msg) {
				t.Errorf("exit %d, stderr %q; want %d containing %q", code, errOut, tt.code, tt.msg)
			}
		})
	}
}

// TestIngestTwice: ingesting the same newsletter twice leaves one copy of
// each story; the second run reports them unchanged.
func TestIngestTwice(t *testing.T) { storetest.EachBackend(t, testIngestTwice) }

func testIngestTwice(t *testing.T, b *storetest.Backend) {
	src, want := sampleBrief, 8
	ctx := context.Background()
	st := b.Open(t, store.Options{})
	arts, err := ingest.Load(ctx, src, ingest.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for run, outcome := range []digestbot.PutOutcome{digestbot.PutNew, digestbot.PutUnchanged} {
		again, err := ingest.Load(ctx, src, ingest.LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		counts, err := ingestInto(ctx, st, again, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if counts[outcome] != want || len(counts) != 1 {
			t.Errorf("run %d: %v, want %d %s", run+1, counts, want, outcome)
		}
	}
	log, err := st.ArticlesAfter(ctx, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != want {
		t.Errorf("%d articles in the ingest log, want %d", len(log), want)
	}
	ids := make([]string, len(arts))
	for i, a := range arts {
		ids[i] = a.ID
	}
	got, err := st.GetArticles(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range got {
		if a == nil || a.Title != arts[i].Title {
			t.Errorf("article %d not stored as ingested: %+v", i, a)
		}
	}
}

// TestIngestFlagsAfterSources: options may follow the sources, as for
// lookup and match; after -- every argument is a source.
func TestIngestFlagsAfterSources(t *testing.T) {
	const rdf = "../../ingest/testdata/rss1.rdf" // one item
	tests := []struct {
		name string
		args []string
		out  string // on stdout
	}{
		{"flag after the source", []string{"ingest", rdf, "--dry-run"}, "1 article (dry run: nothing stored)\n"},
		{"flags around the sources", []string{"ingest", "--dry-run", rdf, "--name", "Weather", "../../ingest/testdata/atom.xml"}, "3 articles (dry run: nothing stored)\n"},
		{"-- ends the flags", []string{"ingest", "--dry-run", "--", rdf}, "1 article (dry run: nothing stored)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := runCLI(t, nil, tt.args...)
			if code != 0 || !strings.HasSuffix(out, tt.out) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want 0 and stdout ending %q", code, out, errOut, tt.out)
			}
		})
	}
	out, _, _ := runCLI(t, nil, "ingest", "--dry-run", rdf, "--name", "Weather")
	if !strings.Contains(out, "  Weather  Frost warning") {
		t.Errorf("--name after the source was not applied:\n%s", out)
	}
	// After --, an argument that looks like a flag is a source.
	if _, errOut, code := runCLI(t, nil, "ingest", "--dry-run", "--", "--json"); code != 1 || !strings.Contains(errOut, "--json: no such file") {
		t.Errorf("after --: exit %d, stderr %q; want --json read as a file name", code, errOut)
	}
}

func TestIngestStoresAndCounts(t *testing.T) {
	out, errOut, code := runCLI(t, nil, "ingest", "../../ingest/testdata/rss2.xml", "../../ingest/testdata/atom.xml")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "6 new, 0 updated, 0 unchanged") {
		t.Errorf("stdout %q lacks the count", out)
	}
}

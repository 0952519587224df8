package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/ingest"
	"github.com/digestbot/digestbot/store"
	"github.com/digestbot/digestbot/store/storetest"
)

const sampleBrief = "../../../shared/samples/china-brief-2021-03-20.txt"

func TestIngestDryRunJSON(t *testing.T) {
	src := sampleBrief
	if _, err := os.Stat(src); err != nil {
		src = "../../ingest/testdata/newsletter.txt"
	}
	out, errOut, code := runCLI(t, nil, "ingest", "--dry-run", "--json", src)
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
	want := 3
	if src == sampleBrief {
		want = 8
	}
	if len(arts) != want {
		t.Fatalf("%d articles, want %d", len(arts), want)
	}
	for _, a := range arts {
		if a.ID == "" || a.Title == "" || a.URL == "" || a.Source == "" || a.Published == "" || a.Tags == nil {
			t.Errorf("incomplete article %+v", a)
		}
	}
	if src == sampleBrief && (arts[2].Source != "Radio France Internationale" || arts[2].Published != "2021-03-19T00:00:00Z") {
		t.Errorf("numbered-source story: %+v", arts[2])
	}
	if !strings.Contains(errOut, "nothing stored") {
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
	src := sampleBrief
	want := 8
	if _, err := os.Stat(src); err != nil {
		src, want = "../../ingest/testdata/newsletter.txt", 3
	}
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

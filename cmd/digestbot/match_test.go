package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/subscriptions"
)

func TestMatchArticles(t *testing.T) {
	arts := []*digestbot.Article{
		{ID: "1", Title: "Norway closes Confucius Institute", Text: "Harald Bøckman comments.", Source: "Radio Free Asia"},
		{ID: "2", Title: "Cameras in stores", Text: "Facial recognition at BMW and Kohler stores."},
		{ID: "3", Title: "Cameras in malls", Text: "Facial recognition without consent."},
	}
	tests := []struct {
		query string
		ids   []string
		terms [][]string
	}{
		{"Confucius Institute", []string{"1"}, [][]string{{"Confucius", "Institute"}}},
		{`"facial recognition" -BMW`, []string{"3"}, [][]string{{"facial recognition"}}},
		{"bockman OR kohler", []string{"1", "2"}, [][]string{{"bockman"}, {"kohler"}}},
		{"source:asia", []string{"1"}, [][]string{{"asia"}}},
		{"weather", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			var ids []string
			var terms [][]string
			for _, h := range matchArticles(subscriptions.MustParse(tt.query), arts) {
				ids = append(ids, h.article.ID)
				terms = append(terms, h.terms)
			}
			if !reflect.DeepEqual(ids, tt.ids) || !reflect.DeepEqual(terms, tt.terms) {
				t.Errorf("matched %v %q, want %v %q", ids, terms, tt.ids, tt.terms)
			}
		})
	}
}

func TestMatchCommandErrors(t *testing.T) {
	_, errOut, code := runCLI(t, nil, "match", `china "red line`, "nothing.txt")
	if code != 1 || !strings.Contains(errOut, "unclosed quote at 7") {
		t.Errorf("bad query: exit %d, stderr %q", code, errOut)
	}
	_, _, code = runCLI(t, nil, "match", "china")
	if code != 2 {
		t.Errorf("no source: exit %d, want 2 (usage)", code)
	}
}

// sampleBrief is the project's sample newsletter, the one the README's
// examples read.
const sampleBrief = "../../samples/estuary-brief-2026-11-13.txt"

// TestMatchCommandOnSample runs the README's match examples on the sample
// newsletter: a word finds its two stories (one in Chinese that names the
// institute in Latin letters), and the phrase query with an exclusion keeps
// one story and names the one it left out.
func TestMatchCommandOnSample(t *testing.T) {
	out, _, code := runCLI(t, nil, "match", "--json", "Lanternhall", sampleBrief)
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("want the Vellmar story and the Chinese library story, got %d lines:\n%s", len(lines), out)
	}
	var titles []string
	for _, l := range lines {
		var a digestbot.ArticleJSON
		if err := json.Unmarshal([]byte(l), &a); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a.Matched, []string{"Lanternhall"}) {
			t.Errorf("%q matched %q", a.Title, a.Matched)
		}
		titles = append(titles, a.Title)
	}
	if want := []string{"Vellmar University Closes Its Lanternhall Institute", "灯塔学院关闭后，晚间语言课搬进维尔马市图书馆"}; !reflect.DeepEqual(titles, want) {
		t.Errorf("titles %q, want %q", titles, want)
	}

	out, errOut, code := runCLI(t, nil, "match", `"facial recognition" -Calloway`, sampleBrief)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	// Without --json the closing count and the story the exclusion left out
	// follow the matches on stdout.
	want := "Rendal Station Pauses Facial Recognition Gates\n" +
		"  Harbour Wire · 2026-11-10 · https://harbourwire.example/2026/11/10/rendal-gates\n" +
		"  matched: facial recognition\n\n" +
		"1 of 8 articles match \"facial recognition\" -Calloway\n" +
		"  left out by -Calloway: Facial Recognition Cameras Found in Forty Shops\n"
	if out != want || errOut != "" {
		t.Errorf("stdout\n%s\nstderr %q\nwant stdout\n%s", out, errOut, want)
	}

	// The second outlet of a numbered source list is a source, shown
	// under the first, and not a word of the story.
	out, errOut, code = runCLI(t, nil, "match", `source:"Northsound Radio"`, sampleBrief)
	want = "Vellmar University Closes Its Lanternhall Institute\n" +
		"  Vellmar Courier · 2026-11-12 · https://vellmar-courier.example/campus/2026/11/12/lanternhall-closes\n" +
		"  also: Northsound Radio · 2026-11-11 · https://northsound-radio.example/news/vellmar-institute-vote\n" +
		"  matched: Northsound Radio\n\n" +
		"1 of 8 articles match source:\"Northsound Radio\"\n"
	if code != 0 || out != want {
		t.Errorf("exit %d, stdout\n%s\nstderr %q\nwant stdout\n%s", code, out, errOut, want)
	}
	if out, _, _ := runCLI(t, nil, "match", "Northsound", sampleBrief); out != "0 of 8 articles match Northsound\n" {
		t.Errorf("an outlet's name matched as a word of the story:\n%s", out)
	}
}

func TestBenchGenAndMatch(t *testing.T) {
	dir := t.TempDir()
	_, errOut, code := runCLI(t, nil, "bench", "gen", "--queries", "2000", "--articles", "50", "--out", dir)
	if code != 0 {
		t.Fatalf("gen: exit %d: %s", code, errOut)
	}
	per := filepath.Join(dir, "per.tsv")
	out, errOut, code := runCLI(t, nil, "bench", "match", "--queries", filepath.Join(dir, "queries.txt"),
		"--articles", filepath.Join(dir, "articles.jsonl"), "--per-article", per)
	if code != 0 {
		t.Fatalf("match: exit %d: %s", code, errOut)
	}
	for _, want := range []string{"queries             2000", "articles            50 (5 warm-up, 45 timed)", "total hits", "candidates/article", "articles/s", "index memory"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	data, err := os.ReadFile(per)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 50 || !strings.HasPrefix(lines[0], "a000001\t") {
		t.Errorf("per-article file has %d lines, first %q", len(lines), lines[0])
	}
	// The per-article counts agree with the naive evaluation of every query.
	queries, _ := readQueries(filepath.Join(dir, "queries.txt"))
	arts, _ := readBenchArticles(filepath.Join(dir, "articles.jsonl"))
	for i, a := range arts[:5] {
		d := subscriptions.NewDoc(a.Title, a.Text, "", nil)
		n := 0
		for _, q := range queries {
			if _, ok := subscriptions.MustParse(q.text).Match(d); ok {
				n++
			}
		}
		if want := a.ID + "\t" + strconv.Itoa(n); lines[i] != want {
			t.Errorf("per-article line %q, naive count %q", lines[i], want)
		}
	}
}

// TestQueriesMayStartWithAnExclusion: '-calloway facial' is a query, not a flag,
// for match and lookup; a mistyped --flag is still refused.
func TestQueriesMayStartWithAnExclusion(t *testing.T) {
	if out, errOut, code := runCLI(t, nil, "match", "-calloway facial", sampleBrief); code != 0 || !strings.Contains(out, "1 of 8 articles match -calloway facial") {
		t.Errorf("match '-calloway facial': exit %d, %q %q", code, out, errOut)
	}
	if _, errOut, code := runCLI(t, nil, "lookup", "-acme", "earnings"); code != 0 {
		t.Errorf("lookup -acme earnings: exit %d, %q", code, errOut)
	}
	if _, _, code := runCLI(t, nil, "lookup", "--jsn", "Confucius"); code == 0 {
		t.Error("lookup --jsn (a mistyped flag) was taken as a query")
	}
}

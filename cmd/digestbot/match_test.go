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

// matchSample is the sample newsletter of the shared samples, when present.
const matchSample = "../../../shared/samples/china-brief-2021-03-20.txt"

func TestMatchCommandOnSample(t *testing.T) {
	if _, err := os.Stat(matchSample); err != nil {
		t.Skip("sample newsletter not present")
	}
	out, _, code := runCLI(t, nil, "match", "--json", "Confucius Institute", matchSample)
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 1 {
		t.Fatalf("want exactly the Norway story, got %d lines:\n%s", len(lines), out)
	}
	var a digestbot.ArticleJSON
	if err := json.Unmarshal([]byte(lines[0]), &a); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(a.Title, "Norway") || !reflect.DeepEqual(a.Matched, []string{"Confucius", "Institute"}) {
		t.Errorf("got %q matched %q", a.Title, a.Matched)
	}
	out, errOut, code := runCLI(t, nil, "match", "--json", `"facial recognition" -BMW`, matchSample)
	if code != 0 || out != "" {
		t.Errorf("exit %d, output %q: want nothing, the facial recognition story names BMW", code, out)
	}
	// ... and the summary says which story the exclusion left out.
	if strings.Count(errOut, "left out by -BMW: ") != 1 {
		t.Errorf("summary %q does not name the story -BMW left out", errOut)
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

// TestQueriesMayStartWithAnExclusion: '-bmw china' is a query, not a flag,
// for match and lookup; a mistyped --flag is still refused.
func TestQueriesMayStartWithAnExclusion(t *testing.T) {
	if out, errOut, code := runCLI(t, nil, "match", "-bmw facial", "testdata/brief.txt"); code != 0 || !strings.Contains(out, "0 of 2 articles match -bmw facial") {
		t.Errorf("match '-bmw facial': exit %d, %q %q", code, out, errOut)
	}
	if _, errOut, code := runCLI(t, nil, "lookup", "-acme", "earnings"); code != 0 {
		t.Errorf("lookup -acme earnings: exit %d, %q", code, errOut)
	}
	if _, _, code := runCLI(t, nil, "lookup", "--jsn", "Confucius"); code == 0 {
		t.Error("lookup --jsn (a mistyped flag) was taken as a query")
	}
}

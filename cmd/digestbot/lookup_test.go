package main

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	digestbot "github.com/digestbot/digestbot"
	botcommands "github.com/digestbot/digestbot/commands"
	"github.com/digestbot/digestbot/ingest"
	"github.com/digestbot/digestbot/store"
	"github.com/digestbot/digestbot/store/storetest"
)

// storeAndIndex stores articles and indexes them as the ingest paths do.
func storeAndIndex(t *testing.T, st *store.Store, as []*digestbot.Article) {
	t.Helper()
	ctx := context.Background()
	if _, err := st.PutArticles(ctx, as); err != nil {
		t.Fatal(err)
	}
	if err := newArchive(st).Add(ctx, as); err != nil {
		t.Fatal(err)
	}
}

func TestLookupCommand(t *testing.T) { storetest.EachRealBackend(t, testLookupCommand) }

func testLookupCommand(t *testing.T, b *storetest.Backend) {
	envv, st := cliEnv(t, b)
	day := time.Now().UTC().Add(-48 * time.Hour)
	storeAndIndex(t, st, []*digestbot.Article{
		{ID: "tide-1", Title: "Tide tables for the estuary", URL: "https://example.org/tide", Source: "Estuary Post", Published: day,
			Text: "The tide will turn two hours earlier this week. Anglers should check the estuary gauge."},
		{ID: "tide-2", Title: "New bridge over the estuary", URL: "https://example.org/bridge", Source: "River Weekly", Published: day.Add(-40 * 24 * time.Hour),
			Text: "The bridge opens in spring. Its piers were placed to keep the tide flowing."},
	})

	t.Run("json", func(t *testing.T) {
		out, errOut, code := runCLI(t, envv, "lookup", "--json", "tide")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 2 {
			t.Fatalf("want 2 JSON lines, got:\n%s", out)
		}
		var first digestbot.ArticleJSON
		if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
			t.Fatal(err)
		}
		if first.ID != "tide-1" || len(first.Matched) != 1 || first.Matched[0] != "tide" {
			t.Errorf("first result %+v", first)
		}
	})
	t.Run("plain with flags after the query", func(t *testing.T) {
		out, errOut, code := runCLI(t, envv, "lookup", "tide", "--source", "river weekly")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		for _, want := range []string{"1. New bridge over the estuary", "River Weekly · ", "https://example.org/bridge", "keep the **tide** flowing", "1 article matches"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	})
	t.Run("since", func(t *testing.T) {
		out, _, code := runCLI(t, envv, "lookup", "--json", "--since", "7d", "tide")
		if code != 0 || strings.Count(out, "\n") != 1 || !strings.Contains(out, `"tide-1"`) {
			t.Errorf("exit %d, output:\n%s", code, out)
		}
	})
	t.Run("paging", func(t *testing.T) {
		out, errOut, code := runCLI(t, envv, "lookup", "--json", "--limit", "1", "estuary")
		if code != 0 || !strings.Contains(errOut, "--cursor ") {
			t.Fatalf("exit %d, stderr %s", code, errOut)
		}
		cur := strings.TrimSpace(errOut[strings.LastIndex(errOut, "--cursor ")+len("--cursor "):])
		out2, _, code := runCLI(t, envv, "lookup", "--json", "--limit", "1", "--cursor", cur, "estuary")
		if code != 0 || out == out2 || strings.Count(out2, "\n") != 1 {
			t.Errorf("second page %q after %q", out2, out)
		}
	})
	t.Run("rebuild", func(t *testing.T) {
		out, errOut, code := runCLI(t, envv, "lookup", "--rebuild", "--json", "bridge")
		if code != 0 || !strings.Contains(errOut, "rebuilt: 2 articles") || !strings.Contains(out, `"tide-2"`) {
			t.Errorf("exit %d, stdout %s, stderr %s", code, out, errOut)
		}
	})
	t.Run("chat command adapter", func(t *testing.T) {
		search := lookupSearch(newArchive(st))
		page, err := search(context.Background(), botcommands.LookupQuery{Query: "estuary", Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		if page.Total != 2 || len(page.Results) != 1 || page.Next == "" {
			t.Fatalf("first page %+v", page)
		}
		if r := page.Results[0]; r.Title != "Tide tables for the estuary" || r.URL == "" || r.Source != "Estuary Post" || !strings.Contains(r.Snippet, "**estuary**") {
			t.Errorf("result %+v", r)
		}
		next, err := search(context.Background(), botcommands.LookupQuery{Query: "estuary", Limit: 1, Cursor: page.Next})
		if err != nil || len(next.Results) != 1 || next.Results[0].Title != "New bridge over the estuary" || next.Next != "" {
			t.Errorf("second page %+v, %v", next, err)
		}
	})
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"bad query", []string{"lookup", `"tide`}, "unclosed quote"},
		{"bad since", []string{"lookup", "--since", "yesterday", "tide"}, "since"},
		{"bad limit", []string{"lookup", "--limit", "500", "tide"}, "--limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, code := runCLI(t, envv, tc.args...)
			if code != 1 || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stderr %q: want 1 and %q", code, errOut, tc.want)
			}
		})
	}
}

// TestLookupChinaBrief is the must-show on the shared sample, when
// it is there: Confucius finds the Norway story first, and the phrase
// "personal information" finds the LINE story.
func TestLookupChinaBrief(t *testing.T) {
	const sample = "../../../shared/samples/china-brief-2021-03-20.txt"
	if _, err := os.Stat(sample); err != nil {
		t.Skip("shared sample not present")
	}
	storetest.EachRealBackend(t, func(t *testing.T, b *storetest.Backend) { testLookupChinaBrief(t, b, sample) })
}

func testLookupChinaBrief(t *testing.T, b *storetest.Backend, sample string) {
	envv, st := cliEnv(t, b)
	as, err := ingest.Load(context.Background(), sample, ingest.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	storeAndIndex(t, st, as)

	out, errOut, code := runCLI(t, envv, "lookup", "--json", "Confucius")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var first digestbot.ArticleJSON
	if err := json.Unmarshal([]byte(strings.SplitN(out, "\n", 2)[0]), &first); err != nil {
		t.Fatalf("%v in %q", err, out)
	}
	if !strings.Contains(first.Title, "Norway") {
		t.Errorf("first result for Confucius is %q", first.Title)
	}
	out, errOut, code = runCLI(t, envv, "lookup", `"personal information"`)
	if code != 0 || !strings.Contains(out, "LINE") {
		t.Errorf("exit %d, stdout %s, stderr %s", code, out, errOut)
	}
}

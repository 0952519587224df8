package main

import (
	"context"
	"encoding/json"
	"slices"
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
		search := botcommands.ArchiveSearch(newArchive(st), st)
		page, err := search(context.Background(), botcommands.LookupQuery{Query: "estuary", Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		if page.Total != 2 || len(page.Results) != 1 {
			t.Fatalf("first page %+v", page)
		}
		if r := page.Results[0]; r.Title != "Tide tables for the estuary" || r.URL == "" || r.Source != "Estuary Post" || !strings.Contains(r.Snippet, "**estuary**") {
			t.Errorf("result %+v", r)
		}
		// The articles of a later page, by id: in the order asked, with
		// their snippets, an unknown one counted as gone.
		all, err := search(context.Background(), botcommands.LookupQuery{Query: "estuary", Limit: 500})
		if err != nil || len(all.Results) != 2 {
			t.Fatalf("all results %+v, %v", all, err)
		}
		ids := []string{all.Results[1].ID, "no-such-article", all.Results[0].ID}
		shown, err := search(context.Background(), botcommands.LookupQuery{Query: "estuary", IDs: ids})
		if err != nil || len(shown.Results) != 2 || shown.Gone != 1 || shown.Results[0].Title != "New bridge over the estuary" || !strings.Contains(shown.Results[1].Snippet, "**estuary**") {
			t.Errorf("page by ids %v: %+v, %v", ids, shown, err)
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

// TestLookupSampleBrief runs the README's lookup example on the sample
// newsletter: Lanternhall finds the story about the institute first and
// the Chinese story that names it second, and a phrase finds its one story.
func TestLookupSampleBrief(t *testing.T) { storetest.EachRealBackend(t, testLookupSampleBrief) }

func testLookupSampleBrief(t *testing.T, b *storetest.Backend) {
	envv, st := cliEnv(t, b)
	as, err := ingest.Load(context.Background(), sampleBrief, ingest.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	storeAndIndex(t, st, as)

	out, errOut, code := runCLI(t, envv, "lookup", "--json", "--since", "2026-11-01", "Lanternhall")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var titles []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var a digestbot.ArticleJSON
		if err := json.Unmarshal([]byte(l), &a); err != nil {
			t.Fatalf("%v in %q", err, out)
		}
		titles = append(titles, a.Title)
	}
	if want := []string{"Vellmar University Closes Its Lanternhall Institute", "灯塔学院关闭后，晚间语言课搬进维尔马市图书馆"}; !slices.Equal(titles, want) {
		t.Errorf("lookup Lanternhall found %q, want %q", titles, want)
	}
	// The source filter and source: find a story by its second outlet.
	for _, args := range [][]string{{"lookup", "Lanternhall", "--source", "Northsound Radio"}, {"lookup", "source:northsound"}} {
		out, errOut, code = runCLI(t, envv, args...)
		if code != 0 || !strings.Contains(out, "1. Vellmar University Closes Its Lanternhall Institute\n") ||
			!strings.Contains(out, "   also: Northsound Radio · 2026-11-11 · https://northsound-radio.example/news/vellmar-institute-vote\n") || !strings.Contains(out, "1 article matches") {
			t.Errorf("%q: exit %d, stdout %s, stderr %s", args, code, out, errOut)
		}
	}
	// In chat, the result found by its second outlet names both outlets.
	page, err := botcommands.ArchiveSearch(newArchive(st), st)(context.Background(), botcommands.LookupQuery{Query: "Lanternhall", Source: "Northsound Radio", Limit: 5})
	if err != nil || len(page.Results) != 1 || page.Results[0].Source != "Vellmar Courier, Northsound Radio" {
		t.Errorf("chat lookup by the second outlet: %+v, %v", page, err)
	}
	out, errOut, code = runCLI(t, envv, "lookup", `"personal information"`)
	if code != 0 || !strings.Contains(out, "1. Ferry Operator Left Passenger Lists Open Online") || !strings.Contains(out, "1 article matches") {
		t.Errorf("exit %d, stdout %s, stderr %s", code, out, errOut)
	}
}

package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/digestbot/digestbot/store/storetest"
)

// TestIngestThenLookup is the path a user takes: ingest a newsletter into
// Redis, then find its stories with lookup.
func TestIngestThenLookup(t *testing.T) { storetest.EachRealBackend(t, testIngestThenLookup) }

func testIngestThenLookup(t *testing.T, b *storetest.Backend) {
	envv, _ := cliEnv(t, b)
	if _, errOut, code := runCLI(t, envv, "ingest", "testdata/brief.txt"); code != 0 {
		t.Fatalf("ingest: exit %d: %s", code, errOut)
	}
	out, errOut, code := runCLI(t, envv, "lookup", "--json", "confucius")
	if code != 0 {
		t.Fatalf("lookup: exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var first struct {
		Title, URL string
		Score      float64
		Snippet    string
	}
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatalf("lookup --json printed %q: %v", out, err)
	}
	if first.Score <= 0 || !strings.Contains(first.Snippet, "**Confucius**") {
		t.Errorf("lookup --json lacks the score or the bold snippet: %s", lines[0])
	}
	if len(lines) != 1 || first.URL != "https://nordic-wire.example/education/bergen-confucius" {
		t.Errorf("lookup found %d results, first %+v; want the Bergen story only", len(lines), first)
	}
	out, _, _ = runCLI(t, envv, "lookup", `"shipping figures"`)
	if !strings.Contains(out, "Port Authority Publishes Shipping Figures") {
		t.Errorf("phrase lookup missed the story:\n%s", out)
	}
}

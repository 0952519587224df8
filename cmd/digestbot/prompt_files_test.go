package main

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	botcommands "github.com/digestbot/digestbot/commands"
	"github.com/digestbot/digestbot/config"
	"github.com/digestbot/digestbot/opml"
	"github.com/digestbot/digestbot/store/storetest"
)

// TestPromptFiles: at the prompt an attachment option reads a local file
// and a reply's files are saved where the prompt says.
func TestPromptFiles(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir()) // where the prompt saves the files
	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	c := newCore(cfg, storetest.OpenEmbedded(t), newLogger(&bytes.Buffer{}), time.Now)
	c.service.CheckFeed = func(context.Context, string) (botcommands.FeedCheck, error) { return botcommands.FeedCheck{}, nil } // no network in tests
	file := filepath.Join(t.TempDir(), "reader.opml")
	if err := os.WriteFile(file, opml.Encode("t", time.Time{}, []opml.Feed{{URL: "https://harbourwire.example/feed.xml", Title: "Harbour Wire"}}), 0o600); err != nil {
		t.Fatal(err)
	}
	in := "/feeds import file:" + file + "\n/feeds export\n/trend query:ferry\n"
	var out bytes.Buffer
	err = promptLoop(context.Background(), plainLines{bufio.NewScanner(strings.NewReader(in))}, &out, c.service, "demo-guild", "desk-id", map[string]string{"desk": "desk-id"})
	if err != nil {
		t.Fatal(err)
	}
	got := out.String()
	if !strings.Contains(got, "Imported reader.opml: 1 added") {
		t.Errorf("the import of a local file: %s", got)
	}
	saved := regexp.MustCompile(`📎 (\S+) \(\d+ bytes\): (\S+)`).FindAllStringSubmatch(got, -1)
	if len(saved) != 2 || saved[0][1] != "feeds.opml" || saved[1][1] != "trend.png" {
		t.Fatalf("saved files %v, want feeds.opml and trend.png:\n%s", saved, got)
	}
	data, err := os.ReadFile(strings.TrimSpace(saved[0][2]))
	if err != nil || !bytes.Contains(data, []byte("https://harbourwire.example/feed.xml")) {
		t.Errorf("the saved export: %v\n%s", err, data)
	}
}

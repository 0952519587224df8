package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestDemoCommand(t *testing.T) {
	var stdout, stderr bytes.Buffer
	e := &env{getenv: func(string) string { return "" }, stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr}
	if err := run(context.Background(), []string{"demo"}, e); err != nil {
		t.Fatalf("demo: %v\nstderr: %s", err, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"#harbour-watch", "#tech-policy", "#energy-desk", "](https://", "_Coastal Ledger · 2", " Nov 2026_"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	if stderr.Len() > 0 {
		t.Errorf("demo wrote to stderr: %s", stderr.String())
	}
}

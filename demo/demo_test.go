package demo

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/digestbot/digestbot/console"
	"github.com/digestbot/digestbot/digest"
	"github.com/digestbot/digestbot/store"
	"github.com/digestbot/digestbot/store/storetest"
)

func TestBundledSamplesParse(t *testing.T) {
	arts, err := Articles(time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	sources := map[string]bool{}
	var chinese, english int
	for _, a := range arts {
		if err := a.Validate(); err != nil {
			t.Errorf("sample article invalid: %v", err)
		}
		if a.Published.IsZero() || !strings.HasPrefix(a.URL, "https://") {
			t.Errorf("sample %q lacks a date or link", a.Title)
		}
		sources[a.Source] = true
		if strings.ContainsFunc(a.Title, func(r rune) bool { return r >= 0x4e00 && r <= 0x9fff }) {
			chinese++
		} else {
			english++
		}
	}
	if len(Files()) != 4 || len(sources) < 5 || chinese < 3 || english < 5 {
		t.Errorf("%d files, %d sources, %d Chinese and %d English articles; want 4 files, several sources, both languages", len(Files()), len(sources), chinese, english)
	}
}

// TestDemoPrintsDigests runs the demo's set-up and deliveries on every
// backend: the demo command uses the embedded store, but the same steps on
// a cluster exercise a whole matcher-to-digest cycle there.
func TestDemoPrintsDigests(t *testing.T) { storetest.EachBackend(t, testDemoPrintsDigests) }

func testDemoPrintsDigests(t *testing.T, b *storetest.Backend) {
	st := b.Open(t, store.Options{})
	ctx := context.Background()
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	env, err := Setup(ctx, st, now, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	d := &digest.Deliverer{Store: st, Transport: console.New(&out), Clock: func() time.Time { return now }}
	if err := env.DeliverAll(ctx, d, &out); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, ch := range Channels {
		part := text[strings.Index(text, "#"+ch.Name):]
		if next := strings.Index(part[1:], "════════ #"); next > 0 {
			part = part[:next]
		}
		if strings.Contains(part, "nothing new") {
			t.Errorf("channel #%s got no digest", ch.Name)
		}
	}
	checks := []struct{ what, re string }{
		{"linked titles", `(?m)^### \[[^\]]+\]\(https?://[^)]+\)$`},
		{"source and date lines", `(?m)^— [^\n]+ · 2\d Nov 2026$`},
		{"bold matched terms in summaries", `\*\*[^*]+\*\*`},
		{"a story merged from three outlets", `\+2 more · 24 Nov 2026`},
		{"Chinese stories", `### \[[^\]]*芯片`},
	}
	for _, c := range checks {
		if !regexp.MustCompile(c.re).MatchString(text) {
			t.Errorf("demo output lacks %s (%s):\n%s", c.what, c.re, text)
		}
	}
	// The newsletter's strike story lists Harbour Wire as its second
	// outlet, and Harbour Wire's own feed carries the same report: the
	// merged story shows that outlet once, with its link.
	if n := strings.Count(text, "— [Harbour Wire](https://harbourwire.example/2026/11/24/rendal-strike) · 24 Nov 2026\n"); n != 1 {
		t.Errorf("Harbour Wire's strike report is listed %d times, want once:\n%s", n, text)
	}
	// Everything was delivered: a second run posts nothing.
	var again bytes.Buffer
	d.Transport = console.New(&again)
	if err := env.DeliverAll(ctx, d, &again); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(again.String(), "###") {
		t.Errorf("second delivery posted again:\n%s", again.String())
	}
}

package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	botcommands "github.com/digestbot/digestbot/commands"
	"github.com/digestbot/digestbot/config"
	"github.com/digestbot/digestbot/store/storetest"
)

func TestPromptAnswersTypedCommands(t *testing.T) {
	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	c := newCore(cfg, storetest.OpenEmbedded(t), newLogger(&bytes.Buffer{}), time.Now)
	in := strings.Join([]string{
		`/subscribe query:"facial recognition" OR surveillance schedule:daily 07:30`,
		`/subscribe query:"unclosed`,
		`/subscriptions channel:#desk`,
		`/frobnicate`,
		`/next`,
		`/quit`,
		`/help`, // after /quit: never answered
	}, "\n")
	var out bytes.Buffer
	channels := map[string]string{"desk": "desk-id", "other": "other-id"}
	err = promptLoop(context.Background(), plainLines{bufio.NewScanner(strings.NewReader(in))}, &out, c.service, "demo-guild", "desk-id", channels)
	if err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		"Subscribed #desk to `\"facial recognition\" OR surveillance`",
		"unclosed quote",
		"every day at 07:30",
		"unknown command /frobnicate",
		"nothing to page through",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("prompt output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "<t:") || strings.Contains(got, "<#") {
		t.Errorf("Discord markup reached the terminal:\n%s", got)
	}
	if strings.Contains(got, "posts news digests") {
		t.Errorf("a command after /quit was answered:\n%s", got)
	}
}

func TestPromptNextSaysWhenALookupHasNoMorePages(t *testing.T) {
	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	c := newCore(cfg, storetest.OpenEmbedded(t), newLogger(&bytes.Buffer{}), time.Now)
	// "two pages" finds six articles, two pages of five; anything else one.
	c.service.Search = func(_ context.Context, q botcommands.LookupQuery) (*botcommands.LookupPage, error) {
		p := &botcommands.LookupPage{}
		if len(q.IDs) > 0 {
			for _, id := range q.IDs {
				p.Results = append(p.Results, botcommands.LookupResult{ID: id, Title: "Page two", URL: "https://example.org/" + id, Source: "S"})
			}
			return p, nil
		}
		n := 1
		if q.Query == "two pages" {
			n = 6
		}
		for i := 0; i < n; i++ {
			// Titles of different stories: alike ones would be one story.
			topic := []string{"harbour", "ferry", "kelp", "wind", "seals", "lamp"}[i]
			p.Results = append(p.Results, botcommands.LookupResult{ID: fmt.Sprint(i), Title: "Page one: " + topic, URL: fmt.Sprint("https://example.org/", i), Source: "S"})
		}
		p.Total = n
		return p, nil
	}
	steps := []struct{ line, want string }{
		{"/next", "✗ nothing to page through; run /lookup first"},
		{"/lookup query:two pages", "(type /next for the next page)"},
		{"/next", "Page two"},
		{"/next", "✗ that was the last page of the lookup"},
		{"/next", "✗ that was the last page of the lookup"},
		{"/lookup query:one page", "Page one"},
		{"/next", "✗ that was the last page of the lookup"},
		{"/subscriptions", "has no subscriptions"},
		{"/next", "✗ nothing to page through; run /lookup first"},
	}
	in := &markedLines{out: &bytes.Buffer{}}
	for _, st := range steps {
		in.lines = append(in.lines, st.line)
	}
	if err := promptLoop(context.Background(), in, in.out, c.service, "demo-guild", "desk-id", map[string]string{"desk": "desk-id"}); err != nil {
		t.Fatal(err)
	}
	in.marks = append(in.marks, in.out.Len())
	for i, st := range steps {
		// What the prompt printed between reading this line and the next.
		if got := in.out.String()[in.marks[i]:in.marks[i+1]]; !strings.Contains(got, st.want) {
			t.Errorf("step %d %s: printed %q, want %q", i+1, st.line, got, st.want)
		}
	}
}

// markedLines feeds lines to the prompt and notes how much it had printed
// when each was read, so a test can tell which line printed what.
type markedLines struct {
	lines []string
	out   *bytes.Buffer
	marks []int
}

func (m *markedLines) ReadLine() (string, error) {
	if len(m.marks) == len(m.lines) {
		return "", io.EOF
	}
	m.marks = append(m.marks, m.out.Len())
	return m.lines[len(m.marks)-1], nil
}

// TestPromptTurnsPages: /next and /prev turn the pages of a long list as
// its buttons do in Discord.
func TestPromptTurnsPages(t *testing.T) {
	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	c := newCore(cfg, storetest.OpenEmbedded(t), newLogger(&bytes.Buffer{}), time.Now)
	for i := range 44 {
		_, err := c.service.Handle(context.Background(), &botcommands.Request{Name: "subscribe", GuildID: "demo-guild", ChannelID: "desk-id", UserID: "u", CanManage: true,
			Options: map[string]string{"query": fmt.Sprintf(`"harbour authority %d" OR (ferry%d terminal) OR "port of call %d"`, i, i, i)}})
		if err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct{ line, want string }{
		{"/prev", "✗ nothing to go back to"},
		{"/subscriptions", "(type /next for the next page)"},
		{"/next", "/prev for the one before"},
		{"/prev", "_Showing 1–"},
	}
	in := &markedLines{out: &bytes.Buffer{}}
	for _, st := range steps {
		in.lines = append(in.lines, st.line)
	}
	if err := promptLoop(context.Background(), in, in.out, c.service, "demo-guild", "desk-id", map[string]string{"desk": "desk-id"}); err != nil {
		t.Fatal(err)
	}
	in.marks = append(in.marks, in.out.Len())
	for i, st := range steps {
		if got := in.out.String()[in.marks[i]:in.marks[i+1]]; !strings.Contains(got, st.want) {
			t.Errorf("step %d %s: printed %q, want %q", i+1, st.line, got, st.want)
		}
	}
}

package main

import (
	"bufio"
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

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
		"daily 07:30",
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

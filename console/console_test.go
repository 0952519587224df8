package console

import (
	"bytes"
	"context"
	"testing"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/digest"
)

func TestPostPrintsMarkdownOnce(t *testing.T) {
	var out bytes.Buffer
	tr := New(&out)
	msg := digest.Message{
		Content: "**harbour** — 1 story",
		Embeds: []digest.Embed{{
			Title: "Ferry [winter] timetable", URL: "https://harbourwire.example/ferry",
			Description: "Island ferries will sail twice a day.", Footer: "Harbour Wire · 2026-11-26",
			Timestamp: time.Date(2026, 11, 26, 7, 45, 0, 0, time.UTC),
		}},
	}
	ch := digestbot.ChannelRef{GuildID: "g", ChannelID: "c"}
	id1, err := tr.Post(context.Background(), ch, msg, "nonce-1")
	if err != nil {
		t.Fatal(err)
	}
	// A retried post with the same nonce returns the first message, like Discord.
	id2, err := tr.Post(context.Background(), ch, msg, "nonce-1")
	if err != nil || id2 != id1 {
		t.Fatalf("retry returned %q, %v; want %q", id2, err, id1)
	}
	want := "**harbour** — 1 story\n\n### [Ferry \\[winter\\] timetable](https://harbourwire.example/ferry)\nIsland ferries will sail twice a day.\n_Harbour Wire · 2026-11-26_\n\n"
	if out.String() != want {
		t.Errorf("printed\n%q\nwant\n%q", out.String(), want)
	}
}

func TestPostAfterCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out bytes.Buffer
	_, err := New(&out).Post(ctx, digestbot.ChannelRef{GuildID: "g", ChannelID: "c"}, digest.Message{Content: "x"}, "n")
	if digestbot.ErrorCode(err) != digestbot.EUNAVAILABLE || out.Len() != 0 {
		t.Errorf("Post after cancel: %v, printed %q; want EUNAVAILABLE and nothing printed", err, out.String())
	}
}

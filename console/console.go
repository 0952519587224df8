// Package console is the terminal transport: it prints digest messages as
// Markdown to a writer. The demo uses it, and tests use it to see a digest
// the way a reader would.
package console

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/digest"
)

// Transport prints messages to W. Like Discord with enforce_nonce, a
// message posted again with a nonce it has seen returns the first
// message's id and prints nothing, so a retried delivery shows once.
type Transport struct {
	w     io.Writer
	mu    sync.Mutex
	n     int
	nonce map[string]string
}

// New returns a transport that prints to w.
func New(w io.Writer) *Transport { return &Transport{w: w, nonce: map[string]string{}} }

// Post prints msg and returns its id ("console-N").
func (t *Transport) Post(ctx context.Context, ch digestbot.ChannelRef, msg digest.Message, nonce string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", digestbot.WrapError(digestbot.EUNAVAILABLE, err, "console: post cancelled")
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if id, ok := t.nonce[nonce]; ok && nonce != "" {
		return id, nil
	}
	if _, err := io.WriteString(t.w, Format(msg)+"\n"); err != nil {
		return "", digestbot.WrapError(digestbot.EUNAVAILABLE, err, "console: cannot write the message")
	}
	t.n++
	id := fmt.Sprintf("console-%d", t.n)
	if nonce != "" {
		t.nonce[nonce] = id
	}
	return id, nil
}

// Recent returns nothing: a terminal never loses the answer to a post, so
// no delivery needs to look for what it printed.
func (t *Transport) Recent(context.Context, digestbot.ChannelRef, time.Time, time.Time) ([]digest.Posted, error) {
	return nil, nil
}

// Format returns a message as Markdown: the content, then each embed as a
// linked title, its description and "— footer".
func Format(msg digest.Message) string {
	var b strings.Builder
	if msg.Content != "" {
		b.WriteString(msg.Content)
		b.WriteString("\n")
	}
	for _, e := range msg.Embeds {
		b.WriteString("\n")
		title := digest.EscapeMarkdown(e.Title)
		if e.URL != "" {
			title = "[" + title + "](" + e.URL + ")"
		}
		fmt.Fprintf(&b, "### %s\n", title)
		if e.Description != "" {
			b.WriteString(e.Description)
			b.WriteString("\n")
		}
		for _, f := range e.Fields {
			fmt.Fprintf(&b, "**%s**: %s\n", f.Name, f.Value)
		}
		if e.Footer != "" {
			// In italics, as Discord shows a footer in small print: a plain
			// "— Source" line would read as one more of the story's sources.
			fmt.Fprintf(&b, "_%s_\n", digest.EscapeMarkdown(e.Footer))
		}
	}
	return b.String()
}

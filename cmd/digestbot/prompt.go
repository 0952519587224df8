package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"golang.org/x/term"

	digestbot "github.com/digestbot/digestbot"
	botcommands "github.com/digestbot/digestbot/commands"
	"github.com/digestbot/digestbot/console"
	"github.com/digestbot/digestbot/digest"
)

// promptUser is who types at the terminal: a manager of the demo server.
const promptUser = "terminal-user"

// lineReader reads one line of input; io.EOF ends the prompt.
type lineReader interface {
	ReadLine() (string, error)
}

type plainLines struct{ sc *bufio.Scanner }

func (p plainLines) ReadLine() (string, error) {
	if p.sc.Scan() {
		return p.sc.Text(), nil
	}
	if err := p.sc.Err(); err != nil {
		return "", err
	}
	return "", io.EOF
}

// terminalLines reads with line editing and history (up and down arrows).
type terminalLines struct{ t *term.Terminal }

func (p terminalLines) ReadLine() (string, error) { return p.t.ReadLine() }

// startPrompt returns a line reader for e's stdin and the writer to answer
// on, with history when stdin is a terminal, and a function that restores
// the terminal.
func startPrompt(e *env) (lineReader, io.Writer, func()) {
	if f, ok := e.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		if old, err := term.MakeRaw(int(f.Fd())); err == nil {
			t := term.NewTerminal(struct {
				io.Reader
				io.Writer
			}{f, e.stdout}, "> ")
			return terminalLines{t}, t, func() { term.Restore(int(f.Fd()), old) }
		}
	}
	fmt.Fprint(e.stdout, "> ")
	return plainLines{bufio.NewScanner(e.stdin)}, e.stdout, func() {}
}

// promptLoop answers slash commands typed as text with the same command
// service the Discord bot uses, in the given server and channel. Commands
// are read until EOF, /quit or ctx ends.
func promptLoop(ctx context.Context, in lineReader, out io.Writer, svc *botcommands.Service, guildID, channelID string, channels map[string]string) error {
	next, prev := "", "" // custom ids of the last reply's Next and Previous buttons
	afterLookup := false // the last reply was a page of a lookup
	afterPages := false  // the last reply was a page of a reply in pages
	fmt.Fprintf(out, "Type slash commands as in Discord, e.g. /subscribe query:\"facial recognition\", /lookup query:port since:30d, /digest preview. /help lists them; /quit ends.\r\n")
	for ctx.Err() == nil {
		line, err := in.ReadLine()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		line = strings.TrimSpace(line)
		switch line {
		case "":
			continue
		case "/quit", "/exit", "quit", "exit":
			return nil
		}
		if line == "/next" {
			// The terminal's stand-in for the Next button of the last reply in pages or lookup.
			if next == "" {
				// Right after a lookup, "run /lookup first" would read as if
				// the lookup had not counted: it had, and showed all there is.
				if afterLookup {
					fmt.Fprint(out, "✗ that was the last page of the lookup\r\n")
				} else if afterPages {
					fmt.Fprint(out, "✗ that was the last page\r\n")
				} else {
					fmt.Fprint(out, "✗ nothing to page through; run /lookup first\r\n")
				}
				continue
			}
			line = "/button " + next
		}
		if line == "/prev" {
			// The stand-in for the Previous button of a reply in pages.
			if prev == "" {
				fmt.Fprint(out, "✗ nothing to go back to\r\n")
				continue
			}
			line = "/button " + prev
		}
		resp := answer(ctx, out, svc, line, guildID, channelID, channels)
		next, prev = "", ""
		afterLookup = resp != nil && isLookup(line)
		afterPages = false
		if resp != nil {
			if p, n := botcommands.PageTurns(resp); p != "" || n != "" {
				prev, next, afterPages = p, n, true
				fmt.Fprintf(out, "  (%s)\r\n", pageHint(p, n))
			}
		}
	}
	return nil
}

// pageHint says which of /prev and /next turn the pages of a reply.
func pageHint(prev, next string) string {
	switch {
	case prev == "":
		return "type /next for the next page"
	case next == "":
		return "the last page; type /prev for the one before"
	}
	return "type /next for the next page, /prev for the one before"
}

// isLookup reports whether a typed line runs a lookup or pages one.
func isLookup(line string) bool {
	if strings.HasPrefix(line, "/button lookup-next:") || strings.HasPrefix(line, "/button lookup-prev:") {
		return true
	}
	req, err := botcommands.ParseLine(line)
	return err == nil && req.Name == "lookup"
}

var (
	channelMention = regexp.MustCompile(`<#([^>\s]+)>`)
	discordStamp   = regexp.MustCompile(`<t:(-?\d+):[a-zA-Z]>`)
)

// terminalMarkup turns the Discord-only markup of a reply into text: a
// channel mention becomes #name, a timestamp a local date and time.
func terminalMarkup(s string, channels map[string]string) string {
	names := make(map[string]string, len(channels))
	for name, id := range channels {
		names[id] = name
	}
	s = channelMention.ReplaceAllStringFunc(s, func(m string) string {
		id := channelMention.FindStringSubmatch(m)[1]
		if name, ok := names[id]; ok {
			return "#" + name
		}
		return "#" + id
	})
	return discordStamp.ReplaceAllStringFunc(s, func(m string) string {
		sec, err := strconv.ParseInt(discordStamp.FindStringSubmatch(m)[1], 10, 64)
		if err != nil {
			return m
		}
		return time.Unix(sec, 0).Format("Mon 2 Jan 2006 15:04 MST")
	})
}

// answer runs one typed command and prints the reply.
func answer(ctx context.Context, out io.Writer, svc *botcommands.Service, line, guildID, channelID string, channels map[string]string) *botcommands.Response {
	var req *botcommands.Request
	if id, ok := strings.CutPrefix(line, "/button "); ok {
		req = &botcommands.Request{Name: "button", Options: map[string]string{"id": id}}
	} else {
		var err error
		if req, err = botcommands.ParseLine(line); err != nil {
			fmt.Fprintf(out, "✗ %s\r\n", digestbot.ErrorMessage(err))
			return nil
		}
	}
	req.GuildID, req.ChannelID, req.UserID, req.CanManage, req.Now = guildID, channelID, promptUser, true, time.Now()
	// Channels may be named with or without '#'.
	if ch := strings.TrimPrefix(req.Options["channel"], "#"); ch != "" {
		if id, ok := channels[ch]; ok {
			req.Options["channel"] = id
		}
	}
	promptAttachments(req)
	req.ChannelInGuild = func(_ context.Context, id string) (bool, error) {
		for _, cid := range channels {
			if cid == id {
				return true, nil
			}
		}
		return false, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	resp, err := svc.Handle(ctx, req)
	if err != nil {
		fmt.Fprintf(out, "✗ %s\r\n", digestbot.ErrorMessage(err))
		return nil
	}
	text := terminalMarkup(console.Format(digest.Message{Content: resp.Content, Embeds: resp.Embeds}), channels)
	fmt.Fprint(out, strings.ReplaceAll(strings.TrimRight(text, "\n"), "\n", "\r\n")+"\r\n")
	saveReplyFiles(out, resp.Files)
	return resp
}

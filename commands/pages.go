package commands

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/digest"
)

// A reply too long for one chat message is shown in pages, with Previous
// and Next buttons. Every page is made when the command runs and kept in
// the store under the guild for the life of an interaction token, so any
// replica answers the buttons, another server cannot, and the pages do
// not shift under the reader while the list changes.

const (
	// maxReplyContent is the most a reply's content may hold: Discord's
	// limit on a message, in digest.TextLen's count.
	maxReplyContent = 2000
	// replyTTL is how long a reply's buttons work (an interaction token
	// lives 15 minutes).
	replyTTL = 15 * time.Minute
	// maxFrame bounds the head and the tail of a list page, so that items
	// always have room.
	maxFrame = 700
	// countLineRoom is kept for the line that counts the items of a page.
	countLineRoom = 60
)

// Button custom id prefixes of a reply in pages: "page-next:ID:N" shows
// page N of the reply saved under ID.
const (
	prevPrefix = "page-prev:"
	nextPrefix = "page-next:"
)

// page is one message of a reply.
type page struct {
	Content string         `json:"content"`
	Embeds  []digest.Embed `json:"embeds,omitempty"`
}

// pagedReply is what a reply's buttons need: all its pages.
type pagedReply struct {
	Pages     []page `json:"pages"`
	Ephemeral bool   `json:"ephemeral"`
}

// UpdatesMessage reports whether the answer to a button replaces the
// message the button is on (Previous and Next of a reply in pages or of a
// lookup) instead of coming as a message of its own.
func UpdatesMessage(customID string) bool {
	return turnsListPage(customID) || strings.HasPrefix(customID, lookupPrev) || strings.HasPrefix(customID, lookupNext)
}

// turnsListPage reports whether a button is Previous or Next of a reply in
// pages (not of a lookup, whose buttons its own handler answers).
func turnsListPage(customID string) bool {
	return strings.HasPrefix(customID, prevPrefix) || strings.HasPrefix(customID, nextPrefix)
}

// PageTurns returns the custom ids of the Previous and Next buttons of a
// reply in pages or of a lookup ("" when there is none): for front ends
// without buttons, such as the terminal's /next.
func PageTurns(r *Response) (prev, next string) {
	for _, b := range r.Buttons {
		switch {
		case strings.HasPrefix(b.CustomID, prevPrefix), strings.HasPrefix(b.CustomID, lookupPrev):
			prev = b.CustomID
		case strings.HasPrefix(b.CustomID, nextPrefix), strings.HasPrefix(b.CustomID, lookupNext):
			next = b.CustomID
		}
	}
	return prev, next
}

// listPages lays a list out in pages: each holds head, as many whole items
// as fit, a line that counts what it shows and what follows (when there
// is more than one page), and tail. An item is never split between
// pages; one longer than a page by itself (a very long feed link) is
// shortened.
func listPages(head string, items []string, tail string) []page {
	head, tail = fitLines(head, maxFrame), fitLines(tail, maxFrame)
	items = append([]string(nil), items...)
	room := maxReplyContent - digest.TextLen(head) - digest.TextLen(tail) - countLineRoom
	var bounds [][2]int // items[a:b] of each page
	for i := 0; i < len(items) || len(bounds) == 0; {
		start, used := i, 0
		for ; i < len(items); i++ {
			n := digest.TextLen(items[i]) + 1
			if i > start && used+n > room {
				break
			}
			if n > room {
				items[i] = fitLines(items[i], room-1)
				n = digest.TextLen(items[i]) + 1
			}
			used += n
		}
		bounds = append(bounds, [2]int{start, i})
	}
	pages := make([]page, len(bounds))
	for p, bd := range bounds {
		var b strings.Builder
		if head != "" {
			b.WriteString(head + "\n")
		}
		for _, it := range items[bd[0]:bd[1]] {
			b.WriteString(it + "\n")
		}
		if len(bounds) > 1 {
			fmt.Fprintf(&b, "_Showing %d–%d of %d", bd[0]+1, bd[1], len(items))
			if more := len(items) - bd[1]; more > 0 {
				fmt.Fprintf(&b, " · %d more", more)
			}
			b.WriteString("_\n")
		}
		b.WriteString(tail)
		pages[p] = page{Content: strings.TrimRight(b.String(), "\n")}
	}
	return pages
}

// fitLines shortens s to at most max (digest.TextLen) by whole lines,
// ending with "…" when lines were left out; a first line longer than max
// is cut inside.
func fitLines(s string, max int) string {
	if digest.TextLen(s) <= max {
		return s
	}
	lines := strings.Split(s, "\n")
	var b strings.Builder
	n := 0
	for _, l := range lines {
		if n+digest.TextLen(l)+2 > max { // the line, its newline, "…"
			break
		}
		b.WriteString(l + "\n")
		n += digest.TextLen(l) + 1
	}
	if b.Len() == 0 {
		if max < 2 {
			return "…"
		}
		r := []rune(lines[0])
		for digest.TextLen(string(r)) > max-1 {
			r = r[:len(r)-1-len(r)/8]
		}
		return string(r) + "…"
	}
	return b.String() + "…"
}

// paged answers with the first of pages. When there are more, it keeps
// them all in the store and adds the buttons that turn them.
func (s *Service) paged(ctx context.Context, guildID string, pages []page, ephemeral bool) (*Response, error) {
	if len(pages) == 1 {
		return &Response{Content: pages[0].Content, Embeds: pages[0].Embeds, Ephemeral: ephemeral}, nil
	}
	b, err := json.Marshal(pagedReply{Pages: pages, Ephemeral: ephemeral})
	if err != nil {
		return nil, digestbot.WrapError(digestbot.EINTERNAL, err, "save a reply's pages")
	}
	var r [9]byte
	rand.Read(r[:])
	id := hex.EncodeToString(r[:])
	if err := s.Store.SaveReply(ctx, guildID, id, b, replyTTL); err != nil {
		return nil, err
	}
	return pageResponse(id, pagedReply{Pages: pages, Ephemeral: ephemeral}, 0), nil
}

// pageResponse is page n of a reply saved under id, with its buttons.
func pageResponse(id string, st pagedReply, n int) *Response {
	p := st.Pages[n]
	r := &Response{Content: p.Content, Embeds: p.Embeds, Ephemeral: st.Ephemeral}
	if n > 0 {
		r.Buttons = append(r.Buttons, Button{Label: "◀ Previous", CustomID: fmt.Sprintf("%s%s:%d", prevPrefix, id, n-1)})
	}
	if n+1 < len(st.Pages) {
		r.Buttons = append(r.Buttons, Button{Label: "Next ▶", CustomID: fmt.Sprintf("%s%s:%d", nextPrefix, id, n+1)})
	}
	return r
}

// turnPage answers a Previous or Next button.
func (s *Service) turnPage(ctx context.Context, req *Request) (*Response, error) {
	v := req.Options["id"]
	v = strings.TrimPrefix(strings.TrimPrefix(v, prevPrefix), nextPrefix)
	id, num, _ := strings.Cut(v, ":")
	n, err := strconv.Atoi(num)
	expired := digestbot.Errorf(digestbot.ENOTFOUND, "these pages have expired; run the command again")
	if err != nil || n < 0 {
		return nil, expired
	}
	b, err := s.Store.LoadReply(ctx, req.GuildID, id)
	if digestbot.ErrorCode(err) == digestbot.ENOTFOUND {
		return nil, expired
	}
	if err != nil {
		return nil, err
	}
	var st pagedReply
	if err := json.Unmarshal(b, &st); err != nil || n >= len(st.Pages) {
		return nil, expired
	}
	return pageResponse(id, st, n), nil
}

package commands

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/digest"
)

// A digest posted where the bot may not start a thread (or in a direct
// message, where there are none) shows its first stories and a "More"
// button; the rest are kept in the store under the server (any replica
// answers the button) for as long as stories are kept. Each press answers
// the one who pressed it with one page.

// moreRef is what a "More" button's custom id names.
type moreRef struct {
	guild string // the server that keeps the state; "" in ids made before it was named
	state string
	page  int
}

// parseMoreButton reads "more:GUILD:STATE:PAGE", or "more:STATE:PAGE" of
// buttons made before the server was named; ok=false for another button.
func parseMoreButton(id string) (moreRef, bool) {
	rest, ok := strings.CutPrefix(id, "more:")
	if !ok {
		return moreRef{}, false
	}
	parts := strings.Split(rest, ":")
	var m moreRef
	switch len(parts) {
	case 2:
		m.state = parts[0]
	case 3:
		m.guild, m.state = parts[0], parts[1]
	default:
		return moreRef{}, false
	}
	page, err := strconv.Atoi(parts[len(parts)-1])
	if err != nil || page < 0 || m.state == "" || (len(parts) == 3 && m.guild == "") {
		return moreRef{}, false
	}
	m.page = page
	return m, true
}

// moreButton answers a digest's "More" button with one page of the stories
// that did not fit in the channel, and Previous and Next. A press in a
// server reads that server's state only; a press in a direct message (no
// server) reads the state of the server the button names, and only from
// the channel the digest was posted in: the member's own DM channel.
func (s *Service) moreButton(ctx context.Context, req *Request, m moreRef) (*Response, error) {
	gone := digestbot.Errorf(digestbot.ENOTFOUND, "the rest of this digest is no longer kept; search it with /lookup")
	guild := m.guild
	switch {
	case req.GuildID != "" && guild == "":
		guild = req.GuildID
	case req.GuildID != "" && guild != req.GuildID, guild == "":
		return nil, gone
	}
	b, err := s.Store.LoadLookup(ctx, guild, m.state)
	if digestbot.ErrorCode(err) == digestbot.ENOTFOUND {
		return nil, gone
	}
	if err != nil {
		return nil, err
	}
	st, ok := readMoreState(b)
	if !ok || (req.GuildID == "" && (st.Channel == "" || st.Channel != req.ChannelID)) {
		return nil, gone
	}
	pages := st.Pages
	page := min(m.page, len(pages)-1)
	total, first := 0, 0
	for i, p := range pages {
		if i < page {
			first += len(p.Embeds)
		}
		total += len(p.Embeds)
	}
	shown := pages[page].Embeds
	r := &Response{
		Content:   fmt.Sprintf("More from this digest: %s %d–%d of %d (page %d of %d).", plural(total, "story", "stories"), first+1, first+len(shown), total, page+1, len(pages)),
		Embeds:    shown,
		Ephemeral: true,
	}
	id := func(page int) string {
		if m.guild == "" {
			return digest.MoreButtonID(m.state, page)
		}
		return digest.GuildMoreButtonID(m.guild, m.state, page)
	}
	if page > 0 {
		r.Buttons = append(r.Buttons, Button{Label: "Previous", CustomID: id(page - 1)})
	}
	if page+1 < len(pages) {
		r.Buttons = append(r.Buttons, Button{Label: "Next", CustomID: id(page + 1)})
	}
	return r, nil
}

// readMoreState decodes a "More" button's state: a digest.MoreState, or
// the bare list of pages kept before the channel was recorded.
func readMoreState(b []byte) (digest.MoreState, bool) {
	var st digest.MoreState
	if err := json.Unmarshal(b, &st); err != nil {
		st = digest.MoreState{}
		if err := json.Unmarshal(b, &st.Pages); err != nil {
			return st, false
		}
	}
	return st, len(st.Pages) > 0
}

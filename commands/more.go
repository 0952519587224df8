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

// A digest posted where the bot may not start a thread shows its first
// stories and a "More" button; the rest are kept in the store under the
// server (any replica answers the button) for as long as stories are kept.
// Each press answers the one who pressed it with one page.

// parseMoreButton reads "more:STATE:PAGE"; ok=false for another button.
func parseMoreButton(id string) (state string, page int, ok bool) {
	rest, ok := strings.CutPrefix(id, "more:")
	if !ok {
		return "", 0, false
	}
	i := strings.LastIndexByte(rest, ':')
	if i <= 0 {
		return "", 0, false
	}
	page, err := strconv.Atoi(rest[i+1:])
	if err != nil || page < 0 {
		return "", 0, false
	}
	return rest[:i], page, true
}

// moreButton answers a digest's "More" button with one page of the stories
// that did not fit in the channel, and Previous and Next.
func (s *Service) moreButton(ctx context.Context, req *Request, stateID string, page int) (*Response, error) {
	b, err := s.Store.LoadLookup(ctx, req.GuildID, stateID)
	if digestbot.ErrorCode(err) == digestbot.ENOTFOUND {
		return nil, digestbot.Errorf(digestbot.ENOTFOUND, "the rest of this digest is no longer kept; search it with /lookup")
	}
	if err != nil {
		return nil, err
	}
	var pages []digest.Message
	if err := json.Unmarshal(b, &pages); err != nil || len(pages) == 0 {
		return nil, digestbot.Errorf(digestbot.ENOTFOUND, "the rest of this digest is no longer kept; search it with /lookup")
	}
	page = min(page, len(pages)-1)
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
	if page > 0 {
		r.Buttons = append(r.Buttons, Button{Label: "Previous", CustomID: digest.MoreButtonID(stateID, page-1)})
	}
	if page+1 < len(pages) {
		r.Buttons = append(r.Buttons, Button{Label: "Next", CustomID: digest.MoreButtonID(stateID, page+1)})
	}
	return r, nil
}

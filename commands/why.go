package commands

import (
	"context"
	"strings"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/why"
)

// maxReply is Discord's limit on a reply's content, in characters.
const maxReply = 2000

// whyNoMatchListed is how many subscriptions that do not match an article
// /digest why lists one by one; a server with many subscriptions gets the
// rest as a count, so the reply stays within one message.
const whyNoMatchListed = 5

// Explain answers /digest why: what became of one article in this
// server (package why). Members may use it; the reply is only for them.
type Explain func(ctx context.Context, guildID, url string) (*why.Report, error)

func (s *Service) digestWhy(ctx context.Context, req *Request) (*Response, error) {
	if s.Why == nil {
		return nil, digestbot.Errorf(digestbot.EUNAVAILABLE, "/digest why is not available here")
	}
	// Discord users wrap links in <> to keep them from unfurling.
	u := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(req.Options["url"]), "<"), ">")
	rep, err := s.Why(ctx, req.GuildID, u)
	if err != nil {
		return nil, err
	}
	text := rep.Text(why.TextOptions{
		Channel:    func(id string) string { return "<#" + id + ">" },
		MaxNoMatch: whyNoMatchListed,
	})
	return &Response{Content: clip(strings.TrimSpace(text), maxReply), Ephemeral: true}, nil
}

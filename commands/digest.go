package commands

import (
	"context"
	"fmt"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/digest"
)

// resume lifts a delivery pause; a manager acting on the channel is the
// sign that it works again. Failures are logged: the command goes on.
func (s *Service) resume(ctx context.Context, ref digestbot.ChannelRef) bool {
	if s.ResumeChannel == nil {
		return false
	}
	resumed, err := s.ResumeChannel(ctx, ref)
	if err != nil && s.Log != nil {
		s.Log.Warn("could not resume a paused channel", "guild", ref.GuildID, "channel", ref.ChannelID, "err", err)
	}
	return resumed
}

func (s *Service) matchNow(ctx context.Context) error {
	if s.MatchNow == nil {
		return nil
	}
	return s.MatchNow(ctx)
}

func (s *Service) digestPreview(ctx context.Context, req *Request) (*Response, error) {
	ref, err := s.channel(ctx, req)
	if err != nil {
		return nil, err
	}
	if err := s.matchNow(ctx); err != nil {
		return nil, err
	}
	if s.Preview == nil {
		return nil, digestbot.Errorf(digestbot.EUNAVAILABLE, "previews are not available here")
	}
	msgs, err := s.Preview(ctx, ref)
	if err != nil {
		return nil, err
	}
	if len(msgs) == 0 {
		return &Response{Content: fmt.Sprintf("Nothing is waiting for <#%s>: the next digest would be empty and will not be posted.", ref.ChannelID), Ephemeral: true}, nil
	}
	// An interaction reply is one message: each message of the digest is
	// a page of the preview.
	pages := make([]page, len(msgs))
	for i, m := range msgs {
		intro := "Preview of the next digest (only you see it):"
		if len(msgs) > 1 {
			intro = fmt.Sprintf("Preview of the next digest, message %d of %d (only you see it):", i+1, len(msgs))
		}
		pages[i] = page{Content: fitLines(intro+"\n"+m.Content, maxReplyContent), Embeds: m.Embeds}
	}
	return s.paged(ctx, ref.GuildID, pages, true)
}

func (s *Service) digestNow(ctx context.Context, req *Request) (*Response, error) {
	ref, err := s.channel(ctx, req)
	if err != nil {
		return nil, err
	}
	if err := s.matchNow(ctx); err != nil {
		return nil, err
	}
	if s.PostNow == nil {
		return nil, digestbot.Errorf(digestbot.EUNAVAILABLE, "posting is not available here")
	}
	// A manager asking for a digest now is the signal that the channel works again.
	s.resume(ctx, ref)
	res, err := s.PostNow(ctx, ref)
	if err != nil {
		if digestbot.ErrorCode(err) == digestbot.ELIMIT {
			// Discord holds the bot's posts back for a while; the delivery
			// is retried on its own.
			return &Response{Content: fmt.Sprintf("Discord is slowing down the bot's posts in <#%s> right now; %s The rest follows shortly on its own, and no message is posted twice.",
				ref.ChannelID, postedSoFar(res)), Ephemeral: true}, nil
		}
		if digestbot.ErrorCode(err) == digestbot.EUNAVAILABLE && res.WindowID != "" {
			// Say what happened, not "later": some messages may be in the
			// channel already, and none will be posted twice.
			return &Response{Content: fmt.Sprintf("Posted %d of %d messages of the digest to <#%s>; Discord did not confirm the rest. "+
				"They are retried shortly, and no message is posted twice.", res.Posted+res.Found, res.Parts, ref.ChannelID), Ephemeral: true}, nil
		}
		return nil, err
	}
	switch {
	case res.Busy:
		return &Response{Content: fmt.Sprintf("A digest for <#%s> is being posted right now; it is complete within a minute.", ref.ChannelID), Ephemeral: true}, nil
	case res.Paused:
		return nil, digestbot.Errorf(digestbot.EUNAVAILABLE, "delivery to this channel is paused: %s", res.PausedReason)
	case res.Interrupted:
		return &Response{Content: fmt.Sprintf("Posted %d of %d messages of the digest to <#%s>; the bot is restarting, so the rest follows within a minute, and no message is posted twice.",
			res.Posted+res.Found, res.Parts, ref.ChannelID), Ephemeral: true}, nil
	case res.Items == 0:
		return &Response{Content: fmt.Sprintf("Nothing is waiting for <#%s>; no digest posted.", ref.ChannelID), Ephemeral: true}, nil
	}
	msg := fmt.Sprintf("Posted a digest of %s to <#%s>.", stories(res.Stories), ref.ChannelID)
	if res.Stories == 0 {
		msg = fmt.Sprintf("Finished posting the digest to <#%s>.", ref.ChannelID)
	}
	if res.SetAside > 0 {
		msg += fmt.Sprintf(" Discord refused %s of it; see /subscriptions.", plural(res.SetAside, "one message", fmt.Sprintf("%d messages", res.SetAside)))
	}
	return &Response{Content: msg, Ephemeral: true}, nil
}

// postedSoFar says how much of a digest reached the channel.
func postedSoFar(res digest.Result) string {
	if n := res.Posted + res.Found; n > 0 && res.Parts > 0 {
		return fmt.Sprintf("%d of the digest's %d messages are posted.", n, res.Parts)
	}
	return "nothing of the digest is posted yet."
}

package commands

import (
	"context"
	"fmt"
	"strings"

	digestbot "github.com/digestbot/digestbot"
)

func (s *Service) feedsAdd(ctx context.Context, req *Request) (*Response, error) {
	url := strings.TrimSpace(req.Options["url"])
	if err := checkFeedURL(url); err != nil {
		return nil, err
	}
	f := s.newFeed(req, url, strings.TrimSpace(req.Options["name"]))
	n := -1
	if s.CheckFeed != nil {
		var err error
		if n, err = s.CheckFeed(ctx, url); err != nil {
			return nil, err
		}
	}
	created, err := s.Store.AddFeed(ctx, f, s.Config.Limits.FeedsPerGuild)
	if err != nil {
		return nil, limitError(err, s.Config.Limits.FeedsPerGuild, "feed", "feeds", "remove one with /feeds remove first")
	}
	// The fetch above just worked: a feed paused by earlier failures is polled again.
	if s.ResumeFeed != nil {
		if err := s.ResumeFeed(ctx, url); err != nil && s.Log != nil {
			s.Log.Warn("could not resume a feed", "url", url, "err", err)
		}
	}
	if !created {
		return &Response{Content: fmt.Sprintf("%s is already one of this server's feeds; it is polled again from now.", url)}, nil
	}
	msg := fmt.Sprintf("Added the feed %s; it is polled every %s.", url, s.Config.Polling.Interval)
	if n >= 0 {
		msg += fmt.Sprintf(" It holds %s now.", count(n, "article", "articles"))
	}
	return &Response{Content: msg}, nil
}

// newFeed is a feed the caller adds to the server now.
func (s *Service) newFeed(req *Request, url, name string) *digestbot.Feed {
	return &digestbot.Feed{GuildID: req.GuildID, URL: url, Name: name, AddedBy: req.UserID, AddedAt: s.now().UTC()}
}

// checkFeedURL refuses anything but an absolute http(s) URL before the
// feed is fetched (see digestbot.ValidateFeedURL).
func checkFeedURL(raw string) error { return digestbot.ValidateFeedURL(raw) }

func (s *Service) feedsRemove(ctx context.Context, req *Request) (*Response, error) {
	url := strings.TrimSpace(req.Options["url"])
	if err := s.Store.RemoveFeed(ctx, req.GuildID, url); err != nil {
		return nil, err
	}
	return &Response{Content: fmt.Sprintf("Removed the feed %s.", url)}, nil
}

func (s *Service) feedsList(ctx context.Context, req *Request) (*Response, error) {
	feeds, err := s.Store.Feeds(ctx, req.GuildID)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	if len(feeds) == 0 && len(s.Config.Feeds) == 0 {
		return &Response{Content: "No feeds yet. Add one with /feeds add url:…", Ephemeral: true}, nil
	}
	line := func(url, name, origin string) {
		h, err := s.Store.FeedHealth(ctx, url)
		status := "not polled yet"
		if err == nil && h != nil {
			switch {
			case h.PausedReason != "":
				status = "⏸ paused: " + h.PausedReason
			case h.Failures > 0:
				status = fmt.Sprintf("⚠ %s in a row, last: %s", count(h.Failures, "failure", "failures"), h.LastError)
			case !h.LastSuccess.IsZero():
				status = "ok, last fetched " + discordTime(h.LastSuccess)
			}
		}
		label := url
		if name != "" {
			label = name + " — " + url
		}
		fmt.Fprintf(&b, "• %s%s: %s\n", label, origin, status)
	}
	for _, f := range feeds {
		line(f.URL, f.Name, "")
	}
	for _, f := range s.Config.Feeds {
		line(f.URL, f.Name, " (operator)")
	}
	return &Response{Content: b.String(), Ephemeral: true}, nil
}

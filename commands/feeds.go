package commands

import (
	"context"
	"fmt"
	neturl "net/url"
	"strings"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/schedule"
)

// FeedCheck is what fetching a feed once tells before it is added.
type FeedCheck struct {
	Title    string // the feed's own title (the source name of its articles)
	Articles int
}

// feedLabel is how a reply calls a feed: its name, else its title (with
// the link, which Discord shows without a preview), else its link.
func feedLabel(url, name, title string) string {
	switch {
	case name != "":
		return "**" + name + "** (" + url + ")"
	case title != "":
		return "**" + title + "** (" + url + ")"
	}
	return url
}

func (s *Service) feedsAdd(ctx context.Context, req *Request) (*Response, error) {
	url := strings.TrimSpace(req.Options["url"])
	if err := checkFeedURL(url); err != nil {
		return nil, err
	}
	f := &digestbot.Feed{GuildID: req.GuildID, URL: url, Name: strings.TrimSpace(req.Options["name"]), AddedBy: req.UserID, AddedAt: s.now().UTC()}
	n := -1
	if s.CheckFeed != nil {
		check, err := s.CheckFeed(ctx, url)
		if err != nil {
			return nil, err
		}
		n, f.Title = check.Articles, clip(check.Title, 200)
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
	label := feedLabel(url, f.Name, f.Title)
	if !created {
		return &Response{Content: fmt.Sprintf("%s is already one of this server's feeds; it is polled again from now.", label)}, nil
	}
	msg := fmt.Sprintf("Added the feed %s; it is polled every %s.", label, schedule.DurationText(s.Config.Polling.Interval))
	if n >= 0 {
		msg += fmt.Sprintf(" It holds %s now.", count(n, "article", "articles"))
	}
	return &Response{Content: msg}, nil
}

// checkFeedURL refuses anything but an absolute http(s) URL before the
// feed is fetched, so a chat command can never make the bot read a local
// file or another scheme. Private addresses are refused by the fetcher.
func checkFeedURL(raw string) error {
	u, err := neturl.Parse(raw)
	switch {
	case len(raw) > digestbot.MaxURLLen:
		return digestbot.Errorf(digestbot.EINVALID, "the feed URL is longer than %d characters", digestbot.MaxURLLen)
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return digestbot.Errorf(digestbot.EINVALID, "%q is not a feed URL: give an http:// or https:// address", raw)
	case u.User != nil:
		return digestbot.Errorf(digestbot.EINVALID, "feed URLs may not carry a user name or password")
	}
	return nil
}

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
	if len(feeds) == 0 && len(s.Config.Feeds) == 0 {
		return &Response{Content: "No feeds yet. Add one with /feeds add url:…", Ephemeral: true}, nil
	}
	var items []string
	line := func(url, label, origin string) {
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
		items = append(items, fmt.Sprintf("• %s%s: %s", label, origin, status))
	}
	for _, f := range feeds {
		line(f.URL, feedLabel(f.URL, f.Name, f.Title), "")
	}
	for _, f := range s.Config.Feeds {
		line(f.URL, feedLabel(f.URL, f.Name, ""), " (operator)")
	}
	head := fmt.Sprintf("%s:", count(len(items), "feed", "feeds"))
	return s.paged(ctx, req.GuildID, listPages(head, items, ""), true)
}

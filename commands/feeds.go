package commands

import (
	"context"
	"fmt"
	"strings"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/config"
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
	backfill, err := parseBackfill(req.Options["backfill"])
	if err != nil {
		return nil, err
	}
	f := s.newFeed(req, url, strings.TrimSpace(req.Options["name"]))
	f.DeliverSince = f.AddedAt.Add(-backfill)
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
		msg := fmt.Sprintf("%s is already one of this server's feeds; it is polled again from now.", label)
		if backfill > 0 {
			msg += " (backfill applies to a feed new to this server: nothing more is delivered.)"
		}
		return &Response{Content: msg}, nil
	}
	msg := fmt.Sprintf("Added the feed %s; it is polled every %s.", label, schedule.DurationText(s.Config.Polling.Interval))
	if n >= 0 {
		msg += fmt.Sprintf(" It holds %s now, for /lookup.", count(n, "article", "articles"))
	}
	if backfill > 0 {
		msg += fmt.Sprintf(" Its stories of the last %s reach the next digests, and new ones from then on.", days(backfill))
	} else {
		msg += " Digests bring its stories published from now on (backfill:3d would bring the last 3 days' too)."
	}
	return &Response{Content: msg}, nil
}

// parseBackfill reads /feeds add's backfill: how far back a new feed's
// stories reach the digests (0 when not given).
func parseBackfill(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, nil
	}
	d, err := config.ParseDuration(v)
	switch {
	case err != nil || d < 0:
		return 0, digestbot.Errorf(digestbot.EINVALID, "backfill %q: want a duration such as 3d or 12h", v)
	case d > digestbot.MaxFeedBackfill:
		return 0, digestbot.Errorf(digestbot.EINVALID, "backfill %q: at most %s; /lookup finds older stories", v, days(digestbot.MaxFeedBackfill))
	}
	return d, nil
}

// newFeed is a feed the caller adds to the server now. It starts from
// now: its first poll delivers only what is published from now on.
func (s *Service) newFeed(req *Request, url, name string) *digestbot.Feed {
	now := s.now().UTC()
	return &digestbot.Feed{GuildID: req.GuildID, URL: url, Name: name, AddedBy: req.UserID, AddedAt: now, DeliverSince: now}
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

package commands

import (
	"context"
	"fmt"
	"strings"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/config"
)

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
		msg := fmt.Sprintf("%s is already one of this server's feeds; it is polled again from now.", url)
		if backfill > 0 {
			msg += " (backfill applies to a feed new to this server: nothing more is delivered.)"
		}
		return &Response{Content: msg}, nil
	}
	msg := fmt.Sprintf("Added the feed %s; it is polled every %s.", url, s.Config.Polling.Interval)
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

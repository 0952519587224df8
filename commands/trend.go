package commands

import (
	"context"
	"strings"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/chart"
	"github.com/digestbot/digestbot/trend"
)

// defaultTrendSince is /trend's window when since is not given.
const defaultTrendSince = "7d"

// trend answers /trend: a chart of the stories the query matched per hour
// or per day, the outlets that carried most of them and a one-line
// reading, counted over what this server may see.
func (s *Service) trend(ctx context.Context, req *Request) (*Response, error) {
	if s.Trend == nil {
		return nil, digestbot.Errorf(digestbot.EUNAVAILABLE, "trends are not available here")
	}
	text := strings.TrimSpace(req.Options["query"])
	q, err := s.resolve(ctx, req.GuildID, text)
	if err != nil {
		return nil, err
	}
	now := s.now()
	sinceText := strings.TrimSpace(req.Options["since"])
	if sinceText == "" {
		sinceText = defaultTrendSince
	}
	since, err := ParseSince(sinceText, now)
	if err != nil {
		return nil, err
	}
	switch keep := s.Config.Retention; {
	case !since.Before(now):
		return nil, digestbot.Errorf(digestbot.EINVALID, "since %q is not in the past", sinceText)
	case keep > 0 && now.Sub(since) > keep:
		return nil, digestbot.Errorf(digestbot.EINVALID, "since %q reaches back further than the %s the archive keeps articles", sinceText, days(keep))
	}
	// Days begin at midnight where the channel's digests are scheduled.
	loc := time.UTC
	if sc, _, err := s.effectiveSchedule(ctx, digestbot.ChannelRef{GuildID: req.GuildID, ChannelID: req.ChannelID}); err == nil && sc.Location() != nil {
		loc = sc.Location()
	}
	series, err := s.Trend(ctx, trend.Request{Query: q, Label: text, Since: since, Now: now, Guild: req.GuildID, Location: loc})
	if err != nil {
		return nil, err
	}
	png, err := chart.PNG(series)
	if err != nil {
		return nil, digestbot.WrapError(digestbot.EINTERNAL, err, "draw the trend chart")
	}
	content := "`" + clip(text, 200) + "`: " + series.Reading()
	if line := series.OutletLine(); line != "" {
		content += "\n" + line
	}
	return &Response{Content: content, Ephemeral: true, Files: []File{{Name: "trend.png", ContentType: "image/png", Data: png}}}, nil
}

// days writes a duration in days, or in hours when it is not whole days:
// "30 days", "12 hours".
func days(d time.Duration) string {
	if d%(24*time.Hour) != 0 {
		return count(int(d/time.Hour), "hour", "hours")
	}
	return count(int(d/(24*time.Hour)), "day", "days")
}

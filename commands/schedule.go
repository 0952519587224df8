package commands

import (
	"context"
	"fmt"
	"strings"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/schedule"
)

func (s *Service) setSchedule(ctx context.Context, req *Request) (*Response, error) {
	ref, err := s.channel(ctx, req)
	if err != nil {
		return nil, err
	}
	when := strings.TrimSpace(req.Options["when"])
	tz := strings.TrimSpace(req.Options["timezone"])
	if when == "" && tz == "" {
		return nil, digestbot.Errorf(digestbot.EINVALID, "/schedule needs when, timezone or both, e.g. /schedule when:daily 08:00 timezone:Europe/Paris")
	}
	fromDefault := false
	if when == "" {
		// Only the zone changes: keep what the channel gets now (its own
		// schedule, else the server's or the configured default, which the
		// channel then holds as its own — the reply says so).
		own, err := s.Store.Schedule(ctx, ref.GuildID, ref.ChannelID)
		if err != nil {
			return nil, err
		}
		cur, _, err := s.effectiveSchedule(ctx, ref)
		if err != nil {
			return nil, err
		}
		when, fromDefault = cur.Spec(), own == nil
	}
	if tz == "" {
		if cur, err := s.Store.Schedule(ctx, ref.GuildID, ref.ChannelID); err == nil && cur != nil && cur.TimeZone != "" {
			tz = cur.TimeZone
		} else {
			tz = s.Config.Schedule.TimeZone
		}
	}
	sc, err := schedule.Parse(when, tz, s.Config.Schedule.MinInterval)
	if err != nil {
		return nil, err
	}
	cs := &digestbot.ChannelSchedule{GuildID: ref.GuildID, ChannelID: ref.ChannelID, Spec: sc.Spec(), TimeZone: sc.TimeZone(), UpdatedAt: s.now().UTC()}
	if err := s.Store.SetSchedule(ctx, cs); err != nil {
		return nil, err
	}
	s.scheduleChanged(ctx, ref)
	msg := fmt.Sprintf("%s Next: %s.", channelScheduleLine(ref, sc), discordTime(sc.Next(s.now())))
	if note := schedule.ZoneNote(sc.Location()); note != "" && strings.TrimSpace(req.Options["timezone"]) != "" {
		msg += " ⚠ " + note
	}
	if fromDefault {
		msg += " The channel followed the server's default schedule; it now has its own, so later changes to the default do not reach it."
	}
	return &Response{Content: msg}, nil
}

// channelScheduleLine tells that a schedule was set for a whole channel:
// /subscribe schedule:… and /schedule both change it for every
// subscription the channel has, not for one.
func channelScheduleLine(ref digestbot.ChannelRef, sc *schedule.Schedule) string {
	return fmt.Sprintf("<#%s> now gets its digest %s; this applies to every subscription of the channel.", ref.ChannelID, sc.Words())
}

func (s *Service) scheduleChanged(ctx context.Context, ref digestbot.ChannelRef) {
	if s.ScheduleChanged != nil {
		s.ScheduleChanged(ctx, ref)
	}
}

// scheduled tells the digest scheduler of a channel that got a
// subscription (or a member's DM channel a watch): its schedule changed
// with it, or it gets digests from now on if it had none.
func (s *Service) scheduled(ctx context.Context, ref digestbot.ChannelRef, changed bool) {
	switch {
	case changed:
		s.scheduleChanged(ctx, ref)
	case s.ChannelSubscribed != nil:
		s.ChannelSubscribed(ctx, ref)
	}
}

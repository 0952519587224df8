package commands

import (
	"context"
	"fmt"
	"strings"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/schedule"
	"github.com/digestbot/digestbot/subscriptions"
)

// Personal watches: any member follows a query privately, and its digests
// come by direct message on the member's own schedule. A watch belongs to
// the server it was made in: it matches what that server may see, counts
// against that server's limit, and is listed and removed there. Every
// reply about watches is ephemeral, and the server's admins only ever see
// how many there are (/subscriptions).

func (s *Service) watchAdd(ctx context.Context, req *Request) (*Response, error) {
	text := strings.TrimSpace(req.Options["query"])
	q, err := s.resolve(ctx, req.GuildID, text)
	if err != nil {
		return nil, err
	}
	parsed, _ := subscriptions.Parse(text)
	if s.DirectChannel == nil {
		return nil, digestbot.Errorf(digestbot.EUNAVAILABLE, "personal watches need direct messages, which are not available here")
	}
	// The schedule is checked before anything is stored or asked of the
	// chat service: a bad one changes nothing.
	spec, tz := strings.TrimSpace(req.Options["schedule"]), strings.TrimSpace(req.Options["timezone"])
	if spec != "" || tz != "" {
		if _, err := schedule.Parse(orString(spec, s.Config.Schedule.Default), orString(tz, s.Config.Schedule.TimeZone), s.Config.Schedule.MinInterval); err != nil {
			return nil, err
		}
	}
	dm, err := s.DirectChannel(ctx, req.UserID)
	if err != nil {
		return nil, err
	}
	ref := digestbot.ChannelRef{GuildID: req.GuildID, ChannelID: dm}
	w := &digestbot.Subscription{GuildID: req.GuildID, ChannelID: dm, Query: parsed.String(), Owner: req.UserID,
		CreatedBy: req.UserID, CreatedAt: s.now().UTC()}
	w.ID = digestbot.SubscriptionID(w.GuildID, w.ChannelID, w.Query, "")
	created, err := s.Store.AddWatch(ctx, w, s.Config.Limits.WatchesPerMember, s.Config.Limits.WatchesPerGuild)
	if err != nil {
		return nil, err
	}
	var sc *schedule.Schedule
	if spec != "" || tz != "" {
		if sc, err = s.setWatchSchedule(ctx, ref, spec, tz); err != nil {
			return nil, err
		}
	}
	s.scheduled(ctx, ref, sc != nil)

	var b strings.Builder
	if s.resume(ctx, ref) {
		b.WriteString("Your watches here had been paused because Discord refused the bot's direct messages to you; they are resumed.\n")
	}
	if created {
		fmt.Fprintf(&b, "You now watch `%s` in this server. Its digests come to you by direct message; only you see them.\n", w.Query)
	} else {
		fmt.Fprintf(&b, "You already watch `%s` in this server.\n", w.Query)
	}
	if n, examples, err := s.recentMatches(ctx, req.GuildID, q, 7*24*time.Hour, 3); err == nil {
		fmt.Fprintf(&b, "Of the articles published in the last 7 days, %s.", matchCount(n))
		for _, r := range examples {
			fmt.Fprintf(&b, "\n• %s", resultLink(r))
		}
		b.WriteString("\n")
	}
	if sc == nil {
		sc, _, err = s.effectiveSchedule(ctx, ref)
	}
	if err == nil {
		fmt.Fprintf(&b, "Your digest: %s (all your watches in this server share it). Next: %s.\n", sc, discordTime(sc.Next(s.now())))
	}
	b.WriteString("Allow direct messages from this server's members (or from the bot) so that they reach you.")
	return &Response{Content: b.String(), Ephemeral: true}, nil
}

// setWatchSchedule sets the schedule of a member's watches in a server:
// spec and zone as given, each else the member's current one (else the
// server's, else the configured default).
func (s *Service) setWatchSchedule(ctx context.Context, ref digestbot.ChannelRef, spec, tz string) (*schedule.Schedule, error) {
	cur, _, err := s.effectiveSchedule(ctx, ref)
	if err != nil {
		return nil, err
	}
	sc, err := schedule.Parse(orString(spec, cur.Spec()), orString(tz, cur.TimeZone()), s.Config.Schedule.MinInterval)
	if err != nil {
		return nil, err
	}
	cs := &digestbot.ChannelSchedule{GuildID: ref.GuildID, ChannelID: ref.ChannelID, Spec: sc.Spec(), TimeZone: sc.TimeZone(), UpdatedAt: s.now().UTC()}
	return sc, s.Store.SetSchedule(ctx, cs)
}

func orString(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (s *Service) watchList(ctx context.Context, req *Request) (*Response, error) {
	ws, err := s.Store.Watches(ctx, req.GuildID, req.UserID)
	if err != nil {
		return nil, err
	}
	if len(ws) == 0 {
		return &Response{Content: "You have no personal watches in this server. `/watch add query:…` follows a query for you, by direct message.", Ephemeral: true}, nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Your watches in this server (%d of %d):\n", len(ws), s.Config.Limits.WatchesPerMember)
	for _, w := range ws {
		fmt.Fprintf(&b, "• `%s` (id %s, since %s)", w.Query, w.ID, w.CreatedAt.Format("2006-01-02"))
		if _, err := s.resolve(ctx, req.GuildID, w.Query); err != nil {
			fmt.Fprintf(&b, " ⚠ matches nothing now: %s", digestbot.ErrorMessage(err))
		}
		b.WriteString("\n")
	}
	// Watches made from one account share its direct-message channel.
	ref := digestbot.ChannelRef{GuildID: req.GuildID, ChannelID: ws[0].ChannelID}
	if sc, _, err := s.effectiveSchedule(ctx, ref); err == nil {
		fmt.Fprintf(&b, "Digest: %s. Next: %s.\n", sc, discordTime(sc.Next(s.now())))
	}
	st, err := s.Store.ChannelState(ctx, ref.GuildID, ref.ChannelID)
	if err == nil && st.PausedReason != "" {
		fmt.Fprintf(&b, "⚠ Paused since %s: %s\n", discordTime(st.PausedAt), watchPauseReason(st))
		b.WriteString("Once direct messages from the bot reach you, run `/watch add` with one of your queries: that resumes your watches.\n")
	}
	if err == nil && st.Dropped > 0 {
		fmt.Fprintf(&b, "%s not kept while your watches were paused.\n", stories(st.Dropped))
	}
	if pending, err := s.Store.Pending(ctx, ref.GuildID, ref.ChannelID); err == nil && len(pending) > 0 {
		fmt.Fprintf(&b, "%s waiting for your next digest.\n", stories(len(pending)))
	}
	return &Response{Content: b.String(), Ephemeral: true}, nil
}

// watchPauseReason says why a member's watches are paused, in the
// member's terms.
func watchPauseReason(st *digestbot.ChannelState) string {
	if st.PausedBy == digestbot.PauseForbidden {
		return "Discord refuses the bot's direct messages to you (you may have turned off direct messages from server members, or blocked the bot). Discord said: " + st.PausedReason
	}
	return st.PausedReason
}

func (s *Service) watchRemove(ctx context.Context, req *Request) (*Response, error) {
	want := strings.TrimSpace(req.Options["watch"])
	ws, err := s.Store.Watches(ctx, req.GuildID, req.UserID)
	if err != nil {
		return nil, err
	}
	// The autocomplete sends the id; the query typed out works too.
	id := want
	for _, w := range ws {
		if strings.EqualFold(w.Query, want) {
			id = w.ID
		}
	}
	w, err := s.Store.RemoveWatch(ctx, req.GuildID, req.UserID, id)
	if err != nil {
		return nil, err
	}
	return &Response{Content: fmt.Sprintf("You no longer watch `%s` in this server.", w.Query), Ephemeral: true}, nil
}

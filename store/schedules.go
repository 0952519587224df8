package store

import (
	"cmp"
	"context"
	"errors"
	"slices"

	"github.com/digestbot/digestbot"
	"github.com/redis/go-redis/v9"
)

// SetSchedule stores a channel's schedule (ChannelID "" = the guild
// default). The spec is stored as given; package schedule validates it.
func (s *Store) SetSchedule(ctx context.Context, sc *digestbot.ChannelSchedule) error {
	if sc == nil {
		return digestbot.Errorf(digestbot.EINVALID, "schedule is missing")
	}
	if err := checkID("guild", sc.GuildID); err != nil {
		return err
	}
	if sc.ChannelID != "" {
		if err := checkID("channel", sc.ChannelID); err != nil {
			return err
		}
	}
	if sc.Spec == "" {
		return digestbot.Errorf(digestbot.EINVALID, "schedule is empty")
	}
	c := *sc
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = s.now().UTC()
	}
	if err := s.registerGuild(ctx, c.GuildID); err != nil {
		return err
	}
	return s.fail("set schedule", s.rdb.HSet(ctx, s.guildKey(c.GuildID, "schedules"), c.ChannelID, encode(&c)).Err())
}

// Schedule returns a channel's own schedule (channelID "" = the guild
// default), or nil when it has none.
func (s *Store) Schedule(ctx context.Context, guildID, channelID string) (*digestbot.ChannelSchedule, error) {
	if err := checkID("guild", guildID); err != nil {
		return nil, err
	}
	v, err := s.rdb.HGet(ctx, s.guildKey(guildID, "schedules"), channelID).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, s.fail("read schedule", err)
	}
	return decode[digestbot.ChannelSchedule]("read schedule", v)
}

// AllSchedules lists every stored schedule, by guild then channel (the
// guild default first).
func (s *Store) AllSchedules(ctx context.Context) ([]*digestbot.ChannelSchedule, error) {
	per, err := s.allGuildHashes(ctx, "schedules")
	if err != nil {
		return nil, err
	}
	var out []*digestbot.ChannelSchedule
	for _, vals := range per {
		scs, err := decodeAll[digestbot.ChannelSchedule]("list schedules", vals)
		if err != nil {
			return nil, err
		}
		slices.SortFunc(scs, func(a, b *digestbot.ChannelSchedule) int { return cmp.Compare(a.ChannelID, b.ChannelID) })
		out = append(out, scs...)
	}
	return out, nil
}

// ChannelState returns what is known about delivering to a channel; a zero
// state (with the ids set) when nothing is.
func (s *Store) ChannelState(ctx context.Context, guildID, channelID string) (*digestbot.ChannelState, error) {
	if err := checkGuildChannel(guildID, channelID); err != nil {
		return nil, err
	}
	v, err := s.rdb.Get(ctx, s.channelKey(guildID, channelID, "state")).Result()
	if errors.Is(err, redis.Nil) {
		return &digestbot.ChannelState{GuildID: guildID, ChannelID: channelID}, nil
	}
	if err != nil {
		return nil, s.fail("read channel state", err)
	}
	return decode[digestbot.ChannelState]("read channel state", v)
}

// SetChannelState stores what is known about delivering to a channel.
func (s *Store) SetChannelState(ctx context.Context, st *digestbot.ChannelState) error {
	if st == nil {
		return digestbot.Errorf(digestbot.EINVALID, "channel state is missing")
	}
	if err := checkGuildChannel(st.GuildID, st.ChannelID); err != nil {
		return err
	}
	if err := s.trackChannels(ctx, st.GuildID, st.ChannelID); err != nil {
		return err
	}
	return s.fail("set channel state", s.rdb.Set(ctx, s.channelKey(st.GuildID, st.ChannelID, "state"), encode(st), 0).Err())
}

// trackChannels records, before any per-channel key is written, that the
// guild has keys for these channels, so DeleteGuild finds them.
func (s *Store) trackChannels(ctx context.Context, guildID string, channelIDs ...string) error {
	if err := s.registerGuild(ctx, guildID); err != nil {
		return err
	}
	return s.fail("track channels", s.rdb.SAdd(ctx, s.guildKey(guildID, "channels"), toAny(channelIDs)...).Err())
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// Channels lists the (guild, channel) pairs that have subscriptions, by
// guild then channel.
func (s *Store) Channels(ctx context.Context) ([]digestbot.ChannelRef, error) {
	subs, err := s.AllSubscriptions(ctx)
	if err != nil {
		return nil, err
	}
	seen := make(map[digestbot.ChannelRef]bool)
	var out []digestbot.ChannelRef
	for _, sub := range subs {
		ref := digestbot.ChannelRef{GuildID: sub.GuildID, ChannelID: sub.ChannelID}
		if !seen[ref] {
			seen[ref] = true
			out = append(out, ref)
		}
	}
	slices.SortFunc(out, func(a, b digestbot.ChannelRef) int {
		return cmp.Or(cmp.Compare(a.GuildID, b.GuildID), cmp.Compare(a.ChannelID, b.ChannelID))
	})
	return out, nil
}

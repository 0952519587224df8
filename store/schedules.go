package store

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strconv"
	"time"

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

// ChannelSchedules returns a channel's own schedule and its guild's
// default, each nil when not set, in one round trip.
func (s *Store) ChannelSchedules(ctx context.Context, guildID, channelID string) (own, guild *digestbot.ChannelSchedule, err error) {
	if err := checkGuildChannel(guildID, channelID); err != nil {
		return nil, nil, err
	}
	vals, err := s.rdb.HMGet(ctx, s.guildKey(guildID, "schedules"), channelID, "").Result()
	if err != nil {
		return nil, nil, s.fail("read schedules", err)
	}
	var out [2]*digestbot.ChannelSchedule
	for i, v := range vals {
		if str, ok := v.(string); ok && str != "" {
			if out[i], err = decode[digestbot.ChannelSchedule]("read schedule", str); err != nil {
				return nil, nil, err
			}
		}
	}
	return out[0], out[1], nil
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
	pipe := s.rdb.Pipeline()
	get := pipe.Get(ctx, s.channelKey(guildID, channelID, "state"))
	stats := pipe.HGetAll(ctx, s.channelKey(guildID, channelID, "stats"))
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, s.fail("read channel state", err)
	}
	st := &digestbot.ChannelState{GuildID: guildID, ChannelID: channelID}
	if v, err := get.Result(); err == nil {
		if st, err = decode[digestbot.ChannelState]("read channel state", v); err != nil {
			return nil, err
		}
	}
	c := stats.Val()
	if v, err := strconv.ParseInt(c["last_digest"], 10, 64); err == nil {
		if t := time.UnixMilli(v).UTC(); t.After(st.LastDigestAt) {
			st.LastDigestAt = t
		}
	}
	st.Dropped, _ = strconv.Atoi(c["dropped"])
	st.SetAside, _ = strconv.Atoi(c["aside"])
	st.LastSetAside = c["last_aside"]
	return st, nil
}

// SetChannelState stores what is known about delivering to a channel. A
// paused channel is marked so that EnqueuePending bounds its backlog, and
// one paused because it no longer exists is listed for removal
// (GoneChannels).
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
	paused := s.channelKey(st.GuildID, st.ChannelID, "paused")
	pipe := s.rdb.TxPipeline()
	pipe.Set(ctx, s.channelKey(st.GuildID, st.ChannelID, "state"), encode(st), 0)
	if st.PausedReason != "" {
		pipe.Set(ctx, paused, st.PausedBy, 0)
	} else {
		pipe.Del(ctx, paused)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return s.fail("set channel state", err)
	}
	member := digestbot.ChannelRef{GuildID: st.GuildID, ChannelID: st.ChannelID}.Key()
	var err error
	if st.PausedBy == digestbot.PauseUnknownChannel && st.PausedReason != "" {
		err = s.rdb.ZAddNX(ctx, s.goneKey(), redis.Z{Score: float64(ms(st.PausedAt)), Member: member}).Err()
	} else {
		err = s.rdb.ZRem(ctx, s.goneKey(), member).Err()
	}
	return s.fail("set channel state", err)
}

// markDigestedScript records the end of a digest window if it is later
// than the one recorded. KEYS: stats. ARGV: unix ms.
var markDigestedScript = redis.NewScript(`
local cur = tonumber(redis.call('HGET', KEYS[1], 'last_digest') or '0')
if tonumber(ARGV[1]) > cur then redis.call('HSET', KEYS[1], 'last_digest', ARGV[1]) end
return 1
`)

// MarkDigested records that a digest window of the channel ended at t (it
// only ever moves forward), in one call: every due channel does it.
func (s *Store) MarkDigested(ctx context.Context, guildID, channelID string, t time.Time) error {
	if err := checkGuildChannel(guildID, channelID); err != nil {
		return err
	}
	err := markDigestedScript.Run(ctx, s.rdb, []string{s.channelKey(guildID, channelID, "stats")}, ms(t)).Err()
	return s.fail("mark digest delivered", err)
}

func (s *Store) goneKey() string { return s.prefix + "channels:gone" }

// GoneChannels lists the channels paused because the chat service said
// they no longer exist, since before t.
func (s *Store) GoneChannels(ctx context.Context, before time.Time) ([]digestbot.ChannelRef, error) {
	vals, err := s.rdb.ZRangeByScore(ctx, s.goneKey(), &redis.ZRangeBy{Min: "-inf", Max: "(" + strconv.FormatInt(ms(before), 10)}).Result()
	if err != nil {
		return nil, s.fail("list gone channels", err)
	}
	out := make([]digestbot.ChannelRef, 0, len(vals))
	for _, v := range vals {
		if ref, ok := digestbot.ChannelRefFromKey(v); ok {
			out = append(out, ref)
		}
	}
	return out, nil
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

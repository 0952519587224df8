package store

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/digestbot/digestbot"
	"github.com/redis/go-redis/v9"
)

// MarkGuildLeft records that the bot left a guild at t; a zero t means it
// is back.
func (s *Store) MarkGuildLeft(ctx context.Context, guildID string, t time.Time) error {
	if err := checkID("guild", guildID); err != nil {
		return err
	}
	if t.IsZero() {
		return s.fail("mark guild back", s.rdb.ZRem(ctx, s.guildsLeftKey(), guildID).Err())
	}
	return s.fail("mark guild left", s.rdb.ZAdd(ctx, s.guildsLeftKey(), redis.Z{Score: float64(ms(t)), Member: guildID}).Err())
}

// GuildsLeftBefore lists the guilds the bot left before t, earliest first.
func (s *Store) GuildsLeftBefore(ctx context.Context, t time.Time) ([]string, error) {
	gs, err := s.rdb.ZRangeByScore(ctx, s.guildsLeftKey(), &redis.ZRangeBy{
		Min: "-inf", Max: "(" + strconv.FormatInt(ms(t), 10),
	}).Result()
	return gs, s.fail("list guilds left", err)
}

// DeleteGuild deletes every key of a guild: subscriptions, topics,
// schedules, feeds, channel states, pending queues, deliveries and leases.
// It is safe to run again after a failure.
func (s *Store) DeleteGuild(ctx context.Context, guildID string) error {
	if err := checkID("guild", guildID); err != nil {
		return err
	}
	chans, err := s.rdb.SMembers(ctx, s.guildKey(guildID, "channels")).Result()
	if err != nil {
		return s.fail("delete guild", err)
	}
	// Channels of subscriptions are in the set too; read them anyway, so
	// that data written before the set existed is found as well.
	subs, err := s.Subscriptions(ctx, guildID, "")
	if err != nil {
		return err
	}
	for _, sub := range subs {
		chans = append(chans, sub.ChannelID)
	}
	slices.Sort(chans)
	chans = slices.Compact(chans)
	feeds, err := s.rdb.HKeys(ctx, s.guildKey(guildID, "feeds")).Result()
	if err != nil {
		return s.fail("delete guild", err)
	}

	// Channel keys first, the guild's keys (with the channel set) after, the
	// guild's registration last: a failure part-way leaves what a second
	// run needs to finish.
	pipe := s.rdb.Pipeline()
	for _, c := range chans {
		keys := make([]string, len(channelKinds))
		for i, k := range channelKinds {
			keys[i] = s.channelKey(guildID, c, k)
		}
		pipe.Del(ctx, keys...) // one slot per channel
	}
	for _, c := range chans {
		s.unlistChannel(ctx, pipe, guildID, c)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return s.fail("delete guild channels", err)
	}
	keys := []string{s.guildKey(guildID, "version")} // KEYS[1], and among the rest
	for _, k := range guildKinds {
		keys = append(keys, s.guildKey(guildID, k))
	}
	res, err := deleteGuildScript.Run(ctx, s.rdb, keys).Int64Slice()
	if err != nil {
		return s.fail("delete guild", err)
	}
	if len(res) != 2 {
		return s.fail("delete guild", errors.New("unexpected script reply"))
	}
	// Its feeds' followers after its feeds: a failure in between leaves a
	// follower that the poller finds without the feed and forgets.
	pipe = s.rdb.Pipeline()
	for _, u := range feeds {
		_, _, fk := s.feedKeys(digestbot.FeedID(u))
		pipe.HDel(ctx, fk, followerPrefix+guildID)
	}
	pipe.SRem(ctx, s.guildsKey(), guildID)
	pipe.ZRem(ctx, s.guildsLeftKey(), guildID)
	if _, err := pipe.Exec(ctx); err != nil {
		return s.fail("delete guild", err)
	}
	s.appendChange(ctx, digestbot.SubscriptionChange{Op: "delete_guild", GuildID: guildID, PrevVersion: res[0], Version: res[1]})
	return nil
}

// unlistChannel queues, on pipe, the removal of a channel from the lists
// outside its own slot: the digests and alerts due queues and the gone
// channels.
func (s *Store) unlistChannel(ctx context.Context, pipe redis.Pipeliner, guildID, channelID string) {
	member := digestbot.ChannelRef{GuildID: guildID, ChannelID: channelID}.Key()
	for _, name := range []string{"digests", "alerts"} {
		q := s.DueQueue(name).(*dueQueue)
		k := q.keys(q.shardOf(member))
		pipe.ZRem(ctx, k[0], member)
		pipe.HDel(ctx, k[1], member)
	}
	pipe.ZRem(ctx, s.goneKey(), member)
}

// DeleteChannel deletes everything of one channel of a guild: its
// subscriptions, or the watches delivered to it when it is a member's
// direct-message channel (through the change feed, so matchers drop them), its own
// schedule, its pending items, deliveries, state and due digest. For a
// channel that no longer exists. Safe to run again after a failure.
func (s *Store) DeleteChannel(ctx context.Context, guildID, channelID string) error {
	if err := checkGuildChannel(guildID, channelID); err != nil {
		return err
	}
	subs, err := s.Subscriptions(ctx, guildID, channelID)
	if err != nil {
		return err
	}
	for _, sub := range subs {
		if _, err := s.RemoveSubscription(ctx, guildID, sub.ID); err != nil && digestbot.ErrorCode(err) != digestbot.ENOTFOUND {
			return err
		}
	}
	// A member's direct-message channel that is gone takes the member's
	// watches of this guild with it.
	watches, err := s.ChannelWatches(ctx, guildID, channelID)
	if err != nil {
		return err
	}
	for _, w := range watches {
		if _, err := s.RemoveWatch(ctx, guildID, w.Owner, w.ID); err != nil && digestbot.ErrorCode(err) != digestbot.ENOTFOUND {
			return err
		}
	}
	keys := make([]string, len(channelKinds))
	for i, k := range channelKinds {
		keys[i] = s.channelKey(guildID, channelID, k)
	}
	if err := s.rdb.Del(ctx, keys...).Err(); err != nil {
		return s.fail("delete channel", err)
	}
	pipe := s.rdb.Pipeline()
	pipe.HDel(ctx, s.guildKey(guildID, "schedules"), channelID)
	pipe.SRem(ctx, s.guildKey(guildID, "channels"), channelID)
	s.unlistChannel(ctx, pipe, guildID, channelID)
	_, err = pipe.Exec(ctx)
	return s.fail("delete channel", err)
}

// deleteGuildScript deletes a guild's keys as one change of the guild:
// its change counter moves on first (and is deleted with the rest; the
// next version is still larger, see bumpVersion). KEYS: the counter, then
// every key of the guild. Returns {previous version, version}.
var deleteGuildScript = redis.NewScript(bumpVersion + `
local pv, v = bump(KEYS[1])
redis.call('DEL', unpack(KEYS))
return {pv, v}
`)

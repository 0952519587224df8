package store

import (
	"context"
	"strings"

	"github.com/digestbot/digestbot"
	"github.com/redis/go-redis/v9"
)

// Personal watches live in two hashes on the guild's slot, apart from the
// guild's subscriptions so that no listing of the guild's subscriptions can
// show them:
//
//	{g:GUILD}:watches   "OWNER/ID" -> Subscription JSON (Owner set)
//	{g:GUILD}:watchers  OWNER -> how many watches the member has
//
// The owner starts the field, so a member can only ever name, and remove,
// a watch of their own. Adding and removing move the guild's change
// counter and append to the change feed as add_sub and remove_sub, so the
// matcher treats a watch like any subscription.

// addWatchScript adds a watch within the member's and the guild's limits.
// KEYS: watches, watchers, channel set, version. ARGV: field, value,
// owner, per-member limit, per-guild limit, channel. Returns {status, n,
// previous version, version}: status 1 added, 0 there already, -1 the
// member's limit (n = the member's watches), -2 the guild's (n = all).
var addWatchScript = redis.NewScript(bumpVersion + `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return {0, 0, 0, 0} end
local n = redis.call('HLEN', KEYS[1])
if n >= tonumber(ARGV[5]) then return {-2, n, 0, 0} end
local m = tonumber(redis.call('HGET', KEYS[2], ARGV[3]) or '0')
if m >= tonumber(ARGV[4]) then return {-1, m, 0, 0} end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HINCRBY', KEYS[2], ARGV[3], 1)
redis.call('SADD', KEYS[3], ARGV[6])
local pv, v = bump(KEYS[4])
return {1, n, pv, v}
`)

// removeWatchScript removes a watch. KEYS: watches, watchers, version.
// ARGV: field, owner. Returns {value, previous version, version}, or nil
// when absent.
var removeWatchScript = redis.NewScript(bumpVersion + `
local val = redis.call('HGET', KEYS[1], ARGV[1])
if not val then return false end
redis.call('HDEL', KEYS[1], ARGV[1])
if redis.call('HINCRBY', KEYS[2], ARGV[2], -1) <= 0 then redis.call('HDEL', KEYS[2], ARGV[2]) end
local pv, v = bump(KEYS[3])
return {val, pv, v}
`)

func watchField(ownerID, watchID string) string { return ownerID + "/" + watchID }

// AddWatch stores a validated personal watch. Adding the same one again
// returns created=false. Both limits (defaults when <= 0) are checked in
// the script that writes, so concurrent adders cannot exceed them.
func (s *Store) AddWatch(ctx context.Context, w *digestbot.Subscription, perMember, perGuild int) (bool, error) {
	if w == nil || w.Owner == "" {
		return false, digestbot.Errorf(digestbot.EINVALID, "a watch needs an owner")
	}
	if err := w.Validate(); err != nil {
		return false, err
	}
	if err := checkGuildChannel(w.GuildID, w.ChannelID); err != nil {
		return false, err
	}
	if err := checkID("owner", w.Owner); err != nil {
		return false, err
	}
	perMember = limitOrDefault(perMember, digestbot.DefaultMaxWatchesPerMember)
	perGuild = limitOrDefault(perGuild, digestbot.DefaultMaxWatchesPerGuild)
	c := *w
	if c.CreatedAt.IsZero() {
		c.CreatedAt = s.now().UTC()
	}
	if err := s.registerGuild(ctx, c.GuildID); err != nil {
		return false, err
	}
	status, n, pv, v, err := s.runVersioned(ctx, "add watch", addWatchScript,
		[]string{s.guildKey(c.GuildID, "watches"), s.guildKey(c.GuildID, "watchers"), s.guildKey(c.GuildID, "channels"), s.guildKey(c.GuildID, "version")},
		watchField(c.Owner, c.ID), encode(&c), c.Owner, perMember, perGuild, c.ChannelID)
	if err != nil {
		return false, err
	}
	switch status {
	case 0:
		return false, nil
	case -1:
		return false, digestbot.Errorf(digestbot.ELIMIT, "you have %s in this server, the limit is %d; remove one with /watch remove first",
			count(int(n), "watch", "watches"), perMember)
	case -2:
		return false, digestbot.Errorf(digestbot.ELIMIT, "this server's members have %s, the server's limit is %d; remove one of yours with /watch remove, or ask the operator",
			count(int(n), "watch", "watches"), perGuild)
	}
	s.appendChange(ctx, digestbot.SubscriptionChange{Op: "add_sub", GuildID: c.GuildID, Subscription: &c, Version: v, PrevVersion: pv})
	return true, nil
}

// RemoveWatch removes one of a member's watches and returns it; ENOTFOUND
// when the member has no watch with that id in the guild (whatever other
// members have).
func (s *Store) RemoveWatch(ctx context.Context, guildID, ownerID, watchID string) (*digestbot.Subscription, error) {
	if err := checkID("guild", guildID); err != nil {
		return nil, err
	}
	if err := checkID("owner", ownerID); err != nil {
		return nil, err
	}
	notFound := digestbot.Errorf(digestbot.ENOTFOUND, "you have no watch %q in this server; /watch list shows yours", watchID)
	if watchID == "" || strings.ContainsAny(watchID, "/\n") {
		return nil, notFound
	}
	val, pv, v, ok, err := s.takeWith(ctx, "remove watch", removeWatchScript,
		[]string{s.guildKey(guildID, "watches"), s.guildKey(guildID, "watchers"), s.guildKey(guildID, "version")},
		watchField(ownerID, watchID), ownerID)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFound
	}
	w, err := decode[digestbot.Subscription]("remove watch", val)
	if err != nil {
		return nil, err
	}
	s.appendChange(ctx, digestbot.SubscriptionChange{Op: "remove_sub", GuildID: guildID, Subscription: w, Version: v, PrevVersion: pv})
	return w, nil
}

// Watches lists a member's watches in the guild, oldest first.
func (s *Store) Watches(ctx context.Context, guildID, ownerID string) ([]*digestbot.Subscription, error) {
	if ownerID == "" {
		return nil, digestbot.Errorf(digestbot.EINVALID, "whose watches? the owner is missing")
	}
	return s.guildSubscriptions(ctx, guildID, "watches", func(w *digestbot.Subscription) bool { return w.Owner == ownerID })
}

// ChannelWatches lists the guild's watches delivered to a channel (a
// member's direct-message channel), oldest first.
func (s *Store) ChannelWatches(ctx context.Context, guildID, channelID string) ([]*digestbot.Subscription, error) {
	if err := checkGuildChannel(guildID, channelID); err != nil {
		return nil, err
	}
	return s.guildSubscriptions(ctx, guildID, "watches", func(w *digestbot.Subscription) bool { return w.ChannelID == channelID })
}

// WatchCounts says how many members have watches in the guild and how many
// watches they have in all, without reading any of them.
func (s *Store) WatchCounts(ctx context.Context, guildID string) (members, watches int, err error) {
	if err := checkID("guild", guildID); err != nil {
		return 0, 0, err
	}
	pipe := s.rdb.Pipeline()
	m := pipe.HLen(ctx, s.guildKey(guildID, "watchers"))
	w := pipe.HLen(ctx, s.guildKey(guildID, "watches"))
	if _, err := pipe.Exec(ctx); err != nil {
		return 0, 0, s.fail("count watches", err)
	}
	return int(m.Val()), int(w.Val()), nil
}

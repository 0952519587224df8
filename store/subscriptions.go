package store

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strconv"

	"github.com/digestbot/digestbot"
	"github.com/redis/go-redis/v9"
)

// addLimited stores a hash field unless it exists, refusing past a limit.
// KEYS[1] the hash, KEYS[2] the guild's channel set (may be the hash itself
// when there is no channel to record). ARGV: field, value, limit, channel.
// Returns {1, n} when added, {0, n} when the field existed, {-1, n} when
// the hash already holds limit fields; n is the count before the call.
var addLimited = redis.NewScript(`
local n = redis.call('HLEN', KEYS[1])
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return {0, n} end
if n >= tonumber(ARGV[3]) then return {-1, n} end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if ARGV[4] ~= '' then redis.call('SADD', KEYS[2], ARGV[4]) end
return {1, n}
`)

// bumpVersion starts the scripts that change a guild's subscriptions or
// topics: bump moves the guild's change counter on and returns the old and
// new values (see digestbot.SubscriptionChange). A version is at least the
// server's clock in microseconds, so that it still grows after DeleteGuild
// deleted the counter; 2^53 microseconds are 285 years, so a Lua number
// holds it exactly.
const bumpVersion = `
local function bump(key)
  local pv = tonumber(redis.call('GET', key) or '0')
  local t = redis.call('TIME')
  local v = math.max(pv + 1, tonumber(t[1]) * 1000000 + tonumber(t[2]))
  redis.call('SET', key, string.format('%.0f', v))
  return pv, v
end
`

// addSubScript is addLimited that also moves the guild's change counter.
// KEYS: subs hash, channel set, version. ARGV: field, value, limit,
// channel. Returns {status, n, previous version, version} (versions 0 when
// nothing changed).
var addSubScript = redis.NewScript(bumpVersion + `
local n = redis.call('HLEN', KEYS[1])
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return {0, n, 0, 0} end
if n >= tonumber(ARGV[3]) then return {-1, n, 0, 0} end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[4])
local pv, v = bump(KEYS[3])
return {1, n, pv, v}
`)

// putTopicScript is putLimited that also moves the guild's change counter.
// KEYS: topics hash, version. ARGV: field, value, limit. Returns {status,
// n, previous version, version}.
var putTopicScript = redis.NewScript(bumpVersion + `
local n = redis.call('HLEN', KEYS[1])
local status = 0
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then
  if n >= tonumber(ARGV[3]) then return {-1, n, 0, 0} end
  status = 1
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local pv, v = bump(KEYS[2])
return {status, n, pv, v}
`)

// takeVersioned deletes a hash field and moves the guild's change counter.
// KEYS: hash, version. ARGV: field. Returns {value, previous version,
// version}, or nil when the field is absent.
var takeVersioned = redis.NewScript(bumpVersion + `
local val = redis.call('HGET', KEYS[1], ARGV[1])
if not val then return false end
redis.call('HDEL', KEYS[1], ARGV[1])
local pv, v = bump(KEYS[2])
return {val, pv, v}
`)

// runVersioned runs addSubScript or putTopicScript and returns the status,
// the count before and the change's versions.
func (s *Store) runVersioned(ctx context.Context, op string, script *redis.Script, keys []string, args ...any) (status, n, pv, v int64, err error) {
	res, err := script.Run(ctx, s.rdb, keys, args...).Int64Slice()
	if err != nil {
		return 0, 0, 0, 0, s.fail(op, err)
	}
	if len(res) != 4 {
		return 0, 0, 0, 0, s.fail(op, errors.New("unexpected script reply"))
	}
	return res[0], res[1], res[2], res[3], nil
}

// take runs takeVersioned: the removed value and the change's versions;
// ok=false when the field was absent.
func (s *Store) take(ctx context.Context, op, key, guildID, field string) (val string, pv, v int64, ok bool, err error) {
	return s.takeWith(ctx, op, takeVersioned, []string{key, s.guildKey(guildID, "version")}, field)
}

// takeWith runs a script that answers as takeVersioned does.
func (s *Store) takeWith(ctx context.Context, op string, script *redis.Script, keys []string, args ...any) (val string, pv, v int64, ok bool, err error) {
	res, err := script.Run(ctx, s.rdb, keys, args...).Slice()
	if errors.Is(err, redis.Nil) {
		return "", 0, 0, false, nil
	}
	if err != nil {
		return "", 0, 0, false, s.fail(op, err)
	}
	if len(res) != 3 {
		return "", 0, 0, false, s.fail(op, errors.New("unexpected script reply"))
	}
	val, _ = res[0].(string)
	pv, _ = res[1].(int64)
	v, _ = res[2].(int64)
	return val, pv, v, true, nil
}

// runLimited runs addLimited or putLimited and returns the status and count.
func (s *Store) runLimited(ctx context.Context, op string, script *redis.Script, keys []string, args ...any) (status, n int64, err error) {
	res, err := script.Run(ctx, s.rdb, keys, args...).Int64Slice()
	if err != nil {
		return 0, 0, s.fail(op, err)
	}
	if len(res) != 2 {
		return 0, 0, s.fail(op, errors.New("unexpected script reply"))
	}
	return res[0], res[1], nil
}

// registerGuild records that a guild has data. It runs before the guild's
// own keys are written, so a crash in between leaves an empty guild in the
// set rather than data the All* listings cannot find.
func (s *Store) registerGuild(ctx context.Context, guildID string) error {
	return s.fail("register guild", s.rdb.SAdd(ctx, s.guildsKey(), guildID).Err())
}

// limitOrDefault applies the default when a caller passes no limit.
func limitOrDefault(limit, def int) int {
	if limit <= 0 {
		return def
	}
	return limit
}

// AddSubscription stores a validated subscription. Adding the same one
// again returns created=false. The per-guild limit (the default when limit
// <= 0) is checked atomically with the write, so concurrent adders cannot
// exceed it: ELIMIT when the guild already has limit subscriptions.
func (s *Store) AddSubscription(ctx context.Context, sub *digestbot.Subscription, limit int) (bool, error) {
	if sub == nil {
		return false, digestbot.Errorf(digestbot.EINVALID, "subscription is missing")
	}
	if err := sub.Validate(); err != nil {
		return false, err
	}
	if err := checkGuildChannel(sub.GuildID, sub.ChannelID); err != nil {
		return false, err
	}
	limit = limitOrDefault(limit, digestbot.DefaultMaxSubscriptionsPerGuild)
	c := *sub
	if c.CreatedAt.IsZero() {
		c.CreatedAt = s.now().UTC()
	}
	if err := s.registerGuild(ctx, c.GuildID); err != nil {
		return false, err
	}
	status, n, pv, v, err := s.runVersioned(ctx, "add subscription", addSubScript,
		[]string{s.guildKey(c.GuildID, "subs"), s.guildKey(c.GuildID, "channels"), s.guildKey(c.GuildID, "version")},
		c.ID, encode(&c), limit, c.ChannelID)
	if err != nil {
		return false, err
	}
	switch status {
	case 0:
		return false, nil
	case -1:
		return false, digestbot.Errorf(digestbot.ELIMIT,
			"this server has %s, the limit is %d; remove one with /unsubscribe first", count(int(n), "subscription", "subscriptions"), limit)
	}
	s.appendChange(ctx, digestbot.SubscriptionChange{Op: "add_sub", GuildID: c.GuildID, Subscription: &c, Version: v, PrevVersion: pv})
	return true, nil
}

// replaceSubScript replaces a subscription if it is still as read and
// moves the guild's change counter. KEYS: subs hash, version. ARGV: id,
// value read, new value. Returns {status, previous version, version}:
// status 1 replaced, 0 absent, -1 changed since it was read.
var replaceSubScript = redis.NewScript(bumpVersion + `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then return {0, 0, 0} end
if cur ~= ARGV[2] then return {-1, 0, 0} end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
local pv, v = bump(KEYS[2])
return {1, pv, v}
`)

// SetDelivery changes how a subscription is delivered: its mode and the
// role its posts mention. The rest (and its creation time, which the
// matcher's backfill counts from) stays. A subscription that has these
// settings already is returned unchanged. ENOTFOUND when the guild has no
// subscription with that id.
func (s *Store) SetDelivery(ctx context.Context, guildID, subID, mode, mention string) (*digestbot.Subscription, error) {
	if err := checkID("guild", guildID); err != nil {
		return nil, err
	}
	key := s.guildKey(guildID, "subs")
	for range maxMergeAttempts {
		cur, err := s.rdb.HGet(ctx, key, subID).Result()
		if errors.Is(err, redis.Nil) {
			return nil, digestbot.Errorf(digestbot.ENOTFOUND, "this server has no subscription %q", subID)
		}
		if err != nil {
			return nil, s.fail("read subscription", err)
		}
		sub, err := decode[digestbot.Subscription]("read subscription", cur)
		if err != nil {
			return nil, err
		}
		if sub.Mode == mode && sub.Mention == mention {
			return sub, nil
		}
		sub.Mode, sub.Mention = mode, mention
		if err := sub.Validate(); err != nil {
			return nil, err
		}
		res, err := replaceSubScript.Run(ctx, s.rdb, []string{key, s.guildKey(guildID, "version")}, subID, cur, encode(sub)).Int64Slice()
		if err != nil {
			return nil, s.fail("change subscription", err)
		}
		if len(res) != 3 {
			return nil, s.fail("change subscription", errors.New("unexpected script reply"))
		}
		switch res[0] {
		case 0:
			return nil, digestbot.Errorf(digestbot.ENOTFOUND, "this server has no subscription %q", subID)
		case -1:
			continue // changed meanwhile: read it again
		}
		s.appendChange(ctx, digestbot.SubscriptionChange{Op: "add_sub", GuildID: guildID, Subscription: sub, Version: res[2], PrevVersion: res[1]})
		return sub, nil
	}
	return nil, digestbot.Errorf(digestbot.EUNAVAILABLE, "subscription %s is changing too often; try again", subID)
}

// RemoveSubscription removes a guild's subscription and returns it;
// ENOTFOUND when this guild has no subscription with that id (whatever other
// guilds have).
func (s *Store) RemoveSubscription(ctx context.Context, guildID, subID string) (*digestbot.Subscription, error) {
	if err := checkID("guild", guildID); err != nil {
		return nil, err
	}
	val, pv, v, ok, err := s.take(ctx, "remove subscription", s.guildKey(guildID, "subs"), guildID, subID)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, digestbot.Errorf(digestbot.ENOTFOUND, "this server has no subscription %q", subID)
	}
	sub, err := decode[digestbot.Subscription]("remove subscription", val)
	if err != nil {
		return nil, err
	}
	s.appendChange(ctx, digestbot.SubscriptionChange{Op: "remove_sub", GuildID: guildID, Subscription: sub, Version: v, PrevVersion: pv})
	return sub, nil
}

// Subscriptions lists a guild's subscriptions, of one channel when
// channelID is set, oldest first.
func (s *Store) Subscriptions(ctx context.Context, guildID, channelID string) ([]*digestbot.Subscription, error) {
	return s.guildSubscriptions(ctx, guildID, "subs", func(x *digestbot.Subscription) bool { return channelID == "" || x.ChannelID == channelID })
}

// guildSubscriptions lists the subscriptions in one of a guild's hashes
// ("subs", or "watches") that keep returns true for, oldest first.
func (s *Store) guildSubscriptions(ctx context.Context, guildID, kind string, keep func(*digestbot.Subscription) bool) ([]*digestbot.Subscription, error) {
	if err := checkID("guild", guildID); err != nil {
		return nil, err
	}
	vals, err := s.rdb.HVals(ctx, s.guildKey(guildID, kind)).Result()
	if err != nil {
		return nil, s.fail("list "+kind, err)
	}
	subs, err := decodeAll[digestbot.Subscription]("list "+kind, vals)
	if err != nil {
		return nil, err
	}
	subs = slices.DeleteFunc(subs, func(x *digestbot.Subscription) bool { return !keep(x) })
	sortSubscriptions(subs)
	return subs, nil
}

// AllSubscriptions lists every guild's subscriptions and personal watches,
// by guild, oldest first within a guild.
func (s *Store) AllSubscriptions(ctx context.Context) ([]*digestbot.Subscription, error) {
	per, err := s.allGuildHashes(ctx, "subs")
	if err != nil {
		return nil, err
	}
	watches, err := s.allGuildHashes(ctx, "watches")
	if err != nil {
		return nil, err
	}
	var out []*digestbot.Subscription
	for i, vals := range per {
		if i < len(watches) {
			vals = append(vals, watches[i]...)
		}
		subs, err := decodeAll[digestbot.Subscription]("list all subscriptions", vals)
		if err != nil {
			return nil, err
		}
		sortSubscriptions(subs)
		out = append(out, subs...)
	}
	return out, nil
}

func sortSubscriptions(subs []*digestbot.Subscription) {
	slices.SortFunc(subs, func(a, b *digestbot.Subscription) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
}

// guilds lists the guilds that have data, sorted.
func (s *Store) guilds(ctx context.Context) ([]string, error) {
	gs, err := s.rdb.SMembers(ctx, s.guildsKey()).Result()
	if err != nil {
		return nil, s.fail("list guilds", err)
	}
	slices.Sort(gs)
	return gs, nil
}

// allGuildHashes reads one hash kind of every guild in one pipelined round
// trip, in guild order.
func (s *Store) allGuildHashes(ctx context.Context, kind string) ([][]string, error) {
	gs, err := s.guilds(ctx)
	if err != nil || len(gs) == 0 {
		return nil, err
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.StringSliceCmd, len(gs))
	for i, g := range gs {
		cmds[i] = pipe.HVals(ctx, s.guildKey(g, kind))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, s.fail("list "+kind, err)
	}
	out := make([][]string, len(gs))
	for i, c := range cmds {
		out[i] = c.Val()
	}
	return out, nil
}

func decodeAll[T any](op string, vals []string) ([]*T, error) {
	out := make([]*T, 0, len(vals))
	for _, v := range vals {
		x, err := decode[T](op, v)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, nil
}

// PutTopic creates or replaces a guild topic (its name normalised to lower
// case); ELIMIT when it would be the guild's limit+1-th topic (the default
// when limit <= 0).
func (s *Store) PutTopic(ctx context.Context, t *digestbot.Topic, limit int) error {
	if t == nil {
		return digestbot.Errorf(digestbot.EINVALID, "topic is missing")
	}
	if t.GuildID == "" {
		return digestbot.Errorf(digestbot.EINVALID, "topic %q has no server; topics for every server belong in the configuration file", t.Name)
	}
	if err := checkID("guild", t.GuildID); err != nil {
		return err
	}
	c := *t
	c.Name = digestbot.NormalizeTopicName(c.Name)
	if err := digestbot.ValidateTopicName(c.Name); err != nil {
		return err
	}
	if c.Query == "" {
		return digestbot.Errorf(digestbot.EINVALID, "topic %q has no query", c.Name)
	}
	limit = limitOrDefault(limit, digestbot.DefaultMaxTopicsPerGuild)
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = s.now().UTC()
	}
	if err := s.registerGuild(ctx, c.GuildID); err != nil {
		return err
	}
	status, n, pv, v, err := s.runVersioned(ctx, "put topic", putTopicScript,
		[]string{s.guildKey(c.GuildID, "topics"), s.guildKey(c.GuildID, "version")}, c.Name, encode(&c), limit)
	if err != nil {
		return err
	}
	if status == -1 {
		return digestbot.Errorf(digestbot.ELIMIT, "this server has %s, the limit is %d; delete one first", count(int(n), "topic", "topics"), limit)
	}
	s.appendChange(ctx, digestbot.SubscriptionChange{Op: "put_topic", GuildID: c.GuildID, Topic: &c, Version: v, PrevVersion: pv})
	return nil
}

// DeleteTopic removes a guild topic; ENOTFOUND when absent.
func (s *Store) DeleteTopic(ctx context.Context, guildID, name string) error {
	if err := checkID("guild", guildID); err != nil {
		return err
	}
	name = digestbot.NormalizeTopicName(name)
	val, pv, v, ok, err := s.take(ctx, "delete topic", s.guildKey(guildID, "topics"), guildID, name)
	if err != nil {
		return err
	}
	if !ok {
		return digestbot.Errorf(digestbot.ENOTFOUND, "this server has no topic %q", name)
	}
	t, err := decode[digestbot.Topic]("delete topic", val)
	if err != nil {
		return err
	}
	s.appendChange(ctx, digestbot.SubscriptionChange{Op: "delete_topic", GuildID: guildID, Topic: t, Version: v, PrevVersion: pv})
	return nil
}

// Topics lists a guild's own topics by name.
func (s *Store) Topics(ctx context.Context, guildID string) ([]*digestbot.Topic, error) {
	if err := checkID("guild", guildID); err != nil {
		return nil, err
	}
	vals, err := s.rdb.HVals(ctx, s.guildKey(guildID, "topics")).Result()
	if err != nil {
		return nil, s.fail("list topics", err)
	}
	ts, err := decodeAll[digestbot.Topic]("list topics", vals)
	if err != nil {
		return nil, err
	}
	sortTopics(ts)
	return ts, nil
}

// AllTopics lists every guild's topics, by guild and name.
func (s *Store) AllTopics(ctx context.Context) ([]*digestbot.Topic, error) {
	per, err := s.allGuildHashes(ctx, "topics")
	if err != nil {
		return nil, err
	}
	var out []*digestbot.Topic
	for _, vals := range per {
		ts, err := decodeAll[digestbot.Topic]("list all topics", vals)
		if err != nil {
			return nil, err
		}
		sortTopics(ts)
		out = append(out, ts...)
	}
	return out, nil
}

func sortTopics(ts []*digestbot.Topic) {
	slices.SortFunc(ts, func(a, b *digestbot.Topic) int { return cmp.Compare(a.Name, b.Name) })
}

// changeData is the JSON payload of a change feed entry.
type changeData struct {
	Subscription *digestbot.Subscription `json:"sub,omitempty"`
	Topic        *digestbot.Topic        `json:"topic,omitempty"`
}

// appendChange appends to the change feed. The change itself is already
// stored; a failed append is logged, not returned, because the caller's
// operation succeeded and a matcher catches up when the guild's next
// change shows the gap, or on its next full reload.
func (s *Store) appendChange(ctx context.Context, ch digestbot.SubscriptionChange) {
	err := s.rdb.XAdd(ctx, &redis.XAddArgs{
		Stream: s.changesKey(),
		MinID:  strconv.FormatInt(ms(s.retentionCutoff()), 10),
		Approx: true,
		Values: []string{"op", ch.Op, "g", ch.GuildID, "d", encode(changeData{ch.Subscription, ch.Topic}),
			"v", strconv.FormatInt(ch.Version, 10), "pv", strconv.FormatInt(ch.PrevVersion, 10)},
	}).Err()
	if err != nil {
		s.log.Warn("store: cannot append to the subscription change feed", "op", ch.Op, "guild", ch.GuildID, "err", err)
	}
}

// SubscriptionChanges reads the change feed after seq ("" = its start), at
// most max entries (default 1000), oldest first. A reader whose seq is older
// than the first entry (the feed is trimmed to the retention window) should
// reload everything.
func (s *Store) SubscriptionChanges(ctx context.Context, seq string, max int) ([]digestbot.SubscriptionChange, error) {
	start := "-"
	if seq != "" {
		next, err := nextStreamID(seq)
		if err != nil {
			return nil, err
		}
		start = next
	}
	msgs, err := s.rdb.XRangeN(ctx, s.changesKey(), start, "+", int64(clampCount(max))).Result()
	if err != nil {
		return nil, s.fail("read the subscription change feed", err)
	}
	out := make([]digestbot.SubscriptionChange, 0, len(msgs))
	for _, m := range msgs {
		op, _ := m.Values["op"].(string)
		g, _ := m.Values["g"].(string)
		d, _ := m.Values["d"].(string)
		data, err := decode[changeData]("read the subscription change feed", d)
		if err != nil {
			return nil, err
		}
		v, _ := m.Values["v"].(string)
		pv, _ := m.Values["pv"].(string)
		ch := digestbot.SubscriptionChange{Seq: m.ID, Op: op, GuildID: g, Subscription: data.Subscription, Topic: data.Topic}
		ch.Version, _ = strconv.ParseInt(v, 10, 64) // absent in older entries: 0
		ch.PrevVersion, _ = strconv.ParseInt(pv, 10, 64)
		out = append(out, ch)
	}
	return out, nil
}

// GuildSnapshot reads a guild's subscriptions (its members' watches
// included) and topics and its change counter in one transaction on the
// guild's slot: the changes up to Version are in it and no later one.
func (s *Store) GuildSnapshot(ctx context.Context, guildID string) (*digestbot.GuildSnapshot, error) {
	if err := checkID("guild", guildID); err != nil {
		return nil, err
	}
	pipe := s.rdb.TxPipeline()
	subs := pipe.HVals(ctx, s.guildKey(guildID, "subs"))
	watches := pipe.HVals(ctx, s.guildKey(guildID, "watches"))
	topics := pipe.HVals(ctx, s.guildKey(guildID, "topics"))
	version := pipe.Get(ctx, s.guildKey(guildID, "version"))
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, s.fail("read guild snapshot", err)
	}
	snap := &digestbot.GuildSnapshot{GuildID: guildID}
	var err error
	if snap.Subscriptions, err = decodeAll[digestbot.Subscription]("read guild snapshot", append(subs.Val(), watches.Val()...)); err != nil {
		return nil, err
	}
	if snap.Topics, err = decodeAll[digestbot.Topic]("read guild snapshot", topics.Val()); err != nil {
		return nil, err
	}
	if v := version.Val(); v != "" {
		if snap.Version, err = strconv.ParseInt(v, 10, 64); err != nil {
			return nil, s.fail("read guild snapshot", err)
		}
	}
	sortSubscriptions(snap.Subscriptions)
	sortTopics(snap.Topics)
	return snap, nil
}

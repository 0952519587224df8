package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/digestbot/digestbot"
	"github.com/redis/go-redis/v9"
)

// enqueueScript adds pending items of one channel. KEYS: pending, delivered.
// ARGV: article id, item JSON, ... An item already delivered is skipped; one
// already pending is left alone and its id returned, so the caller merges
// the hits (rare: a JSON merge in Lua would depend on the cjson build).
var enqueueScript = redis.NewScript(`
local clash = {}
for i = 1, #ARGV, 2 do
  if not redis.call('ZSCORE', KEYS[2], ARGV[i]) then
    if redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i+1]) == 0 then
      clash[#clash+1] = ARGV[i]
    end
  end
end
return clash
`)

// releaseScript deletes the lease if the token holds it. KEYS: lease.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`)

// renewScript extends the lease if the token holds it. KEYS: lease. ARGV:
// token, ttl ms.
var renewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`)

// markScript records a posted part. KEYS: lease, outbox. ARGV: token,
// window, part, message id.
var markScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
if redis.call('HGET', KEYS[2], 'window') ~= ARGV[2] then return -2 end
redis.call('HSET', KEYS[2], 'part:' .. ARGV[3], ARGV[4])
return 1
`)

// ackScript ends a delivery. KEYS: lease, outbox, pending, delivered. ARGV:
// token, window, now ms, retention cutoff ms, retention ms. The frozen ids
// come from the outbox itself, so exactly the frozen items leave the queue.
var ackScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local w = redis.call('HGET', KEYS[2], 'window')
if not w then return 0 end
if w ~= ARGV[2] then return -2 end
local ids = redis.call('HGET', KEYS[2], 'ids') or ''
for id in string.gmatch(ids, '[^\n]+') do
  redis.call('HDEL', KEYS[3], id)
  redis.call('ZADD', KEYS[4], ARGV[3], id)
end
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', '(' .. ARGV[4])
redis.call('PEXPIRE', KEYS[4], ARGV[5])
redis.call('DEL', KEYS[2])
return 1
`)

// maxMergeAttempts bounds the optimistic retries of a hit merge.
const maxMergeAttempts = 20

// EnqueuePending adds pending items. Items for the same (channel, article),
// in this batch or already pending, are merged into one carrying every hit;
// an article already delivered to the channel is not queued again. All
// channels are written in one pipelined round trip (plus one to record the
// channels), with one atomic script per channel.
func (s *Store) EnqueuePending(ctx context.Context, items []digestbot.PendingItem) error {
	if len(items) == 0 {
		return nil
	}
	now := s.now().UTC()
	byChan, order, err := groupPending(items, now)
	if err != nil {
		return err
	}

	// Record the channels first, so that DeleteGuild finds every queue.
	pipe := s.rdb.Pipeline()
	perGuild := make(map[string][]string)
	for _, ref := range order {
		perGuild[ref.GuildID] = append(perGuild[ref.GuildID], ref.ChannelID)
	}
	for _, g := range slices.Sorted(maps.Keys(perGuild)) {
		pipe.SAdd(ctx, s.guildsKey(), g)
		pipe.SAdd(ctx, s.guildKey(g, "channels"), toAny(perGuild[g])...)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return s.fail("track channels", err)
	}

	pipe = s.rdb.Pipeline()
	cmds := make([]*redis.Cmd, len(order))
	for i, ref := range order {
		its := byChan[ref]
		args := make([]any, 0, 2*len(its))
		for _, it := range its {
			args = append(args, it.ArticleID, encode(it))
		}
		// Eval, not EvalSha: a pipeline cannot fall back on NOSCRIPT.
		cmds[i] = enqueueScript.Eval(ctx, pipe, []string{
			s.channelKey(ref.GuildID, ref.ChannelID, "pending"),
			s.channelKey(ref.GuildID, ref.ChannelID, "delivered"),
		}, args...)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return s.fail("enqueue pending", err)
	}
	for i, ref := range order {
		clash, err := cmds[i].StringSlice()
		if err != nil {
			return s.fail("enqueue pending", err)
		}
		if len(clash) == 0 {
			continue
		}
		byID := make(map[string]*digestbot.PendingItem, len(byChan[ref]))
		for _, it := range byChan[ref] {
			byID[it.ArticleID] = it
		}
		add := make([]*digestbot.PendingItem, len(clash))
		for j, id := range clash {
			add[j] = byID[id]
		}
		if err := s.mergePending(ctx, ref, add); err != nil {
			return err
		}
	}
	return nil
}

// groupPending validates items and groups them by channel, in first-seen
// order, merging duplicates of one (channel, article).
func groupPending(items []digestbot.PendingItem, now time.Time) (map[digestbot.ChannelRef][]*digestbot.PendingItem, []digestbot.ChannelRef, error) {
	byChan := make(map[digestbot.ChannelRef][]*digestbot.PendingItem)
	index := make(map[digestbot.ChannelRef]map[string]*digestbot.PendingItem)
	var order []digestbot.ChannelRef
	for i := range items {
		it := items[i]
		if err := checkGuildChannel(it.GuildID, it.ChannelID); err != nil {
			return nil, nil, err
		}
		if it.ArticleID == "" || strings.ContainsAny(it.ArticleID, "\n") {
			return nil, nil, digestbot.Errorf(digestbot.EINVALID, "pending item has no valid article id")
		}
		if it.QueuedAt.IsZero() {
			it.QueuedAt = now
		}
		ref := digestbot.ChannelRef{GuildID: it.GuildID, ChannelID: it.ChannelID}
		if index[ref] == nil {
			index[ref] = make(map[string]*digestbot.PendingItem)
			order = append(order, ref)
		}
		if prev := index[ref][it.ArticleID]; prev != nil {
			prev.Hits, _ = mergeHits(prev.Hits, it.Hits)
			continue
		}
		it.Hits = slices.Clone(it.Hits)
		p := &it
		index[ref][it.ArticleID] = p
		byChan[ref] = append(byChan[ref], p)
	}
	return byChan, order, nil
}

// mergeHits adds the hits of add whose subscription is not in hits yet.
// changed reports whether anything was added.
func mergeHits(hits, add []digestbot.Hit) (out []digestbot.Hit, changed bool) {
	out = hits
	for _, h := range add {
		if !slices.ContainsFunc(out, func(x digestbot.Hit) bool { return x.SubscriptionID == h.SubscriptionID }) {
			out = append(out, h)
			changed = true
		}
	}
	return out, changed
}

// mergePending merges items into those already pending in one channel, in
// an optimistic transaction on the channel's slot.
func (s *Store) mergePending(ctx context.Context, ref digestbot.ChannelRef, items []*digestbot.PendingItem) error {
	pending := s.channelKey(ref.GuildID, ref.ChannelID, "pending")
	delivered := s.channelKey(ref.GuildID, ref.ChannelID, "delivered")
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.ArticleID
	}
	tx := func(tx *redis.Tx) error {
		cur, err := tx.HMGet(ctx, pending, ids...).Result()
		if err != nil {
			return err
		}
		writes := map[string]string{}
		for i, it := range items {
			v, _ := cur[i].(string)
			if v == "" {
				// Delivered (or dropped) since the script ran.
				if err := tx.ZScore(ctx, delivered, it.ArticleID).Err(); err == nil {
					continue
				} else if !errors.Is(err, redis.Nil) {
					return err
				}
				writes[it.ArticleID] = encode(it)
				continue
			}
			old, err := decode[digestbot.PendingItem]("merge pending", v)
			if err != nil {
				return err
			}
			var changed bool
			if old.Hits, changed = mergeHits(old.Hits, it.Hits); changed {
				writes[it.ArticleID] = encode(old)
			}
		}
		if len(writes) == 0 {
			return nil
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.HSet(ctx, pending, writes)
			return nil
		})
		return err
	}
	for range maxMergeAttempts {
		err := s.rdb.Watch(ctx, tx, pending, delivered)
		if errors.Is(err, redis.TxFailedErr) {
			continue
		}
		return s.fail("merge pending", err)
	}
	return digestbot.Errorf(digestbot.EUNAVAILABLE, "the pending queue of channel %s is too busy; try again", ref.ChannelID)
}

// Pending lists a channel's pending items, oldest first.
func (s *Store) Pending(ctx context.Context, guildID, channelID string) ([]digestbot.PendingItem, error) {
	if err := checkGuildChannel(guildID, channelID); err != nil {
		return nil, err
	}
	vals, err := s.rdb.HVals(ctx, s.channelKey(guildID, channelID, "pending")).Result()
	if err != nil {
		return nil, s.fail("list pending", err)
	}
	return decodePending(vals)
}

func decodePending(vals []string) ([]digestbot.PendingItem, error) {
	out := make([]digestbot.PendingItem, 0, len(vals))
	for _, v := range vals {
		it, err := decode[digestbot.PendingItem]("list pending", v)
		if err != nil {
			return nil, err
		}
		out = append(out, *it)
	}
	sortPending(out)
	return out, nil
}

func sortPending(items []digestbot.PendingItem) {
	slices.SortFunc(items, func(a, b digestbot.PendingItem) int {
		return cmp.Or(a.QueuedAt.Compare(b.QueuedAt), cmp.Compare(a.ArticleID, b.ArticleID))
	})
}

// ClaimChannel takes the delivery lease of a channel for ttl. ok=false when
// another holder has it.
func (s *Store) ClaimChannel(ctx context.Context, guildID, channelID string, ttl time.Duration) (string, bool, error) {
	if err := checkGuildChannel(guildID, channelID); err != nil {
		return "", false, err
	}
	if ttl < time.Millisecond {
		return "", false, digestbot.Errorf(digestbot.EINVALID, "lease time %v is too short", ttl)
	}
	token := newToken()
	ok, err := s.rdb.SetNX(ctx, s.channelKey(guildID, channelID, "lease"), token, ttl).Result()
	if err != nil {
		return "", false, s.fail("claim channel", err)
	}
	if !ok {
		return "", false, nil
	}
	return token, true, nil
}

// ReleaseChannel gives the lease back. ECONFLICT when token no longer holds
// it (it expired, and perhaps another worker holds it now).
func (s *Store) ReleaseChannel(ctx context.Context, guildID, channelID, token string) error {
	if err := checkGuildChannel(guildID, channelID); err != nil {
		return err
	}
	n, err := releaseScript.Run(ctx, s.rdb, []string{s.channelKey(guildID, channelID, "lease")}, token).Int64()
	if err != nil {
		return s.fail("release channel", err)
	}
	if n == 0 {
		return leaseLost(channelID)
	}
	return nil
}

// RenewChannel extends the lease that token holds to ttl from now, for a
// delivery that takes longer than the first claim allowed. ECONFLICT when
// token no longer holds it. (Not part of digestbot.Store.)
func (s *Store) RenewChannel(ctx context.Context, guildID, channelID, token string, ttl time.Duration) error {
	if err := checkGuildChannel(guildID, channelID); err != nil {
		return err
	}
	if ttl < time.Millisecond {
		return digestbot.Errorf(digestbot.EINVALID, "lease time %v is too short", ttl)
	}
	n, err := renewScript.Run(ctx, s.rdb, []string{s.channelKey(guildID, channelID, "lease")}, token, ttl.Milliseconds()).Int64()
	if err != nil {
		return s.fail("renew channel lease", err)
	}
	if n == 0 {
		return leaseLost(channelID)
	}
	return nil
}

func leaseLost(channelID string) error {
	return digestbot.Errorf(digestbot.ECONFLICT, "the delivery lease of channel %s has expired or passed to another worker", channelID)
}

// outboxData is the frozen part of a delivery, stored in the outbox.
type outboxData struct {
	WindowID  string                  `json:"window_id"`
	Items     []digestbot.PendingItem `json:"items"`
	StartedAt time.Time               `json:"started_at"`
}

// BeginDelivery returns the unfinished delivery of the channel if there is
// one, else freezes the current pending items into a new delivery with a new
// WindowID (nil when nothing is pending). Items queued longer ago than the
// retention window (their articles have expired) are dropped, not frozen.
// ECONFLICT when token no longer holds the lease.
func (s *Store) BeginDelivery(ctx context.Context, guildID, channelID, token string, now time.Time) (*digestbot.Delivery, error) {
	if err := checkGuildChannel(guildID, channelID); err != nil {
		return nil, err
	}
	lease := s.channelKey(guildID, channelID, "lease")
	outbox := s.channelKey(guildID, channelID, "outbox")
	pending := s.channelKey(guildID, channelID, "pending")
	cutoff := s.retentionCutoff()
	var d *digestbot.Delivery
	tx := func(tx *redis.Tx) error {
		d = nil
		holder, err := tx.Get(ctx, lease).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return err
		}
		if holder != token || token == "" {
			return leaseLost(channelID)
		}
		ob, err := tx.HGetAll(ctx, outbox).Result()
		if err != nil {
			return err
		}
		if len(ob) > 0 {
			d, err = deliveryFromOutbox(guildID, channelID, ob)
			return err
		}
		vals, err := tx.HVals(ctx, pending).Result()
		if err != nil {
			return err
		}
		if len(vals) == 0 {
			return nil
		}
		all, err := decodePending(vals)
		if err != nil {
			return err
		}
		// Items queued before the retention window point at articles that
		// have expired: drop them instead of delivering empty stories.
		items, stale := splitStale(all, cutoff)
		if len(items) == 0 {
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.HDel(ctx, pending, stale...)
				return nil
			})
			return err
		}
		data := outboxData{WindowID: newToken()[:16], Items: items, StartedAt: now.UTC()}
		ids := make([]string, len(items))
		for i, it := range items {
			ids[i] = it.ArticleID
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			if len(stale) > 0 {
				p.HDel(ctx, pending, stale...)
			}
			p.HSet(ctx, outbox, "window", data.WindowID, "ids", strings.Join(ids, "\n"), "data", encode(data))
			return nil
		})
		if err != nil {
			return err
		}
		d = &digestbot.Delivery{
			GuildID: guildID, ChannelID: channelID, WindowID: data.WindowID,
			Items: items, PostedParts: map[int]string{}, StartedAt: data.StartedAt,
		}
		return nil
	}
	for range maxMergeAttempts {
		err := s.rdb.Watch(ctx, tx, lease, outbox, pending)
		if errors.Is(err, redis.TxFailedErr) {
			continue // an item arrived meanwhile: freeze again
		}
		if err != nil {
			return nil, s.fail("begin delivery", err)
		}
		return d, nil
	}
	return nil, digestbot.Errorf(digestbot.EUNAVAILABLE, "the pending queue of channel %s is too busy; try again", channelID)
}

// splitStale separates items queued before cutoff (their ids) from the rest.
func splitStale(items []digestbot.PendingItem, cutoff time.Time) (fresh []digestbot.PendingItem, stale []string) {
	for _, it := range items {
		if it.QueuedAt.Before(cutoff) {
			stale = append(stale, it.ArticleID)
		} else {
			fresh = append(fresh, it)
		}
	}
	return fresh, stale
}

func deliveryFromOutbox(guildID, channelID string, ob map[string]string) (*digestbot.Delivery, error) {
	data, err := decode[outboxData]("read outbox", ob["data"])
	if err != nil {
		return nil, err
	}
	d := &digestbot.Delivery{
		GuildID: guildID, ChannelID: channelID, WindowID: data.WindowID,
		Items: data.Items, PostedParts: map[int]string{}, StartedAt: data.StartedAt,
	}
	for k, v := range ob {
		if p, ok := strings.CutPrefix(k, "part:"); ok {
			n, err := strconv.Atoi(p)
			if err != nil {
				return nil, digestbot.WrapError(digestbot.EINTERNAL, fmt.Errorf("read outbox: field %q", k), "stored data is damaged")
			}
			d.PostedParts[n] = v
		}
	}
	return d, nil
}

func checkDelivery(d *digestbot.Delivery) error {
	if d == nil {
		return digestbot.Errorf(digestbot.EINVALID, "delivery is missing")
	}
	if err := checkGuildChannel(d.GuildID, d.ChannelID); err != nil {
		return err
	}
	if d.WindowID == "" {
		return digestbot.Errorf(digestbot.EINVALID, "delivery has no window id")
	}
	return nil
}

// MarkPartPosted records that part of d was confirmed by the chat service
// (and sets d.PostedParts[part]). ECONFLICT when token no longer holds the
// lease or the delivery has ended.
func (s *Store) MarkPartPosted(ctx context.Context, d *digestbot.Delivery, token string, part int, messageID string) error {
	if err := checkDelivery(d); err != nil {
		return err
	}
	if part < 0 {
		return digestbot.Errorf(digestbot.EINVALID, "part %d is negative", part)
	}
	n, err := markScript.Run(ctx, s.rdb, []string{
		s.channelKey(d.GuildID, d.ChannelID, "lease"),
		s.channelKey(d.GuildID, d.ChannelID, "outbox"),
	}, token, d.WindowID, part, messageID).Int64()
	if err != nil {
		return s.fail("mark part posted", err)
	}
	switch n {
	case -1:
		return leaseLost(d.ChannelID)
	case -2:
		return digestbot.Errorf(digestbot.ECONFLICT, "delivery %s to channel %s has already ended", d.WindowID, d.ChannelID)
	}
	if d.PostedParts == nil {
		d.PostedParts = map[int]string{}
	}
	d.PostedParts[part] = messageID
	return nil
}

// AckDelivery removes exactly the delivery's frozen items from the queue
// (items enqueued since stay), remembers them as delivered for the retention
// window, and ends the delivery, atomically. Acknowledging a delivery that
// has already been acknowledged is a no-op. ECONFLICT when token no longer
// holds the lease, or the channel's unfinished delivery is another one.
func (s *Store) AckDelivery(ctx context.Context, d *digestbot.Delivery, token string) error {
	if err := checkDelivery(d); err != nil {
		return err
	}
	now := s.now()
	n, err := ackScript.Run(ctx, s.rdb, []string{
		s.channelKey(d.GuildID, d.ChannelID, "lease"),
		s.channelKey(d.GuildID, d.ChannelID, "outbox"),
		s.channelKey(d.GuildID, d.ChannelID, "pending"),
		s.channelKey(d.GuildID, d.ChannelID, "delivered"),
	}, token, d.WindowID, ms(now), ms(now.Add(-s.retention)), s.retention.Milliseconds()).Int64()
	if err != nil {
		return s.fail("acknowledge delivery", err)
	}
	switch n {
	case -1:
		return leaseLost(d.ChannelID)
	case -2:
		return digestbot.Errorf(digestbot.ECONFLICT, "delivery %s to channel %s is not the channel's current delivery", d.WindowID, d.ChannelID)
	}
	return nil
}

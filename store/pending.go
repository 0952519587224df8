package store

import (
	"cmp"
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/digestbot/digestbot"
	"github.com/redis/go-redis/v9"
)

// enqueueScript adds pending items of one channel. KEYS: pending,
// delivered, paused, stats. ARGV: backlog, then article id, item JSON, ...
// An item already delivered is skipped; one already pending is left alone
// and its id returned, so the caller merges the hits (rare: a JSON merge in
// Lua would depend on the cjson build). While the channel is paused, items
// beyond the backlog are dropped and counted in stats "dropped".
var enqueueScript = redis.NewScript(`
local clash = {}
local paused = redis.call('EXISTS', KEYS[3]) == 1
local backlog = tonumber(ARGV[1])
for i = 2, #ARGV, 2 do
  if not redis.call('ZSCORE', KEYS[2], ARGV[i]) then
    if paused and redis.call('HEXISTS', KEYS[1], ARGV[i]) == 0 and redis.call('HLEN', KEYS[1]) >= backlog then
      redis.call('HINCRBY', KEYS[4], 'dropped', 1)
    elseif redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i+1]) == 0 then
      clash[#clash+1] = ARGV[i]
    end
  end
end
return clash
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
		args := make([]any, 0, 1+2*len(its))
		args = append(args, s.pausedBacklog)
		for _, it := range its {
			args = append(args, it.ArticleID, encode(it))
		}
		// Eval, not EvalSha: a pipeline cannot fall back on NOSCRIPT.
		cmds[i] = enqueueScript.Eval(ctx, pipe, []string{
			s.channelKey(ref.GuildID, ref.ChannelID, "pending"),
			s.channelKey(ref.GuildID, ref.ChannelID, "delivered"),
			s.channelKey(ref.GuildID, ref.ChannelID, "paused"),
			s.channelKey(ref.GuildID, ref.ChannelID, "stats"),
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

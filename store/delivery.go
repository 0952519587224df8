package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/digestbot/digestbot"
	"github.com/redis/go-redis/v9"
)

// The delivery protocol of one channel, all on the channel's hash slot:
//
//	claim    SET NX PX with a random token; renewed while the delivery runs
//	outbox   hash of the unfinished delivery:
//	         window, ids, data      the frozen items (BeginDelivery)
//	         parts                  the rendered messages, [{key, body}] (SetDeliveryParts)
//	         try:KEY                unix ms of each post attempt, comma separated
//	         posted:KEY             message id the chat service confirmed
//	         aside:KEY              why the part was given up
//	         strike:KEY             failures of the part while other posts got through
//	delivered  sorted set of the articles delivered, by time (AckDelivery)
//	placed     hash: article -> where it went (digestbot.Placement), as long
//	           as the article stays in delivered
//
// Every write after the claim runs in a script that first checks the token
// and the window, so a holder whose claim lapsed (a replica paused by GC, a
// network partition) cannot touch a delivery another replica now runs.

// releaseScript deletes the claim if the token holds it. KEYS: claim.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`)

// renewScript extends the claim if the token holds it. KEYS: claim. ARGV:
// token, ttl ms.
var renewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`)

// outboxScript writes one field of the unfinished delivery. KEYS: claim,
// outbox. ARGV: token, window, op ("set", "append" or "incr"), field,
// value. "append" adds value to a comma-separated list; "incr" adds one
// and returns the new count.
var outboxScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
if redis.call('HGET', KEYS[2], 'window') ~= ARGV[2] then return -2 end
if ARGV[3] == 'incr' then
  return redis.call('HINCRBY', KEYS[2], ARGV[4], 1)
end
if ARGV[3] == 'append' then
  local cur = redis.call('HGET', KEYS[2], ARGV[4])
  if cur then
    redis.call('HSET', KEYS[2], ARGV[4], cur .. ',' .. ARGV[5])
    return 1
  end
end
redis.call('HSET', KEYS[2], ARGV[4], ARGV[5])
return 1
`)

// ackScript ends a delivery. KEYS: claim, outbox, pending, delivered,
// stats, placed. ARGV: token, window, now ms, retention cutoff ms,
// retention ms, then pairs of article id and placement. The frozen ids
// come from the outbox itself, so exactly the frozen items leave the
// queue; parts set aside are counted in stats; the placements of the
// articles that leave delivered go with them.
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
local all = redis.call('HGETALL', KEYS[2])
for i = 1, #all, 2 do
  if string.sub(all[i], 1, 6) == 'aside:' then
    redis.call('HINCRBY', KEYS[5], 'aside', 1)
    redis.call('HSET', KEYS[5], 'last_aside', all[i+1])
  end
end
for i = 6, #ARGV, 2 do
  redis.call('HSET', KEYS[6], ARGV[i], ARGV[i+1])
end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', '(' .. ARGV[4])) do
  redis.call('HDEL', KEYS[6], id)
end
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', '(' .. ARGV[4])
redis.call('PEXPIRE', KEYS[4], ARGV[5])
if redis.call('EXISTS', KEYS[6]) == 1 then redis.call('PEXPIRE', KEYS[6], ARGV[5]) end
redis.call('DEL', KEYS[2])
return 1
`)

// ClaimChannel takes the delivery claim of a channel for ttl. ok=false
// when another holder has it.
func (s *Store) ClaimChannel(ctx context.Context, guildID, channelID string, ttl time.Duration) (string, bool, error) {
	if err := checkGuildChannel(guildID, channelID); err != nil {
		return "", false, err
	}
	if ttl < time.Millisecond {
		return "", false, digestbot.Errorf(digestbot.EINVALID, "claim time %v is too short", ttl)
	}
	token := newToken()
	ok, err := s.rdb.SetNX(ctx, s.channelKey(guildID, channelID, "claim"), token, ttl).Result()
	if err != nil {
		return "", false, s.fail("claim channel", err)
	}
	if !ok {
		return "", false, nil
	}
	return token, true, nil
}

// ReleaseChannel gives the claim back. ECONFLICT when token no longer holds
// it (it lapsed, and perhaps another worker holds it now).
func (s *Store) ReleaseChannel(ctx context.Context, guildID, channelID, token string) error {
	if err := checkGuildChannel(guildID, channelID); err != nil {
		return err
	}
	n, err := releaseScript.Run(ctx, s.rdb, []string{s.channelKey(guildID, channelID, "claim")}, token).Int64()
	if err != nil {
		return s.fail("release channel", err)
	}
	if n == 0 {
		return claimLost(channelID)
	}
	return nil
}

// RenewChannel extends the claim that token holds to ttl from now, for a
// delivery still running. ECONFLICT when token no longer holds it.
func (s *Store) RenewChannel(ctx context.Context, guildID, channelID, token string, ttl time.Duration) error {
	if err := checkGuildChannel(guildID, channelID); err != nil {
		return err
	}
	if ttl < time.Millisecond {
		return digestbot.Errorf(digestbot.EINVALID, "claim time %v is too short", ttl)
	}
	n, err := renewScript.Run(ctx, s.rdb, []string{s.channelKey(guildID, channelID, "claim")}, token, ttl.Milliseconds()).Int64()
	if err != nil {
		return s.fail("renew channel claim", err)
	}
	if n == 0 {
		return claimLost(channelID)
	}
	return nil
}

func claimLost(channelID string) error {
	return digestbot.Errorf(digestbot.ECONFLICT, "the delivery claim of channel %s has lapsed or passed to another worker", channelID)
}

// outboxData is the frozen part of a delivery, stored in the outbox.
type outboxData struct {
	WindowID  string                  `json:"window_id"`
	Items     []digestbot.PendingItem `json:"items"`
	StartedAt time.Time               `json:"started_at"`
	Instant   bool                    `json:"instant,omitempty"`
}

// BeginDelivery returns the unfinished delivery of the channel if there is
// one, else freezes the current pending items into a new delivery with a new
// WindowID (nil when nothing is pending). Items queued longer ago than the
// retention window (their articles have expired) are dropped, not frozen.
// ECONFLICT when token no longer holds the claim.
func (s *Store) BeginDelivery(ctx context.Context, guildID, channelID, token string, now time.Time) (*digestbot.Delivery, error) {
	return s.beginDelivery(ctx, guildID, channelID, token, now, false)
}

// BeginAlert is BeginDelivery for an alert: the channel's unfinished
// delivery if there is one (of either kind), else a new delivery, marked
// Instant, of the pending items an instant subscription matched (nil when
// there are none). The other items stay pending for the digest.
func (s *Store) BeginAlert(ctx context.Context, guildID, channelID, token string, now time.Time) (*digestbot.Delivery, error) {
	return s.beginDelivery(ctx, guildID, channelID, token, now, true)
}

func (s *Store) beginDelivery(ctx context.Context, guildID, channelID, token string, now time.Time, instant bool) (*digestbot.Delivery, error) {
	if err := checkGuildChannel(guildID, channelID); err != nil {
		return nil, err
	}
	claim := s.channelKey(guildID, channelID, "claim")
	outbox := s.channelKey(guildID, channelID, "outbox")
	pending := s.channelKey(guildID, channelID, "pending")
	cutoff := s.retentionCutoff()
	var d *digestbot.Delivery
	tx := func(tx *redis.Tx) error {
		d = nil
		holder, err := tx.Get(ctx, claim).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return err
		}
		if holder != token || token == "" {
			return claimLost(channelID)
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
		if instant {
			items = slices.DeleteFunc(items, func(it digestbot.PendingItem) bool { return !it.Instant() })
		}
		if len(items) == 0 {
			if len(stale) == 0 {
				return nil
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.HDel(ctx, pending, stale...)
				return nil
			})
			return err
		}
		data := outboxData{WindowID: newToken()[:16], Items: items, StartedAt: now.UTC(), Instant: instant}
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
			Items: items, StartedAt: data.StartedAt, Instant: instant,
		}
		return nil
	}
	for range maxMergeAttempts {
		err := s.rdb.Watch(ctx, tx, claim, outbox, pending)
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
		Items: data.Items, StartedAt: data.StartedAt, Instant: data.Instant,
	}
	if raw := ob["parts"]; raw != "" {
		if err := json.Unmarshal([]byte(raw), &d.Parts); err != nil {
			return nil, digestbot.WrapError(digestbot.EINTERNAL, fmt.Errorf("read outbox parts: %w", err), "stored data is damaged")
		}
	}
	for i := range d.Parts {
		p := &d.Parts[i]
		p.Posted = ob["posted:"+p.Key]
		p.SetAside = ob["aside:"+p.Key]
		p.Strikes, _ = strconv.Atoi(ob["strike:"+p.Key])
		for v := range strings.SplitSeq(ob["try:"+p.Key], ",") {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				p.Attempts = append(p.Attempts, time.UnixMilli(n).UTC())
			}
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

// partIndex finds part key in d, or refuses an unknown key.
func partIndex(d *digestbot.Delivery, key string) (int, error) {
	i := slices.IndexFunc(d.Parts, func(p digestbot.DeliveryPart) bool { return p.Key == key })
	if i < 0 {
		return 0, digestbot.Errorf(digestbot.EINVALID, "delivery %s has no part %q", d.WindowID, key)
	}
	return i, nil
}

// writeOutbox runs outboxScript for d.
func (s *Store) writeOutbox(ctx context.Context, op string, d *digestbot.Delivery, token, verb, field, value string) error {
	_, err := s.runOutbox(ctx, op, d, token, verb, field, value)
	return err
}

func (s *Store) runOutbox(ctx context.Context, op string, d *digestbot.Delivery, token, verb, field, value string) (int64, error) {
	n, err := outboxScript.Run(ctx, s.rdb, []string{
		s.channelKey(d.GuildID, d.ChannelID, "claim"),
		s.channelKey(d.GuildID, d.ChannelID, "outbox"),
	}, token, d.WindowID, verb, field, value).Int64()
	if err != nil {
		return 0, s.fail(op, err)
	}
	switch n {
	case -1:
		return 0, claimLost(d.ChannelID)
	case -2:
		return 0, digestbot.Errorf(digestbot.ECONFLICT, "delivery %s to channel %s has already ended", d.WindowID, d.ChannelID)
	}
	return n, nil
}

// StrikePart counts one failure of part key that was its own (the chat
// service took other posts meanwhile) and returns the count.
func (s *Store) StrikePart(ctx context.Context, d *digestbot.Delivery, token, key string) (int, error) {
	if err := checkDelivery(d); err != nil {
		return 0, err
	}
	i, err := partIndex(d, key)
	if err != nil {
		return 0, err
	}
	n, err := s.runOutbox(ctx, "count part failure", d, token, "incr", "strike:"+key, "")
	if err != nil {
		return 0, err
	}
	d.Parts[i].Strikes = int(n)
	return int(n), nil
}

// SetDeliveryParts stores the rendered parts of d (keys and bodies only),
// replacing the stored list, and sets d.Parts. What is recorded of a part
// (attempts, message id, set aside) stays with its key.
func (s *Store) SetDeliveryParts(ctx context.Context, d *digestbot.Delivery, token string, parts []digestbot.DeliveryPart) error {
	if err := checkDelivery(d); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, p := range parts {
		if p.Key == "" || strings.ContainsAny(p.Key, ",:\n") || seen[p.Key] {
			return digestbot.Errorf(digestbot.EINVALID, "part key %q is empty, repeated or has a comma, colon or newline", p.Key)
		}
		seen[p.Key] = true
	}
	if err := s.writeOutbox(ctx, "store delivery parts", d, token, "set", "parts", encode(parts)); err != nil {
		return err
	}
	old := d.Parts
	d.Parts = slices.Clone(parts)
	for i := range d.Parts {
		if j := slices.IndexFunc(old, func(p digestbot.DeliveryPart) bool { return p.Key == d.Parts[i].Key }); j >= 0 {
			d.Parts[i].Posted, d.Parts[i].Attempts, d.Parts[i].SetAside, d.Parts[i].Strikes = old[j].Posted, old[j].Attempts, old[j].SetAside, old[j].Strikes
		}
	}
	return nil
}

// RecordAttempt records that a post of part key is sent at at, before it
// is sent: a crash after this line leaves the time to search for it by.
func (s *Store) RecordAttempt(ctx context.Context, d *digestbot.Delivery, token, key string, at time.Time) error {
	if err := checkDelivery(d); err != nil {
		return err
	}
	i, err := partIndex(d, key)
	if err != nil {
		return err
	}
	if err := s.writeOutbox(ctx, "record post attempt", d, token, "append", "try:"+key, strconv.FormatInt(ms(at), 10)); err != nil {
		return err
	}
	d.Parts[i].Attempts = append(d.Parts[i].Attempts, time.UnixMilli(ms(at)).UTC())
	return nil
}

// MarkPartPosted records that the chat service has part key as messageID.
// ECONFLICT when token no longer holds the claim or the delivery has ended.
func (s *Store) MarkPartPosted(ctx context.Context, d *digestbot.Delivery, token, key, messageID string) error {
	if err := checkDelivery(d); err != nil {
		return err
	}
	i, err := partIndex(d, key)
	if err != nil {
		return err
	}
	if messageID == "" {
		return digestbot.Errorf(digestbot.EINVALID, "posted part %s has no message id", key)
	}
	if err := s.writeOutbox(ctx, "mark part posted", d, token, "set", "posted:"+key, messageID); err != nil {
		return err
	}
	d.Parts[i].Posted = messageID
	return nil
}

// SetPartAside records that part key is given up, and why; AckDelivery
// counts it in the channel's stats.
func (s *Store) SetPartAside(ctx context.Context, d *digestbot.Delivery, token, key, reason string) error {
	if err := checkDelivery(d); err != nil {
		return err
	}
	i, err := partIndex(d, key)
	if err != nil {
		return err
	}
	if reason == "" {
		return digestbot.Errorf(digestbot.EINVALID, "a part set aside needs a reason")
	}
	if err := s.writeOutbox(ctx, "set part aside", d, token, "set", "aside:"+key, reason); err != nil {
		return err
	}
	d.Parts[i].SetAside = reason
	return nil
}

// AckDelivery removes exactly the delivery's frozen items from the queue
// (items enqueued since stay), remembers them as delivered for the retention
// window with where each went (d.Placed, see ArticleStatus), counts the
// parts set aside, and ends the delivery, atomically.
// Acknowledging a delivery that has already been acknowledged is a no-op.
// ECONFLICT when token no longer holds the claim, or the channel's
// unfinished delivery is another one.
func (s *Store) AckDelivery(ctx context.Context, d *digestbot.Delivery, token string) error {
	if err := checkDelivery(d); err != nil {
		return err
	}
	now := s.now()
	args := []any{token, d.WindowID, ms(now), ms(now.Add(-s.retention)), s.retention.Milliseconds()}
	for _, p := range d.Placed {
		if p.ArticleID != "" {
			args = append(args, p.ArticleID, encode(p))
		}
	}
	n, err := ackScript.Run(ctx, s.rdb, []string{
		s.channelKey(d.GuildID, d.ChannelID, "claim"),
		s.channelKey(d.GuildID, d.ChannelID, "outbox"),
		s.channelKey(d.GuildID, d.ChannelID, "pending"),
		s.channelKey(d.GuildID, d.ChannelID, "delivered"),
		s.channelKey(d.GuildID, d.ChannelID, "stats"),
		s.channelKey(d.GuildID, d.ChannelID, "placed"),
	}, args...).Int64()
	if err != nil {
		return s.fail("acknowledge delivery", err)
	}
	switch n {
	case -1:
		return claimLost(d.ChannelID)
	case -2:
		return digestbot.Errorf(digestbot.ECONFLICT, "delivery %s to channel %s is not the channel's current delivery", d.WindowID, d.ChannelID)
	}
	return nil
}

package store

import (
	"context"
	"fmt"
	"time"

	"github.com/digestbot/digestbot"
	"github.com/redis/go-redis/v9"
)

// Spike alerts (digestbot.Spike) count the distinct outlets of a
// subscription's matching stories within its window. Per subscription,
// on its guild's slot:
//
//	P{g:GUILD}:spike:SUB          zset  outlet name -> time of its latest matching story (ms);
//	                                    older than the window are trimmed; expires a window after the last write
//	P{g:GUILD}:spike:SUB:alerted  string set for a window once an alert went out
//
// Both expire by themselves, so a removed subscription or guild leaves
// nothing behind for longer than its window (at most 72 hours).

// noteSpikeScript records a story's outlets. KEYS: zset, alerted mark.
// ARGV: now ms, window ms, story ms, threshold, outlet names...
// Returns {alerted, distinct outlets, names when at the threshold}.
var noteSpikeScript = redis.NewScript(`
local now, win, at, need = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - win))
if at >= now - win then
  for i = 5, #ARGV do
    local cur = redis.call('ZSCORE', KEYS[1], ARGV[i])
    if not cur or tonumber(cur) < at then redis.call('ZADD', KEYS[1], at, ARGV[i]) end
  end
  redis.call('PEXPIRE', KEYS[1], win)
end
local n = redis.call('ZCARD', KEYS[1])
local names = {}
if n >= need then names = redis.call('ZREVRANGE', KEYS[1], 0, 9) end
return {redis.call('EXISTS', KEYS[2]), n, names}
`)

func (s *Store) spikeKeys(guildID, subID string) (outlets, alerted string) {
	k := s.guildKey(guildID, "spike:"+subID)
	return k, k + ":alerted"
}

// NoteSpikes records the outlets of matching stories, as of now, and
// returns each subscription's count after its note: one atomic script per
// note, all in one round trip. A story older than its window counts for
// nothing. Notes of one subscription are applied in order.
func (s *Store) NoteSpikes(ctx context.Context, now time.Time, notes []digestbot.SpikeNote) ([]digestbot.SpikeCount, error) {
	if len(notes) == 0 {
		return nil, nil
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.Cmd, len(notes))
	for i, n := range notes {
		if err := checkID("guild", n.GuildID); err != nil {
			return nil, err
		}
		if n.SubscriptionID == "" || n.Window <= 0 {
			return nil, digestbot.Errorf(digestbot.EINVALID, "spike note without a subscription or a window")
		}
		zset, alerted := s.spikeKeys(n.GuildID, n.SubscriptionID)
		args := []any{ms(now), n.Window.Milliseconds(), ms(n.At), n.Threshold}
		for _, o := range n.Outlets {
			args = append(args, o)
		}
		cmds[i] = noteSpikeScript.Eval(ctx, pipe, []string{zset, alerted}, args...)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, s.fail("note spikes", err)
	}
	out := make([]digestbot.SpikeCount, len(notes))
	for i, c := range cmds {
		res, err := c.Slice()
		if err != nil || len(res) != 3 {
			return nil, s.fail("note spikes", fmt.Errorf("unexpected reply %v: %w", res, err))
		}
		alerted, _ := res[0].(int64)
		n, _ := res[1].(int64)
		out[i] = digestbot.SpikeCount{Outlets: int(n), Alerted: alerted == 1}
		names, _ := res[2].([]any)
		for _, v := range names {
			if name, ok := v.(string); ok {
				out[i].Names = append(out[i].Names, name)
			}
		}
	}
	return out, nil
}

// MarkSpikeAlerted records that a subscription's alert went out: no other
// for window.
func (s *Store) MarkSpikeAlerted(ctx context.Context, guildID, subID string, window time.Duration) error {
	if err := checkID("guild", guildID); err != nil {
		return err
	}
	_, alerted := s.spikeKeys(guildID, subID)
	return s.fail("mark spike alerted", s.rdb.Set(ctx, alerted, "1", window).Err())
}

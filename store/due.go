package store

import (
	"context"
	"errors"
	"hash/fnv"
	"strconv"
	"time"

	"github.com/digestbot/digestbot"
	"github.com/redis/go-redis/v9"
)

// dueShards is how many sorted sets a due queue is spread over. Each has a
// hash tag of its own, so on Redis Cluster a large queue (100,000 channels,
// tens of thousands of feeds) lives on every master and no single slot
// takes every worker's polling. Changing it moves members to other shards:
// it is a constant of the key schema.
const dueShards = 16

// maxDueMember bounds a member name (a channel, a feed URL's hash).
const maxDueMember = 512

// takeScript takes the due members of one shard. KEYS: zset, failures
// hash. ARGV: now ms, max, hold-until ms. Returns member, old score,
// failures, ... The new score, hold-until, is the take's mark.
var takeScript = redis.NewScript(`
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for i = 1, #due, 2 do
  redis.call('ZADD', KEYS[1], ARGV[3], due[i])
  out[#out+1] = due[i]
  out[#out+1] = due[i+1]
  out[#out+1] = redis.call('HGET', KEYS[2], due[i]) or '0'
end
return out
`)

// finishScript ends a take. KEYS: zset, failures hash. ARGV: member, mark
// ms, next ms (empty: remove), failed ('1' or '0'). Returns 1, or 0 when the
// take no longer holds the member.
var finishScript = redis.NewScript(`
local cur = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not cur or tonumber(cur) ~= tonumber(ARGV[2]) then return 0 end
if ARGV[3] == '' then
  redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[2], ARGV[1])
  return 1
end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
if ARGV[4] == '1' then
  redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
else
  redis.call('HDEL', KEYS[2], ARGV[1])
end
return 1
`)

// extendScript moves a take's mark. KEYS: zset. ARGV: member, mark ms, new
// mark ms.
var extendScript = redis.NewScript(`
local cur = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not cur or tonumber(cur) ~= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return 1
`)

// dueQueue implements digestbot.DueQueue.
type dueQueue struct {
	s    *Store
	name string
}

// DueQueue returns the named due queue ("digests", "feeds").
func (s *Store) DueQueue(name string) digestbot.DueQueue { return &dueQueue{s: s, name: name} }

func (q *dueQueue) Shards() int { return dueShards }

func (q *dueQueue) shardOf(member string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(member))
	return int(h.Sum32() % dueShards)
}

func (q *dueQueue) keys(shard int) []string {
	base := q.s.prefix + "{due:" + q.name + ":" + strconv.Itoa(shard) + "}"
	return []string{base, base + ":failures"}
}

func checkMember(member string) error {
	if member == "" || len(member) > maxDueMember {
		return digestbot.Errorf(digestbot.EINVALID, "due queue member must have 1 to %d bytes", maxDueMember)
	}
	return nil
}

func (q *dueQueue) Put(ctx context.Context, member string, at time.Time, mode digestbot.PutMode) error {
	if err := checkMember(member); err != nil {
		return err
	}
	z := redis.Z{Score: float64(ms(at)), Member: member}
	key := q.keys(q.shardOf(member))[0]
	var err error
	switch mode {
	case digestbot.PutIfEarlier:
		err = q.s.rdb.ZAddLT(ctx, key, z).Err()
	case digestbot.PutIfAbsent:
		err = q.s.rdb.ZAddNX(ctx, key, z).Err()
	default:
		err = q.s.rdb.ZAdd(ctx, key, z).Err()
	}
	return q.s.fail("schedule "+q.name, err)
}

func (q *dueQueue) Remove(ctx context.Context, member string) error {
	if err := checkMember(member); err != nil {
		return err
	}
	k := q.keys(q.shardOf(member))
	pipe := q.s.rdb.TxPipeline()
	pipe.ZRem(ctx, k[0], member)
	pipe.HDel(ctx, k[1], member)
	_, err := pipe.Exec(ctx)
	return q.s.fail("unschedule "+q.name, err)
}

func (q *dueQueue) When(ctx context.Context, member string) (time.Time, bool, error) {
	if err := checkMember(member); err != nil {
		return time.Time{}, false, err
	}
	v, err := q.s.rdb.ZScore(ctx, q.keys(q.shardOf(member))[0], member).Result()
	if errors.Is(err, redis.Nil) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, q.s.fail("read "+q.name+" due time", err)
	}
	return time.UnixMilli(int64(v)), true, nil
}

func (q *dueQueue) Take(ctx context.Context, shard int, now time.Time, max int, hold time.Duration) ([]digestbot.DueEntry, error) {
	if shard < 0 || shard >= dueShards {
		return nil, digestbot.Errorf(digestbot.EINVALID, "due queue shard %d is out of range", shard)
	}
	if max <= 0 {
		return nil, nil
	}
	if hold < time.Millisecond {
		return nil, digestbot.Errorf(digestbot.EINVALID, "take time %v is too short", hold)
	}
	mark := ms(now.Add(hold))
	res, err := takeScript.Run(ctx, q.s.rdb, q.keys(shard), ms(now), max, mark).Slice()
	if err != nil {
		return nil, q.s.fail("take due "+q.name, err)
	}
	out := make([]digestbot.DueEntry, 0, len(res)/3)
	for i := 0; i+2 < len(res); i += 3 {
		member, _ := res[i].(string)
		score, _ := res[i+1].(string)
		fails, _ := res[i+2].(string)
		due, _ := strconv.ParseFloat(score, 64)
		n, _ := strconv.Atoi(fails)
		out = append(out, digestbot.DueEntry{Member: member, Due: time.UnixMilli(int64(due)), Held: mark, Failures: n})
	}
	return out, nil
}

func (q *dueQueue) Finish(ctx context.Context, e digestbot.DueEntry, next time.Time, failed bool) (bool, error) {
	if err := checkMember(e.Member); err != nil {
		return false, err
	}
	nextArg, failArg := "", "0"
	if !next.IsZero() {
		nextArg = strconv.FormatInt(ms(next), 10)
	}
	if failed {
		failArg = "1"
	}
	n, err := finishScript.Run(ctx, q.s.rdb, q.keys(q.shardOf(e.Member)), e.Member, e.Held, nextArg, failArg).Int64()
	if err != nil {
		return false, q.s.fail("finish due "+q.name, err)
	}
	return n == 1, nil
}

func (q *dueQueue) Extend(ctx context.Context, e *digestbot.DueEntry, until time.Time) (bool, error) {
	if err := checkMember(e.Member); err != nil {
		return false, err
	}
	mark := ms(until)
	n, err := extendScript.Run(ctx, q.s.rdb, q.keys(q.shardOf(e.Member))[:1], e.Member, e.Held, mark).Int64()
	if err != nil {
		return false, q.s.fail("extend due "+q.name, err)
	}
	if n == 1 {
		e.Held = mark
	}
	return n == 1, nil
}

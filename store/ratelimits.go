package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Discord's rate limits belong to the bot, not to a process: every replica
// of the bot spends the same global budget (50 requests a second) and the
// same per-channel buckets. These scripts keep them in Redis so that N
// replicas together stay under them. A process-local limiter
// (golang.org/x/time/rate) cannot see what the other replicas spent.

// globalScript reserves the next slot of the global budget, a generic cell
// rate: slots are one interval apart, and a reservation takes the slot
// after the last one reserved (or now), or after a global block Discord
// imposed. For a minute after such a block the slots are a quarter further
// apart: a 429 means requests reached Discord closer together than they
// were reserved (a process starved of CPU sends several at once), and it
// is likely to happen again soon. KEYS: next free slot (µs), block-until
// (µs). ARGV: now µs, interval µs. Returns the wait in µs.
var globalScript = redis.NewScript(`
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local block = tonumber(redis.call('GET', KEYS[2]) or '0')
if block > 0 and now < block + 60000000 then interval = interval * 1.25 end
local slot = tonumber(redis.call('GET', KEYS[1]) or '0')
if slot < now then slot = now end
if slot < block then slot = block end
redis.call('SET', KEYS[1], string.format('%.0f', slot + interval), 'PX', 60000)
return slot - now
`)

// routeTakeScript takes one request from a route's bucket as Discord last
// reported it. KEYS: bucket hash (rem, reset in µs). ARGV: now µs, probe
// µs, margin µs. Returns {0, sendBy} to go (sendBy: margin before the end
// of the window the request was counted in, 0 for a probe), else
// {wait µs, 0}. A bucket
// nobody knows (first use, or its window ended) lets one request through
// as a probe and holds the others until its answer says how many are left,
// or the probe time passes. Within margin of a window's end nothing is
// granted: Discord gives the reset to the millisecond, rounded down, and a
// request sent just before it may reach Discord just after, in the next
// window, where nobody counted it.
var routeTakeScript = redis.NewScript(`
local reset = tonumber(redis.call('HGET', KEYS[1], 'reset') or '0')
local now, margin = tonumber(ARGV[1]), tonumber(ARGV[3])
if reset + margin <= now then
  redis.call('HSET', KEYS[1], 'rem', 0, 'reset', string.format('%.0f', now + tonumber(ARGV[2])), 'probe', 1)
  redis.call('PEXPIRE', KEYS[1], 60000)
  return {0, 0}
end
local rem = tonumber(redis.call('HGET', KEYS[1], 'rem') or '1')
if rem > 0 and now < reset - margin then
  redis.call('HINCRBY', KEYS[1], 'rem', -1)
  return {0, string.format('%.0f', reset - margin)}
end
return {string.format('%.0f', reset + margin - now), 0}
`)

// routeSetScript records a bucket a response reported. KEYS: bucket hash.
// ARGV: remaining, reset µs. Answers to requests of one window may arrive
// out of order: within a window the lower count wins, and an answer of an
// older window changes nothing.
var routeSetScript = redis.NewScript(`
local cur = tonumber(redis.call('HGET', KEYS[1], 'reset') or '0')
local rem = tonumber(ARGV[1])
local reset = tonumber(ARGV[2])
if redis.call('HGET', KEYS[1], 'probe') == '1' then
  redis.call('HDEL', KEYS[1], 'probe')
elseif math.abs(cur - reset) < 100000 then
  local have = tonumber(redis.call('HGET', KEYS[1], 'rem') or ARGV[1])
  if have < rem then rem = have end
  if cur > reset then reset = cur end
elseif reset < cur then
  return 0
end
redis.call('HSET', KEYS[1], 'rem', rem, 'reset', string.format('%.0f', reset))
redis.call('PEXPIRE', KEYS[1], math.floor((reset - tonumber(ARGV[3])) / 1000) + 1000)
return 1
`)

func us(t time.Time) int64 { return t.UnixMicro() }

// rateKey names a key of the global budget. The global script reads the
// next slot and the block together, so they share a hash tag (one Redis
// Cluster slot).
func (s *Store) rateKey(name string) string { return s.prefix + "{ratelimit}:" + name }

// routeKey spreads the buckets (one per channel route) over hash slots.
func (s *Store) routeKey(route string) string { return s.prefix + "{rl:" + route + "}" }

// TakeGlobal reserves one request of the bot's global budget of perSecond
// requests a second and returns how long to wait before sending it.
func (s *Store) TakeGlobal(ctx context.Context, now time.Time, perSecond int) (time.Duration, error) {
	if perSecond <= 0 {
		return 0, nil
	}
	interval := int64(time.Second/time.Microsecond) / int64(perSecond)
	n, err := globalScript.Run(ctx, s.rdb, []string{s.rateKey("global"), s.rateKey("global:block")}, us(now), interval).Int64()
	if err != nil {
		return 0, s.fail("take global rate limit", err)
	}
	return time.Duration(n) * time.Microsecond, nil
}

// BlockGlobal records that Discord refused every request until `until`
// (a global 429), for every replica.
func (s *Store) BlockGlobal(ctx context.Context, until time.Time) error {
	// Kept a minute past the block: TakeGlobal paces slower meanwhile.
	d := time.Until(until) + time.Minute
	if d <= time.Minute {
		return nil
	}
	return s.fail("block global rate limit", s.rdb.Set(ctx, s.rateKey("global:block"), strconv.FormatInt(us(until), 10), d).Err())
}

// TakeRoute takes one request from a route's bucket (route names the
// bucket and its major parameter: "POST channels/ID/messages") and returns
// how long to wait first (0 when the bucket is unknown or not empty) and,
// when it took a request of a known window, the time by which it must be
// sent: RouteMargin before the window ends. A request not sent by then
// must be taken again, for Discord would count it in the next window.
func (s *Store) TakeRoute(ctx context.Context, route string, now time.Time) (wait time.Duration, sendBy time.Time, err error) {
	v, err := routeTakeScript.Run(ctx, s.rdb, []string{s.routeKey(route)}, us(now), routeProbe.Microseconds(), RouteMargin.Microseconds()).Int64Slice()
	if err == nil && len(v) != 2 {
		err = fmt.Errorf("unexpected reply %v", v)
	}
	if err != nil {
		return 0, time.Time{}, s.fail("take route rate limit", err)
	}
	if v[1] > 0 {
		sendBy = time.UnixMicro(v[1])
	}
	return time.Duration(v[0]) * time.Microsecond, sendBy, nil
}

// RouteMargin is how close to the end of a route's window no request of
// that window is sent: Discord reports the reset to the millisecond,
// rounded down, and a request needs time to reach it.
const RouteMargin = 50 * time.Millisecond

// SetRoute records a route's bucket as a response reported it: remaining
// requests until reset.
func (s *Store) SetRoute(ctx context.Context, route string, remaining int, reset time.Time) error {
	err := routeSetScript.Run(ctx, s.rdb, []string{s.routeKey(route)}, remaining, us(reset), us(time.Now())).Err()
	return s.fail("set route rate limit", err)
}

// routeProbe is how long other requests on an unknown bucket wait for the
// probe's answer at most.
const routeProbe = 2 * time.Second

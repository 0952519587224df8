package store

import (
	"context"
	"time"

	"github.com/digestbot/digestbot"
	"github.com/redis/go-redis/v9"
)

// holdScript takes a free lease or extends one the holder already has.
// KEYS: lease. ARGV: holder, ttl ms. Returns 1 when holder has it.
var holdScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if cur == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`)

// HoldLease takes the named process-wide lease for holder, or extends it
// when holder already has it, to ttl from now. ok=false while another
// holder has it. Background jobs that one process should run at a time
// (feed polling, the matcher) use it, so replicas can run side by side and
// one takes over when another stops.
func (s *Store) HoldLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	if err := checkID("lease", name); err != nil {
		return false, err
	}
	if holder == "" {
		return false, digestbot.Errorf(digestbot.EINVALID, "lease holder is empty")
	}
	if ttl < time.Millisecond {
		return false, digestbot.Errorf(digestbot.EINVALID, "lease time %v is too short", ttl)
	}
	n, err := holdScript.Run(ctx, s.rdb, []string{s.leaseKey(name)}, holder, ttl.Milliseconds()).Int64()
	if err != nil {
		return false, s.fail("hold lease "+name, err)
	}
	return n == 1, nil
}

// DropLease gives the named lease back if holder has it, so another
// process can take it at once instead of waiting for it to expire.
func (s *Store) DropLease(ctx context.Context, name, holder string) error {
	if err := checkID("lease", name); err != nil {
		return err
	}
	return s.fail("drop lease "+name, releaseScript.Run(ctx, s.rdb, []string{s.leaseKey(name)}, holder).Err())
}

func (s *Store) leaseKey(name string) string { return s.prefix + "lease:" + name }

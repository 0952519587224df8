package store

import (
	"context"
	"errors"
	"time"

	"github.com/digestbot/digestbot"
	"github.com/redis/go-redis/v9"
)

// MaxLookupState bounds one saved lookup (a query, a cursor and one page
// of results), so a button cannot be used to park large values in Redis.
const MaxLookupState = 64 << 10

// SaveLookup keeps the state behind a lookup's buttons for ttl, under the
// guild that ran it, so any replica can answer the button later.
func (s *Store) SaveLookup(ctx context.Context, guildID, id string, state []byte, ttl time.Duration) error {
	if err := checkID("guild", guildID); err != nil {
		return err
	}
	if err := checkID("lookup", id); err != nil {
		return err
	}
	if len(state) > MaxLookupState {
		return digestbot.Errorf(digestbot.ELIMIT, "lookup state of %d bytes is over the %d-byte limit", len(state), MaxLookupState)
	}
	if ttl < time.Millisecond {
		return digestbot.Errorf(digestbot.EINVALID, "lookup lifetime %v is too short", ttl)
	}
	return s.fail("save lookup", s.rdb.Set(ctx, s.guildKey(guildID, "lookup:"+id), state, ttl).Err())
}

// LoadLookup returns what SaveLookup kept; ENOTFOUND once it expired, and
// for a lookup of another guild (the key is the guild's own).
func (s *Store) LoadLookup(ctx context.Context, guildID, id string) ([]byte, error) {
	if err := checkID("guild", guildID); err != nil {
		return nil, err
	}
	if err := checkID("lookup", id); err != nil {
		return nil, digestbot.Errorf(digestbot.ENOTFOUND, "no such lookup")
	}
	b, err := s.rdb.Get(ctx, s.guildKey(guildID, "lookup:"+id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, digestbot.Errorf(digestbot.ENOTFOUND, "no such lookup")
	}
	if err != nil {
		return nil, s.fail("load lookup", err)
	}
	return b, nil
}

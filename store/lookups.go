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

// MaxReplyState bounds one saved reply: every page of a list or of a
// digest preview the bot made.
const MaxReplyState = 1 << 20

// SaveLookup keeps the state behind a lookup's buttons for ttl, under the
// guild that ran it, so any replica can answer the button later.
func (s *Store) SaveLookup(ctx context.Context, guildID, id string, state []byte, ttl time.Duration) error {
	return s.saveButtonState(ctx, "lookup", guildID, id, state, MaxLookupState, ttl)
}

// LoadLookup returns what SaveLookup kept; ENOTFOUND once it expired, and
// for a lookup of another guild (the key is the guild's own).
func (s *Store) LoadLookup(ctx context.Context, guildID, id string) ([]byte, error) {
	return s.loadButtonState(ctx, "lookup", guildID, id)
}

// SaveReply keeps the pages of a reply for ttl, under the guild it was
// made for, so whichever replica receives its Previous and Next buttons
// can answer them.
func (s *Store) SaveReply(ctx context.Context, guildID, id string, state []byte, ttl time.Duration) error {
	return s.saveButtonState(ctx, "reply", guildID, id, state, MaxReplyState, ttl)
}

// LoadReply returns what SaveReply kept; ENOTFOUND once it expired, and
// for a reply of another guild.
func (s *Store) LoadReply(ctx context.Context, guildID, id string) ([]byte, error) {
	return s.loadButtonState(ctx, "reply", guildID, id)
}

// saveButtonState keeps what a kind of button ("lookup", "reply") needs
// under P{g:GUILD}:KIND:ID for ttl.
func (s *Store) saveButtonState(ctx context.Context, kind, guildID, id string, state []byte, max int, ttl time.Duration) error {
	if err := checkID("guild", guildID); err != nil {
		return err
	}
	if err := checkID(kind, id); err != nil {
		return err
	}
	if len(state) > max {
		return digestbot.Errorf(digestbot.ELIMIT, "%s state of %d bytes is over the %d-byte limit", kind, len(state), max)
	}
	if ttl < time.Millisecond {
		return digestbot.Errorf(digestbot.EINVALID, "%s lifetime %v is too short", kind, ttl)
	}
	return s.fail("save "+kind, s.rdb.Set(ctx, s.guildKey(guildID, kind+":"+id), state, ttl).Err())
}

func (s *Store) loadButtonState(ctx context.Context, kind, guildID, id string) ([]byte, error) {
	if err := checkID("guild", guildID); err != nil {
		return nil, err
	}
	if err := checkID(kind, id); err != nil {
		return nil, digestbot.Errorf(digestbot.ENOTFOUND, "no such %s", kind)
	}
	b, err := s.rdb.Get(ctx, s.guildKey(guildID, kind+":"+id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, digestbot.Errorf(digestbot.ENOTFOUND, "no such %s", kind)
	}
	if err != nil {
		return nil, s.fail("load "+kind, err)
	}
	return b, nil
}

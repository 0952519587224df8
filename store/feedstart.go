package store

import (
	"context"
	"errors"

	"github.com/digestbot/digestbot"
	"github.com/redis/go-redis/v9"
)

// A feed new to a server starts from now (digestbot.Feed.HoldsBack): the
// poller marks each server's entry once its first poll has stored what it
// found, and the matcher reads the entries of the feeds whose articles it
// matches.

// maxMarkAttempts bounds the optimistic retries of MarkFeedPolled.
const maxMarkAttempts = 10

// MarkFeedPolled records, for each of guilds that has url among its feeds
// with a first poll still to come, that the poll has stored what it found:
// FirstPolled becomes the ingest log's last position now (or "0-0" while
// the log is empty). An entry marked already, removed, or added before
// feeds started from now is left alone.
func (s *Store) MarkFeedPolled(ctx context.Context, url string, guilds []string) error {
	if len(guilds) == 0 {
		return nil
	}
	last, err := s.rdb.XRevRangeN(ctx, s.ingestKey(), "+", "-", 1).Result()
	if err != nil {
		return s.fail("read the end of the ingest log", err)
	}
	pos := "0-0"
	if len(last) > 0 {
		pos = last[0].ID
	}
	for _, g := range guilds {
		if err := checkID("guild", g); err != nil {
			return err
		}
		key := s.guildKey(g, "feeds")
		tx := func(tx *redis.Tx) error {
			v, err := tx.HGet(ctx, key, url).Result()
			if errors.Is(err, redis.Nil) {
				return nil // removed meanwhile
			}
			if err != nil {
				return err
			}
			f, err := decode[digestbot.Feed]("mark feed polled", v)
			if err != nil {
				return err
			}
			if f.DeliverSince.IsZero() || f.FirstPolled != "" {
				return nil
			}
			f.FirstPolled = pos
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.HSet(ctx, key, url, encode(f))
				return nil
			})
			return err
		}
		var done bool
		for range maxMarkAttempts {
			err := s.rdb.Watch(ctx, tx, key)
			if errors.Is(err, redis.TxFailedErr) {
				continue
			}
			if err != nil {
				return s.fail("mark feed polled", err)
			}
			done = true
			break
		}
		if !done {
			return digestbot.Errorf(digestbot.EUNAVAILABLE, "the feeds of server %s are changing too fast to mark %s as polled; the next poll does", g, url)
		}
	}
	return nil
}

// FeedEntries returns each server's entry for a feed URL, in the order of
// refs; nil where the server has no such feed. One round trip.
func (s *Store) FeedEntries(ctx context.Context, refs []digestbot.FeedRef) ([]*digestbot.Feed, error) {
	if len(refs) == 0 {
		return nil, nil
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, len(refs))
	for i, r := range refs {
		if err := checkID("guild", r.GuildID); err != nil {
			return nil, err
		}
		cmds[i] = pipe.HGet(ctx, s.guildKey(r.GuildID, "feeds"), r.URL)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, s.fail("read feed entries", err)
	}
	out := make([]*digestbot.Feed, len(refs))
	for i, c := range cmds {
		v, err := c.Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return nil, s.fail("read feed entries", err)
		}
		if out[i], err = decode[digestbot.Feed]("read feed entries", v); err != nil {
			return nil, err
		}
	}
	return out, nil
}

package store

import (
	"context"
	"errors"
	"strings"

	"github.com/redis/go-redis/v9"
)

// ArticleOutlets returns the outlet (source name) of each stored article,
// in the order of ids; "" for an id that is not (or no longer) stored, or
// stored before the outlet was kept apart from the body. It reads one
// small field per article instead of the whole body, for counts over many
// articles (/trend). A story that several outlets carried gives its first.
func (s *Store) ArticleOutlets(ctx context.Context, ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.HGet(ctx, s.articleKey(id), "f")
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, s.fail("read article outlets", err)
	}
	out := make([]string, len(ids))
	for i, c := range cmds {
		// "f" is the source name and the feed, see sourceOf.
		name, _, _ := strings.Cut(c.Val(), "\x00")
		out[i] = name
	}
	return out, nil
}

package store

// What the store keeps for explaining what became of one article (package
// why): the copies a URL has under other ids, and a channel's queues as
// they concern the article.

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/digestbot/digestbot"
	"github.com/redis/go-redis/v9"
)

// copiesKey lists the ids of the servers' own copies of an article whose
// id another audience holds (see PutArticles): without it, the id of a
// server's copy, derived from its feed's name and URL, cannot be found
// from the URL alone.
func (s *Store) copiesKey(id string) string { return s.prefix + "copies:" + id }

// noteCopies records, for each copy id, the id it is a copy of, for the
// retention window. Written before the copies themselves, so that a copy
// that is stored can always be found.
func (s *Store) noteCopies(ctx context.Context, copies map[string]string) error {
	pipe := s.rdb.Pipeline()
	for cp, orig := range copies {
		pipe.SAdd(ctx, s.copiesKey(orig), cp)
		pipe.PExpire(ctx, s.copiesKey(orig), s.retention)
	}
	_, err := pipe.Exec(ctx)
	return s.fail("note article copies", err)
}

// ArticleCopies returns the ids under which servers' own feeds keep
// copies of the article with id (a URL another audience also carries),
// sorted; none for most articles. Whether a copy is still stored, and who
// may see it, is for GetArticles to say.
func (s *Store) ArticleCopies(ctx context.Context, id string) ([]string, error) {
	ids, err := s.rdb.SMembers(ctx, s.copiesKey(id)).Result()
	if err != nil {
		return nil, s.fail("read article copies", err)
	}
	slices.Sort(ids)
	return ids, nil
}

// ArticleStatus returns what a channel's queues know of an article: its
// pending item, whether a digest holding it is being posted, and when and
// where it was delivered (within the retention window). One round trip:
// every key is on the channel's hash slot.
func (s *Store) ArticleStatus(ctx context.Context, guildID, channelID, articleID string) (*digestbot.ArticleStatus, error) {
	if err := checkGuildChannel(guildID, channelID); err != nil {
		return nil, err
	}
	pipe := s.rdb.Pipeline()
	pending := pipe.HGet(ctx, s.channelKey(guildID, channelID, "pending"), articleID)
	ids := pipe.HGet(ctx, s.channelKey(guildID, channelID, "outbox"), "ids")
	at := pipe.ZScore(ctx, s.channelKey(guildID, channelID, "delivered"), articleID)
	placed := pipe.HGet(ctx, s.channelKey(guildID, channelID, "placed"), articleID)
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, s.fail("read article status", err)
	}
	st := &digestbot.ArticleStatus{}
	if v, err := pending.Result(); err == nil {
		if st.Pending, err = decode[digestbot.PendingItem]("read pending item", v); err != nil {
			return nil, err
		}
	}
	if v, err := ids.Result(); err == nil {
		st.Delivering = slices.Contains(strings.Split(v, "\n"), articleID)
	}
	if v, err := at.Result(); err == nil {
		st.DeliveredAt = time.UnixMilli(int64(v)).UTC()
		if p, err := placed.Result(); err == nil {
			if st.Placement, err = decode[digestbot.Placement]("read placement", p); err != nil {
				return nil, err
			}
			st.Placement.ArticleID = articleID
		}
	}
	return st, nil
}

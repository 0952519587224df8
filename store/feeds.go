package store

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/digestbot/digestbot"
	"github.com/redis/go-redis/v9"
)

func checkFeedURL(u string) error {
	switch {
	case u == "":
		return digestbot.Errorf(digestbot.EINVALID, "feed URL is empty")
	case len(u) > digestbot.MaxURLLen:
		return digestbot.Errorf(digestbot.EINVALID, "feed URL is %d bytes, the limit is %d", len(u), digestbot.MaxURLLen)
	case !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://"):
		return digestbot.Errorf(digestbot.EINVALID, "feed URL %q is not http or https", u)
	}
	return nil
}

// AddFeed stores a guild feed. Adding the same URL again returns
// created=false and keeps the first entry. ELIMIT when the guild already has
// limit feeds (the default when limit <= 0). Feeds from the configuration
// file (GuildID "") are not stored: EINVALID.
func (s *Store) AddFeed(ctx context.Context, f *digestbot.Feed, limit int) (bool, error) {
	if f == nil {
		return false, digestbot.Errorf(digestbot.EINVALID, "feed is missing")
	}
	if f.GuildID == "" {
		return false, digestbot.Errorf(digestbot.EINVALID, "feed %q has no server; feeds for every server belong in the configuration file", f.URL)
	}
	if err := checkID("guild", f.GuildID); err != nil {
		return false, err
	}
	if err := checkFeedURL(f.URL); err != nil {
		return false, err
	}
	limit = limitOrDefault(limit, digestbot.DefaultMaxFeedsPerGuild)
	c := *f
	if c.AddedAt.IsZero() {
		c.AddedAt = s.now().UTC()
	}
	if err := s.registerGuild(ctx, c.GuildID); err != nil {
		return false, err
	}
	key := s.guildKey(c.GuildID, "feeds")
	status, n, err := s.runLimited(ctx, "add feed", addLimited, []string{key, key}, c.URL, encode(&c), limit, "")
	if err != nil {
		return false, err
	}
	if status == -1 {
		return false, digestbot.Errorf(digestbot.ELIMIT, "this server has %s, the limit is %d; remove one first", count(int(n), "feed", "feeds"), limit)
	}
	return status == 1, nil
}

// RemoveFeed removes a guild feed; ENOTFOUND when the guild has no feed
// with that URL.
func (s *Store) RemoveFeed(ctx context.Context, guildID, url string) error {
	if err := checkID("guild", guildID); err != nil {
		return err
	}
	n, err := s.rdb.HDel(ctx, s.guildKey(guildID, "feeds"), url).Result()
	if err != nil {
		return s.fail("remove feed", err)
	}
	if n == 0 {
		return digestbot.Errorf(digestbot.ENOTFOUND, "this server has no feed %q", url)
	}
	return nil
}

// Feeds lists a guild's feeds, oldest first.
func (s *Store) Feeds(ctx context.Context, guildID string) ([]*digestbot.Feed, error) {
	if err := checkID("guild", guildID); err != nil {
		return nil, err
	}
	vals, err := s.rdb.HVals(ctx, s.guildKey(guildID, "feeds")).Result()
	if err != nil {
		return nil, s.fail("list feeds", err)
	}
	fs, err := decodeAll[digestbot.Feed]("list feeds", vals)
	if err != nil {
		return nil, err
	}
	sortFeeds(fs)
	return fs, nil
}

// AllFeeds lists every guild's feeds, by guild, oldest first within a
// guild. The same URL appears once per guild that added it.
func (s *Store) AllFeeds(ctx context.Context) ([]*digestbot.Feed, error) {
	per, err := s.allGuildHashes(ctx, "feeds")
	if err != nil {
		return nil, err
	}
	var out []*digestbot.Feed
	for _, vals := range per {
		fs, err := decodeAll[digestbot.Feed]("list all feeds", vals)
		if err != nil {
			return nil, err
		}
		sortFeeds(fs)
		out = append(out, fs...)
	}
	return out, nil
}

func sortFeeds(fs []*digestbot.Feed) {
	slices.SortFunc(fs, func(a, b *digestbot.Feed) int {
		return cmp.Or(a.AddedAt.Compare(b.AddedAt), cmp.Compare(a.URL, b.URL))
	})
}

// FeedHealth returns the polling state of a URL; a zero value with URL set
// when nothing is known.
func (s *Store) FeedHealth(ctx context.Context, url string) (*digestbot.FeedHealth, error) {
	v, err := s.rdb.HGet(ctx, s.feedHealthKey(), url).Result()
	if errors.Is(err, redis.Nil) {
		return &digestbot.FeedHealth{URL: url}, nil
	}
	if err != nil {
		return nil, s.fail("read feed health", err)
	}
	return decode[digestbot.FeedHealth]("read feed health", v)
}

// FeedHealths reads the polling state of several URLs in one round trip,
// in order; a zero value with URL set for a URL never polled.
func (s *Store) FeedHealths(ctx context.Context, urls []string) ([]*digestbot.FeedHealth, error) {
	if len(urls) == 0 {
		return nil, nil
	}
	vs, err := s.rdb.HMGet(ctx, s.feedHealthKey(), urls...).Result()
	if err != nil {
		return nil, s.fail("read feed health", err)
	}
	out := make([]*digestbot.FeedHealth, len(urls))
	for i, v := range vs {
		str, _ := v.(string)
		if str == "" {
			out[i] = &digestbot.FeedHealth{URL: urls[i]}
			continue
		}
		if out[i], err = decode[digestbot.FeedHealth]("read feed health", str); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// SetFeedHealth stores the polling state of a URL.
func (s *Store) SetFeedHealth(ctx context.Context, h *digestbot.FeedHealth) error {
	if h == nil || h.URL == "" {
		return digestbot.Errorf(digestbot.EINVALID, "feed health has no URL")
	}
	return s.fail("set feed health", s.rdb.HSet(ctx, s.feedHealthKey(), h.URL, encode(h)).Err())
}

// A resume (a feed added again with /feeds add, on any replica) is a
// request kept apart from the health: only the replica polling the feeds
// writes the health, so a resume written into it directly would be lost to
// a poll in flight that saves the health it started from. The poller applies
// a pending request to the current health when the feed is not being
// fetched, saves that, then drops the request with DropFeedResume; a request
// made again in between has a new id and stays. Being in the store, a
// pending request outlives a change of the replica that polls.

// dropIfSame deletes a hash field only while it still has the given value.
// KEYS: hash. ARGV: field, value. Returns 1 when it deleted.
var dropIfSame = redis.NewScript(`
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  return redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0
`)

func (s *Store) feedResumeKey() string { return s.prefix + "feedresume" }

// RequestFeedResume asks the poller to un-pause url and fetch it in full
// (without its validators) at its next tick. The request's id is its time
// in unix milliseconds and a random suffix, so a later request never has the
// id of an earlier one.
func (s *Store) RequestFeedResume(ctx context.Context, url string) error {
	if err := checkFeedURL(url); err != nil {
		return err
	}
	id := strconv.FormatInt(ms(s.now()), 10) + "-" + newToken()[:8]
	return s.fail("request feed resume", s.rdb.HSet(ctx, s.feedResumeKey(), url, id).Err())
}

// FeedResumes returns the id of the pending resume request of each URL, in
// order, in one round trip; "" for a URL without one.
func (s *Store) FeedResumes(ctx context.Context, urls []string) ([]string, error) {
	if len(urls) == 0 {
		return nil, nil
	}
	vs, err := s.rdb.HMGet(ctx, s.feedResumeKey(), urls...).Result()
	if err != nil {
		return nil, s.fail("read feed resumes", err)
	}
	out := make([]string, len(urls))
	for i, v := range vs {
		out[i], _ = v.(string)
	}
	return out, nil
}

// DropFeedResume deletes the resume request of url if its id is still id:
// the poller calls it once the health with that request applied is saved.
// A newer request stays pending.
func (s *Store) DropFeedResume(ctx context.Context, url, id string) error {
	if id == "" {
		return digestbot.Errorf(digestbot.EINVALID, "feed resume request id is empty")
	}
	return s.fail("drop feed resume", dropIfSame.Run(ctx, s.rdb, []string{s.feedResumeKey()}, url, id).Err())
}

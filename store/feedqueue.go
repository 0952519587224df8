package store

import (
	"context"
	"errors"
	"strings"

	"github.com/digestbot/digestbot"
	"github.com/redis/go-redis/v9"
)

// Feed polling state lives next to the "feeds" due queue: each URL has a
// hash of its own, P{due:feeds:N}:f:ID (ID = digestbot.FeedID(url)), on the
// slot of the queue shard that holds ID. It keeps the URL ("url"), the
// polling health ("health", FeedHealth JSON) and the servers that follow the
// URL ("g:GUILD"). Sharing the shard's slot lets one script check that a
// worker still holds its take while it writes the health, so a worker whose
// take lapsed, or whose feed was resumed meanwhile, writes nothing.
//
// The followers are an index of the servers' own feed hashes, which stay the
// truth: written after a server adds a feed, removed after it removes one
// (and then looked at again, so that a concurrent add of the same server is
// not lost). The index may name a server that no longer has the feed (a
// crash, a race); PolledFeed checks every follower against its server's
// feeds and forgets those that do not have it, so what a URL brings in is
// never shown to a server that removed it.

// feedQueueName names the due queue of feeds.
const feedQueueName = "feeds"

// followerPrefix starts the field of a server in a feed's hash.
const followerPrefix = "g:"

// dueAtOnce is the due time of a feed that is to be polled as soon as a
// worker is free: earlier than any clock, so it goes first.
const dueAtOnce = 0

func (s *Store) feedQueue() *dueQueue { return &dueQueue{s: s, name: feedQueueName} }

// FeedQueue returns the due queue of feed URLs, by FeedID; a member's due
// time is its FeedHealth.NextPoll.
func (s *Store) FeedQueue() digestbot.DueQueue { return s.feedQueue() }

// feedKeys returns the keys of a feed id: its queue shard, the shard's
// failure counts and the feed's own hash, all on one slot.
func (s *Store) feedKeys(id string) (zset, failures, feed string) {
	q := s.feedQueue()
	k := q.keys(q.shardOf(id))
	return k[0], k[1], k[0] + ":f:" + id
}

// follow records that guild follows url and makes the URL due at once. A
// take in progress is given
// up: its holder can no longer write the health or finish it, and the next
// take fetches with the new follower known. Were the take left alone, a
// worker that found no follower a moment before might drop the URL from the
// queue just after it was added.
func (s *Store) follow(ctx context.Context, url, guild string) error {
	id := digestbot.FeedID(url)
	zset, _, fk := s.feedKeys(id)
	pipe := s.rdb.TxPipeline()
	pipe.HSet(ctx, fk, "url", url, followerPrefix+guild, "1")
	pipe.ZAddLT(ctx, zset, redis.Z{Score: dueAtOnce, Member: id})
	_, err := pipe.Exec(ctx)
	return s.fail("follow feed", err)
}

// unfollow removes guild from url's followers. A concurrent AddFeed of the
// same guild may have stored the feed and followed it just before: if the
// guild has the feed now, it follows again.
func (s *Store) unfollow(ctx context.Context, url, guild string) error {
	_, _, fk := s.feedKeys(digestbot.FeedID(url))
	if err := s.rdb.HDel(ctx, fk, followerPrefix+guild).Err(); err != nil {
		return s.fail("unfollow feed", err)
	}
	has, err := s.rdb.HExists(ctx, s.guildKey(guild, "feeds"), url).Result()
	if err != nil {
		return s.fail("unfollow feed", err)
	}
	if has {
		return s.follow(ctx, url, guild)
	}
	return nil
}

// PolledFeed reads what the poller needs of a feed id: its URL, health and
// the servers' entries for it (checked against each server's own feeds,
// oldest first). Servers listed as followers that no longer have the feed
// are forgotten.
func (s *Store) PolledFeed(ctx context.Context, id string) (*digestbot.PolledFeed, error) {
	if err := checkMember(id); err != nil {
		return nil, err
	}
	_, _, fk := s.feedKeys(id)
	m, err := s.rdb.HGetAll(ctx, fk).Result()
	if err != nil {
		return nil, s.fail("read polled feed", err)
	}
	pf := &digestbot.PolledFeed{ID: id, URL: m["url"]}
	if v := m["health"]; v != "" {
		h, err := decode[digestbot.FeedHealth]("read feed health", v)
		if err != nil {
			return nil, err
		}
		pf.Health = *h
	}
	pf.Health.URL = pf.URL
	var guilds []string
	for f := range m {
		if g, ok := strings.CutPrefix(f, followerPrefix); ok {
			guilds = append(guilds, g)
		}
	}
	if len(guilds) == 0 || pf.URL == "" {
		return pf, nil
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, len(guilds))
	for i, g := range guilds {
		cmds[i] = pipe.HGet(ctx, s.guildKey(g, "feeds"), pf.URL)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, s.fail("read polled feed", err)
	}
	for i, c := range cmds {
		v, err := c.Result()
		if errors.Is(err, redis.Nil) {
			if err := s.unfollow(ctx, pf.URL, guilds[i]); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, s.fail("read polled feed", err)
		}
		f, err := decode[digestbot.Feed]("read polled feed", v)
		if err != nil {
			return nil, err
		}
		pf.Feeds = append(pf.Feeds, f)
	}
	sortFeeds(pf.Feeds)
	return pf, nil
}

// saveHealthScript writes a feed's health while a take holds it. KEYS:
// zset, feed hash. ARGV: member, mark ms, health JSON. Returns 1, or 0 when
// the take no longer holds the member.
var saveHealthScript = redis.NewScript(`
local cur = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not cur or tonumber(cur) ~= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[2], 'health', ARGV[3])
return 1
`)

// SaveFeedHealth stores the health of the feed a worker took (e), only
// while its take still holds it; ok=false (nothing written) otherwise.
func (s *Store) SaveFeedHealth(ctx context.Context, e digestbot.DueEntry, h *digestbot.FeedHealth) (bool, error) {
	if err := checkMember(e.Member); err != nil {
		return false, err
	}
	if h == nil {
		return false, digestbot.Errorf(digestbot.EINVALID, "feed health is missing")
	}
	zset, _, fk := s.feedKeys(e.Member)
	n, err := saveHealthScript.Run(ctx, s.rdb, []string{zset, fk}, e.Member, e.Held, encode(h)).Int()
	if err != nil {
		return false, s.fail("save feed health", err)
	}
	return n == 1, nil
}

// forgetScript drops a feed no server follows, while a take holds it.
// KEYS: zset, failures, feed hash. ARGV: member, mark ms. Returns 1 when
// dropped.
var forgetScript = redis.NewScript(`
local cur = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not cur or tonumber(cur) ~= tonumber(ARGV[2]) then return 0 end
for _, f in ipairs(redis.call('HKEYS', KEYS[3])) do
  if string.sub(f, 1, 2) == 'g:' then return 0 end
end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('DEL', KEYS[3])
return 1
`)

// ForgetFeed removes a taken feed that no server follows from the queue,
// with its health. ok=false, and nothing changed, when a server follows it
// again or the take no longer holds it.
func (s *Store) ForgetFeed(ctx context.Context, e digestbot.DueEntry) (bool, error) {
	if err := checkMember(e.Member); err != nil {
		return false, err
	}
	zset, failures, fk := s.feedKeys(e.Member)
	n, err := forgetScript.Run(ctx, s.rdb, []string{zset, failures, fk}, e.Member, e.Held).Int()
	if err != nil {
		return false, s.fail("forget feed", err)
	}
	return n == 1, nil
}

// resumeScript resumes a feed unless its health changed since it was read.
// KEYS: zset, failures, feed hash. ARGV: member, health read (empty when
// none), resumed health, url. Returns 1, or 0 when the health changed.
var resumeScript = redis.NewScript(`
local cur = redis.call('HGET', KEYS[3], 'health') or ''
if cur ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[3], 'url', ARGV[4], 'health', ARGV[3])
redis.call('ZADD', KEYS[1], 0, ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return 1
`)

// maxResumeTries bounds ResumeFeed's compare-and-set: the health changes
// only once per fetch, so a second try nearly always succeeds.
const maxResumeTries = 5

// ResumeFeed un-pauses url, clears its failures and validators
// (FeedHealth.Resumed) and makes it due at once, in one step on the
// health as it is in the store. A fetch of the URL in flight (on any
// replica) loses its take: it can no longer write its older health over
// the resumed one.
func (s *Store) ResumeFeed(ctx context.Context, url string) error {
	if err := checkFeedURL(url); err != nil {
		return err
	}
	id := digestbot.FeedID(url)
	zset, failures, fk := s.feedKeys(id)
	for range maxResumeTries {
		old, err := s.rdb.HGet(ctx, fk, "health").Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return s.fail("resume feed", err)
		}
		h := digestbot.FeedHealth{URL: url}
		if old != "" {
			d, err := decode[digestbot.FeedHealth]("resume feed", old)
			if err != nil {
				return err
			}
			h = *d
		}
		h = h.Resumed()
		h.URL = url
		n, err := resumeScript.Run(ctx, s.rdb, []string{zset, failures, fk}, id, old, encode(&h), url).Int()
		if err != nil {
			return s.fail("resume feed", err)
		}
		if n == 1 {
			return nil
		}
	}
	return digestbot.Errorf(digestbot.EUNAVAILABLE, "the feed %s is changing too fast to resume; try again", url)
}

// FeedHealth returns the polling state of a URL; a zero value with URL set
// when nothing is known.
func (s *Store) FeedHealth(ctx context.Context, url string) (*digestbot.FeedHealth, error) {
	_, _, fk := s.feedKeys(digestbot.FeedID(url))
	v, err := s.rdb.HGet(ctx, fk, "health").Result()
	if errors.Is(err, redis.Nil) {
		return &digestbot.FeedHealth{URL: url}, nil
	}
	if err != nil {
		return nil, s.fail("read feed health", err)
	}
	h, err := decode[digestbot.FeedHealth]("read feed health", v)
	if err != nil {
		return nil, err
	}
	h.URL = url
	return h, nil
}

// SetFeedHealth stores the polling state of a URL whoever holds it (the
// poller uses SaveFeedHealth, which checks its take).
func (s *Store) SetFeedHealth(ctx context.Context, h *digestbot.FeedHealth) error {
	if h == nil || h.URL == "" {
		return digestbot.Errorf(digestbot.EINVALID, "feed health has no URL")
	}
	_, _, fk := s.feedKeys(digestbot.FeedID(h.URL))
	return s.fail("set feed health", s.rdb.HSet(ctx, fk, "url", h.URL, "health", encode(h)).Err())
}

// syncBatch is how many feeds one pipeline of SyncFeeds writes.
const syncBatch = 500

// SyncFeeds makes sure that every feed of the configuration (configURLs)
// and of every server is in the polling queue, due at once when it was
// missing, and that its followers are recorded. It repairs what a crash
// between a server's feed write and its follow left behind, and brings in
// the configuration's feeds; feeds already queued keep their due time.
func (s *Store) SyncFeeds(ctx context.Context, configURLs []string) error {
	feeds, err := s.AllFeeds(ctx)
	if err != nil {
		return err
	}
	all := make([]*digestbot.Feed, 0, len(configURLs)+len(feeds))
	for _, u := range configURLs {
		if checkFeedURL(u) == nil {
			all = append(all, &digestbot.Feed{URL: u})
		}
	}
	all = append(all, feeds...)
	for len(all) > 0 {
		n := min(len(all), syncBatch)
		pipe := s.rdb.Pipeline()
		for _, f := range all[:n] {
			id := digestbot.FeedID(f.URL)
			zset, _, fk := s.feedKeys(id)
			fields := []any{"url", f.URL}
			if f.GuildID != "" {
				fields = append(fields, followerPrefix+f.GuildID, "1")
			}
			pipe.HSet(ctx, fk, fields...)
			pipe.ZAddNX(ctx, zset, redis.Z{Score: dueAtOnce, Member: id})
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return s.fail("sync feed queue", err)
		}
		all = all[n:]
	}
	return nil
}

package store

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/digestbot/digestbot"
	"github.com/redis/go-redis/v9"
)

// Log read sizes.
const (
	defaultLogRead = 1000
	maxLogRead     = 10000
)

// putScript stores one article. KEYS: the article. ARGV: body JSON,
// content hash, ingest time, ttl ms, scope. An absent article is created
// with the "unlogged" mark and the TTL; a present one whose content hash
// differs gets the new body and hash (its TTL and first ingest time stay).
// The scope (see scopeOf) is merged: the union of the servers, or public
// when either side is; a missing scope is public. Returns {outcome,
// unlogged}: outcome 0 new, 1 updated (content or scope), 2 unchanged;
// unlogged 1 when the article still waits for its ingest log entry. The
// mark goes away with the append, so a put cut off between the two steps is
// finished by the next put of the same article instead of leaving it
// unmatched.
var putScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'body', ARGV[1], 'h', ARGV[2], 'ing', ARGV[3], 'unlogged', '1', 'g', ARGV[5])
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  return {0, 1}
end
local old = redis.call('HMGET', KEYS[1], 'h', 'unlogged', 'g')
local unlogged = 0
if old[2] then unlogged = 1 end
local scope = '*'
if old[3] and old[3] ~= '*' and ARGV[5] ~= '*' then
  local set, list = {}, {}
  for g in string.gmatch(old[3] .. ' ' .. ARGV[5], '%S+') do
    if not set[g] then set[g] = true; table.insert(list, g) end
  end
  table.sort(list)
  scope = table.concat(list, ' ')
end
local outcome = 2
if scope ~= (old[3] or '*') then
  redis.call('HSET', KEYS[1], 'g', scope)
  outcome = 1
end
if old[1] ~= ARGV[2] then
  redis.call('HSET', KEYS[1], 'body', ARGV[1], 'h', ARGV[2])
  outcome = 1
end
return {outcome, unlogged}
`)

// scopeOf is how the store writes an article's Guilds: "*" for a public
// article, else the sorted server ids separated by spaces.
func scopeOf(a *digestbot.Article) string {
	if len(a.Guilds) == 0 {
		return "*"
	}
	gs := slices.Clone(a.Guilds)
	slices.Sort(gs)
	return strings.Join(slices.Compact(gs), " ")
}

// guildsOf reads a stored scope back; nil for a public article.
func guildsOf(scope string) []string {
	if scope == "" || scope == "*" {
		return nil
	}
	return strings.Fields(scope)
}

// PutArticles stores articles by id with the retention TTL: new ones are
// added and appended to the ingest log, existing ones are updated in place
// (keeping their first ingest time) when their title, text, summary or tags
// changed. An article's Guilds merge with those already stored: the union,
// or public when either put is public (see digestbot.Article.Guilds). The batch costs one round trip (one atomic script per article,
// pipelined) plus one for the log appends of the new ones. Every article is
// validated first; an invalid one fails the whole batch with EINVALID and
// nothing is stored.
func (s *Store) PutArticles(ctx context.Context, articles []*digestbot.Article) ([]digestbot.PutOutcome, error) {
	for _, a := range articles {
		if a == nil {
			return nil, digestbot.Errorf(digestbot.EINVALID, "article is missing")
		}
		if err := a.Validate(); err != nil {
			return nil, err
		}
		for _, g := range a.Guilds {
			if err := checkID("guild", g); err != nil {
				return nil, digestbot.Errorf(digestbot.EINVALID, "article %s: %s", a.ID, digestbot.ErrorMessage(err))
			}
		}
	}
	if len(articles) == 0 {
		return nil, nil
	}
	now := s.now().UTC()
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.Cmd, len(articles))
	for i, a := range articles {
		c := *a
		if c.Ingested.IsZero() {
			c.Ingested = now
		}
		// Eval, not EvalSha: a pipeline cannot fall back on NOSCRIPT.
		cmds[i] = putScript.Eval(ctx, pipe, []string{s.articleKey(a.ID)},
			encode(&c), contentHash(a), c.Ingested.Format(time.RFC3339Nano), s.retention.Milliseconds(), scopeOf(a))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, s.fail("put articles", err)
	}

	out := make([]digestbot.PutOutcome, len(articles))
	pipe = s.rdb.Pipeline()
	minID := strconv.FormatInt(ms(s.retentionCutoff()), 10)
	for i, c := range cmds {
		res, err := c.Int64Slice()
		if err != nil || len(res) != 2 {
			return nil, s.fail("put articles", cmp.Or(err, errors.New("unexpected reply from the put script")))
		}
		out[i] = []digestbot.PutOutcome{digestbot.PutNew, digestbot.PutUpdated, digestbot.PutUnchanged}[res[0]]
		if res[1] == 1 {
			// New, or stored by an earlier put that never reached the
			// log: it is new to the matcher. Append, then clear the mark.
			out[i] = digestbot.PutNew
			pipe.XAdd(ctx, &redis.XAddArgs{
				Stream: s.ingestKey(),
				MinID:  minID,
				Approx: true,
				Values: []string{"a", articles[i].ID},
			})
			pipe.HDel(ctx, s.articleKey(articles[i].ID), "unlogged")
		}
	}
	if pipe.Len() > 0 {
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, s.fail("append to the ingest log", err)
		}
	}
	return out, nil
}

// contentHash digests what readers see of an article (title, text, summary,
// tags), so that a re-put can tell an update from a repeat without sending
// the stored article back.
func contentHash(a *digestbot.Article) string {
	h := sha256.New()
	for _, f := range append([]string{a.Title, a.Text, a.Summary}, a.Tags...) {
		// Length-prefixed, so that moving text between fields changes the hash.
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		h.Write(n[:])
		h.Write([]byte(f))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// GetArticles returns the stored articles with these ids, in order, nil for
// an id that is not (or no longer) stored.
func (s *Store) GetArticles(ctx context.Context, ids []string) ([]*digestbot.Article, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	// One command per key in a pipeline: the keys live in different
	// cluster slots.
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.SliceCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.HMGet(ctx, s.articleKey(id), "body", "ing", "g")
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, s.fail("get articles", err)
	}
	out := make([]*digestbot.Article, len(ids))
	for i, c := range cmds {
		v, err := c.Result()
		if err != nil {
			return nil, s.fail("get articles", err)
		}
		body, _ := v[0].(string)
		if body == "" {
			continue // not stored, or expired
		}
		if out[i], err = decode[digestbot.Article]("get article "+ids[i], body); err != nil {
			return nil, err
		}
		// An update rewrites the body; the first ingest time is kept apart.
		if ing, _ := v[1].(string); ing != "" {
			if t, err := time.Parse(time.RFC3339Nano, ing); err == nil {
				out[i].Ingested = t
			}
		}
		scope, _ := v[2].(string)
		out[i].Guilds = guildsOf(scope)
	}
	return out, nil
}

// ArticlesAfter reads the ingest log after seq ("" = from the oldest entry
// still inside the retention window), at most max entries (default 1000,
// at most 10000), oldest first.
func (s *Store) ArticlesAfter(ctx context.Context, seq string, max int) ([]digestbot.LogEntry, error) {
	start := "-"
	if seq != "" {
		next, err := nextStreamID(seq)
		if err != nil {
			return nil, err
		}
		start = next
	}
	return s.readLog(ctx, start, max)
}

// ArticlesSince reads the ingest log from time t on (clamped to the
// retention window), at most max entries, oldest first.
func (s *Store) ArticlesSince(ctx context.Context, t time.Time, max int) ([]digestbot.LogEntry, error) {
	if cut := s.retentionCutoff(); t.Before(cut) {
		t = cut
	}
	return s.readLog(ctx, strconv.FormatInt(ms(t), 10), max)
}

func (s *Store) readLog(ctx context.Context, start string, max int) ([]digestbot.LogEntry, error) {
	max = clampCount(max)
	cutoff := ms(s.retentionCutoff())
	var out []digestbot.LogEntry
	// Entries older than the retention window may linger until the next
	// append trims them; skip them here so readers see one consistent
	// window. Reading on past them costs at most a few extra rounds.
	for len(out) < max {
		want := max - len(out)
		msgs, err := s.rdb.XRangeN(ctx, s.ingestKey(), start, "+", int64(want)).Result()
		if err != nil {
			return nil, s.fail("read the ingest log", err)
		}
		for _, m := range msgs {
			t, _, err := parseStreamID(m.ID)
			if err != nil {
				return nil, s.fail("read the ingest log", err)
			}
			if t < cutoff {
				continue
			}
			id, _ := m.Values["a"].(string)
			out = append(out, digestbot.LogEntry{Seq: m.ID, ArticleID: id, Ingested: time.UnixMilli(t).UTC()})
		}
		if len(msgs) < want {
			break // the end of the log
		}
		next, err := nextStreamID(msgs[len(msgs)-1].ID)
		if err != nil {
			return nil, s.fail("read the ingest log", err)
		}
		start = next
	}
	return out, nil
}

func clampCount(max int) int {
	switch {
	case max <= 0:
		return defaultLogRead
	case max > maxLogRead:
		return maxLogRead
	}
	return max
}

// parseStreamID splits a stream id "MS-N".
func parseStreamID(id string) (ms int64, n uint64, err error) {
	a, b, ok := strings.Cut(id, "-")
	if !ok {
		return 0, 0, fmt.Errorf("stream id %q has no '-'", id)
	}
	if ms, err = strconv.ParseInt(a, 10, 64); err != nil || ms < 0 {
		return 0, 0, fmt.Errorf("stream id %q: bad time", id)
	}
	if n, err = strconv.ParseUint(b, 10, 64); err != nil {
		return 0, 0, fmt.Errorf("stream id %q: bad sequence", id)
	}
	return ms, n, nil
}

// nextStreamID returns the smallest id after seq, so that XRANGE can start
// there (exclusive ranges need Redis 6.2; this works everywhere).
func nextStreamID(seq string) (string, error) {
	t, n, err := parseStreamID(seq)
	if err != nil {
		return "", digestbot.Errorf(digestbot.EINVALID, "log position %q is not valid (it looks like 1700000000000-0)", seq)
	}
	if n == ^uint64(0) {
		return strconv.FormatInt(t+1, 10) + "-0", nil
	}
	return strconv.FormatInt(t, 10) + "-" + strconv.FormatUint(n+1, 10), nil
}

// Watermark returns a named cursor, "" when unset.
func (s *Store) Watermark(ctx context.Context, name string) (string, error) {
	v, err := s.rdb.HGet(ctx, s.watermarksKey(), name).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	return v, s.fail("read watermark", err)
}

// SetWatermark moves a named cursor.
func (s *Store) SetWatermark(ctx context.Context, name, seq string) error {
	if name == "" {
		return digestbot.Errorf(digestbot.EINVALID, "watermark name is empty")
	}
	return s.fail("set watermark", s.rdb.HSet(ctx, s.watermarksKey(), name, seq).Err())
}

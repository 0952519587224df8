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
// content hash, ingest time, ttl ms, scope (see scopeOf), source (see
// sourceOf: the source name and the feed it came from).
//
// An absent article is created with the "unlogged" mark and the TTL. For a
// present one (its TTL and first ingest time stay), the audiences decide:
//   - a public source makes it public, and its body (with its source name
//     and feed) replaces a private one even when the text is the same: a
//     server's own feed name and URL must not become public;
//   - a server's feed never changes a public article (its servers see the
//     public one anyway);
//   - between servers' feeds, a put from the same source, or one whose
//     servers include every server that sees the stored article, updates it
//     and the audiences merge (the union); anything else is a conflict (3),
//     also with the same text, since the stored copy shows its own feed's
//     name and URL: the caller stores the put under an id of its source.
//
// When the audience widens, the servers that could see the article before
// are kept in "relog" until the caller has announced the article again in
// the ingest log, so the matcher offers it to the others. Returns
// {outcome, unlogged, relog}: outcome 0 new, 1 updated (content or
// audience), 2 unchanged, 3 conflict; unlogged 1 while the article waits
// for its first log entry; relog the servers of a pending announcement or
// false. The marks go away with the log appends, so a put cut off between
// the two steps is finished by the next put of the same article.
var putScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'body', ARGV[1], 'h', ARGV[2], 'ing', ARGV[3], 'unlogged', '1', 'g', ARGV[5], 'f', ARGV[6])
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  return {0, 1, false}
end
local old = redis.call('HMGET', KEYS[1], 'h', 'unlogged', 'g', 'relog', 'f')
local unlogged = 0
if old[2] then unlogged = 1 end
local relog = old[4] or false
local was, put = old[3] or '*', ARGV[5]
local same = old[1] == ARGV[2] and old[5] == ARGV[6]
local scope
if put == '*' then
  scope = '*'
elseif was == '*' then
  return {2, unlogged, relog}
else
  local mine, all, list = {}, {}, {}
  for g in string.gmatch(put, '%S+') do mine[g] = true; all[g] = true end
  for g in string.gmatch(was, '%S+') do
    if not mine[g] and old[5] ~= ARGV[6] then return {3, unlogged, relog} end
    all[g] = true
  end
  for g in pairs(all) do table.insert(list, g) end
  table.sort(list)
  scope = table.concat(list, ' ')
end
local outcome = 2
if not same then
  redis.call('HSET', KEYS[1], 'body', ARGV[1], 'h', ARGV[2], 'f', ARGV[6])
  outcome = 1
end
if scope ~= was then
  redis.call('HSET', KEYS[1], 'g', scope)
  outcome = 1
  if not relog and unlogged == 0 then
    relog = was
    redis.call('HSET', KEYS[1], 'relog', relog)
  end
end
return {outcome, unlogged, relog}
`)

// sourceOf names where an article came from: its source name and feed.
// Two servers' feeds with the same text still differ here, so neither
// server sees the other's feed name or URL.
func sourceOf(a *digestbot.Article) string { return a.Source + "\x00" + a.Feed }

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
// changed. Who may see it (digestbot.Article.Guilds) follows the rules of
// putScript: the same content merges the audiences; a server's feed never
// rewrites what another audience sees. A private article whose id another
// audience holds with other content is stored under an id of its own
// audience instead, and its ID field is changed to that id. An article
// whose audience widened is announced again in the ingest log
// (LogEntry.SeenBy), so the matcher offers it to the servers that can see
// it now. The batch costs one round trip (one atomic script per article,
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
	out, conflicts, err := s.putBatch(ctx, articles)
	if err != nil {
		return nil, err
	}
	if len(conflicts) > 0 {
		// Another audience holds these URLs from another source: each goes
		// under an id of its own source, so both versions live side by
		// side and neither server reads or rewrites the other's.
		again := make([]*digestbot.Article, len(conflicts))
		copies := make(map[string]string, len(conflicts)) // copy -> the id another audience holds
		for k, i := range conflicts {
			orig := articles[i].ID
			articles[i].ID = scopedID(orig, sourceOf(articles[i]))
			copies[articles[i].ID] = orig
			again[k] = articles[i]
		}
		if err := s.noteCopies(ctx, copies); err != nil {
			return nil, err
		}
		outs, still, err := s.putBatch(ctx, again)
		if err != nil {
			return nil, err
		}
		for k, i := range conflicts {
			out[i] = outs[k]
		}
		for _, k := range still {
			// The audience's own copy has since been widened by a put of
			// other content: keep what is stored rather than guess.
			out[conflicts[k]] = digestbot.PutUnchanged
			s.log.Warn("store: an article's copy for its servers conflicts again; kept the stored one", "article", again[k].ID)
		}
	}
	return out, nil
}

// scopedID is the id of a source's own copy of an article whose id another
// audience holds: derived from the source, not from the audience, so the
// copy keeps its id when servers add or remove that feed (its audience then
// changes through the merge, and nobody is offered the story twice).
func scopedID(id, scope string) string {
	sum := sha256.Sum256([]byte(id + "\x00" + scope))
	return hex.EncodeToString(sum[:12])
}

// putBatch runs the put script for every article (one pipelined round
// trip) and then appends the log entries they need (another): a new
// article, or one whose audience widened. conflicts lists the indexes the
// script refused as conflicts; their outcome is left to the caller.
func (s *Store) putBatch(ctx context.Context, articles []*digestbot.Article) (out []digestbot.PutOutcome, conflicts []int, err error) {
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
			encode(&c), contentHash(a), c.Ingested.Format(time.RFC3339Nano), s.retention.Milliseconds(), scopeOf(a), sourceOf(a))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, nil, s.fail("put articles", err)
	}

	out = make([]digestbot.PutOutcome, len(articles))
	pipe = s.rdb.Pipeline()
	minID := strconv.FormatInt(ms(s.retentionCutoff()), 10)
	for i, c := range cmds {
		res, err := c.Slice()
		if err != nil || len(res) != 3 {
			return nil, nil, s.fail("put articles", cmp.Or(err, errors.New("unexpected reply from the put script")))
		}
		outcome, _ := res[0].(int64)
		unlogged, _ := res[1].(int64)
		relog, _ := res[2].(string) // a Lua false arrives as nil
		if outcome == 3 {
			conflicts = append(conflicts, i)
			continue
		}
		out[i] = []digestbot.PutOutcome{digestbot.PutNew, digestbot.PutUpdated, digestbot.PutUnchanged}[outcome]
		key := s.articleKey(articles[i].ID)
		switch {
		case unlogged == 1:
			// New, or stored by an earlier put that never reached the
			// log: it is new to the matcher. Append, then clear the marks.
			out[i] = digestbot.PutNew
			pipe.XAdd(ctx, &redis.XAddArgs{Stream: s.ingestKey(), MinID: minID, Approx: true,
				Values: []string{"a", articles[i].ID}})
			pipe.HDel(ctx, key, "unlogged", "relog")
		case relog != "":
			// More servers may see it now: announce it again, naming
			// those that could before (the matcher has offered it to them).
			pipe.XAdd(ctx, &redis.XAddArgs{Stream: s.ingestKey(), MinID: minID, Approx: true,
				Values: []string{"a", articles[i].ID, "s", relog}})
			pipe.HDel(ctx, key, "relog")
		}
	}
	if pipe.Len() > 0 {
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, nil, s.fail("append to the ingest log", err)
		}
	}
	return out, conflicts, nil
}

// contentHash digests what readers see of an article (title, text, summary,
// tags, and the outlets of a story that several carried), so that a re-put
// can tell an update from a repeat without sending the stored article back.
func contentHash(a *digestbot.Article) string {
	h := sha256.New()
	fields := append([]string{a.Title, a.Text, a.Summary}, a.Tags...)
	if len(a.Sources) > 0 {
		// Only then, so that a single-outlet article keeps the hash it had
		// before outlets were stored. The separator cannot be a tag.
		fields = append(fields, "\x00sources")
		for _, src := range a.Sources {
			fields = append(fields, src.Name, src.URL, src.Published.UTC().Format(time.RFC3339))
		}
	}
	for _, f := range fields {
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
			seen, _ := m.Values["s"].(string)
			out = append(out, digestbot.LogEntry{Seq: m.ID, ArticleID: id, Ingested: time.UnixMilli(t).UTC(), SeenBy: guildsOf(seen)})
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

package archive

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/analysis"
	"github.com/redis/go-redis/v9"
)

// Defaults of Options.
const (
	DefaultRetention    = 30 * 24 * time.Hour
	DefaultBucket       = 24 * time.Hour
	DefaultMaxExpansion = 512
	// articlesPerScript bounds the work of one indexing script, so Redis
	// never blocks long on one call; scriptsPerTrip bounds a pipeline, so
	// its replies arrive well within the client's read timeout even on a
	// busy server.
	articlesPerScript = 32
	scriptsPerTrip    = 4
)

// ArticleGetter reads stored articles; *store.Store is one.
type ArticleGetter interface {
	GetArticles(ctx context.Context, ids []string) ([]*digestbot.Article, error)
}

// Options configure an Index.
type Options struct {
	// Retention is how long the store keeps an article after it was
	// ingested; the index forgets it at most one Bucket later. It must
	// match the store's retention. Default DefaultRetention.
	Retention time.Duration
	// Bucket is the ingest-time span whose postings share keys and expire
	// together. Default DefaultBucket.
	Bucket time.Duration
	// Articles is where Search reads the articles it verifies and returns.
	Articles ArticleGetter
	// Scoring tunes the ranking; zero fields take DefaultScoring's.
	Scoring Scoring
	// MaxExpansion bounds the words one `prefix*` may stand for; a
	// broader prefix is refused with EINVALID. Default DefaultMaxExpansion.
	MaxExpansion int
	// Now is the clock that decides buckets and expiry; default time.Now.
	// It must agree with the Redis server's clock.
	Now func() time.Time
}

// Index is the lookup index of the article archive, kept in Redis.
type Index struct {
	rdb    redis.UniversalClient
	prefix string // the store's prefix
	opts   Options
	sc     Scoring
	docs   docTables // what searches have read of the document tables
}

// New returns the index whose keys start with prefix (the store's prefix).
func New(client redis.UniversalClient, prefix string, opts Options) *Index {
	if opts.Retention <= 0 {
		opts.Retention = DefaultRetention
	}
	if opts.Bucket <= 0 {
		opts.Bucket = DefaultBucket
	}
	if opts.Bucket < time.Second {
		opts.Bucket = time.Second
	}
	if opts.MaxExpansion <= 0 {
		opts.MaxExpansion = DefaultMaxExpansion
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Index{rdb: client, prefix: prefix, opts: opts, sc: opts.Scoring.withDefaults()}
}

// Key names; see the package documentation. A bucket's keys share the
// hash tag {archive:G:B}, so each bucket of each generation has a slot of
// its own and the buckets spread over a cluster's nodes.
func (x *Index) bucketBase(g, b int64) string {
	return x.prefix + "{archive:" + strconv.FormatInt(g, 10) + ":" + strconv.FormatInt(b, 10) + "}:"
}
func (x *Index) bucketKey(kind string, g, b int64) string { return x.bucketBase(g, b) + kind }
func (x *Index) postingKey(g, b int64, term string) string {
	return x.bucketBase(g, b) + "p:" + term
}

// genPattern matches every bucket key of generation g.
func (x *Index) genPattern(g int64) string {
	return escapeGlob(x.prefix+"{archive:"+strconv.FormatInt(g, 10)+":") + "*"
}

func (x *Index) bucketSeconds() int64 { return int64(x.opts.Bucket / time.Second) }

// bucketOf is the bucket of an ingest time.
func (x *Index) bucketOf(t time.Time) int64 { return t.Unix() / x.bucketSeconds() }

// expireAt is when a bucket's keys expire: retention after the bucket ends,
// so no posting outlives its article by more than one bucket.
func (x *Index) expireAt(b int64) int64 {
	return (b+1)*x.bucketSeconds() + int64(x.opts.Retention/time.Second)
}

// liveBuckets lists the buckets that may still hold keys at now, oldest first.
func (x *Index) liveBuckets(now time.Time) []int64 {
	first := x.bucketOf(now.Add(-x.opts.Retention - x.opts.Bucket))
	last := x.bucketOf(now) + 1 // tolerate a little clock skew between writers
	out := make([]int64, 0, last-first+1)
	for b := first; b <= last; b++ {
		out = append(out, b)
	}
	return out
}

// addScript indexes a batch of articles of one bucket atomically: for each
// article it compares the content hash with the one indexed (skip when
// equal), retires the old document if any (dead set, document ids, stats),
// takes a new document number, appends one posting per term, writes the
// document's norm and hour into the document table and records the
// article. Every key is of the bucket (hash tag {archive:G:B}): an
// article's record lives in the bucket of its ingest time, which the store
// keeps across updates, so its old document is always in the same bucket.
//
// KEYS: n m v x d a, then per article its posting keys.
// ARGV: expireAt count postingKeyPrefixLength birthMark, then per article
// id hash length nterms docRecord and the stats bytes of each term (the
// term itself is the rest of its key). The birth mark is kept by the
// bucket's first script only (see docTables).
var addScript = redis.NewScript(`
local exp, count, plen = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('HSETNX', KEYS[1], 'born', ARGV[4])
local ai, ki, indexed = 5, 7, 0
for j = 1, count do
  local id, h, len, nt, rec = ARGV[ai], ARGV[ai+1], tonumber(ARGV[ai+2]), tonumber(ARGV[ai+3]), ARGV[ai+4]
  ai = ai + 5
  local cur = redis.call('HGET', KEYS[6], id)
  local skip = false
  if cur then
    local od, ol, oh = string.match(cur, '^([^:]*):([^:]*):(.*)$')
    if oh == h then
      skip = true
    elseif od then
      redis.call('SADD', KEYS[4], od)
      redis.call('EXPIREAT', KEYS[4], exp)
      redis.call('HDEL', KEYS[2], od)
      if redis.call('EXISTS', KEYS[1]) == 1 then
        redis.call('HINCRBY', KEYS[1], 'docs', -1)
        redis.call('HINCRBY', KEYS[1], 'len', -tonumber(ol))
      end
    end
  end
  if skip then
    ki = ki + nt
    ai = ai + nt
  else
    local d = redis.call('HINCRBY', KEYS[1], 'seq', 1)
    if d > ` + strconv.Itoa(maxDocNum) + ` then
      return redis.error_reply('the bucket ran out of document numbers')
    end
    local dn = string.char(math.floor(d / 65536) % 256, math.floor(d / 256) % 256, d % 256)
    for t = 1, nt do
      local k = KEYS[ki]
      ki = ki + 1
      if redis.call('APPEND', k, dn .. ARGV[ai]) == #dn + #ARGV[ai] then
        redis.call('EXPIREAT', k, exp)
        redis.call('ZADD', KEYS[3], 0, string.sub(k, plen + 1))
      end
      ai = ai + 1
    end
    redis.call('SETRANGE', KEYS[5], d * ` + strconv.Itoa(docSize) + `, rec)
    redis.call('HSET', KEYS[2], d, id)
    redis.call('HINCRBY', KEYS[1], 'docs', 1)
    redis.call('HINCRBY', KEYS[1], 'len', len)
    redis.call('HSET', KEYS[6], id, d .. ':' .. len .. ':' .. h)
    indexed = indexed + 1
  end
end
for k = 1, 6 do
  if k ~= 4 and redis.call('EXISTS', KEYS[k]) == 1 then redis.call('EXPIREAT', KEYS[k], exp) end
end
return indexed
`)

// removeScript retires indexed articles of one bucket. KEYS: n m x a;
// ARGV: expireAt, then the ids. Returns how many were indexed there.
var removeScript = redis.NewScript(`
local n = 0
for i = 2, #ARGV do
  local cur = redis.call('HGET', KEYS[4], ARGV[i])
  if cur then
    local od, ol = string.match(cur, '^([^:]*):([^:]*):')
    if od then
      redis.call('SADD', KEYS[3], od)
      redis.call('EXPIREAT', KEYS[3], tonumber(ARGV[1]))
      redis.call('HDEL', KEYS[2], od)
      if redis.call('EXISTS', KEYS[1]) == 1 then
        redis.call('HINCRBY', KEYS[1], 'docs', -1)
        redis.call('HINCRBY', KEYS[1], 'len', -tonumber(ol))
      end
    end
    redis.call('HDEL', KEYS[4], ARGV[i])
    n = n + 1
  end
end
return n
`)

// docTerms is what indexing one article writes.
type docTerms struct {
	id     string
	hash   string
	length int
	terms  []string
	stats  [][statSize]byte
	rec    [docSize]byte // norm and hour, for the document table
}

// analyse computes the postings of a: title and text words with their
// frequencies, source and tag words as field terms.
func (x *Index) analyse(a *digestbot.Article, pub time.Time) docTerms {
	type tf struct {
		t, b       int
		next, prev uint8
	}
	counts := map[string]*tf{}
	var order []string
	// add counts the tokens of one field; neighbours are taken within it,
	// as a phrase never spans two fields.
	add := func(toks []string, title bool) {
		for i, term := range toks {
			c := counts[term]
			if c == nil {
				c = &tf{}
				counts[term] = c
				order = append(order, term)
			}
			if title {
				c.t++
			} else {
				c.b++
			}
			if i > 0 {
				c.prev |= neighbourBit(toks[i-1])
			}
			if i+1 < len(toks) {
				c.next |= neighbourBit(toks[i+1])
			}
		}
	}
	title := analysis.Terms(a.Title)
	text := analysis.Terms(a.Text)
	add(title, true)
	add(text, false)
	// Every outlet's name on its own, as a phrase never spans two names.
	for _, name := range a.SourceNames() {
		add(fieldTerms(fieldSource, analysis.Terms(name)), false)
	}
	for _, tag := range a.Tags {
		add(fieldTerms(fieldTag, analysis.Terms(tag)), false)
	}
	// A private article carries the private marker and a term per server
	// that may see it, so a server's search can keep to what it may see
	// (see plan.restrict); a public one, the common case, carries none. One
	// token per call: the terms have no neighbours, and like the source and
	// tag terms they are not part of the length below.
	for _, term := range visibilityTerms(a.Guilds) {
		add([]string{term}, false)
	}
	length := x.sc.docLength(len(title), len(text))
	norm, hours := encodeNorm(length), toHours(pub)
	d := docTerms{id: a.ID, hash: contentHash(a), length: length, terms: order, stats: make([][statSize]byte, len(order)), rec: encodeDoc(norm, hours)}
	for i, term := range order {
		c := counts[term]
		d.stats[i] = encodeStats(c.t, c.b, c.next, c.prev)
	}
	return d
}

// fieldTerms returns the posting terms of a field's tokens.
func fieldTerms(f field, toks []string) []string {
	for i, t := range toks {
		toks[i] = termKey(f, t)
	}
	return toks
}

// visibilityTerms are the posting terms of an article's servers: none
// for a public article, else the private marker and one term per server.
func visibilityTerms(guilds []string) []string {
	gs := scope(guilds)
	if len(gs) == 0 {
		return nil
	}
	out := make([]string, 0, len(gs)+1)
	out = append(out, visPrivate)
	for _, g := range gs {
		out = append(out, visTerm(g))
	}
	return out
}

// scope is a set of servers sorted and without repeats, so the same set
// always gives the same terms and hash whatever order it was written in.
func scope(guilds []string) []string {
	if len(guilds) == 0 {
		return nil
	}
	gs := slices.Clone(guilds)
	slices.Sort(gs)
	return slices.Compact(gs)
}

// contentHash identifies what the index holds of an article, so adding it
// again is a no-op and a changed article is indexed anew. The servers are
// part of it, so an article whose visibility changed is indexed anew; they
// are written only for a private article, so a public article's hash is
// what it was before visibility was indexed (its entry stays valid).
func contentHash(a *digestbot.Article) string {
	h := sha256.New()
	for _, s := range []string{a.Title, a.Text, a.Source, strings.Join(a.Tags, "\x1f"), a.Published.UTC().Format(time.RFC3339)} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	// The other outlets' names are written only when there are some, so a
	// single-outlet article's hash is what it was before they were indexed.
	if names := a.SourceNames(); len(names) > 1 {
		h.Write([]byte(strings.Join(names[1:], "\x1f")))
		h.Write([]byte{0})
	}
	if gs := scope(a.Guilds); len(gs) > 0 {
		h.Write([]byte(strings.Join(gs, "\x1f")))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// pubTime is the time an article counts as published: its publication
// time, else when it was ingested, else now.
func pubTime(a *digestbot.Article, now time.Time) time.Time {
	switch {
	case !a.Published.IsZero():
		return a.Published
	case !a.Ingested.IsZero():
		return a.Ingested
	}
	return now
}

// Add indexes articles into the live generation at once. The bot does not
// call it: its indexer follows the store's ingest log (CatchUp), so that
// nothing stored is left out when an indexing write fails. Add is for
// callers that own the whole store (the demo, tests, benchmarks).
//
// Adding an article whose indexed content (or set of servers) is unchanged
// does nothing; a changed one is indexed anew and its old entry retired. An
// article's Guilds are indexed as given, so they should be the set the
// store holds after its merge, as GetArticles returns it: a partial set
// hides the article from the servers left out. Articles are filed under
// their ingest time (now when unset) so that they leave the index with
// their stored copy; one already past the retention window is skipped.
// Each script indexes up to 32 articles of one bucket atomically; a round
// trip carries up to 4 scripts, so a batch of 128 costs one. An error may
// leave part of the batch indexed: adding it again completes it.
func (x *Index) Add(ctx context.Context, articles []*digestbot.Article) error {
	g, err := x.liveGen(ctx)
	if err != nil {
		return err
	}
	return x.addTo(ctx, g, articles)
}

// addTo indexes articles into generation g.
func (x *Index) addTo(ctx context.Context, g int64, articles []*digestbot.Article) error {
	now := x.opts.Now()
	byBucket := map[int64][]docTerms{}
	var order []int64
	for _, a := range articles {
		if a == nil || a.ID == "" {
			continue
		}
		ing := a.Ingested
		if ing.IsZero() || ing.After(now) {
			ing = now
		}
		if !ing.Add(x.opts.Retention).After(now) {
			continue
		}
		b := x.bucketOf(ing)
		if _, ok := byBucket[b]; !ok {
			order = append(order, b)
		}
		byBucket[b] = append(byBucket[b], x.analyse(a, pubTime(a, ing)))
	}
	if len(order) == 0 {
		return nil
	}
	pipe := x.rdb.Pipeline()
	queued := 0
	for _, b := range order {
		docs := byBucket[b]
		for i := 0; i < len(docs); i += articlesPerScript {
			x.queueAdd(ctx, pipe, g, b, docs[i:min(i+articlesPerScript, len(docs))])
			if queued++; queued == scriptsPerTrip {
				if _, err := pipe.Exec(ctx); err != nil {
					return x.fail("index articles", err)
				}
				queued = 0
			}
		}
	}
	if queued > 0 {
		if _, err := pipe.Exec(ctx); err != nil {
			return x.fail("index articles", err)
		}
	}
	return nil
}

func (x *Index) queueAdd(ctx context.Context, pipe redis.Pipeliner, g, b int64, docs []docTerms) {
	keys := []string{x.bucketKey("n", g, b), x.bucketKey("m", g, b), x.bucketKey("v", g, b), x.bucketKey("x", g, b), x.bucketKey("d", g, b), x.bucketKey("a", g, b)}
	args := []any{x.expireAt(b), len(docs), len(x.postingKey(g, b, "")), newBirthMark()}
	for _, d := range docs {
		args = append(args, d.id, d.hash, d.length, len(d.terms), string(d.rec[:]))
		for i, t := range d.terms {
			keys = append(keys, x.postingKey(g, b, t))
			args = append(args, string(d.stats[i][:]))
		}
	}
	// EVAL rather than EVALSHA: a pipeline cannot fall back on NOSCRIPT, and
	// the script is small next to the postings it carries.
	addScript.Eval(ctx, pipe, keys, args...)
}

// Remove retires articles from the live generation (they stop showing up
// at once; the space of their postings is reclaimed when their bucket
// expires). The index does not know an article's bucket without reading
// it, so it asks every live bucket, one script each, in one round trip.
func (x *Index) Remove(ctx context.Context, ids []string) error {
	g, err := x.liveGen(ctx)
	if err != nil {
		return err
	}
	pipe := x.rdb.Pipeline()
	for _, b := range x.liveBuckets(x.opts.Now()) {
		keys := []string{x.bucketKey("n", g, b), x.bucketKey("m", g, b), x.bucketKey("x", g, b), x.bucketKey("a", g, b)}
		args := []any{x.expireAt(b)}
		for _, id := range ids {
			if id != "" {
				args = append(args, id)
			}
		}
		if len(args) == 1 {
			return nil
		}
		removeScript.Eval(ctx, pipe, keys, args...)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return x.fail("remove articles from the index", err)
	}
	return nil
}

// Clear deletes every key of the index: every generation, the pointer and
// the watermarks.
func (x *Index) Clear(ctx context.Context) error {
	keys, err := x.keys(ctx, escapeGlob(x.prefix+"{archive")+"*")
	if err != nil {
		return err
	}
	return x.unlink(ctx, keys)
}

// unlink deletes keys one command per key: they live in many slots.
func (x *Index) unlink(ctx context.Context, keys []string) error {
	for i := 0; i < len(keys); i += 1000 {
		pipe := x.rdb.Pipeline()
		for _, k := range keys[i:min(i+1000, len(keys))] {
			pipe.Unlink(ctx, k)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return x.fail("delete index keys", err)
		}
	}
	return nil
}

// keys lists the keys that match pattern on every master (SCAN; for
// maintenance and tests).
func (x *Index) keys(ctx context.Context, pattern string) ([]string, error) {
	var out []string
	var mu sync.Mutex // ForEachMaster scans the masters at the same time
	scan := func(ctx context.Context, c *redis.Client) error {
		it := c.Scan(ctx, 0, pattern, 1000).Iterator()
		for it.Next(ctx) {
			mu.Lock()
			out = append(out, it.Val())
			mu.Unlock()
		}
		return it.Err()
	}
	var err error
	if cc, ok := x.rdb.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, scan)
	} else if c, ok := x.rdb.(*redis.Client); ok {
		err = scan(ctx, c)
	} else {
		it := x.rdb.Scan(ctx, 0, pattern, 1000).Iterator()
		for it.Next(ctx) {
			out = append(out, it.Val())
		}
		err = it.Err()
	}
	if err != nil {
		return nil, x.fail("list index keys", err)
	}
	return out, nil
}

// escapeGlob quotes the glob characters of a literal key prefix.
func escapeGlob(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Stats describe the index.
type Stats struct {
	Generation int64 // the live generation
	Articles   int   // indexed articles of the live generation not retired
	Keys       int   // Redis keys of the live generation's buckets
}

// Stats counts what the live generation holds now.
func (x *Index) Stats(ctx context.Context) (Stats, error) {
	g, err := x.liveGen(ctx)
	if err != nil {
		return Stats{}, err
	}
	keys, err := x.keys(ctx, x.genPattern(g))
	if err != nil {
		return Stats{}, err
	}
	st := Stats{Generation: g, Keys: len(keys)}
	pipe := x.rdb.Pipeline()
	var cmds []*redis.StringCmd
	for _, b := range x.liveBuckets(x.opts.Now()) {
		cmds = append(cmds, pipe.HGet(ctx, x.bucketKey("n", g, b), "docs"))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return Stats{}, x.fail("read index stats", err)
	}
	for _, c := range cmds {
		n, _ := c.Int()
		st.Articles += n
	}
	return st, nil
}

// fail maps a Redis error to a domain error.
func (x *Index) fail(op string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return digestbot.WrapError(digestbot.EUNAVAILABLE, err, "the archive index did not answer in time")
	}
	var ne interface{ Timeout() bool }
	if errors.As(err, &ne) || strings.Contains(err.Error(), "connection refused") {
		return digestbot.WrapError(digestbot.EUNAVAILABLE, err, "the archive index is unavailable")
	}
	return digestbot.WrapError(digestbot.EINTERNAL, err, "%s", op)
}

package archive

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/digestbot/digestbot"
	"github.com/redis/go-redis/v9"
)

// The index is written from the store's ingest log, one generation at a
// time. A generation is a complete index of its own (every key carries its
// number); the pointer key names the live one, which searches read and the
// indexer keeps up with the log, and each generation has a watermark: the
// last log entry indexed into it. A rebuild fills the next generation from
// the start of the log beside the live one, then moves the pointer and
// deletes the old generation. See the package documentation.

// logBatch is how many log entries are read and indexed at a time.
const logBatch = 500

// LogReader is what the indexer reads: the store's ingest log and articles
// (*store.Store is one).
type LogReader interface {
	ArticleGetter
	ArticlesAfter(ctx context.Context, seq string, max int) ([]digestbot.LogEntry, error)
}

func (x *Index) genKey() string       { return x.prefix + "{archive}:gen" }
func (x *Index) watermarkKey() string { return x.prefix + "{archive}:wm" }

// firstGen is the generation of an index that was never rebuilt (no
// pointer yet).
const firstGen = 1

// liveGen reads the pointer: the generation searches read.
func (x *Index) liveGen(ctx context.Context) (int64, error) {
	v, err := x.rdb.Get(ctx, x.genKey()).Result()
	if errors.Is(err, redis.Nil) {
		return firstGen, nil
	}
	if err != nil {
		return 0, x.fail("read the live index generation", err)
	}
	g, err := strconv.ParseInt(v, 10, 64)
	if err != nil || g < firstGen {
		return 0, digestbot.Errorf(digestbot.EINTERNAL, "the lookup index pointer %s holds %q, not a generation", x.genKey(), v)
	}
	return g, nil
}

// watermark is the last log entry indexed into generation g ("" = none).
func (x *Index) watermark(ctx context.Context, g int64) (string, error) {
	v, err := x.rdb.HGet(ctx, x.watermarkKey(), strconv.FormatInt(g, 10)).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", x.fail("read the index watermark", err)
	}
	return v, nil
}

// setWatermarkScript moves the watermark of generation ARGV[1] to ARGV[2]
// unless the generation is older than the live one: an indexer that read
// the pointer just before a rebuild switched it must not bring back the
// watermark of the generation the rebuild deleted. Returns 0 then.
// KEYS: gen wm. ARGV: generation, seq, firstGen.
var setWatermarkScript = redis.NewScript(`
local live = tonumber(redis.call('GET', KEYS[1]) or ARGV[3])
if tonumber(ARGV[1]) < live then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1
`)

// errReplaced stops a pass over a generation that a rebuild has replaced.
var errReplaced = errors.New("the index generation was replaced by a rebuild")

func (x *Index) setWatermark(ctx context.Context, g int64, seq string) error {
	ok, err := setWatermarkScript.Run(ctx, x.rdb, []string{x.genKey(), x.watermarkKey()}, g, seq, firstGen).Int()
	if err != nil {
		return x.fail("advance the index watermark", err)
	}
	if ok == 0 {
		return errReplaced
	}
	return nil
}

// switchScript makes generation ARGV[2] live if ARGV[1] still is, and
// drops the old one's watermark. KEYS: gen wm. ARGV: old, new, firstGen.
var switchScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1]) or ARGV[3]
if cur ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('HDEL', KEYS[2], ARGV[1])
return 1
`)

// CatchUp indexes into the live generation every log entry after its
// watermark, a batch at a time, moving the watermark after each batch that
// is indexed. It returns how many articles it indexed. A failed batch
// leaves the watermark where it was, so the next call indexes it again
// (indexing is idempotent): no entry is ever skipped. Each log entry is
// indexed as the store holds its article now, so an entry the store
// appends when an article's audience widens has it indexed anew with the
// wider set of servers.
func (x *Index) CatchUp(ctx context.Context, st LogReader) (int, error) {
	g, err := x.liveGen(ctx)
	if err != nil {
		return 0, err
	}
	_, n, err := x.catchUp(ctx, g, st)
	if errors.Is(err, errReplaced) {
		return n, nil // a rebuild made another generation live; the next call follows it
	}
	return n, err
}

// catchUp indexes the log after generation g's watermark into g, to the
// end of the log. entries counts the log entries it consumed, articles the
// articles it indexed (an article no longer stored is not).
func (x *Index) catchUp(ctx context.Context, g int64, st LogReader) (entries, articles int, err error) {
	wm, err := x.watermark(ctx, g)
	if err != nil {
		return 0, 0, err
	}
	for {
		batch, err := st.ArticlesAfter(ctx, wm, logBatch)
		if err != nil {
			return entries, articles, fmt.Errorf("read the ingest log: %w", err)
		}
		if len(batch) == 0 {
			return entries, articles, nil
		}
		n, err := x.indexEntries(ctx, g, st, batch)
		if err != nil {
			return entries, articles, err
		}
		last := batch[len(batch)-1].Seq
		if err := x.setWatermark(ctx, g, last); err != nil {
			return entries, articles, err
		}
		wm = last
		entries += len(batch)
		articles += n
		if len(batch) < logBatch {
			return entries, articles, nil
		}
	}
}

// indexEntries indexes the articles of log entries into generation g, as
// the store holds them now.
func (x *Index) indexEntries(ctx context.Context, g int64, st LogReader, entries []digestbot.LogEntry) (int, error) {
	ids := make([]string, 0, len(entries))
	ingested := map[string]time.Time{}
	for _, e := range entries {
		if _, dup := ingested[e.ArticleID]; !dup && e.ArticleID != "" {
			ingested[e.ArticleID] = e.Ingested
			ids = append(ids, e.ArticleID)
		}
	}
	as, err := st.GetArticles(ctx, ids)
	if err != nil {
		return 0, fmt.Errorf("read articles: %w", err)
	}
	live := make([]*digestbot.Article, 0, len(as))
	for _, a := range as {
		if a == nil {
			continue // expired or deleted since: nothing to index
		}
		if a.Ingested.IsZero() {
			// Filed under the time of its first log entry, as the store
			// keeps it, so that it expires with its stored copy.
			c := *a
			c.Ingested = ingested[a.ID]
			a = &c
		}
		live = append(live, a)
	}
	if err := x.addTo(ctx, g, live); err != nil {
		return 0, err
	}
	return len(live), nil
}

// Rebuild builds a new generation of the index from the whole ingest log
// while searches keep reading the live one, then makes it live and deletes
// the old generation. It returns how many articles it indexed. Articles
// ingested while it runs are in the new generation when it is switched
// live: Rebuild reads the log to its end again before the switch, and what
// arrives after that is past the new generation's watermark, where the
// indexer (CatchUp) takes it up. One rebuild at a time: the caller
// serialises them (the bot takes a lease); a rebuild that finds the
// pointer moved under it fails and leaves the live generation alone.
func (x *Index) Rebuild(ctx context.Context, st LogReader) (int, error) {
	old, err := x.liveGen(ctx)
	if err != nil {
		return 0, err
	}
	g := old + 1
	// Whatever a rebuild cut off before left of this generation.
	if err := x.dropGen(ctx, g); err != nil {
		return 0, err
	}
	articles := 0
	// The first pass reads the whole log; the next ones what arrived
	// meanwhile, until one finds nothing new (or, under a steady stream of
	// new articles, a few times: the indexer follows after the switch).
	for pass := 0; pass < 5; pass++ {
		entries, n, err := x.catchUp(ctx, g, st)
		articles += n
		if err != nil {
			return articles, err
		}
		if entries == 0 && pass > 0 {
			break
		}
	}
	ok, err := switchScript.Run(ctx, x.rdb, []string{x.genKey(), x.watermarkKey()}, old, g, firstGen).Int()
	if err != nil {
		return articles, x.fail("switch the live index generation", err)
	}
	if ok == 0 {
		return articles, digestbot.Errorf(digestbot.ECONFLICT, "another rebuild of the lookup index switched it first; this one is left unused")
	}
	if err := x.dropGen(ctx, old); err != nil {
		return articles, fmt.Errorf("the new index is live, but deleting the old one failed (its keys expire with the retention): %w", err)
	}
	return articles, nil
}

// dropGen deletes every key and the watermark of generation g.
func (x *Index) dropGen(ctx context.Context, g int64) error {
	keys, err := x.keys(ctx, x.genPattern(g))
	if err != nil {
		return err
	}
	if err := x.unlink(ctx, keys); err != nil {
		return err
	}
	if err := x.rdb.HDel(ctx, x.watermarkKey(), strconv.FormatInt(g, 10)).Err(); err != nil {
		return x.fail("drop an index watermark", err)
	}
	return nil
}

// Lag is how far the live generation is behind the ingest log: the age of
// the oldest log entry not yet indexed, 0 when it is caught up.
func (x *Index) Lag(ctx context.Context, st LogReader) (time.Duration, error) {
	g, err := x.liveGen(ctx)
	if err != nil {
		return 0, err
	}
	wm, err := x.watermark(ctx, g)
	if err != nil {
		return 0, err
	}
	next, err := st.ArticlesAfter(ctx, wm, 1)
	if err != nil {
		return 0, fmt.Errorf("read the ingest log: %w", err)
	}
	if len(next) == 0 {
		return 0, nil
	}
	return max(x.opts.Now().Sub(next[0].Ingested), 0), nil
}

// The index's keys before generations (one hash slot, P{archive}:KIND:...)
// and the marker that says they were deleted.
const oldLayoutKinds = "[pvmnxa]"

func (x *Index) layoutKey() string { return x.prefix + "{archive}:layout" }

// DropOldLayout deletes the keys of the index's layout before generations
// (P{archive}:p:…, :v:, :m:, :n:, :x:, :a:), which nothing reads any more,
// once: an upgraded deployment would otherwise hold both layouts until the
// old keys expire with the retention (5.6 KB per article for up to 30
// days). A marker key records that it ran, so later starts skip the scan.
// It returns how many keys it deleted.
func (x *Index) DropOldLayout(ctx context.Context) (int, error) {
	done, err := x.rdb.Exists(ctx, x.layoutKey()).Result()
	if err != nil {
		return 0, x.fail("read the index layout marker", err)
	}
	if done == 1 {
		return 0, nil
	}
	keys, err := x.keys(ctx, escapeGlob(x.prefix+"{archive}:")+oldLayoutKinds+":*")
	if err != nil {
		return 0, err
	}
	if err := x.unlink(ctx, keys); err != nil {
		return 0, err
	}
	if err := x.rdb.Set(ctx, x.layoutKey(), "generations", 0).Err(); err != nil {
		return len(keys), x.fail("write the index layout marker", err)
	}
	return len(keys), nil
}

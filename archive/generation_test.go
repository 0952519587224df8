package archive_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/archive"
	"github.com/digestbot/digestbot/backoff"
	"github.com/digestbot/digestbot/store"
	"github.com/redis/go-redis/v9"
)

// ingestLog stores articles and lets the indexer take them from the log,
// as the bot does.
func (b *backend) ingestLog(t testing.TB, as []*digestbot.Article) {
	t.Helper()
	ctx := context.Background()
	if _, err := b.st.PutArticles(ctx, as); err != nil {
		t.Fatal(err)
	}
	if _, err := b.idx.CatchUp(ctx, b.st); err != nil {
		t.Fatal(err)
	}
}

// duringRebuild runs between its first reads of the articles, once.
type duringRebuild struct {
	*store.Store
	once func()
}

func (r *duringRebuild) GetArticles(ctx context.Context, ids []string) ([]*digestbot.Article, error) {
	if f := r.once; f != nil {
		r.once = nil
		f()
	}
	return r.Store.GetArticles(ctx, ids)
}

// genKeys lists the keys of one generation of the index.
func genKeys(t *testing.T, st *store.Store, g int64) []string {
	t.Helper()
	ctx := context.Background()
	pattern := st.Prefix() + fmt.Sprintf("{archive:%d:*", g)
	var out []string
	scan := func(ctx context.Context, c *redis.Client) error {
		it := c.Scan(ctx, 0, pattern, 1000).Iterator()
		for it.Next(ctx) {
			out = append(out, it.Val())
		}
		return it.Err()
	}
	var err error
	switch c := st.Client().(type) {
	case *redis.ClusterClient:
		var mu = make(chan struct{}, 1)
		err = c.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
			mu <- struct{}{}
			defer func() { <-mu }()
			return scan(ctx, n)
		})
	case *redis.Client:
		err = scan(ctx, c)
	}
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRebuildBesideTheLiveIndex: while a rebuild runs, lookups answer from
// the live index; an article stored during the rebuild is found after it;
// the old generation's keys are gone.
func TestRebuildBesideTheLiveIndex(t *testing.T) {
	backends(t, store.Options{}, archive.Options{}, func(t *testing.T, b *backend) {
		ctx := context.Background()
		as := loadFixtures(t)
		b.ingestLog(t, as)
		if st, _ := b.idx.Stats(ctx); st.Generation != 1 || st.Articles != len(as) {
			t.Fatalf("before the rebuild: %+v", st)
		}
		mid := &digestbot.Article{ID: "mid-rebuild", Title: "Quayside cormorants return", URL: "https://example.org/cormorants",
			Source: "Harbour Herald", Text: "The cormorants came back to the quay.", Ingested: time.Now()}
		var during []string
		r := &duringRebuild{Store: b.st, once: func() {
			during = ids(b.search(t, archive.Request{Query: "lighthouse"}))
			// Stored while the rebuild runs; the live indexer takes it
			// into the live generation.
			b.ingestLog(t, []*digestbot.Article{mid})
		}}
		n, err := b.idx.Rebuild(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		if len(during) != 3 {
			t.Errorf("lookup during the rebuild found %v, want the 3 lighthouse stories", during)
		}
		if n != len(as)+1 {
			t.Errorf("Rebuild indexed %d articles, want %d", n, len(as)+1)
		}
		if got := ids(b.search(t, archive.Request{Query: "cormorants"})); !slices.Equal(got, []string{"mid-rebuild"}) {
			t.Errorf("after the rebuild, the article stored during it: %v", got)
		}
		if got := ids(b.search(t, archive.Request{Query: "lighthouse"})); !slices.Equal(got, during) {
			t.Errorf("after the rebuild lighthouse gives %v, before %v", got, during)
		}
		st, err := b.idx.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Generation != 2 || st.Articles != len(as)+1 {
			t.Errorf("after the rebuild: %+v", st)
		}
		if old := genKeys(t, b.st, 1); len(old) != 0 {
			t.Errorf("the old generation left %d keys, e.g. %s", len(old), old[0])
		}
		// The indexer follows the new generation.
		late := &digestbot.Article{ID: "after-rebuild", Title: "Cormorants nest on the crane", URL: "https://example.org/crane",
			Source: "Harbour Herald", Text: "A pair of cormorants nests on the old crane.", Ingested: time.Now()}
		b.ingestLog(t, []*digestbot.Article{late})
		if got := ids(b.search(t, archive.Request{Query: "cormorants"})); len(got) != 2 {
			t.Errorf("after the rebuild, a new article: %v", got)
		}
	})
}

// failOnce fails the first article read.
type failOnce struct {
	*store.Store
	failed bool
}

func (r *failOnce) GetArticles(ctx context.Context, ids []string) ([]*digestbot.Article, error) {
	if !r.failed {
		r.failed = true
		return nil, digestbot.Errorf(digestbot.EUNAVAILABLE, "redis went away")
	}
	return r.Store.GetArticles(ctx, ids)
}

// TestCatchUpNeverSkipsAFailedBatch: a batch that could not be indexed is
// indexed by the next pass; meanwhile the index reports its lag.
func TestCatchUpNeverSkipsAFailedBatch(t *testing.T) {
	backends(t, store.Options{}, archive.Options{}, func(t *testing.T, b *backend) {
		ctx := context.Background()
		as := loadFixtures(t)
		if _, err := b.st.PutArticles(ctx, as); err != nil {
			t.Fatal(err)
		}
		r := &failOnce{Store: b.st}
		if _, err := b.idx.CatchUp(ctx, r); err == nil || !strings.Contains(err.Error(), "redis went away") {
			t.Fatalf("CatchUp with a failed read = %v, want that error", err)
		}
		if got := ids(b.search(t, archive.Request{Query: "lighthouse"})); len(got) != 0 {
			t.Errorf("found %v before anything was indexed", got)
		}
		if b.advance != nil {
			b.advance(time.Minute)
		} else {
			time.Sleep(1100 * time.Millisecond)
		}
		if lag, err := b.idx.Lag(ctx, b.st); err != nil || lag <= 0 {
			t.Errorf("Lag with the log not indexed = %v, %v; want more than 0", lag, err)
		}
		n, err := b.idx.CatchUp(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		if n != len(as) {
			t.Errorf("the second pass indexed %d articles, want %d", n, len(as))
		}
		if got := ids(b.search(t, archive.Request{Query: "lighthouse"})); len(got) != 3 {
			t.Errorf("lighthouse after the retry: %v", got)
		}
		if lag, err := b.idx.Lag(ctx, b.st); err != nil || lag != 0 {
			t.Errorf("Lag when caught up = %v, %v; want 0", lag, err)
		}
	})
}

// TestBucketsSpreadOverSlots: articles ingested on different days are
// indexed under different hash slots (on a cluster, so on several
// nodes), and a search still finds all of them.
func TestBucketsSpreadOverSlots(t *testing.T) {
	backends(t, store.Options{}, archive.Options{}, func(t *testing.T, b *backend) {
		ctx := context.Background()
		var as []*digestbot.Article
		var want []string
		for d := range 8 {
			at := time.Now().Add(-time.Duration(d) * 24 * time.Hour)
			id := fmt.Sprintf("ferry-%d", d)
			as = append(as, &digestbot.Article{ID: id, Title: "Ferry timetable, day " + fmt.Sprint(d), URL: "https://example.org/" + id,
				Source: "Harbour Herald", Text: "The ferry leaves at dawn.", Published: at, Ingested: at})
			want = append(want, id)
		}
		b.ingestLog(t, as)
		page := b.search(t, archive.Request{Query: "ferry", Limit: 20})
		got := ids(page)
		slices.Sort(got)
		if !slices.Equal(got, want) || page.Total != len(want) {
			t.Errorf("ferry found %v (total %d), want %v", got, page.Total, want)
		}
		cc, ok := b.st.Client().(*redis.ClusterClient)
		if !ok {
			return
		}
		slotsOf := map[string]map[int64]bool{} // hash tag -> slots of its keys
		nodes := map[string]bool{}
		for _, k := range genKeys(t, b.st, 1) {
			tag := k[strings.Index(k, "{"):strings.Index(k, "}")]
			slot, err := cc.ClusterKeySlot(ctx, k).Result()
			if err != nil {
				t.Fatal(err)
			}
			if slotsOf[tag] == nil {
				slotsOf[tag] = map[int64]bool{}
			}
			slotsOf[tag][slot] = true
			n, err := cc.MasterForKey(ctx, k)
			if err != nil {
				t.Fatal(err)
			}
			nodes[n.Options().Addr] = true
		}
		if len(slotsOf) < 8 {
			t.Errorf("8 days of articles are in %d buckets", len(slotsOf))
		}
		all := map[int64]bool{}
		for tag, slots := range slotsOf {
			if len(slots) != 1 {
				t.Errorf("bucket %s spans %d slots; its scripts need one", tag, len(slots))
			}
			for s := range slots {
				all[s] = true
			}
		}
		// Hashing may put two of the buckets in one slot, rarely.
		if len(all) < len(slotsOf)-1 {
			t.Errorf("%d buckets are in only %d slots", len(slotsOf), len(all))
		}
		if len(nodes) < 2 {
			t.Errorf("the index is on %d cluster node(s), want it spread", len(nodes))
		}
	})
}

// TestIndexerRetriesAndCatchesUp: the indexer loop indexes what is stored
// when woken, after a failed pass too, and reports its progress.
func TestIndexerRetriesAndCatchesUp(t *testing.T) {
	backends(t, store.Options{}, archive.Options{}, func(t *testing.T, b *backend) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		passes := make(chan int, 100)
		ix := &archive.Indexer{Index: b.idx, Log: &failOnce{Store: b.st}, Every: time.Hour,
			Retry:  backoff.Policy{First: time.Millisecond, Max: time.Millisecond},
			OnPass: func(n int, _ time.Duration) { passes <- n }}
		done := make(chan struct{})
		go func() { defer close(done); ix.Run(ctx) }()
		<-passes // the first pass, over an empty log
		as := loadFixtures(t)
		if _, err := b.st.PutArticles(ctx, as); err != nil {
			t.Fatal(err)
		}
		ix.Wake()
		// The woken pass fails once and is retried: one pass reports them all.
		if n := <-passes; n != len(as) {
			t.Errorf("the pass after the failure indexed %d articles, want %d", n, len(as))
		}
		if got := ids(b.search(t, archive.Request{Query: "lighthouse"})); len(got) != 3 {
			t.Errorf("lighthouse after the indexer ran: %v", got)
		}
		cancel()
		<-done
	})
}

// An upgraded deployment holds the keys of the layout before generations;
// the first start deletes them, and only them, once.
func TestDropOldLayout(t *testing.T) {
	backends(t, store.Options{}, archive.Options{}, func(t *testing.T, b *backend) {
		ctx := context.Background()
		as := loadFixtures(t)
		b.ingestLog(t, as)
		p := b.st.Prefix() + "{archive}:"
		old := []string{p + "p:20000:lighthouse", p + "v:20000", p + "m:20000", p + "n:20000", p + "x:20000", p + "a:some-article"}
		for _, k := range old {
			if err := b.st.Client().Set(ctx, k, "old", 0).Err(); err != nil {
				t.Fatal(err)
			}
		}
		before := ids(b.search(t, archive.Request{Query: "lighthouse"}))
		n, err := b.idx.DropOldLayout(ctx)
		if err != nil || n != len(old) {
			t.Fatalf("deleted %d keys (%v), want the %d of the old layout", n, err, len(old))
		}
		for _, k := range old {
			if b.st.Client().Exists(ctx, k).Val() != 0 {
				t.Errorf("%s is still there", k)
			}
		}
		if after := ids(b.search(t, archive.Request{Query: "lighthouse"})); len(before) == 0 || !slices.Equal(after, before) {
			t.Errorf("lookup found %v before and %v after; the live index must be untouched", before, after)
		}
		// Later starts skip the scan: a key of the old shape written now
		// (nothing does) stays.
		if err := b.st.Client().Set(ctx, old[0], "old", 0).Err(); err != nil {
			t.Fatal(err)
		}
		if n, err := b.idx.DropOldLayout(ctx); err != nil || n != 0 {
			t.Errorf("second run deleted %d (%v), want 0", n, err)
		}
	})
}

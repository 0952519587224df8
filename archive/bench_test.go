package archive_test

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/analysis"
	"github.com/digestbot/digestbot/archive"
	"github.com/digestbot/digestbot/store"
	"github.com/digestbot/digestbot/store/storetest"
	"github.com/digestbot/digestbot/summarize"
)

// The lookup benchmark (issue 6, BENCHMARKS.md). It only runs with -bench:
//
//	go test ./archive -run '^$' -bench 'Lookup$' -benchtime 1x        # 5,000 articles
//	go test ./archive -run '^$' -bench 'Lookup100k' -benchtime 1x -timeout 60m
//	go test ./archive -run '^$' -bench 'Lookup1M' -benchtime 1x -timeout 120m  # own 3-master cluster
//
// Articles: about 3 KB of text (470 words in sentences of 8-20 words) and a
// title of 8 words, drawn from a 60,000-word synthetic vocabulary with a
// Zipf distribution (s = 1.1, like word frequencies in English news), 40
// sources, published over the last 30 days. As in a bot shared by many
// servers, 10% of the articles (exactly n/10, drawn with their own fixed
// seed, so the words and the queries are those of the all-public corpus
// measured before) are private, each to one of 50 servers
// (digestbot.Article.Guilds); the operator sees them as ordinary articles.
// Each is ingested 30 to 60 minutes after publication, so the articles
// fill the index's 31 day buckets as a month of ingest does. They are
// stored in the store and indexed with Index.Add in batches of 500, in the
// order of their ingest time; storing and indexing are outside the timed
// part. The corpus is not kept in memory: each article is made again from
// its generators' saved states when it is loaded (a million articles would
// take some 10 GB with their tokens). Lookup and Lookup100k run on one
// redis-server with one batch at a time; Lookup1M on a Redis Cluster of
// three masters it starts itself, four batches at once.
//
// Queries (200 of each kind, drawn with a fixed seed):
//   - 1, 2 and 3 terms: words of mid document frequency (in 0.5% to 10% of
//     the articles), the 2- and 3-term ones taken from one article so that
//     they co-occur as a user's words do;
//   - phrase: two consecutive words from a random article's text, quoted,
//     both in at most 10% of the articles;
//   - phrase any: two consecutive words from a random article's text, any
//     frequency (mostly with one of the most frequent words; a hard case);
//   - frequent: one word among the 20 most frequent (worst case, reported
//     apart).
//
// Each query is a full Search (first page of 5, verified against the
// stored articles, snippets made), timed one by one, twice: as the
// operator (Request.Guild "", metrics KIND-p50-ms, -p95-ms, -p99-ms, the
// names of the all-public figures) and as a server (Request.Guild one of
// the 50 servers, rotating from query to query; metrics KIND-srv-p50-ms and
// so on), the two in alternating order so neither always runs on the
// other's warm caches. A server's search also reads the "\x01v:private"
// and its own "\x01v:GUILD" postings and evaluates them per candidate (see
// plan.restrict). A server's page must hold only articles it may see (the
// benchmark fails otherwise). p50/p95/p99 are reported in ms. Also
// reported: index memory per article (INFO used_memory, summed over a
// cluster's masters, after indexing minus before, divided by the
// articles; the private articles' visibility terms included), the store's own copy of the articles per article (its
// hash and ingest log entry: used_memory after storing minus before, the
// figure the README's sizing rule uses) and the indexing time per article.

func BenchmarkLookup(b *testing.B) { benchLookup(b, lookupSetup{n: 5_000, workers: 1}) }

func BenchmarkLookup100k(b *testing.B) { benchLookup(b, lookupSetup{n: 100_000, workers: 1}) }

// BenchmarkLookup1M runs on a Redis Cluster of three masters of its own,
// loading with four batches at once (the index's scripts run on the three
// nodes in parallel); index-µs/article is then wall time over the four.
func BenchmarkLookup1M(b *testing.B) {
	benchLookup(b, lookupSetup{n: 1_000_000, cluster: true, workers: 4})
}

type corpus struct {
	vocab   []string
	sources []string
	now     time.Time
	n       int
	df      map[string]int
	servers []string // the servers that own the private articles
	private int      // how many articles are private
	guild   []int8   // per article: 1 + the index of its server, 0 if public
	ingest  []int64  // per article: ingest time, Unix seconds
	text    int      // bytes of title and text, summed over the articles
	// state holds, per article, the states of the two generators as it
	// begins (20 bytes each), so that article i can be made again in any
	// order without keeping a million articles in memory.
	state []byte
}

// Visibility of the generated corpus: privateShare of the articles are
// private, each to one of numServers servers.
const (
	privateShare = 0.10
	numServers   = 50
	vocabSize    = 60_000
	pcgState     = 20 // bytes of a marshalled rand.PCG
)

// genCorpus draws the corpus: the vocabulary, then each article in turn,
// keeping only what the queries need (document frequencies) and how to
// make each article again (corpus.article).
// firstAnswerList is how many results the chat /lookup ranks and checks
// when it runs (commands.maxLookupResults).
const firstAnswerList = 100

func genCorpus(n int, now time.Time) *corpus {
	src := rand.NewPCG(6, 6)
	r := rand.New(src)
	syll := []string{"ka", "lo", "mi", "ne", "ru", "ta", "vo", "si", "pe", "da", "gu", "fe", "zo", "ri", "ba", "no", "chi", "sha", "tor", "len", "mar", "ves", "qu", "dre"}
	seen := map[string]bool{}
	vocab := make([]string, 0, vocabSize)
	for len(vocab) < vocabSize {
		var w strings.Builder
		for range 2 + r.IntN(3) {
			w.WriteString(syll[r.IntN(len(syll))])
		}
		if s := w.String(); !seen[s] {
			seen[s] = true
			vocab = append(vocab, s)
		}
	}
	zsrc := rand.NewPCG(7, 7)
	zipf := rand.NewZipf(rand.New(zsrc), 1.1, 2, vocabSize-1)
	sources := make([]string, 40)
	for i := range sources {
		sources[i] = fmt.Sprintf("%s %s", strings.ToUpper(vocab[200+i][:1])+vocab[200+i][1:], []string{"Times", "Post", "Daily", "Herald"}[i%4])
	}
	c := &corpus{vocab: vocab, sources: sources, now: now, n: n, df: map[string]int{},
		guild: make([]int8, n), ingest: make([]int64, n), state: make([]byte, 0, n*2*pcgState)}
	// Document frequencies are counted by workers while this goroutine
	// draws the articles in order (the draws are sequential).
	type job struct{ title, text string }
	jobs := make(chan job, 256)
	var wg sync.WaitGroup
	var mu sync.Mutex
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			df := map[string]int{}
			for j := range jobs {
				seenDoc := map[string]bool{}
				for _, w := range append(analysis.Terms(j.title), analysis.Terms(j.text)...) {
					if !seenDoc[w] {
						seenDoc[w] = true
						df[w]++
					}
				}
			}
			mu.Lock()
			for w, d := range df {
				c.df[w] += d
			}
			mu.Unlock()
		}()
	}
	for i := range n {
		for _, s := range []*rand.PCG{src, zsrc} {
			st, err := s.MarshalBinary()
			if err != nil || len(st) != pcgState {
				panic(fmt.Sprintf("marshal PCG: %d bytes, %v", len(st), err))
			}
			c.state = append(c.state, st...)
		}
		a := c.draw(r, zipf, i)
		c.ingest[i] = a.Ingested.Unix()
		c.text += len(a.Title) + len(a.Text)
		jobs <- job{a.Title, a.Text}
	}
	close(jobs)
	wg.Wait()
	// Visibility, with its own seed: the words above, and so the queries,
	// are those of the all-public corpus earlier figures were measured on.
	vr := rand.New(rand.NewPCG(9, 9))
	for i := range numServers {
		c.servers = append(c.servers, strconv.Itoa(1_100_000_000_000_000_000+i*7_919)) // Discord-like ids
	}
	c.private = int(float64(n) * privateShare)
	for _, i := range vr.Perm(n)[:c.private] {
		c.guild[i] = int8(1 + vr.IntN(numServers))
	}
	return c
}

// draw makes article i from the generators as they stand (without its
// servers, which genCorpus draws apart).
func (c *corpus) draw(r *rand.Rand, zipf *rand.Zipf, i int) *digestbot.Article {
	word := func() string { return c.vocab[zipf.Uint64()] }
	var text strings.Builder
	for text.Len() < 3000 {
		words := 8 + r.IntN(13)
		for k := range words {
			w := word()
			if k == 0 {
				w = strings.ToUpper(w[:1]) + w[1:]
			} else {
				text.WriteByte(' ')
			}
			text.WriteString(w)
		}
		text.WriteString(". ")
	}
	var title []string
	for range 8 {
		title = append(title, word())
	}
	t := strings.TrimSpace(text.String())
	source := c.sources[r.IntN(len(c.sources))]
	pub := c.now.Add(-time.Duration(r.Int64N(int64(30 * 24 * time.Hour))))
	a := &digestbot.Article{
		ID:        fmt.Sprintf("bench%07d", i),
		Title:     strings.Join(title, " "),
		URL:       "https://news.example/" + strconv.Itoa(i),
		Source:    source,
		Published: pub,
		Text:      t,
	}
	// Ingested 30 to 60 minutes after publication (never after now), so
	// the articles fill the index's day buckets as a month of ingest does
	// and none ages out of the retention while a large corpus loads. The
	// delay is not drawn from r, which keeps the words of the corpus.
	a.Ingested = pub.Add(30*time.Minute + time.Duration(i*7_919%1_800)*time.Second)
	if a.Ingested.After(c.now) {
		a.Ingested = c.now
	}
	return a
}

// article makes article i again, with its servers and summary, as stored.
func (c *corpus) article(i int) *digestbot.Article {
	var src, zsrc rand.PCG
	st := c.state[i*2*pcgState:]
	if src.UnmarshalBinary(st[:pcgState]) != nil || zsrc.UnmarshalBinary(st[pcgState:2*pcgState]) != nil {
		panic("unmarshal PCG")
	}
	r := rand.New(&src)
	a := c.draw(r, rand.NewZipf(rand.New(&zsrc), 1.1, 2, vocabSize-1), i)
	if g := c.guild[i]; g > 0 {
		a.Guilds = []string{c.servers[g-1]}
	}
	a.Summary = summarize.Summarize(a.Text, digestbot.MaxSummaryLen)
	return a
}

// tokens are the analysed tokens of article i's text.
func (c *corpus) tokens(i int) []string { return analysis.Terms(c.article(i).Text) }

// load hands the articles, in the order of their ingest time (as ingest
// brings them), to f in batches of batch, from workers goroutines at once.
func (c *corpus) load(b *testing.B, workers, batch int, f func([]*digestbot.Article) error) {
	order := make([]int, c.n)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(x, y int) int { return cmp.Compare(c.ingest[x], c.ingest[y]) })
	next := make(chan []int)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ids := range next {
				arts := make([]*digestbot.Article, len(ids))
				for k, i := range ids {
					arts[k] = c.article(i)
				}
				if err := f(arts); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	var err error
feed:
	for i := 0; i < c.n; i += batch {
		select {
		case next <- order[i:min(i+batch, c.n)]:
		case err = <-errs:
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err == nil && len(errs) > 0 {
		err = <-errs
	}
	if err != nil {
		b.Fatal(err)
	}
}

// queries draws the benchmark's query sets (see above).
func (c *corpus) queries(per int) map[string][]string {
	r := rand.New(rand.NewPCG(8, 8))
	n := c.n
	mid := func(w string) bool { d := c.df[w]; return d*200 >= n && d*10 <= n }
	var midWords []string
	for w := range c.df {
		if mid(w) {
			midWords = append(midWords, w)
		}
	}
	slices.Sort(midWords)
	byDF := make([]string, 0, len(c.df))
	for w := range c.df {
		byDF = append(byDF, w)
	}
	slices.SortFunc(byDF, func(a, b string) int { return c.df[b] - c.df[a] })
	out := map[string][]string{}
	for len(out["1 term"]) < per {
		out["1 term"] = append(out["1 term"], midWords[r.IntN(len(midWords))])
	}
	for _, k := range []int{2, 3} {
		name := fmt.Sprintf("%d terms", k)
		for len(out[name]) < per {
			toks := c.tokens(r.IntN(n))
			var pick []string
			for range 200 {
				w := toks[r.IntN(len(toks))]
				if mid(w) && !slices.Contains(pick, w) {
					pick = append(pick, w)
				}
				if len(pick) == k {
					break
				}
			}
			if len(pick) == k {
				out[name] = append(out[name], strings.Join(pick, " "))
			}
		}
	}
	for len(out["phrase"]) < per || len(out["phrase any"]) < per {
		toks := c.tokens(r.IntN(n))
		i := r.IntN(len(toks) - 1)
		q := `"` + toks[i] + " " + toks[i+1] + `"`
		if len(out["phrase any"]) < per {
			out["phrase any"] = append(out["phrase any"], q)
		}
		if len(out["phrase"]) < per && c.df[toks[i]]*10 <= n && c.df[toks[i+1]]*10 <= n {
			out["phrase"] = append(out["phrase"], q)
		}
	}
	for len(out["frequent"]) < per {
		out["frequent"] = append(out["frequent"], byDF[r.IntN(20)])
	}
	return out
}

// lookupSetup is where a lookup benchmark runs.
type lookupSetup struct {
	n       int
	cluster bool // an own Redis Cluster of three masters, else the shared redis-server
	workers int  // batches stored, then indexed, at once
}

func benchLookup(b *testing.B, ls lookupSetup) {
	n := ls.n
	ctx := context.Background()
	var st *store.Store
	if ls.cluster {
		st = storetest.OpenOn(b, store.Options{URL: storetest.OwnCluster(b, storetest.ClusterOptions{})})
	} else {
		st = storetest.Open(b)
	}
	now := time.Now()
	t0 := time.Now()
	c := genCorpus(n, now)
	// A large run takes many minutes before its log is printed: say on
	// stderr how far it is.
	progress := func(format string, args ...any) {
		if n >= 1_000_000 {
			fmt.Fprintf(os.Stderr, time.Now().UTC().Format("15:04:05 ")+format+"\n", args...)
		}
	}
	b.Logf("corpus of %d articles drawn in %.1fs", n, time.Since(t0).Seconds())
	progress("corpus of %d articles drawn in %.1fs", n, time.Since(t0).Seconds())
	idx := archive.New(st.Client(), st.Prefix(), archive.Options{Articles: st})
	const batch = 500
	memEmpty := storetest.UsedMemory(b, st)
	t0 = time.Now()
	c.load(b, ls.workers, batch, func(arts []*digestbot.Article) error {
		_, err := st.PutArticles(ctx, arts)
		return err
	})
	b.Logf("stored in %.1fs", time.Since(t0).Seconds())
	progress("stored in %.1fs", time.Since(t0).Seconds())
	runtime.GC()
	mem0 := storetest.UsedMemory(b, st)
	t0 = time.Now()
	c.load(b, ls.workers, batch, func(arts []*digestbot.Article) error { return idx.Add(ctx, arts) })
	indexTime := time.Since(t0)
	mem1 := storetest.UsedMemory(b, st)
	progress("indexed in %.1fs; searching", indexTime.Seconds())
	qs := c.queries(200)
	kinds := []string{"1 term", "2 terms", "3 terms", "phrase", "phrase any", "frequent"}
	// Warm up: one pass so connections and caches are as in steady state.
	for j, q := range qs["1 term"][:20] {
		for _, g := range []string{"", c.servers[j%numServers]} {
			if _, err := idx.Search(ctx, archive.Request{Query: q, Now: now, Guild: g}); err != nil {
				b.Fatal(err)
			}
		}
	}
	// Each kind is timed as the operator (mode ""), as a server (mode
	// "-srv"), and as the chat /lookup's first answer (mode "-first": a
	// server's SearchUpTo of the list its pages are cut from), keyed
	// kind+mode.
	modes := []string{"", "-srv", "-first"}
	lat := map[string][]time.Duration{}
	hits := map[string]int{}
	type timed struct {
		q     string
		d     time.Duration
		total int
	}
	slowest := map[string]timed{}
	b.ResetTimer()
	for range b.N {
		for _, k := range kinds {
			for j, q := range qs[k] {
				guild := c.servers[j%numServers]
				for m := range modes {
					mode := modes[(j+m)%len(modes)] // rotate which goes first
					req := archive.Request{Query: q, Now: now}
					if mode != "" {
						req.Guild = guild
					}
					t := time.Now()
					var p *archive.Page
					var err error
					if mode == "-first" {
						p, err = idx.SearchUpTo(ctx, req, firstAnswerList)
					} else {
						p, err = idx.Search(ctx, req)
					}
					d := time.Since(t)
					if err != nil {
						b.Fatalf("%s (server %q): %v", q, req.Guild, err)
					}
					if req.Guild != "" {
						for _, r := range p.Results {
							if !r.Article.VisibleTo(req.Guild) {
								b.Fatalf("%s: server %s was shown %s, private to %v", q, req.Guild, r.Article.ID, r.Article.Guilds)
							}
						}
					}
					key := k + mode
					lat[key] = append(lat[key], d)
					hits[key] += p.Total
					if d > slowest[key].d {
						slowest[key] = timed{q, d, p.Total}
					}
				}
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(mem0-memEmpty)/float64(n), "store-B/article")
	b.ReportMetric(float64(mem1-mem0)/float64(n), "index-B/article")
	b.ReportMetric(float64(indexTime.Microseconds())/float64(n), "index-µs/article")
	// What the index is measured against: the bytes of title and text it
	// indexes.
	text := c.text
	b.ReportMetric(float64(text)/float64(n), "text-B/article")
	// One log line per kind (go test keeps only the first 10 lines of a
	// benchmark's log): operator, server, /lookup's first answer.
	for _, k := range kinds {
		var line strings.Builder
		fmt.Fprintf(&line, "%-10s ", k)
		for _, mode := range modes {
			ls := lat[k+mode]
			slices.Sort(ls)
			pct := func(p float64) float64 { return float64(ls[int(p*float64(len(ls)-1))].Microseconds()) / 1000 }
			name := strings.ReplaceAll(k, " ", "") + mode
			b.ReportMetric(pct(0.50), name+"-p50-ms")
			b.ReportMetric(pct(0.95), name+"-p95-ms")
			b.ReportMetric(pct(0.99), name+"-p99-ms")
			who := map[string]string{"": "operator", "-srv": " | server", "-first": " | /lookup first answer"}[mode]
			sl := slowest[k+mode]
			fmt.Fprintf(&line, "%s p50 %.2f p95 %.2f p99 %.2f ms, mean matches %d, slowest %s (%.1f ms, %d matches)",
				who, pct(0.5), pct(0.95), pct(0.99), hits[k+mode]/len(ls), sl.q, float64(sl.d.Microseconds())/1000, sl.total)
		}
		b.Log(line.String())
	}
	b.Logf("%d articles (%d private to %d servers): index %.0f B/article for %.0f B of title and text (used_memory %d -> %d), indexing %.0f µs/article (%.1fs)",
		n, c.private, numServers, float64(mem1-mem0)/float64(n), float64(text)/float64(n), mem0, mem1, float64(indexTime.Microseconds())/float64(n), indexTime.Seconds())
}

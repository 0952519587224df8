package trend_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/analysis"
	"github.com/digestbot/digestbot/archive"
	"github.com/digestbot/digestbot/chart"
	"github.com/digestbot/digestbot/store/storetest"
	"github.com/digestbot/digestbot/subscriptions"
	"github.com/digestbot/digestbot/subscriptions/benchgen"
	"github.com/digestbot/digestbot/trend"
)

// The /trend benchmark (BENCHMARKS.md). It only runs with -bench; the
// million-article run also needs DIGESTBOT_BENCH_TREND_1M=1, as it keeps
// about 4 GB in the test's redis-server and takes 5 to 15 minutes to
// load:
//
//	go test ./trend -run '^$' -bench 'Trend$' -benchtime 1x                       # 50,000 articles
//	DIGESTBOT_BENCH_TREND_1M=1 go test ./trend -run '^$' -bench 'Trend1M' -benchtime 1x -timeout 120m
//
// Articles (genArticles): a title of 8 words and a text of about 600
// bytes (90 words in sentences of 8-20), drawn from the matcher
// benchmark's synthetic vocabulary (package benchgen, 60,000 words) with a
// Zipf distribution (s = 1.1), from 200
// outlets, published evenly over the last 30 days (the retention window)
// and ingested up to half an hour later; 10% are private, each to one of
// 50 servers. The texts are shorter than real ones (3 KB) so that a
// million fit in memory; what a trend costs is the length of its words'
// posting lists, and the queries are chosen by how many articles hold
// their words, as in the lookup benchmark. They are stored and indexed as
// ingest does (PutArticles, Index.Add, 500 at a time), outside the timed
// part.
//
// Queries (50 of each kind, fixed seed), each asked as one of the 50
// servers (rotating) over 24 hours, 7 days and 30 days in turn:
//   - 1 term: a word in 0.5% to 10% of the articles;
//   - 2 terms: two such words of one article;
//   - OR: three such words joined by OR (a topic's shape);
//   - phrase: one of 300 two-word phrases the texts repeat (a fifth of
//     the sentences holds one, drawn with a Zipf distribution), quoted; the
//     index only says maybe, so up to 500 of the newest matches are read
//     and checked on the stored article;
//   - frequent: one of the 20 most frequent words (the worst case, apart).
//
// Each query is timed twice: the count alone (Counter.Series: the
// postings, the newest 5,000 stories' outlets, the phrase checks), and
// the whole reply (the count and the PNG chart). p50/p95/p99 in ms.

func BenchmarkTrend(b *testing.B) { benchTrend(b, 50_000) }

func BenchmarkTrend1M(b *testing.B) {
	if os.Getenv("DIGESTBOT_BENCH_TREND_1M") == "" {
		b.Skip("set DIGESTBOT_BENCH_TREND_1M=1 to run the million-article trend benchmark (about 4 GB of Redis)")
	}
	benchTrend(b, 1_000_000)
}

const (
	benchServers = 50
	benchBatch   = 500
	retention    = 30 * 24 * time.Hour
)

// corpus is what the generator keeps to choose queries: document
// frequencies and the tokens of a sample of articles.
type corpus struct {
	df      map[string]int
	samples [][]string
	phrases []string // the collocations the texts repeat
	n       int
}

// genArticles generates n articles and hands them to put in batches, so a
// million never sit in memory at once.
func genArticles(n int, now time.Time, put func([]*digestbot.Article)) *corpus {
	r := rand.New(rand.NewPCG(11, 11))
	const vocabSize = 60_000
	vocab := benchgen.New(benchgen.Options{Seed: 11, VocabSize: vocabSize}).Words()
	zipf := rand.NewZipf(rand.New(rand.NewPCG(12, 12)), 1.1, 2, uint64(len(vocab)-1))
	word := func() string { return vocab[zipf.Uint64()] }
	outlets := make([]string, 200)
	for i := range outlets {
		outlets[i] = fmt.Sprintf("%s %s", strings.ToUpper(vocab[300+i][:1])+vocab[300+i][1:], []string{"Times", "Post", "Daily", "Herald", "Wire"}[i%5])
	}
	servers := benchServerIDs()
	// Two-word names and terms ("port strike") that stories repeat: the
	// phrases of phrase queries, drawn from words of middle rank.
	phrases := make([]string, 300)
	for i := range phrases {
		phrases[i] = vocab[500+r.IntN(20_000)] + " " + vocab[500+r.IntN(20_000)]
	}
	pz := rand.NewZipf(rand.New(rand.NewPCG(14, 14)), 1.2, 4, uint64(len(phrases)-1))
	c := &corpus{df: map[string]int{}, n: n, phrases: phrases}
	batch := make([]*digestbot.Article, 0, benchBatch)
	for i := range n {
		var text strings.Builder
		for text.Len() < 600 {
			for k := range 8 + r.IntN(13) {
				if k > 0 {
					text.WriteByte(' ')
				}
				if k == 3 && r.IntN(5) == 0 {
					text.WriteString(phrases[pz.Uint64()])
					continue
				}
				text.WriteString(word())
			}
			text.WriteString(". ")
		}
		title := make([]string, 8)
		for k := range title {
			title[k] = word()
		}
		pub := now.Add(-time.Duration(r.Int64N(int64(retention - time.Hour))))
		a := &digestbot.Article{
			ID:        fmt.Sprintf("trend%07d", i),
			Title:     strings.Join(title, " "),
			URL:       "https://news.example/" + strconv.Itoa(i),
			Source:    outlets[r.IntN(len(outlets))],
			Published: pub,
			Ingested:  pub.Add(time.Duration(r.Int64N(int64(30 * time.Minute)))),
			Text:      strings.TrimSpace(text.String()),
		}
		a.Summary = a.Text[:200]
		if r.IntN(10) == 0 {
			a.Guilds = []string{servers[r.IntN(len(servers))]}
		}
		toks := append(analysis.Terms(a.Title), analysis.Terms(a.Text)...)
		doc := map[string]bool{}
		for _, w := range toks {
			if !doc[w] {
				doc[w] = true
				c.df[w]++
			}
		}
		if i%100 == 0 {
			c.samples = append(c.samples, analysis.Terms(a.Text))
		}
		batch = append(batch, a)
		if len(batch) == benchBatch || i == n-1 {
			put(batch)
			batch = make([]*digestbot.Article, 0, benchBatch)
		}
	}
	return c
}

func benchServerIDs() []string {
	out := make([]string, benchServers)
	for i := range out {
		out[i] = strconv.Itoa(1_100_000_000_000_000_000 + i*7_919) // Discord-like ids
	}
	return out
}

// queries draws the query sets (see above).
func (c *corpus) queries(per int) map[string][]string {
	r := rand.New(rand.NewPCG(13, 13))
	mid := func(w string) bool { d := c.df[w]; return d*200 >= c.n && d*10 <= c.n }
	var midWords, byDF []string
	for w := range c.df {
		byDF = append(byDF, w)
		if mid(w) {
			midWords = append(midWords, w)
		}
	}
	slices.Sort(midWords)
	slices.SortFunc(byDF, func(a, b string) int { return c.df[b] - c.df[a] })
	out := map[string][]string{}
	pickMid := func(toks []string, k int) []string {
		var pick []string
		for range 200 {
			w := toks[r.IntN(len(toks))]
			if mid(w) && !slices.Contains(pick, w) {
				pick = append(pick, w)
			}
			if len(pick) == k {
				return pick
			}
		}
		return nil
	}
	for len(out["1 term"]) < per {
		out["1 term"] = append(out["1 term"], midWords[r.IntN(len(midWords))])
	}
	for len(out["2 terms"]) < per {
		if p := pickMid(c.samples[r.IntN(len(c.samples))], 2); p != nil {
			out["2 terms"] = append(out["2 terms"], strings.Join(p, " "))
		}
	}
	for len(out["OR"]) < per {
		out["OR"] = append(out["OR"], strings.Join([]string{midWords[r.IntN(len(midWords))], midWords[r.IntN(len(midWords))], midWords[r.IntN(len(midWords))]}, " OR "))
	}
	for len(out["phrase"]) < per {
		out["phrase"] = append(out["phrase"], `"`+c.phrases[r.IntN(len(c.phrases))]+`"`)
	}
	for len(out["frequent"]) < per {
		out["frequent"] = append(out["frequent"], byDF[r.IntN(20)])
	}
	return out
}

func benchTrend(b *testing.B, n int) {
	ctx := context.Background()
	st := storetest.Open(b)
	now := time.Now()
	idx := archive.New(st.Client(), st.Prefix(), archive.Options{Articles: st, Retention: retention})
	t0 := time.Now()
	c := genArticles(n, now, func(as []*digestbot.Article) {
		if _, err := st.PutArticles(ctx, as); err != nil {
			b.Fatal(err)
		}
		if err := idx.Add(ctx, as); err != nil {
			b.Fatal(err)
		}
	})
	load := time.Since(t0)
	mem := storetest.UsedMemory(b, st)
	counter := &trend.Counter{Finder: trend.ArchiveFinder{Index: idx}, Articles: st}
	qs := c.queries(50)
	kinds := []string{"1 term", "2 terms", "OR", "phrase", "frequent"}
	windows := []time.Duration{24 * time.Hour, 7 * 24 * time.Hour, 30 * 24 * time.Hour}
	servers := benchServerIDs()
	ask := func(q string, j int) (*trend.Series, time.Duration, time.Duration) {
		parsed, err := subscriptions.Parse(q)
		if err != nil {
			b.Fatal(err)
		}
		req := trend.Request{Query: parsed, Label: q, Since: now.Add(-windows[j%len(windows)]), Now: now, Guild: servers[j%len(servers)], Location: time.UTC}
		t := time.Now()
		s, err := counter.Series(ctx, req)
		if err != nil {
			b.Fatalf("%s: %v", q, err)
		}
		count := time.Since(t)
		if _, err := chart.PNG(s); err != nil {
			b.Fatal(err)
		}
		return s, count, time.Since(t)
	}
	for j, q := range qs["1 term"][:10] { // warm up connections and caches
		ask(q, j)
	}
	countLat, replyLat := map[string][]time.Duration{}, map[string][]time.Duration{}
	stories := map[string]int{}
	b.ResetTimer()
	for range b.N {
		for _, k := range kinds {
			for j, q := range qs[k] {
				s, count, reply := ask(q, j)
				countLat[k] = append(countLat[k], count)
				replyLat[k] = append(replyLat[k], reply)
				stories[k] += s.Total
			}
		}
	}
	b.StopTimer()
	pct := func(ls []time.Duration, p float64) float64 {
		ls = slices.Clone(ls)
		slices.Sort(ls)
		return float64(ls[int(p*float64(len(ls)-1))].Microseconds()) / 1000
	}
	var all []time.Duration
	for _, k := range kinds {
		name := strings.ReplaceAll(k, " ", "")
		b.ReportMetric(pct(replyLat[k], 0.95), name+"-p95-ms")
		if k != "frequent" {
			all = append(all, replyLat[k]...)
		}
		b.Logf("%-8s count p50 %.1f p95 %.1f p99 %.1f ms | reply p50 %.1f p95 %.1f p99 %.1f ms | mean stories %d",
			k, pct(countLat[k], 0.5), pct(countLat[k], 0.95), pct(countLat[k], 0.99),
			pct(replyLat[k], 0.5), pct(replyLat[k], 0.95), pct(replyLat[k], 0.99), stories[k]/len(replyLat[k]))
	}
	b.ReportMetric(pct(all, 0.95), "reply-p95-ms")
	b.Logf("%d articles (10%% private to %d servers), stored and indexed in %.0fs; redis used_memory %.1f GB; reply p50/p95/p99 %.1f / %.1f / %.1f ms without the frequent words",
		n, benchServers, load.Seconds(), float64(mem)/1e9, pct(all, 0.5), pct(all, 0.95), pct(all, 0.99))
}

package subscriptions_test

import (
	"flag"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/analysis"
	"github.com/digestbot/digestbot/subscriptions"
	"github.com/digestbot/digestbot/subscriptions/benchgen"
)

// The 1,000,000-query case takes a minute and about a gigabyte to set up,
// so it runs only when asked: go test -bench . -match.large
var large = flag.Bool("match.large", false, "also benchmark an index of 1,000,000 queries")

const benchArticles = 500

var (
	benchOnce sync.Once
	benchGen  *benchgen.Generator
	benchDocs []benchgen.Article
	indexes   = map[int]*builtIndex{}
	indexesMu sync.Mutex
)

type builtIndex struct {
	x       *subscriptions.Index
	queries []*subscriptions.Query
	heapMiB float64
}

func benchData() (*benchgen.Generator, []benchgen.Article) {
	benchOnce.Do(func() {
		benchGen = benchgen.New(benchgen.Options{Seed: 1})
		benchDocs = benchGen.Articles(benchArticles)
	})
	return benchGen, benchDocs
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// index returns an index of the first n generated queries, built once, with
// the heap it holds (queries included) measured around its construction.
func index(b testing.TB, n int) *builtIndex {
	indexesMu.Lock()
	defer indexesMu.Unlock()
	if bi := indexes[n]; bi != nil {
		return bi
	}
	g, _ := benchData()
	texts := g.Queries(n)
	before := heapInUse()
	bi := &builtIndex{x: subscriptions.NewIndex(), queries: make([]*subscriptions.Query, n)}
	for i, s := range texts {
		q, err := subscriptions.Parse(s)
		if err != nil {
			b.Fatalf("query %d %q: %v", i+1, s, err)
		}
		bi.queries[i] = q
		if err := bi.x.Add(fmt.Sprint(i+1), q); err != nil {
			b.Fatal(err)
		}
	}
	texts = nil
	bi.heapMiB = float64(heapInUse()-before) / (1 << 20)
	indexes[n] = bi
	return bi
}

// BenchmarkAnalyze is the floor: normalising and tokenising a 3 KB article
// (Tokenize), and building the matching view of it (Doc.Reset).
func BenchmarkAnalyze(b *testing.B) {
	_, docs := benchData()
	b.Run("tokenize", func(b *testing.B) {
		var toks []analysis.Token
		i := 0
		clk := startCPU()
		for b.Loop() {
			a := &docs[i%len(docs)]
			toks = analysis.AppendTokens(toks[:0], a.Title)
			toks = analysis.AppendTokens(toks[:0], a.Text)
			i++
		}
		clk.report(b)
	})
	b.Run("doc", func(b *testing.B) {
		var d subscriptions.Doc
		i := 0
		clk := startCPU()
		for b.Loop() {
			a := &docs[i%len(docs)]
			d.Reset(a.Title, a.Text, "", nil)
			i++
		}
		clk.report(b)
	})
}

// BenchmarkMatch times analysing an article and matching it against every
// query of the index, one article per operation.
func BenchmarkMatch(b *testing.B) {
	sizes := []int{10_000, 100_000}
	if *large {
		sizes = append(sizes, 1_000_000)
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("queries=%d", n), func(b *testing.B) {
			bi := index(b, n)
			_, docs := benchData()
			start := bi.x.Stats()
			hits := 0
			i := 0
			var d subscriptions.Doc
			var out []subscriptions.Match
			clk := startCPU()
			for b.Loop() {
				a := &docs[i%len(docs)]
				d.Reset(a.Title, a.Text, "", nil)
				out = bi.x.AppendMatches(out[:0], &d)
				hits += len(out)
				i++
			}
			st := bi.x.Stats()
			clk.report(b)
			b.ReportMetric(float64(st.Candidates-start.Candidates)/float64(st.Docs-start.Docs), "candidates/article")
			b.ReportMetric(float64(hits)/float64(i), "hits/article")
			b.ReportMetric(bi.heapMiB, "MiB-index")
		})
	}
}

// BenchmarkNaive is the baseline: every query evaluated on every article.
func BenchmarkNaive(b *testing.B) {
	bi := index(b, 100_000)
	_, docs := benchData()
	b.Run("queries=100000", func(b *testing.B) {
		i := 0
		var d subscriptions.Doc
		clk := startCPU()
		for b.Loop() {
			a := &docs[i%len(docs)]
			d.Reset(a.Title, a.Text, "", nil)
			for _, q := range bi.queries {
				q.Match(&d)
			}
			i++
		}
		clk.report(b)
	})
}

// cpuClock measures the process CPU time of a benchmark loop.
type cpuClock struct{ start time.Duration }

func startCPU() cpuClock { return cpuClock{processCPU()} }

// report adds articles/s by wall time and, because the machine may be
// shared, articles/s by the process's CPU time (GC included).
func (c cpuClock) report(b *testing.B) {
	if el := b.Elapsed(); el > 0 {
		b.ReportMetric(float64(b.N)/el.Seconds(), "articles/s")
	}
	if cpu := processCPU() - c.start; cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "articles/cpu-s")
	}
}

// BenchmarkMatchSites is BenchmarkMatch with site: in every tenth query
// (half of them as an exclusion) and the article's link on one of 50
// sites, some through a subdomain.
func BenchmarkMatchSites(b *testing.B) {
	const n = 100_000
	g, docs := benchData()
	x := subscriptions.NewIndex()
	for i, s := range g.Queries(n) {
		switch {
		case i%20 == 0:
			s = fmt.Sprintf("(%s) site:site%d.example", s, i%50)
		case i%20 == 10:
			s = fmt.Sprintf("(%s) -site:site%d.example", s, i%50)
		}
		q, err := subscriptions.Parse(s)
		if err != nil {
			b.Fatalf("query %q: %v", s, err)
		}
		if err := x.Add(fmt.Sprint(i+1), q); err != nil {
			b.Fatal(err)
		}
	}
	arts := make([]digestbot.Article, len(docs))
	for i, a := range docs {
		host := fmt.Sprintf("site%d.example", i%50)
		if i%3 == 0 {
			host = "news." + host
		}
		arts[i] = digestbot.Article{Title: a.Title, Text: a.Text, Source: "Wire", URL: "https://" + host + "/story"}
	}
	start := x.Stats()
	hits, i := 0, 0
	var d subscriptions.Doc
	var out []subscriptions.Match
	clk := startCPU()
	for b.Loop() {
		d.ResetArticle(&arts[i%len(arts)])
		out = x.AppendMatches(out[:0], &d)
		hits += len(out)
		i++
	}
	st := x.Stats()
	clk.report(b)
	b.ReportMetric(float64(st.Candidates-start.Candidates)/float64(st.Docs-start.Docs), "candidates/article")
	b.ReportMetric(float64(hits)/float64(i), "hits/article")
}

package archive_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/analysis"
	"github.com/digestbot/digestbot/archive"
	"github.com/digestbot/digestbot/store/storetest"
	"github.com/digestbot/digestbot/summarize"
)

// The lookup benchmark (issue 6, BENCHMARKS.md). It only runs with -bench:
//
//	go test ./archive -run '^$' -bench 'Lookup$' -benchtime 1x        # 5,000 articles
//	go test ./archive -run '^$' -bench 'Lookup100k' -benchtime 1x -timeout 60m
//
// Articles: about 3 KB of text (470 words in sentences of 8-20 words) and a
// title of 8 words, drawn from a 60,000-word synthetic vocabulary with a
// Zipf distribution (s = 1.1, like word frequencies in English news), 40
// sources, published over the last 30 days. As in a bot shared by many
// servers, 10% of the articles (exactly n/10, drawn with their own fixed
// seed, so the words and the queries are those of the all-public corpus
// measured before) are private, each to one of 50 servers
// (digestbot.Article.Guilds); the operator sees them as ordinary articles.
// They are stored in the store and indexed with Index.Add in batches of
// 500; storing and indexing are outside the timed part.
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
// reported: index memory per article (INFO used_memory after indexing
// minus before, divided by the articles; the private articles' visibility
// terms included), the store's own copy of the articles per article (its
// hash and ingest log entry: used_memory after storing minus before, the
// figure the README's sizing rule uses) and the indexing time per article.

func BenchmarkLookup(b *testing.B) { benchLookup(b, 5_000) }

func BenchmarkLookup100k(b *testing.B) { benchLookup(b, 100_000) }

type corpus struct {
	vocab   []string
	arts    []*digestbot.Article
	df      map[string]int
	toks    [][]string // analysed tokens of each article's text
	servers []string   // the servers that own the private articles
	private int        // how many articles are private
}

// Visibility of the generated corpus: privateShare of the articles are
// private, each to one of numServers servers.
const (
	privateShare = 0.10
	numServers   = 50
)

func genCorpus(n int, now time.Time) *corpus {
	r := rand.New(rand.NewPCG(6, 6))
	const vocabSize = 60_000
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
	zipf := rand.NewZipf(rand.New(rand.NewPCG(7, 7)), 1.1, 2, vocabSize-1)
	word := func() string { return vocab[zipf.Uint64()] }
	sources := make([]string, 40)
	for i := range sources {
		sources[i] = fmt.Sprintf("%s %s", strings.ToUpper(vocab[200+i][:1])+vocab[200+i][1:], []string{"Times", "Post", "Daily", "Herald"}[i%4])
	}
	c := &corpus{vocab: vocab, df: map[string]int{}}
	for i := range n {
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
		a := &digestbot.Article{
			ID:        fmt.Sprintf("bench%07d", i),
			Title:     strings.Join(title, " "),
			URL:       "https://news.example/" + strconv.Itoa(i),
			Source:    sources[r.IntN(len(sources))],
			Published: now.Add(-time.Duration(r.Int64N(int64(30 * 24 * time.Hour)))),
			Text:      t,
			Summary:   summarize.Summarize(t, digestbot.MaxSummaryLen),
		}
		c.arts = append(c.arts, a)
		toks := analysis.Terms(a.Text)
		c.toks = append(c.toks, toks)
		seenDoc := map[string]bool{}
		for _, w := range append(analysis.Terms(a.Title), toks...) {
			if !seenDoc[w] {
				seenDoc[w] = true
				c.df[w]++
			}
		}
	}
	// Visibility, with its own seed: the words above, and so the queries,
	// are those of the all-public corpus earlier figures were measured on.
	vr := rand.New(rand.NewPCG(9, 9))
	for i := range numServers {
		c.servers = append(c.servers, strconv.Itoa(1_100_000_000_000_000_000+i*7_919)) // Discord-like ids
	}
	c.private = int(float64(n) * privateShare)
	for _, i := range vr.Perm(n)[:c.private] {
		c.arts[i].Guilds = []string{c.servers[vr.IntN(numServers)]}
	}
	return c
}

// queries draws the benchmark's query sets (see above).
func (c *corpus) queries(per int) map[string][]string {
	r := rand.New(rand.NewPCG(8, 8))
	n := len(c.arts)
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
			toks := c.toks[r.IntN(n)]
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
		toks := c.toks[r.IntN(n)]
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

func benchLookup(b *testing.B, n int) {
	ctx := context.Background()
	st := storetest.Open(b)
	now := time.Now()
	c := genCorpus(n, now)
	idx := archive.New(st.Client(), st.Prefix(), archive.Options{Articles: st})
	const batch = 500
	memEmpty := storetest.UsedMemory(b, st)
	for i := 0; i < n; i += batch {
		if _, err := st.PutArticles(ctx, c.arts[i:min(i+batch, n)]); err != nil {
			b.Fatal(err)
		}
	}
	runtime.GC()
	mem0 := storetest.UsedMemory(b, st)
	t0 := time.Now()
	for i := 0; i < n; i += batch {
		if err := idx.Add(ctx, c.arts[i:min(i+batch, n)]); err != nil {
			b.Fatal(err)
		}
	}
	indexTime := time.Since(t0)
	mem1 := storetest.UsedMemory(b, st)
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
	// Each kind is timed as the operator (mode "") and as a server
	// (mode "-srv"), keyed kind+mode.
	modes := []string{"", "-srv"}
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
					mode := modes[(j+m)%2] // alternate which of the two goes first
					req := archive.Request{Query: q, Now: now}
					if mode != "" {
						req.Guild = guild
					}
					t := time.Now()
					p, err := idx.Search(ctx, req)
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
	text := 0
	for _, a := range c.arts {
		text += len(a.Title) + len(a.Text)
	}
	b.ReportMetric(float64(text)/float64(n), "text-B/article")
	// One log line per kind (go test keeps only the first 10 lines of a
	// benchmark's log): operator, then server.
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
			who := "operator"
			if mode != "" {
				who = " | server"
			}
			sl := slowest[k+mode]
			fmt.Fprintf(&line, "%s p50 %.2f p95 %.2f p99 %.2f ms, mean matches %d, slowest %s (%.1f ms, %d matches)",
				who, pct(0.5), pct(0.95), pct(0.99), hits[k+mode]/len(ls), sl.q, float64(sl.d.Microseconds())/1000, sl.total)
		}
		b.Log(line.String())
	}
	b.Logf("%d articles (%d private to %d servers): index %.0f B/article for %.0f B of title and text (used_memory %d -> %d), indexing %.0f µs/article (%.1fs)",
		n, c.private, numServers, float64(mem1-mem0)/float64(n), float64(text)/float64(n), mem0, mem1, float64(indexTime.Microseconds())/float64(n), indexTime.Seconds())
}

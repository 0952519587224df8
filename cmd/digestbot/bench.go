package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/subscriptions"
	"github.com/digestbot/digestbot/subscriptions/benchgen"
)

const benchSynopsis = `bench match --queries FILE --articles FILE [--per-article OUT]
       digestbot bench gen --queries N --articles N --out DIR [--seed S]

bench match loads the queries (one per line in the subscription language;
the line number is the query id) into the matcher index, warms up on the
first 10% of the articles (JSON lines with id, title, text), times the rest
and prints the figures. --per-article writes ARTICLE_ID<TAB>HITS for every
article, to compare with other engines on the same input.

bench gen writes DIR/queries.txt and DIR/articles.jsonl: generated,
deterministic data (a Zipf-distributed synthetic vocabulary; words,
phrases, OR, prefixes, exclusions, title scopes, some Chinese).`

// cmdBench dispatches the benchmark subcommands.
func cmdBench(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "match":
			return cmdBenchMatch(ctx, e, args[1:])
		case "gen":
			return cmdBenchGen(ctx, e, args[1:])
		}
	}
	fs := newFlags(e, "bench", benchSynopsis)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	fs.Usage()
	return errUsage
}

func cmdBenchMatch(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "bench match", benchSynopsis)
	queriesPath := fs.String("queries", "", "file of queries, one per line")
	articlesPath := fs.String("articles", "", "file of articles, JSON lines with id, title, text")
	perArticle := fs.String("per-article", "", "write ARTICLE_ID<TAB>HITS for every article to this file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *queriesPath == "" || *articlesPath == "" || fs.NArg() > 0 {
		fs.Usage()
		return errUsage
	}
	queries, err := readQueries(*queriesPath)
	if err != nil {
		return err
	}
	arts, err := readBenchArticles(*articlesPath)
	if err != nil {
		return err
	}
	var out io.Writer
	if *perArticle != "" {
		f, err := os.Create(*perArticle)
		if err != nil {
			return digestbot.WrapError(digestbot.EINVALID, err, "cannot create %s", *perArticle)
		}
		defer f.Close()
		w := bufio.NewWriter(f)
		defer w.Flush()
		out = w
	}
	res, err := benchMatch(ctx, queries, arts, out)
	if err != nil {
		return err
	}
	res.print(e.stdout)
	return nil
}

// benchQuery is one query line: its id (line number) and text.
type benchQuery struct {
	id   string
	text string
}

func readQueries(path string) ([]benchQuery, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, digestbot.WrapError(digestbot.EINVALID, err, "cannot read queries %s", path)
	}
	defer f.Close()
	var out []benchQuery
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		if line := sc.Text(); line != "" {
			out = append(out, benchQuery{id: strconv.Itoa(n), text: line})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, digestbot.WrapError(digestbot.EINVALID, err, "cannot read queries %s", path)
	}
	return out, nil
}

func readBenchArticles(path string) ([]benchgen.Article, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, digestbot.WrapError(digestbot.EINVALID, err, "cannot read articles %s", path)
	}
	defer f.Close()
	var out []benchgen.Article
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for n := 1; sc.Scan(); n++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var a benchgen.Article
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			return nil, digestbot.Errorf(digestbot.EINVALID, "articles %s line %d: %v", path, n, err)
		}
		if a.ID == "" {
			return nil, digestbot.Errorf(digestbot.EINVALID, "articles %s line %d: no id", path, n)
		}
		out = append(out, a)
	}
	if err := sc.Err(); err != nil {
		return nil, digestbot.WrapError(digestbot.EINVALID, err, "cannot read articles %s", path)
	}
	return out, nil
}

// benchResult holds the figures of a bench match run.
type benchResult struct {
	queries, articles, warmup int
	hits                      int
	candidates                float64 // per timed article
	rate                      float64 // timed articles per second
	indexMiB                  float64
	build                     time.Duration
}

func (r *benchResult) print(w io.Writer) {
	fmt.Fprintf(w, "queries             %d\n", r.queries)
	fmt.Fprintf(w, "articles            %d (%d warm-up, %d timed)\n", r.articles, r.warmup, r.articles-r.warmup)
	fmt.Fprintf(w, "total hits          %d\n", r.hits)
	fmt.Fprintf(w, "candidates/article  %.1f\n", r.candidates)
	fmt.Fprintf(w, "articles/s          %.0f\n", r.rate)
	fmt.Fprintf(w, "index memory        %.1f MiB\n", r.indexMiB)
	fmt.Fprintf(w, "index build         %s\n", r.build.Round(time.Millisecond))
}

func heapAlloc() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// benchMatch indexes the queries, matches every article (the first 10%
// untimed) and writes per-article hit counts to perArticle when set.
func benchMatch(ctx context.Context, queries []benchQuery, arts []benchgen.Article, perArticle io.Writer) (*benchResult, error) {
	res := &benchResult{queries: len(queries), articles: len(arts), warmup: len(arts) / 10}
	before := heapAlloc()
	start := time.Now()
	x := subscriptions.NewIndex()
	for _, bq := range queries {
		q, err := subscriptions.Parse(bq.text)
		if err != nil {
			return nil, digestbot.Errorf(digestbot.EINVALID, "query on line %s: %s", bq.id, digestbot.ErrorMessage(err))
		}
		if len(q.Topics()) > 0 {
			return nil, digestbot.Errorf(digestbot.EINVALID, "query on line %s refers to a topic; the benchmark has none", bq.id)
		}
		if err := x.Add(bq.id, q); err != nil {
			return nil, err
		}
	}
	res.build = time.Since(start)
	queries = nil // the index holds what it needs; measure only that
	// Signed: on a tiny index the heap can shrink after the build's garbage is collected.
	res.indexMiB = max(0, float64(int64(heapAlloc())-int64(before))) / (1 << 20)

	var d subscriptions.Doc
	var matches []subscriptions.Match // reused across articles, as the matcher job does
	var timedStart time.Time
	var candidatesBefore uint64
	for i := range arts {
		if i == res.warmup {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			candidatesBefore = x.Stats().Candidates
			timedStart = time.Now()
		}
		a := &arts[i]
		d.Reset(a.Title, a.Text, "", nil)
		matches = x.AppendMatches(matches[:0], &d)
		n := len(matches)
		res.hits += n
		if perArticle != nil {
			if _, err := fmt.Fprintf(perArticle, "%s\t%d\n", a.ID, n); err != nil {
				return nil, fmt.Errorf("write per-article hits: %w", err)
			}
		}
	}
	if timed := len(arts) - res.warmup; timed > 0 {
		el := time.Since(timedStart)
		res.rate = float64(timed) / el.Seconds()
		res.candidates = float64(x.Stats().Candidates-candidatesBefore) / float64(timed)
	}
	runtime.KeepAlive(x)
	return res, nil
}

func cmdBenchGen(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "bench gen", benchSynopsis)
	nq := fs.Int("queries", 100_000, "number of queries")
	na := fs.Int("articles", 2_000, "number of articles")
	dir := fs.String("out", "", "directory to write queries.txt and articles.jsonl to")
	seed := fs.Uint64("seed", 1, "seed of the generator: the same seed gives the same data")
	size := fs.Int("article-bytes", 3_000, "approximate text size of an article")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *dir == "" || *nq < 0 || *na < 0 || fs.NArg() > 0 {
		fs.Usage()
		return errUsage
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return digestbot.WrapError(digestbot.EINVALID, err, "cannot create %s", *dir)
	}
	g := benchgen.New(benchgen.Options{Seed: *seed, ArticleBytes: *size})
	qpath, apath := filepath.Join(*dir, "queries.txt"), filepath.Join(*dir, "articles.jsonl")
	err := writeFile(qpath, func(w *bufio.Writer) error {
		for _, q := range g.Queries(*nq) {
			w.WriteString(q)
			w.WriteByte('\n')
		}
		return nil
	})
	if err == nil {
		err = writeFile(apath, func(w *bufio.Writer) error {
			enc := json.NewEncoder(w)
			enc.SetEscapeHTML(false)
			for _, a := range g.Articles(*na) {
				if err := enc.Encode(a); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "wrote %d queries to %s and %d articles to %s\n", *nq, qpath, *na, apath)
	return nil
}

func writeFile(path string, fill func(*bufio.Writer) error) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return digestbot.WrapError(digestbot.EINVALID, err, "cannot create %s", path)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("close %s: %w", path, cerr)
		}
	}()
	w := bufio.NewWriter(f)
	if err := fill(w); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/archive"
	botcommands "github.com/digestbot/digestbot/commands"
	"github.com/digestbot/digestbot/lease"
	"github.com/digestbot/digestbot/store"
)

// newArchive returns the lookup index over st's articles. It is written
// from the store's ingest log (archive.Index.CatchUp), by the bot's indexer
// or by indexLog.
func newArchive(st *store.Store) *archive.Index {
	return archive.New(st.Client(), st.Prefix(), archive.Options{Retention: st.Retention(), Articles: st})
}

// indexLease is the lease under which one process at a time writes the
// lookup index from the ingest log: the bot's indexer, or indexLog.
const indexLease = "lookup-index"

// indexUnder indexes the ingest log into idx to its end under l, waiting up
// to wait for it; ran is false when another process held it all that time
// (that one indexes).
func indexUnder(ctx context.Context, l *lease.Lease, idx *archive.Index, st *store.Store, wait time.Duration) (indexed int, ran bool, err error) {
	ran, err = l.Do(ctx, wait, func(ctx context.Context) error {
		var err error
		indexed, err = idx.CatchUp(ctx, st)
		return err
	})
	return indexed, ran, err
}

// indexLog indexes the ingest log for a command that stored articles
// without a bot (digestbot ingest); a running bot holds the lease and
// indexes them itself.
func indexLog(ctx context.Context, st *store.Store, wait time.Duration) (ran bool, err error) {
	_, ran, err = indexUnder(ctx, &lease.Lease{Store: st, Name: indexLease, Holder: lease.NewHolder()}, newArchive(st), st, wait)
	return ran, err
}

const lookupSynopsis = `lookup [--json] [--since D] [--source S] [--limit N] [--cursor C] QUERY
       digestbot lookup --rebuild [QUERY]

Searches the article archive, best first: relevance (BM25 over title and
text, the title counting more) blended with recency. QUERY is in the
subscription language: words (all must occur), "exact phrases", OR,
-excluded, (groups), prefix*, title: source: tag:. Several arguments are
joined with spaces. --rebuild first rebuilds the lookup index from the
store's ingest log beside the live one, which answers lookups until the new
one replaces it (after a restore, or if the index was lost).`

// cmdLookup searches the archive.
func cmdLookup(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "lookup", lookupSynopsis)
	asJSON := fs.Bool("json", false, "print one JSON article object per line (with \"matched\"), nothing else on stdout")
	since := fs.String("since", "", "only articles published since: a duration (24h, 7d, 2w) or a date (2021-03-20)")
	source := fs.String("source", "", "only articles whose source name contains these words")
	limit := fs.Int("limit", archive.DefaultLimit, fmt.Sprintf("results per page, 1 to %d", archive.MaxLimit))
	cur := fs.String("cursor", "", "continue after a previous page (the cursor it printed)")
	rebuild := fs.Bool("rebuild", false, "rebuild the lookup index from the stored articles first")
	words, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	query := strings.TrimSpace(strings.Join(words, " "))
	if query == "" && !*rebuild {
		fs.Usage()
		return errUsage
	}
	if *limit < 1 || *limit > archive.MaxLimit {
		return digestbot.Errorf(digestbot.EINVALID, "--limit %d: want 1 to %d", *limit, archive.MaxLimit)
	}
	now := time.Now()
	req := archive.Request{Query: query, Source: strings.TrimSpace(*source), Limit: *limit, Cursor: *cur, Now: now}
	if *since != "" {
		t, err := botcommands.ParseSince(strings.TrimSpace(*since), now)
		if err != nil {
			return err
		}
		req.Since = t
	}

	st, err := openStore(ctx, e)
	if err != nil {
		return err
	}
	defer st.Close()
	idx := newArchive(st)
	if *rebuild {
		// One rebuild at a time, whichever host starts it; lookups go on
		// answering from the live index meanwhile.
		var n int
		l := &lease.Lease{Store: st, Name: "lookup-rebuild", Holder: lease.NewHolder()}
		ran, err := l.Do(ctx, 0, func(ctx context.Context) error {
			var err error
			n, err = idx.Rebuild(ctx, st)
			return err
		})
		if err != nil {
			return fmt.Errorf("rebuilding the lookup index: %w", err)
		}
		if !ran {
			return digestbot.Errorf(digestbot.ECONFLICT, "another rebuild of the lookup index is running; try again when it is done")
		}
		fmt.Fprintf(e.stderr, "lookup index rebuilt: %d articles\n", n)
		if query == "" {
			return nil
		}
	}
	page, err := idx.Search(ctx, req)
	if err != nil {
		return err
	}
	if *asJSON {
		return printLookupJSON(e, page)
	}
	return printLookup(e.stdout, page, req)
}

// parseInterspersed parses flags that may come before or after the
// positional words ("lookup Confucius --json"); "--" ends the flags. An
// argument that starts with a single '-' but names no flag of the command
// is a word, so a query may start with an exclusion ('-bmw china')
// without "--".
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var words []string
	for len(args) > 0 {
		a := args[0]
		if a == "--" {
			return append(words, args[1:]...), nil
		}
		name, hasValue, ok := flagName(a)
		// A single-dash argument that names no flag is a query word; a
		// double-dash one is a mistyped flag, and parseFlags says so.
		if !ok || (fs.Lookup(name) == nil && name != "h" && name != "help" && !strings.HasPrefix(a, "--")) {
			words = append(words, a)
			args = args[1:]
			continue
		}
		n := 1 // this flag, and its value when given apart
		if f := fs.Lookup(name); f != nil && !hasValue && !isBoolFlag(f) && len(args) > 1 {
			n = 2
		}
		if err := parseFlags(fs, args[:n]); err != nil {
			return nil, err
		}
		args = args[n:]
	}
	return words, nil
}

// flagName reads "-name", "--name" or "--name=value".
func flagName(a string) (name string, hasValue, ok bool) {
	if len(a) < 2 || a[0] != '-' {
		return "", false, false
	}
	name = strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
	name, _, hasValue = strings.Cut(name, "=")
	return name, hasValue, name != "" && !strings.ContainsAny(name, " \t")
}

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// lookupResultJSON is the article object of DESIGN.md plus what ranks it:
// the score and the snippet with the matched terms in **bold**.
type lookupResultJSON struct {
	digestbot.ArticleJSON
	Score   float64 `json:"score"`
	Snippet string  `json:"snippet"`
}

func printLookupJSON(e *env, page *archive.Page) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetEscapeHTML(false)
	for _, r := range page.Results {
		if err := enc.Encode(lookupResultJSON{ArticleJSON: r.Article.JSON(r.Matched), Score: r.Score, Snippet: r.Snippet}); err != nil {
			return fmt.Errorf("writing article %s: %w", r.Article.ID, err)
		}
	}
	fmt.Fprintln(e.stderr, lookupFooter(page))
	return nil
}

// printLookup writes the human listing: rank, title, source, date, link and
// the snippet with the matched terms in **bold**.
func printLookup(w io.Writer, page *archive.Page, req archive.Request) error {
	if len(page.Results) == 0 {
		_, err := fmt.Fprintf(w, "No article matches %s.\n", req.Query)
		return err
	}
	var b strings.Builder
	for i, r := range page.Results {
		a := r.Article
		date := "no date"
		if !a.Published.IsZero() {
			date = a.Published.UTC().Format("2006-01-02")
		}
		fmt.Fprintf(&b, "%d. %s\n   %s · %s", i+1, a.Title, a.Source, date)
		if a.URL != "" {
			fmt.Fprintf(&b, " · %s", a.URL)
		}
		b.WriteString("\n")
		writeOtherSources(&b, "   ", a)
		if r.Snippet != "" {
			fmt.Fprintf(&b, "   %s\n", r.Snippet)
		}
		b.WriteString("\n")
	}
	b.WriteString(lookupFooter(page))
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func lookupFooter(page *archive.Page) string {
	s := fmt.Sprintf("%d articles match", page.Total)
	if page.Total == 1 {
		s = "1 article matches"
	}
	if page.Next != "" {
		s += fmt.Sprintf("; next page: --cursor %s", page.Next)
	}
	return s
}

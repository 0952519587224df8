package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/config"
	"github.com/digestbot/digestbot/ingest"
)

// cmdIngest reads feeds and newsletters from files, URLs or stdin and stores
// their articles (or, with --dry-run, only prints them). Every source is
// read and parsed before anything is stored, so a bad source stores nothing.
func cmdIngest(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "ingest", "ingest [--dry-run] [--json] [--format F] [--name NAME] SOURCE...\n\n"+
		"SOURCE is a file, an http(s) URL or - (stdin): an RSS, Atom or JSON feed or a text newsletter.\n"+
		"Options may also follow the sources; after -- every argument is a source.")
	dryRun := fs.Bool("dry-run", false, "parse and print, store nothing")
	asJSON := fs.Bool("json", false, "print one JSON article object per line")
	format := fs.String("format", "", "force the format: rss, atom, json or newsletter (default: detect)")
	name := fs.String("name", "", "source name for every article (default: the feed title or the newsletter's Source line)")
	// Flags may follow the sources ("ingest brief.txt --dry-run"), as for
	// lookup and match.
	sources, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(sources) == 0 {
		fs.Usage()
		return errUsage
	}
	switch *format {
	case "", ingest.FormatRSS, ingest.FormatAtom, ingest.FormatJSON, ingest.FormatNewsletter:
	default:
		fmt.Fprintf(e.stderr, "digestbot ingest: --format %q: want rss, atom, json or newsletter\n", *format)
		return errUsage
	}

	opts := ingest.LoadOptions{Format: *format, Stdin: e.stdin, SourceName: *name}
	for _, src := range sources {
		if strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://") {
			// URLs are fetched as the bot fetches feeds: same guard, timeouts and caps.
			cfg, err := loadConfig(e)
			if err != nil {
				return err
			}
			opts.Fetcher = newFetcher(cfg)
			break
		}
	}
	var all []*digestbot.Article
	for _, src := range sources {
		arts, err := ingest.Load(ctx, src, opts)
		if err != nil {
			return err
		}
		all = append(all, arts...)
	}

	if *dryRun {
		if err := printArticles(e.stdout, all, *asJSON); err != nil {
			return err
		}
		fmt.Fprintf(summaryOut(e, *asJSON), "%s (dry run: nothing stored)\n", countArticles(len(all)))
		return nil
	}

	st, err := openStore(ctx, e)
	if err != nil {
		return err
	}
	defer st.Close()
	var progress io.Writer
	if f, ok := e.stderr.(*os.File); ok && isTerminal(f) && len(all) >= progressMin {
		progress = e.stderr
	}
	counts, err := ingestInto(ctx, st, all, progress, nil)
	if err != nil {
		return err
	}
	// The lookup index follows the ingest log: a running bot indexes what
	// was stored; without one, this command does, so that lookup finds it.
	if _, err := indexLog(ctx, st, 0); err != nil {
		return fmt.Errorf("stored, but indexing for lookup failed (a running bot, or the next ingest, indexes it): %w", err)
	}
	if *asJSON {
		if err := printArticles(e.stdout, all, true); err != nil {
			return err
		}
	}
	fmt.Fprintf(summaryOut(e, *asJSON), "%d new, %d updated, %d unchanged\n",
		counts[digestbot.PutNew], counts[digestbot.PutUpdated], counts[digestbot.PutUnchanged])
	return nil
}

// countArticles is "1 article", "2 articles".
func countArticles(n int) string {
	if n == 1 {
		return "1 article"
	}
	return fmt.Sprintf("%d articles", n)
}

// progressMin is the number of articles from which storing shows progress.
const progressMin = 1000

// ingestBatch is how many articles go to the store in one pipelined call.
const ingestBatch = 500

// ingestInto stores articles in batches and counts the outcomes; onStored,
// if set, sees each stored batch (the lookup index). When progress is set, a
// self-overwriting progress line is written to it.
func ingestInto(ctx context.Context, st digestbot.ArticleStore, arts []*digestbot.Article, progress io.Writer, onStored func(context.Context, []*digestbot.Article, []digestbot.PutOutcome)) (map[digestbot.PutOutcome]int, error) {
	counts := map[digestbot.PutOutcome]int{}
	for i := 0; i < len(arts); i += ingestBatch {
		batch := arts[i:min(i+ingestBatch, len(arts))]
		outs, err := st.PutArticles(ctx, batch)
		if err != nil {
			if progress != nil {
				fmt.Fprintln(progress)
			}
			return counts, fmt.Errorf("storing articles %d-%d of %d: %w", i+1, i+len(batch), len(arts), err)
		}
		for _, o := range outs {
			counts[o]++
		}
		if onStored != nil {
			onStored(ctx, batch, outs)
		}
		if progress != nil {
			fmt.Fprintf(progress, "\rstored %d of %d articles", i+len(batch), len(arts))
		}
	}
	if progress != nil && len(arts) > 0 {
		fmt.Fprintln(progress)
	}
	return counts, nil
}

// printArticles writes JSON lines, or a short human listing.
func printArticles(w io.Writer, arts []*digestbot.Article, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for _, a := range arts {
			if err := enc.Encode(a.JSON(nil)); err != nil {
				return fmt.Errorf("writing article %s: %w", a.ID, err)
			}
		}
		return nil
	}
	for _, a := range arts {
		date := "(no date)"
		if !a.Published.IsZero() {
			date = a.Published.UTC().Format("2006-01-02")
		}
		if _, err := fmt.Fprintf(w, "%s  %s  %s\n", date, a.Source, a.Title); err != nil {
			return err
		}
		if a.URL != "" {
			fmt.Fprintf(w, "            %s\n", a.URL)
		}
		writeOtherSources(w, "            ", a)
	}
	return nil
}

// summaryOut is where the closing count goes: stderr when stdout carries JSON.
func summaryOut(e *env, asJSON bool) io.Writer {
	if asJSON {
		return e.stderr
	}
	return e.stdout
}

// userAgent names the bot and its version to the feeds it fetches.
func userAgent() string {
	return "digestbot/" + Version + " (+https://github.com/digestbot/digestbot)"
}

// newFetcher is the one HTTP client configuration for feeds: the SSRF
// guard (DIGESTBOT_ALLOW_PRIVATE_FEEDS), timeouts and body cap from the config.
func newFetcher(cfg *config.Config) *ingest.Fetcher {
	return ingest.NewFetcher(ingest.FetcherOptions{
		AllowPrivate: cfg.AllowPrivateFeeds,
		Timeout:      cfg.Polling.Timeout,
		MaxBodyBytes: cfg.Polling.MaxBodyBytes,
		UserAgent:    userAgent(),
	})
}

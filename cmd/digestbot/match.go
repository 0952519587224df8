package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/ingest"
	"github.com/digestbot/digestbot/subscriptions"
)

const matchSynopsis = `match [--json] QUERY SOURCE...

Shows which articles of SOURCE (files, http(s) URLs or - for stdin: feeds
or text newsletters, as ingest reads them) the QUERY matches, and why: the
query terms each article matched. Nothing is stored. QUERY is in the
subscription language: words (all must occur), "exact phrases", OR,
-excluded, (groups), prefix*, title: source: tag:, topic:NAME (topics of the
configuration file). Quote it for the shell: '"facial recognition" -BMW'.`

// cmdMatch runs one query over the articles of some sources.
func cmdMatch(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "match", matchSynopsis)
	asJSON := fs.Bool("json", false, "print one JSON article object per line, with \"matched\"; nothing else on stdout")
	words, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(words) < 2 {
		fs.Usage()
		return errUsage
	}
	q, err := subscriptions.Parse(words[0])
	if err != nil {
		return err
	}
	if len(q.Topics()) > 0 {
		if q, err = resolveConfigTopics(e, q); err != nil {
			return err
		}
	}
	opts := ingest.LoadOptions{Stdin: e.stdin}
	for _, src := range words[1:] {
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
	var arts []*digestbot.Article
	for _, src := range words[1:] {
		a, err := ingest.Load(ctx, src, opts)
		if err != nil {
			return err
		}
		arts = append(arts, a...)
	}
	hits := matchArticles(q, arts)
	if err := printMatches(e.stdout, hits, *asJSON); err != nil {
		return err
	}
	sum := summaryOut(e, *asJSON)
	fmt.Fprintf(sum, "%d of %d articles match %s\n", len(hits), len(arts), q)
	// A query that finds nothing is often one whose exclusion removed the
	// story the user had in mind: say so.
	var d subscriptions.Doc
	for _, a := range arts {
		d.ResetArticle(a)
		if ex := q.Excluded(&d); len(ex) > 0 {
			fmt.Fprintf(sum, "  left out by %s: %s\n", strings.Join(ex, ", "), a.Title)
		}
	}
	return nil
}

// resolveConfigTopics replaces topic references with the operator's topics
// from the configuration file.
func resolveConfigTopics(e *env, q *subscriptions.Query) (*subscriptions.Query, error) {
	cfg, err := loadConfig(e)
	if err != nil {
		return nil, err
	}
	topics := map[string]string{}
	for _, t := range cfg.Topics {
		topics[digestbot.NormalizeTopicName(t.Name)] = t.Query
	}
	var parseErr error
	r, err := q.ResolveTopics(func(name string) (*subscriptions.Query, bool) {
		text, ok := topics[name]
		if !ok {
			return nil, false
		}
		tq, err := subscriptions.Parse(text)
		if err != nil {
			parseErr = fmt.Errorf("topic %s in the configuration: %w", name, err)
			return nil, false
		}
		return tq, true
	})
	if parseErr != nil {
		return nil, parseErr
	}
	return r, err
}

// articleMatch is one matching article and the terms that made it match.
type articleMatch struct {
	article *digestbot.Article
	terms   []string
}

// matchArticles returns the articles q matches, in their order.
func matchArticles(q *subscriptions.Query, arts []*digestbot.Article) []articleMatch {
	var out []articleMatch
	var d subscriptions.Doc
	for _, a := range arts {
		d.ResetArticle(a)
		if terms, ok := q.Match(&d); ok {
			out = append(out, articleMatch{a, terms})
		}
	}
	return out
}

func printMatches(w io.Writer, hits []articleMatch, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for _, h := range hits {
			if err := enc.Encode(h.article.JSON(h.terms)); err != nil {
				return fmt.Errorf("writing article %s: %w", h.article.ID, err)
			}
		}
		return nil
	}
	for _, h := range hits {
		a := h.article
		date := "no date"
		if !a.Published.IsZero() {
			date = a.Published.UTC().Format("2006-01-02")
		}
		fmt.Fprintf(w, "%s\n  %s · %s", a.Title, a.Source, date)
		if a.URL != "" {
			fmt.Fprintf(w, " · %s", a.URL)
		}
		fmt.Fprintln(w)
		writeOtherSources(w, "  ", a)
		if _, err := fmt.Fprintf(w, "  matched: %s\n\n", strings.Join(h.terms, ", ")); err != nil {
			return err
		}
	}
	return nil
}

// writeOtherSources lists the outlets of a story after its first, one a
// line: "also: Northsound Radio · 2026-11-11 · https://…".
func writeOtherSources(w io.Writer, indent string, a *digestbot.Article) {
	if len(a.Sources) < 2 {
		return
	}
	for _, s := range a.Sources[1:] {
		date := "no date"
		if !s.Published.IsZero() {
			date = s.Published.UTC().Format("2006-01-02")
		}
		fmt.Fprintf(w, "%salso: %s · %s", indent, s.Name, date)
		if s.URL != "" {
			fmt.Fprintf(w, " · %s", s.URL)
		}
		fmt.Fprintln(w)
	}
}

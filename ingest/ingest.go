// Package ingest turns sources into normalised articles: RSS 0.9x/1.0/2.0,
// Atom and JSON Feed documents (parsed with gofeed) and plain-text
// newsletters (see ParseNewsletter), from files, stdin or http(s) URLs
// fetched by a Fetcher that refuses private addresses. It also holds the
// feed Poller run inside the bot and the push API handler.
//
// Normalisation is the same for every format: HTML becomes plain text, the
// declared charset is honoured, URLs are made canonical (see CanonicalURL),
// the id is digestbot.ArticleID of the canonical URL (else the GUID, else
// source and title), the summary is the extractive lead (package summarize),
// and Published comes only from the feed or the newsletter's source date;
// it stays zero when unknown or untrusted (see checkPublished) and is never
// the ingest time.
package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/summarize"
)

// Formats that Load and Parse understand; "" detects.
const (
	FormatRSS        = "rss"
	FormatAtom       = "atom"
	FormatJSON       = "json"
	FormatNewsletter = "newsletter"
)

// LoadOptions tune Load and Parse.
type LoadOptions struct {
	// Format forces a format ("rss", "atom", "json", "newsletter"); "" detects it.
	Format string
	// Stdin is read for the source "-".
	Stdin io.Reader
	// Fetcher fetches http(s) sources; nil means a default Fetcher that
	// refuses private addresses.
	Fetcher *Fetcher
	// SourceName overrides the source name of every article (a configured
	// feed's name); "" keeps the feed title or the newsletter's source line.
	SourceName string
	// Now is the clock for Ingested; nil means time.Now.
	Now func() time.Time
	// ContentType is the Content-Type the bytes came with (its charset is
	// honoured); Load sets it for URLs.
	ContentType string
	// MaxFileBytes caps what is read from a file or stdin; 0 means 64 MiB.
	MaxFileBytes int64
}

func (o LoadOptions) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

// SummaryLen is the size of article summaries, in runes.
const SummaryLen = digestbot.MaxSummaryLen

const defaultMaxFileBytes = 64 << 20

// Load reads source — a file path, an http(s) URL or "-" for opts.Stdin —
// and returns its articles, normalised, in document order. Errors are
// *digestbot.Error values: EINVALID naming the source (and the line, for a
// newsletter) when the content is not a feed or a newsletter, ENOTFOUND for
// a missing file, EUNAVAILABLE or EFORBIDDEN from fetching. On error no
// article is returned.
func Load(ctx context.Context, source string, opts LoadOptions) ([]*digestbot.Article, error) {
	var data []byte
	switch {
	case source == "-":
		if opts.Stdin == nil {
			return nil, digestbot.Errorf(digestbot.EINVALID, "no standard input to read for -")
		}
		b, err := readCapped(opts.Stdin, opts.maxFileBytes())
		if err != nil {
			return nil, wrapRead(err, "standard input", opts.maxFileBytes())
		}
		data = b
	case isHTTPURL(source):
		f := opts.Fetcher
		if f == nil {
			f = NewFetcher(FetcherOptions{})
		}
		res, err := f.Fetch(ctx, FetchRequest{URL: source})
		if err != nil {
			return nil, err
		}
		data = res.Body
		if opts.ContentType == "" {
			opts.ContentType = res.ContentType
		}
	default:
		fh, err := os.Open(source)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				if strings.Contains(source, "://") {
					return nil, digestbot.Errorf(digestbot.EINVALID, "%s: only http and https URLs can be fetched", source)
				}
				return nil, digestbot.Errorf(digestbot.ENOTFOUND, "%s: no such file", source)
			}
			return nil, digestbot.WrapError(digestbot.EINVALID, err, "cannot open %s", source)
		}
		defer fh.Close()
		b, err := readCapped(fh, opts.maxFileBytes())
		if err != nil {
			return nil, wrapRead(err, source, opts.maxFileBytes())
		}
		data = b
	}
	return Parse(data, source, opts)
}

func (o LoadOptions) maxFileBytes() int64 {
	if o.MaxFileBytes > 0 {
		return o.MaxFileBytes
	}
	return defaultMaxFileBytes
}

var errTooLarge = errors.New("input too large")

func readCapped(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, errTooLarge
	}
	return b, nil
}

func wrapRead(err error, what string, max int64) error {
	if errors.Is(err, errTooLarge) {
		return digestbot.Errorf(digestbot.ELIMIT, "%s is larger than %d bytes", what, max)
	}
	return digestbot.WrapError(digestbot.EINVALID, err, "cannot read %s", what)
}

func isHTTPURL(s string) bool {
	l := strings.ToLower(s)
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://")
}

// Parse returns the normalised articles of data, a feed or newsletter
// document named name (a file or URL: used in errors, as Article.Feed, and
// to resolve relative links when it is a URL). Items repeated within one
// document are returned once; feed items with neither title nor text are
// skipped. On error no article is returned.
func Parse(data []byte, name string, opts LoadOptions) ([]*digestbot.Article, error) {
	data, err := fromUTF16(data)
	if err != nil {
		return nil, digestbot.WrapError(digestbot.EINVALID, err, "%s: cannot decode UTF-16", name)
	}
	format := strings.ToLower(strings.TrimSpace(opts.Format))
	if format == "" {
		var err error
		if format, err = detect(data, name); err != nil {
			return nil, err
		}
	}
	var arts []*digestbot.Article
	switch format {
	case FormatRSS, FormatAtom, FormatJSON:
		arts, err = parseFeed(data, name, format, opts)
	case FormatNewsletter:
		arts, err = parseNewsletter(data, name, opts)
	default:
		return nil, digestbot.Errorf(digestbot.EINVALID, "unknown format %q: use rss, atom, json or newsletter", opts.Format)
	}
	if err != nil {
		return nil, err
	}
	return dedupe(arts), nil
}

// DetectFormat names the format of data: "rss", "atom", "json",
// "newsletter", or "" when it is none of them.
func DetectFormat(data []byte) string {
	f, _ := detect(data, "input")
	return f
}

// detect names the format of data or explains, naming name and a line,
// why it is none of them.
func detect(data []byte, name string) (string, error) {
	trimmed := bytes.TrimLeft(bytes.TrimPrefix(data, []byte("\ufeff")), " \t\r\n")
	if len(trimmed) == 0 {
		return "", digestbot.Errorf(digestbot.EINVALID, "%s: the document is empty: no feed or newsletter in it", name)
	}
	switch trimmed[0] {
	case '<':
		root := xmlRoot(data)
		switch root {
		case "rss", "rdf":
			return FormatRSS, nil
		case "feed":
			return FormatAtom, nil
		case "html":
			return "", digestbot.Errorf(digestbot.EINVALID, "%s:%d: this is an HTML page, not a feed or newsletter; give the feed's own URL (RSS, Atom or JSON Feed)", name, lineOf(data, trimmed))
		case "":
			return "", digestbot.Errorf(digestbot.EINVALID, "%s:%d: this starts like XML but has no readable root element", name, lineOf(data, trimmed))
		default:
			return "", digestbot.Errorf(digestbot.EINVALID, "%s:%d: XML root element <%s> is not a feed (want <rss>, <rdf:RDF> or <feed>)", name, lineOf(data, trimmed), root)
		}
	case '{':
		return FormatJSON, nil
	case '[':
		// A JSON array is JSON, not a JSON Feed; the JSON Feed check says so
		// (checkJSONFeed). Text that only opens with a bracket may still be
		// a newsletter.
		if json.Valid(data) {
			return FormatJSON, nil
		}
	}
	if hasSourceLine(data) {
		return FormatNewsletter, nil
	}
	return "", digestbot.Errorf(digestbot.EINVALID,
		"%s:%d: this is neither a feed (RSS, Atom, JSON Feed) nor a text newsletter (no line starts with \"Source:\")", name, lineOf(data, trimmed))
}

// lineOf returns the 1-based line at which rest (a suffix of data) starts.
func lineOf(data, rest []byte) int {
	return bytes.Count(data[:len(data)-len(rest)], []byte("\n")) + 1
}

// hasSourceLine reports whether some line reads as a newsletter source line.
func hasSourceLine(data []byte) bool {
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		line = bytes.TrimLeft(line, " \t\xc2\xa0")
		if len(line) >= 7 && sourceLine.Match(bytes.TrimSpace(line)) {
			return true
		}
	}
	return false
}

// parseNewsletter reads a newsletter and normalises its stories.
func parseNewsletter(data []byte, name string, opts LoadOptions) ([]*digestbot.Article, error) {
	text, err := decodeText(data, opts.ContentType)
	if err != nil {
		return nil, digestbot.WrapError(digestbot.EINVALID, err, "%s: cannot decode text", name)
	}
	stories, err := ParseNewsletter(string(text), name)
	if err != nil {
		return nil, err
	}
	now := opts.now()
	arts := make([]*digestbot.Article, 0, len(stories))
	for _, st := range stories {
		first := st.Sources[0]
		source := first.Name
		if opts.SourceName != "" {
			source = opts.SourceName
		}
		// A newsletter dates its sources by the day ("March 20, 2021").
		var others []digestbot.Source
		for _, s := range st.Sources[1:] {
			others = append(others, digestbot.Source{Name: s.Name, URL: s.URL, Published: s.Published, DateOnly: true})
		}
		a := newArticle(rawArticle{
			title:     st.Title,
			text:      strings.Join(st.Paragraphs, "\n\n"),
			url:       first.URL,
			source:    source,
			published: first.Published,
			dateOnly:  true,
			others:    others,
			feed:      name,
		}, now)
		if a == nil {
			return nil, digestbot.Errorf(digestbot.EINVALID, "%s:%d: story has no title", name, st.Line)
		}
		arts = append(arts, a)
	}
	return arts, nil
}

// rawArticle is what a format yields before normalisation.
type rawArticle struct {
	title, text string // text plain or HTML
	html        bool   // text (and title) may hold markup
	url, base   string
	guid        string
	source      string
	published   time.Time
	dateOnly    bool               // published is a calendar date without a time of day
	others      []digestbot.Source // the outlets after the first, as written
	tags        []string
	language    string // BCP 47: the feed's declared language, or the article's own
	// ownLanguage says language was given with the article itself (the
	// push API), not declared for a whole feed: it wins over detection.
	ownLanguage bool
	feed        string
}

// newArticle normalises r, or returns nil when it has neither title nor text.
func newArticle(r rawArticle, now time.Time) *digestbot.Article {
	title, text := r.title, r.text
	if r.html {
		title, text = HTMLToText(title), HTMLToText(text)
	} else {
		text = foldParagraphs(text)
	}
	title = FoldSpace(title)
	text = truncateBytes(text, digestbot.MaxTextLen)
	if title == "" {
		if text == "" {
			return nil
		}
		// Untitled items (RSS allows them) are named by their opening words.
		title = summarize.Cut(firstSentence(text), 100)
	}
	title = truncateBytes(title, digestbot.MaxTitleLen)
	canon, _ := CanonicalURL(r.url, r.base)
	guid := FoldSpace(r.guid)
	source := FoldSpace(r.source)
	a := &digestbot.Article{
		ID:       digestbot.ArticleID(canon, guid, source, title),
		Title:    title,
		URL:      canon,
		Source:   source,
		Ingested: now.UTC(),
		Text:     text,
		Summary:  summarize.Summarize(text, SummaryLen),
		Tags:     cleanTags(r.tags),
		Language: articleLanguage(r, title, text),
		Feed:     r.feed,
	}
	a.Published, a.DateOnly = publishedTime(r.published, r.dateOnly, now)
	if len(r.others) > 0 {
		a.Sources = append(make([]digestbot.Source, 0, 1+len(r.others)),
			digestbot.Source{Name: a.Source, URL: a.URL, Published: a.Published, DateOnly: a.DateOnly})
		for _, o := range r.others {
			s := digestbot.Source{Name: FoldSpace(o.Name)}
			s.Published, s.DateOnly = publishedTime(o.Published, o.DateOnly, now)
			s.URL, _ = CanonicalURL(o.URL, r.base)
			if s.Name == "" && s.URL != "" {
				s.Name = hostOf(s.URL)
			}
			a.Sources = append(a.Sources, s)
		}
	}
	return a
}

// publishedTime is trustedTime for a publication time that may be a date
// only: then it is midnight UTC of the day as written (whatever zone a
// parser gave it), so it reads as that day everywhere.
func publishedTime(t time.Time, dateOnly bool, now time.Time) (time.Time, bool) {
	if dateOnly && !t.IsZero() {
		y, m, d := t.Date()
		t = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	}
	t = trustedTime(t, now)
	return t, dateOnly && !t.IsZero()
}

// trustedTime is t in UTC when checkPublished trusts it, else zero.
func trustedTime(t, now time.Time) time.Time {
	if t.IsZero() || checkPublished(t, now) != "" {
		return time.Time{}
	}
	return t.UTC()
}

// maxPublishedAhead is how far after the ingest time a publication time is
// still trusted: enough for clocks and time zones that are off by a day.
const maxPublishedAhead = 48 * time.Hour

// earliestPublished is the first trusted publication time.
var earliestPublished = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)

// checkPublished is the one rule for publication times, for feeds,
// newsletters and the push API alike. It returns "" when t (non-zero) is
// trusted, else why not, worded to follow the time ("... is more than 48h
// in the future"). A time more than maxPublishedAhead after now, the ingest
// time, is a wrong year, a wrong clock or a publisher pinning its item:
// digests put the newest first, so the item would lead every digest until
// the date came. A time before 1970 is a placeholder (year 1, 1900, a Unix
// 0 shifted by a time zone), not news. Feeds and newsletters then store the
// time as unknown (newArticle), never the ingest time in its place, since
// the rest of the item is fine and its publisher is not there to ask; the
// push API refuses the item (pushArticle), since its sender can fix it.
func checkPublished(t, now time.Time) string {
	switch {
	case t.Before(earliestPublished):
		return "is before 1970-01-01"
	case t.After(now.Add(maxPublishedAhead)):
		return fmt.Sprintf("is more than %dh in the future (the ingest time is %s)",
			int(maxPublishedAhead/time.Hour), now.UTC().Format(time.RFC3339))
	}
	return ""
}

func firstSentence(text string) string {
	if s := summarize.Sentences(text); len(s) > 0 {
		return s[0]
	}
	return text
}

// cleanTags folds, de-duplicates (case-insensitively) and bounds tags.
func cleanTags(tags []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, t := range tags {
		t = FoldSpace(HTMLToText(t))
		if t == "" || len(t) > 100 {
			continue
		}
		k := strings.ToLower(t)
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, t)
		if len(out) == digestbot.MaxTags {
			break
		}
	}
	return out
}

// truncateBytes shortens s to at most max bytes at a word boundary when
// there is one in the last part, else at a rune boundary.
func truncateBytes(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max - len(summarize.Ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	if sp := strings.LastIndexAny(s[:cut], " \n"); sp > cut-200 && sp > 0 {
		cut = sp
	}
	return strings.TrimRight(s[:cut], " \n") + summarize.Ellipsis
}

// dedupe keeps the first article of every id.
func dedupe(arts []*digestbot.Article) []*digestbot.Article {
	seen := make(map[string]bool, len(arts))
	out := arts[:0]
	for _, a := range arts {
		if seen[a.ID] {
			continue
		}
		seen[a.ID] = true
		out = append(out, a)
	}
	return out
}

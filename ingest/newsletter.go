package ingest

import (
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	digestbot "github.com/digestbot/digestbot"
)

// NewsletterStory is one story of a text newsletter, before normalisation.
type NewsletterStory struct {
	Line       int // line of the title, 1-based
	Title      string
	Paragraphs []string
	Sources    []NewsletterSource // at least one
}

// NewsletterSource is one "NAME, DATE" entry of a story's source block.
type NewsletterSource struct {
	Line      int
	Name      string
	Published time.Time // zero when the line has no date
	URL       string    // as written; empty when none follows
}

// sourceLine matches the start of a source block; the rest of the line is
// either "NAME, DATE" or empty (a numbered list follows).
var sourceLine = regexp.MustCompile(`(?i)^sources?\s*[:：]\s*(.*)$`)

// numberedSource matches "1. NAME, DATE" (or "1) ...").
var numberedSource = regexp.MustCompile(`^(\d{1,2})[.)]\s+(.+)$`)

// maxSourceLineRunes: a longer line starting with "Source:" is prose, not
// a source line.
const maxSourceLineRunes = 300

// chromeLines are navigation texts that saved pages carry around stories.
var chromeLines = map[string]bool{
	"skip to content": true, "skip to main content": true, "back to top": true,
	"menu": true, "home": true, "print": true, "share": true, "share this:": true,
	"share this": true, "search": true, "close": true, "advertisement": true,
}

// ParseNewsletter splits a plain-text newsletter into stories. name is used
// in error messages ("name:12: ..."). It fails when no story is found or a
// source block cannot be read; it never returns part of the stories.
//
// A newsletter is plain text, the way a team's weekly brief looks when saved
// from a web page or an e-mail:
//
//	Skip to content                      <- page chrome, ignored
//
//	Title of the first story             <- title line
//
//	First paragraph ...                  <- paragraphs; lines holding only
//	                                        spaces or no-break spaces are blank
//	Source: Outlet Name, March 20, 2021  <- source line: NAME, DATE
//	https://example.com/story            <- the story's URL
//
//	Title of the next story
//	...
//	Source:                              <- or a numbered list of sources,
//	1. Outlet One, March 19, 2021           each followed by its URL
//	https://one.example/a
//	2. Outlet Two, March 18, 2021
//	https://two.example/b
//
//	Share this page                      <- trailing chrome, ignored
//
// A story ends with its source block. Page chrome before the first story
// may be any number of short heading-like lines: the first title is the last
// of them before the first line that reads like prose (a "By ..." byline is
// passed over and dropped; short lines ending in a full stop are the
// story's paragraphs). When the first story has no such prose line, its
// first line is the title and the rest is kept as text, as for later stories. Known navigation lines ("Skip to content", "Back
// to top", ...) are dropped at the start of every story. With a numbered list, every
// entry is a source of the story (Article.Sources, with its own name, date
// and link) and the first also gives the article's Source, Published and
// URL; no entry becomes part of the story's text. A list may hold at most
// digestbot.MaxSources entries.
func ParseNewsletter(text, name string) ([]NewsletterStory, error) {
	text = strings.TrimPrefix(text, "\ufeff")
	lines := strings.Split(strings.ReplaceAll(strings.ReplaceAll(text, "\r\n", "\n"), "\r", "\n"), "\n")
	type line struct {
		n    int
		text string
	}
	var (
		stories []NewsletterStory
		pending []line // non-blank lines since the last source block
	)
	// next returns the index of the next non-blank line at or after i, or len(lines).
	next := func(i int) int {
		for i < len(lines) && FoldSpace(lines[i]) == "" {
			i++
		}
		return i
	}
	for i := 0; i < len(lines); i++ {
		t := FoldSpace(lines[i])
		if t == "" {
			continue
		}
		m := sourceLine.FindStringSubmatch(t)
		if m == nil || utf8.RuneCountInString(t) > maxSourceLineRunes {
			pending = append(pending, line{i + 1, t})
			continue
		}
		srcLine := i + 1
		var sources []NewsletterSource
		if rest := m[1]; rest != "" {
			src, err := parseSourceEntry(rest, name, i+1)
			if err != nil {
				return nil, err
			}
			if src.URL == "" {
				if j := next(i + 1); j < len(lines) && isURLLine(lines[j]) {
					src.URL = FoldSpace(lines[j])
					i = j
				}
			}
			sources = append(sources, src)
		} else {
			j := next(i + 1)
			for j < len(lines) {
				e := numberedSource.FindStringSubmatch(FoldSpace(lines[j]))
				if e == nil {
					break
				}
				src, err := parseSourceEntry(e[2], name, j+1)
				if err != nil {
					return nil, err
				}
				if len(sources) == digestbot.MaxSources {
					return nil, digestbot.Errorf(digestbot.EINVALID,
						"%s:%d: more than %d sources for one story", name, j+1, digestbot.MaxSources)
				}
				i = j
				if k := next(j + 1); src.URL == "" && k < len(lines) && isURLLine(lines[k]) {
					src.URL = FoldSpace(lines[k])
					i = k
				}
				sources = append(sources, src)
				j = next(i + 1)
			}
			if len(sources) == 0 {
				return nil, digestbot.Errorf(digestbot.EINVALID,
					"%s:%d: %q is followed neither by \"NAME, DATE\" nor by a numbered list of sources (\"1. NAME, DATE\")", name, i+1, t)
			}
		}
		body := dropChrome(pending, func(l line) string { return l.text })
		if len(body) == 0 {
			return nil, digestbot.Errorf(digestbot.EINVALID, "%s:%d: source line without a story (title and text) before it", name, srcLine)
		}
		title := 0
		if len(stories) == 0 {
			title = leadTitle(body, func(l line) string { return l.text })
		}
		st := NewsletterStory{Line: body[title].n, Title: body[title].text, Sources: sources}
		paras := body[title+1:]
		if len(paras) > 1 && isByline(paras[0].text) {
			paras = paras[1:]
		}
		for _, l := range paras {
			st.Paragraphs = append(st.Paragraphs, l.text)
		}
		stories = append(stories, st)
		pending = pending[:0]
	}
	// Whatever follows the last source block is page chrome (or a story
	// without a source, which the format cannot tell apart from chrome).
	if len(stories) == 0 {
		return nil, digestbot.Errorf(digestbot.EINVALID,
			"%s:1: no story found: each newsletter story ends with a line \"Source: NAME, DATE\" followed by its URL", name)
	}
	return stories, nil
}

// dropChrome removes navigation lines at the start of a story.
func dropChrome[T any](ls []T, text func(T) string) []T {
	for len(ls) > 0 && chromeLines[strings.ToLower(text(ls[0]))] {
		ls = ls[1:]
	}
	return ls
}

// leadTitle finds the title of the first story, which may be preceded by
// page chrome of any kind. The anchor is the first line that reads like
// body text; the title is the last heading-like line before it. Short lines
// between the title and that anchor that end like a sentence ("Second
// para.") are short paragraphs of the story, not headings, and a byline
// such as "By ..." is passed over. When the story has no line that reads
// like body text, or no heading-like line comes before it, nothing tells
// chrome from story: the first line is the title and every other line is
// kept as text, since dropping a story's text silently is worse than
// keeping a stray heading.
func leadTitle[T any](ls []T, text func(T) string) int {
	body := -1
	for i, l := range ls {
		if isBodyLine(text(l)) {
			body = i
			break
		}
	}
	if body <= 0 {
		return 0
	}
	for t := body - 1; t >= 0; t-- {
		if s := text(ls[t]); !endsSentence(s) && !isByline(s) {
			return t
		}
	}
	return 0
}

// endsSentence reports whether a line ends with a full stop (possibly
// inside closing quotes or brackets), as a paragraph does and a heading
// rarely does. A question or exclamation mark is not counted: headings
// end with them often enough.
func endsSentence(s string) bool {
	s = strings.TrimRight(s, "”\"’')）」』")
	last, _ := utf8.DecodeLastRuneInString(s)
	return strings.ContainsRune(".。…", last)
}

// isByline reports whether a line names the author ("By Jane Doe"); it is
// dropped from the story's text.
func isByline(s string) bool {
	return strings.HasPrefix(s, "By ") && utf8.RuneCountInString(s) <= 80 && !isBodyLine(s)
}

// isBodyLine reports whether a line reads like a paragraph rather than a
// heading: long, or a sentence of several words ending in a full stop.
func isBodyLine(s string) bool {
	if utf8.RuneCountInString(s) > 120 {
		return true
	}
	last, _ := utf8.DecodeLastRuneInString(s)
	if !strings.ContainsRune(".。!！”\"’…", last) {
		return false
	}
	// Six words, or for text written without spaces (Chinese, Japanese)
	// twenty characters.
	return len(strings.Fields(s)) >= 6 || (utf8.RuneCountInString(s) >= 20 && !strings.Contains(s, " "))
}

// isURLLine reports whether a line is a single http(s) URL.
func isURLLine(s string) bool {
	s = FoldSpace(s)
	lower := strings.ToLower(s)
	return (strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://")) && !strings.Contains(s, " ")
}

// parseSourceEntry reads "NAME, DATE" (or just "NAME"), optionally followed
// on the same line by the URL. The name may itself hold commas ("Acme,
// Inc., March 3, 2021"): the date is the longest tail after a comma that
// reads as a date.
func parseSourceEntry(s, file string, line int) (NewsletterSource, error) {
	s = strings.TrimSpace(s)
	var url string
	if k := strings.LastIndexByte(s, ' '); k >= 0 && isURLLine(s[k+1:]) {
		s, url = strings.TrimRight(strings.TrimSpace(s[:k]), ","), s[k+1:]
	}
	src, err := parseNameDate(s, file, line)
	src.URL = url
	return src, err
}

func parseNameDate(s, file string, line int) (NewsletterSource, error) {
	for i := 0; i < len(s); i++ {
		if s[i] != ',' {
			continue
		}
		if t, ok := parseDate(s[i+1:]); ok {
			name := strings.TrimSpace(s[:i])
			if name == "" {
				break
			}
			return NewsletterSource{Line: line, Name: name, Published: t}, nil
		}
	}
	if i := strings.LastIndexByte(s, ','); i >= 0 && strings.ContainsAny(s[i:], "0123456789") {
		return NewsletterSource{}, digestbot.Errorf(digestbot.EINVALID,
			"%s:%d: cannot read the date in %q; write the source as \"NAME, March 20, 2021\" or \"NAME, 2021-03-20\"", file, line, s)
	}
	if s == "" {
		return NewsletterSource{}, digestbot.Errorf(digestbot.EINVALID, "%s:%d: source entry has no name", file, line)
	}
	return NewsletterSource{Line: line, Name: s}, nil
}

// dateLayouts are the ways newsletters write a source date.
var dateLayouts = []string{
	"January 2, 2006", "January 2 2006", "Jan 2, 2006", "Jan 2 2006",
	"2 January 2006", "2 Jan 2006", "2 January, 2006", "2006-01-02", "2006/01/02",
	"Monday, January 2, 2006", "Mon, January 2, 2006", "Monday, 2 January 2006",
	"2006年1月2日",
}

// parseDate reads a calendar date as midnight UTC: the day is what the
// source states; no time of day or zone is invented.
func parseDate(s string) (time.Time, bool) {
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "."))
	if s == "" || len(s) > 40 {
		return time.Time{}, false
	}
	s = strings.Replace(s, ".", "", 1) // "Jan. 5, 2021"
	s = strings.Replace(s, "Sept ", "Sep ", 1)
	for _, layout := range dateLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

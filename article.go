package digestbot

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
	"unicode/utf8"
)

// Article limits. They bound what one article may cost in storage and in
// matching; ingest cuts or refuses beyond them.
const (
	MaxTitleLen   = 1000    // bytes
	MaxTextLen    = 200_000 // bytes of plain text kept per article
	MaxSummaryLen = 300     // characters (runes)
	MaxTags       = 50
	MaxURLLen     = 2048
	MaxSources    = 20 // outlets listed for one story
)

// Source is one outlet that carried a story: its name, and the link and
// date of its report when known.
type Source struct {
	Name      string    `json:"name"`
	URL       string    `json:"url,omitempty"`      // canonical http(s) URL
	Published time.Time `json:"published,omitzero"` // zero when unknown
	// DateOnly says that Published is a calendar date (midnight UTC of
	// the day), not a moment: the outlet gave no time of day.
	DateOnly bool `json:"date_only,omitempty"`
}

// Article is one news story in the archive.
type Article struct {
	ID        string    `json:"id"`        // ArticleID of the canonical URL, else GUID, else source+title
	Title     string    `json:"title"`     // plain text
	URL       string    `json:"url"`       // canonical http(s) URL; may be empty for newsletter stories without one
	Source    string    `json:"source"`    // outlet name, e.g. "Xinhua"
	Published time.Time `json:"published"` // zero when unknown; never the ingest time
	// DateOnly says that Published is a calendar date, not a moment: a
	// newsletter's "March 20, 2021", or a feed item dated without a time.
	// It is midnight UTC of that day, to be shown as the date it is, in
	// no time zone (20 Mar, not the evening of 19 Mar in New York).
	DateOnly bool      `json:"date_only,omitempty"`
	Ingested time.Time `json:"ingested"` // when the archive first stored it
	Text     string    `json:"text"`     // plain text, HTML removed
	Summary  string    `json:"summary"`  // extractive, at most MaxSummaryLen runes
	Tags     []string  `json:"tags,omitempty"`
	Language string    `json:"language,omitempty"` // BCP 47 tag when known
	Feed     string    `json:"feed,omitempty"`     // URL or file it came from
	// Sources lists every outlet of a story that several carried (a
	// newsletter story with a numbered source list), in the order given;
	// the first is the article's own Source, URL and Published. It is
	// empty when the article has one outlet: AllSources covers both.
	Sources []Source `json:"sources,omitempty"`
	// Guilds are the servers whose own feeds brought the article in; only
	// they may see it (in matches and lookups). Empty means every server:
	// the operator's feeds, the push API and the command line bring in
	// public articles, and one public source makes an article public. The
	// store keeps the set apart from the body and merges it on every put.
	Guilds []string `json:"-"`
}

// VisibleTo reports whether guildID may see a: a public article, or one
// that a feed of guildID brought in.
func (a *Article) VisibleTo(guildID string) bool {
	if len(a.Guilds) == 0 {
		return true
	}
	for _, g := range a.Guilds {
		if g == guildID {
			return true
		}
	}
	return false
}

// AllSources returns every outlet of a, the first being its own Source, URL
// and Published; nil when a names no outlet at all.
func (a *Article) AllSources() []Source {
	if len(a.Sources) > 0 {
		return a.Sources
	}
	if a.Source == "" && a.URL == "" {
		return nil
	}
	return []Source{{Name: a.Source, URL: a.URL, Published: a.Published, DateOnly: a.DateOnly}}
}

// SourceNames returns the name of every outlet of a, in the order of
// AllSources; a single-outlet article gives its Source.
func (a *Article) SourceNames() []string {
	if len(a.Sources) == 0 {
		return []string{a.Source}
	}
	names := make([]string, len(a.Sources))
	for i, s := range a.Sources {
		names[i] = s.Name
	}
	return names
}

// ArticleID returns the stable id of an article: a hash of the canonical URL
// when there is one, else of the GUID, else of source and title. The inputs
// must already be canonical (see ingest).
func ArticleID(canonicalURL, guid, source, title string) string {
	var key string
	switch {
	case canonicalURL != "":
		key = "url:" + canonicalURL
	case guid != "":
		key = "guid:" + guid
	default:
		key = "st:" + strings.ToLower(strings.TrimSpace(source)) + "\x00" + strings.ToLower(strings.TrimSpace(title))
	}
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:12])
}

// Validate reports the first problem with a, as an EINVALID error.
func (a *Article) Validate() error {
	switch {
	case a.ID == "":
		return Errorf(EINVALID, "article has no id")
	case strings.TrimSpace(a.Title) == "":
		return Errorf(EINVALID, "article %s has no title", a.ID)
	case len(a.Title) > MaxTitleLen:
		return Errorf(EINVALID, "article %s: title is %d bytes, the limit is %d", a.ID, len(a.Title), MaxTitleLen)
	case len(a.URL) > MaxURLLen:
		return Errorf(EINVALID, "article %s: url is %d bytes, the limit is %d", a.ID, len(a.URL), MaxURLLen)
	case a.URL != "" && !strings.HasPrefix(a.URL, "http://") && !strings.HasPrefix(a.URL, "https://"):
		return Errorf(EINVALID, "article %s: url %q is not http or https", a.ID, a.URL)
	case len(a.Text) > MaxTextLen:
		return Errorf(EINVALID, "article %s: text is %d bytes, the limit is %d", a.ID, len(a.Text), MaxTextLen)
	case utf8.RuneCountInString(a.Summary) > MaxSummaryLen:
		return Errorf(EINVALID, "article %s: summary is longer than %d characters", a.ID, MaxSummaryLen)
	case len(a.Tags) > MaxTags:
		return Errorf(EINVALID, "article %s: %d tags, the limit is %d", a.ID, len(a.Tags), MaxTags)
	}
	return a.validateSources()
}

// validateSources checks Sources against the article's own outlet and the
// limits of its links.
func (a *Article) validateSources() error {
	if len(a.Sources) == 0 {
		return nil
	}
	if len(a.Sources) > MaxSources {
		return Errorf(EINVALID, "article %s: %d sources, the limit is %d", a.ID, len(a.Sources), MaxSources)
	}
	if first := a.Sources[0]; first.Name != a.Source || first.URL != a.URL || !first.Published.Equal(a.Published) || first.DateOnly != a.DateOnly {
		return Errorf(EINVALID, "article %s: the first of its sources (%q, %q) is not its own source and url (%q, %q)", a.ID, first.Name, first.URL, a.Source, a.URL)
	}
	for i, s := range a.Sources {
		switch {
		case strings.TrimSpace(s.Name) == "" && s.URL == "":
			return Errorf(EINVALID, "article %s: source %d has neither a name nor a url", a.ID, i+1)
		case len(s.URL) > MaxURLLen:
			return Errorf(EINVALID, "article %s: the url of source %d is %d bytes, the limit is %d", a.ID, i+1, len(s.URL), MaxURLLen)
		case s.URL != "" && !strings.HasPrefix(s.URL, "http://") && !strings.HasPrefix(s.URL, "https://"):
			return Errorf(EINVALID, "article %s: the url %q of source %d is not http or https", a.ID, s.URL, i+1)
		}
	}
	return nil
}

// ArticleJSON is the stable JSON form of an article printed by the commands
// (ingest --json, match --json, lookup --json) and taken by the push API.
type ArticleJSON struct {
	ID        string       `json:"id"`
	Title     string       `json:"title"`
	URL       string       `json:"url"`
	Source    string       `json:"source"`
	Published string       `json:"published"` // RFC 3339 or ""
	Summary   string       `json:"summary"`
	Text      string       `json:"text"`
	Tags      []string     `json:"tags"`
	Sources   []SourceJSON `json:"sources"`           // every outlet, the first being source, url and published
	Language  string       `json:"language"`          // BCP 47 ("en", "zh-CN"); "" when unknown
	Matched   []string     `json:"matched,omitempty"` // only from match
}

// SourceJSON is the stable JSON form of one outlet of an article.
type SourceJSON struct {
	Name      string `json:"name"`
	URL       string `json:"url"`
	Published string `json:"published"` // RFC 3339 or ""
}

// JSON returns the stable JSON form of a; matched is set by match only.
func (a *Article) JSON(matched []string) ArticleJSON {
	j := ArticleJSON{
		ID: a.ID, Title: a.Title, URL: a.URL, Source: a.Source,
		Summary: a.Summary, Text: a.Text, Tags: a.Tags, Language: a.Language, Matched: matched,
	}
	if j.Tags == nil {
		j.Tags = []string{}
	}
	j.Published = jsonTime(a.Published)
	j.Sources = []SourceJSON{}
	for _, s := range a.AllSources() {
		j.Sources = append(j.Sources, SourceJSON{Name: s.Name, URL: s.URL, Published: jsonTime(s.Published)})
	}
	return j
}

// jsonTime is t in the JSON forms: RFC 3339 in UTC, "" when unknown.
func jsonTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// PutOutcome says what storing an article did.
type PutOutcome int

// Outcomes of storing an article.
const (
	PutNew       PutOutcome = iota // stored for the first time; will be matched
	PutUpdated                     // existed; its text, title or summary changed and were updated; not matched again
	PutUnchanged                   // existed with the same content
)

func (o PutOutcome) String() string {
	switch o {
	case PutNew:
		return "new"
	case PutUpdated:
		return "updated"
	default:
		return "unchanged"
	}
}

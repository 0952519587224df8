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
)

// Article is one news story in the archive.
type Article struct {
	ID        string    `json:"id"`        // ArticleID of the canonical URL, else GUID, else source+title
	Title     string    `json:"title"`     // plain text
	URL       string    `json:"url"`       // canonical http(s) URL; may be empty for newsletter stories without one
	Source    string    `json:"source"`    // outlet name, e.g. "Xinhua"
	Published time.Time `json:"published"` // zero when unknown; never the ingest time
	Ingested  time.Time `json:"ingested"`  // when the archive first stored it
	Text      string    `json:"text"`      // plain text, HTML removed
	Summary   string    `json:"summary"`   // extractive, at most MaxSummaryLen runes
	Tags      []string  `json:"tags,omitempty"`
	Language  string    `json:"language,omitempty"` // BCP 47 tag when known
	Feed      string    `json:"feed,omitempty"`     // URL or file it came from
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
	return nil
}

// ArticleJSON is the stable JSON form of an article printed by the commands
// (ingest --json, match --json, lookup --json) and taken by the push API.
type ArticleJSON struct {
	ID        string   `json:"id"`
	Title     string   `json:"title"`
	URL       string   `json:"url"`
	Source    string   `json:"source"`
	Published string   `json:"published"` // RFC 3339 or ""
	Summary   string   `json:"summary"`
	Text      string   `json:"text"`
	Tags      []string `json:"tags"`
	Matched   []string `json:"matched,omitempty"` // only from match
}

// JSON returns the stable JSON form of a; matched is set by match only.
func (a *Article) JSON(matched []string) ArticleJSON {
	j := ArticleJSON{
		ID: a.ID, Title: a.Title, URL: a.URL, Source: a.Source,
		Summary: a.Summary, Text: a.Text, Tags: a.Tags, Matched: matched,
	}
	if j.Tags == nil {
		j.Tags = []string{}
	}
	if !a.Published.IsZero() {
		j.Published = a.Published.UTC().Format(time.RFC3339)
	}
	return j
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

package commands

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/config"
	"github.com/digestbot/digestbot/digest"
)

// LookupQuery is a /lookup request as the archive sees it.
type LookupQuery struct {
	Query  string
	Since  time.Time
	Source string
	Cursor string
	Limit  int
	// Guild is the server asking: it sees public articles and those its
	// own feeds brought in, never another server's.
	Guild string
}

// LookupResult is one article found.
type LookupResult struct {
	Title, URL, Source string
	Published          time.Time
	Snippet            string // summary with the matched terms in **bold**
}

// LookupPage is one page of results.
type LookupPage struct {
	Results []LookupResult
	Next    string // cursor of the next page; "" at the end
	Total   int
}

// lookupState is what a lookup's buttons need later: the query and the
// page on screen. It is kept in the store (not in this process), so the
// replica that receives the button need not be the one that ran the lookup.
type lookupState struct {
	Query LookupQuery `json:"query"`
	Shown *LookupPage `json:"shown"`
}

// lookupTTL is how long a lookup's buttons keep working (an interaction
// token lives 15 minutes).
const lookupTTL = 15 * time.Minute

func (s *Service) lookup(ctx context.Context, req *Request) (*Response, error) {
	q := LookupQuery{Query: strings.TrimSpace(req.Options["query"]), Source: strings.TrimSpace(req.Options["source"]), Limit: 5}
	if since := strings.TrimSpace(req.Options["since"]); since != "" {
		t, err := ParseSince(since, s.now())
		if err != nil {
			return nil, err
		}
		q.Since = t
	}
	if s.Search == nil {
		return nil, digestbot.Errorf(digestbot.EUNAVAILABLE, "lookup is not available here")
	}
	return s.lookupPage(ctx, req.GuildID, q)
}

func (s *Service) lookupPage(ctx context.Context, guildID string, q LookupQuery) (*Response, error) {
	q.Guild = guildID
	page, err := s.Search(ctx, q)
	if err != nil {
		return nil, err
	}
	r := &Response{Ephemeral: true}
	if len(page.Results) == 0 {
		r.Content = fmt.Sprintf("No article matches `%s`.", q.Query)
		return r, nil
	}
	r.Content = fmt.Sprintf("%s %s `%s`:", count(page.Total, "article", "articles"), plural(page.Total, "matches", "match"), q.Query)
	r.Embeds = resultEmbeds(page.Results)
	id, err := s.remember(ctx, guildID, &lookupState{Query: q, Shown: page})
	if err != nil {
		return nil, err
	}
	if page.Next != "" {
		r.Buttons = append(r.Buttons, Button{Label: "Next page", CustomID: "lookup-next:" + id})
	}
	r.Buttons = append(r.Buttons, Button{Label: "Share in channel", CustomID: "lookup-share:" + id})
	return r, nil
}

func resultEmbeds(rs []LookupResult) []digest.Embed {
	out := make([]digest.Embed, 0, len(rs))
	for _, res := range rs {
		footer := res.Source
		if !res.Published.IsZero() {
			footer += " · " + res.Published.UTC().Format("2006-01-02")
		}
		out = append(out, digest.Embed{Title: clip(res.Title, 256), URL: res.URL, Description: clip(res.Snippet, 1000), Footer: footer, Timestamp: res.Published})
	}
	return out
}

func (s *Service) remember(ctx context.Context, guildID string, st *lookupState) (string, error) {
	b, err := json.Marshal(st)
	if err != nil {
		return "", digestbot.WrapError(digestbot.EINTERNAL, err, "save lookup")
	}
	var r [9]byte
	rand.Read(r[:])
	id := hex.EncodeToString(r[:])
	if err := s.Store.SaveLookup(ctx, guildID, id, b, lookupTTL); err != nil {
		return "", err
	}
	return id, nil
}

func (s *Service) button(ctx context.Context, req *Request) (*Response, error) {
	kind, id, _ := strings.Cut(req.Options["id"], ":")
	b, err := s.Store.LoadLookup(ctx, req.GuildID, id)
	if digestbot.ErrorCode(err) == digestbot.ENOTFOUND {
		return nil, digestbot.Errorf(digestbot.ENOTFOUND, "this lookup has expired; run /lookup again")
	}
	if err != nil {
		return nil, err
	}
	var st lookupState
	if err := json.Unmarshal(b, &st); err != nil || st.Shown == nil {
		return nil, digestbot.Errorf(digestbot.ENOTFOUND, "this lookup has expired; run /lookup again")
	}
	switch kind {
	case "lookup-next":
		q := st.Query
		q.Cursor = st.Shown.Next
		return s.lookupPage(ctx, req.GuildID, q)
	case "lookup-share":
		return &Response{Content: fmt.Sprintf("<@%s> shared results for `%s`:", req.UserID, st.Query.Query), Embeds: resultEmbeds(st.Shown.Results)}, nil
	}
	return nil, digestbot.Errorf(digestbot.EINVALID, "unknown button")
}

// ParseSince reads a /lookup since option: a duration like 24h or 7d, or a
// date (2021-03-20, taken in UTC).
func ParseSince(v string, now time.Time) (time.Time, error) {
	if t, err := time.Parse("2006-01-02", v); err == nil {
		return t, nil
	}
	d, err := config.ParseDuration(v)
	if err != nil || d <= 0 {
		return time.Time{}, digestbot.Errorf(digestbot.EINVALID, "since %q: want a duration such as 24h or 7d, or a date such as 2021-03-20", v)
	}
	return now.Add(-d), nil
}

package commands

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
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
	// Limit is the most results wanted, best first.
	Limit int
	// Guild is the server asking: it sees public articles and those its
	// own feeds brought in, never another server's.
	Guild string
	// IDs, when set, asks for exactly these articles in this order (a
	// page of a lookup already ranked), with their snippets for Query;
	// those no longer kept or no longer visible to Guild are left out and
	// counted in LookupPage.Gone. Since, Source and Limit are not applied.
	IDs []string `json:",omitempty"`
}

// LookupResult is one article found.
type LookupResult struct {
	ID                 string
	Title, URL, Source string
	Published          time.Time
	// DateOnly: Published is a calendar date; the embed shows the date
	// and no timestamp, which Discord would show in the reader's time
	// zone (the evening before, in the Americas).
	DateOnly bool
	Snippet  string // summary with the matched terms in **bold**
	// Sources are every outlet of the article with its link, its own
	// first (a newsletter story may name several); empty when it names
	// none.
	Sources []digestbot.Source
	// Also lists the outlets of the other reports of the same story, best
	// first (see lookupState.Also), each once.
	Also []digestbot.Source
}

// LookupPage is what a search found.
type LookupPage struct {
	Results []LookupResult
	// Total is how many articles match: at least len(Results), more when
	// Limit cut the list.
	Total int
	// Gone counts the asked IDs left out (see LookupQuery.IDs).
	Gone int
}

// A /lookup is ranked once, when it runs: the ids of its results (at most
// maxLookupResults, best first) are kept in the store with the query, and
// every page is a slice of that list. So page 3 shows what page 3 showed,
// however many matching articles arrive between two clicks, and any
// replica answers the buttons. The list holds the best 100 (20 pages): it
// is verified on the stored articles when the lookup runs, which costs
// about 0.1 ms an article (BENCHMARKS.md, "lookup, first answer"), and
// nobody turns more pages in a chat.
const (
	lookupPageSize   = 5
	maxLookupResults = 100
	// lookupTTL is how long a lookup's buttons keep working (an
	// interaction token lives 15 minutes).
	lookupTTL = 15 * time.Minute
)

// Button custom ids of a lookup: "lookup-next:STATE:N" shows page N
// (from 0) of the lookup kept under STATE, as does lookup-prev;
// "lookup-share:STATE:N" posts page N in the channel.
const (
	lookupPrev  = "lookup-prev:"
	lookupNext  = "lookup-next:"
	lookupShare = "lookup-share:"
)

// lookupState is what a lookup's buttons need later. It is written once
// and never changed.
type lookupState struct {
	Query LookupQuery `json:"query"`
	Since string      `json:"since,omitempty"` // as the member wrote it, echoed on every page
	// IDs are the stories found, each by its best report, best first: the
	// pages list them.
	IDs []string `json:"ids"`
	// Also holds, by a story's best report, the other reports of it among
	// the results (other outlets' copies, merged by the digest's rule:
	// digest.Stories), best first. A page shows them under their story
	// rather than as results of their own, as a digest does.
	Also  map[string][]string `json:"also,omitempty"`
	Total int                 `json:"total"`
}

func (st *lookupState) pages() int { return (len(st.IDs) + lookupPageSize - 1) / lookupPageSize }

func (st *lookupState) page(n int) []string {
	return st.IDs[n*lookupPageSize : min((n+1)*lookupPageSize, len(st.IDs))]
}

func (s *Service) lookup(ctx context.Context, req *Request) (*Response, error) {
	st := &lookupState{
		Query: LookupQuery{Query: strings.TrimSpace(req.Options["query"]), Source: strings.TrimSpace(req.Options["source"]), Limit: maxLookupResults, Guild: req.GuildID},
		Since: strings.TrimSpace(req.Options["since"]),
	}
	if st.Since != "" {
		t, err := ParseSince(st.Since, s.now())
		if err != nil {
			return nil, err
		}
		st.Query.Since = t
	}
	if s.Search == nil {
		return nil, digestbot.Errorf(digestbot.EUNAVAILABLE, "lookup is not available here")
	}
	found, err := s.Search(ctx, st.Query)
	if err != nil {
		return nil, err
	}
	if len(found.Results) == 0 {
		return &Response{Content: fmt.Sprintf("No article matches `%s`%s.", st.Query.Query, st.filters()), Ephemeral: true}, nil
	}
	st.group(found.Results)
	st.Total = max(found.Total, len(found.Results))
	id, err := s.remember(ctx, req.GuildID, st)
	if err != nil {
		return nil, err
	}
	// The first page is on hand: no need to read its articles again.
	results, _ := st.show(0, found.Results)
	return lookupResponse(id, st, 0, results, 0), nil
}

// group keeps the results, best first, as stories: each story by its best
// report, with the other reports of it in Also.
func (st *lookupState) group(results []LookupResult) {
	refs := make([]digest.StoryRef, len(results))
	for i, r := range results {
		refs[i] = digest.StoryRef{Title: r.Title, Published: r.Published}
	}
	for _, g := range digest.Stories(refs) {
		lead := results[g[0]].ID
		st.IDs = append(st.IDs, lead)
		for _, k := range g[1:] {
			if st.Also == nil {
				st.Also = map[string][]string{}
			}
			st.Also[lead] = append(st.Also[lead], results[k].ID)
		}
	}
}

// pageIDs are the articles page n shows: its stories' best reports and
// their other reports.
func (st *lookupState) pageIDs(n int) []string {
	var ids []string
	for _, id := range st.page(n) {
		ids = append(ids, id)
		ids = append(ids, st.Also[id]...)
	}
	return ids
}

// show is page n as results, each story's other reports in its Also,
// from the articles read (any order; more than the page is fine); gone
// counts the page's stories none of whose reports was read (expired).
// A story whose best report expired is led by the next one.
func (st *lookupState) show(n int, read []LookupResult) (out []LookupResult, gone int) {
	byID := make(map[string]*LookupResult, len(read))
	for i := range read {
		byID[read[i].ID] = &read[i]
	}
	for _, id := range st.page(n) {
		var story *LookupResult
		for _, m := range append([]string{id}, st.Also[id]...) {
			r := byID[m]
			switch {
			case r == nil:
			case story == nil:
				c := *r
				c.Also = nil
				story = &c
			default:
				srcs := r.Sources
				if len(srcs) == 0 {
					srcs = []digestbot.Source{{Name: r.Source, URL: r.URL, Published: r.Published, DateOnly: r.DateOnly}}
				}
				for _, src := range srcs {
					same := func(s digestbot.Source) bool { return s.Name == src.Name && s.URL == src.URL }
					if !slices.ContainsFunc(story.Sources, same) && !slices.ContainsFunc(story.Also, same) {
						story.Also = append(story.Also, src)
					}
				}
			}
		}
		if story == nil {
			gone++
			continue
		}
		out = append(out, *story)
	}
	return out, gone
}

// filters echoes the options that narrowed the lookup.
func (st *lookupState) filters() string {
	var f []string
	if st.Since != "" {
		f = append(f, "since "+st.Since)
	}
	if st.Query.Source != "" {
		f = append(f, "source: "+st.Query.Source)
	}
	if len(f) == 0 {
		return ""
	}
	return " (" + strings.Join(f, ", ") + ")"
}

// heading is the first lines of page n: what matched, the filters, where
// the page is in the list, and whether the list was cut.
func (st *lookupState) heading(n int) string {
	kept := len(st.IDs)
	for _, also := range st.Also {
		kept += len(also)
	}
	capped := st.Total > kept
	// When outlets' reports were merged, the pages list fewer results
	// than the articles counted: say how many stories they make.
	asStories, keptAsStories := "", ""
	if len(st.IDs) < kept {
		if capped {
			keptAsStories = " (" + stories(len(st.IDs)) + ")"
		} else {
			asStories = " (" + stories(len(st.IDs)) + ")"
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s%s %s `%s`%s:", thousands(st.Total), plural(st.Total, "article", "articles"), asStories, plural(st.Total, "matches", "match"), st.Query.Query, st.filters())
	if st.pages() > 1 || capped {
		fmt.Fprintf(&b, "\nPage %d of %d", n+1, st.pages())
		if capped {
			fmt.Fprintf(&b, " · the first %s of %s%s, best first; narrow the query or since to see the rest", thousands(kept), thousands(st.Total), keptAsStories)
		}
	}
	return b.String()
}

// lookupResponse is page n of the lookup kept under id, showing results
// (gone of the page's articles having expired since the lookup ran).
func lookupResponse(id string, st *lookupState, n int, results []LookupResult, gone int) *Response {
	content := st.heading(n)
	if gone > 0 {
		content += fmt.Sprintf("\n_Left out: %s of this page that expired since the lookup ran._", stories(gone))
	}
	r := &Response{Content: content, Embeds: resultEmbeds(results), Ephemeral: true}
	if n > 0 {
		r.Buttons = append(r.Buttons, Button{Label: "◀ Previous", CustomID: fmt.Sprintf("%s%s:%d", lookupPrev, id, n-1)})
	}
	if n+1 < st.pages() {
		r.Buttons = append(r.Buttons, Button{Label: "Next ▶", CustomID: fmt.Sprintf("%s%s:%d", lookupNext, id, n+1)})
	}
	if len(results) > 0 {
		r.Buttons = append(r.Buttons, Button{Label: "Share in channel", CustomID: fmt.Sprintf("%s%s:%d", lookupShare, id, n)})
	}
	return r
}

func resultEmbeds(rs []LookupResult) []digest.Embed {
	out := make([]digest.Embed, 0, len(rs))
	for _, res := range rs {
		footer := res.Source
		if !res.Published.IsZero() {
			footer += " · " + res.Published.UTC().Format("2006-01-02")
		}
		desc := clip(res.Snippet, 1000)
		if len(res.Also) > 0 {
			// Every link whole or counted, as in a digest.
			also := "Also reported by:\n" + digest.SourcesBlock(res.Also, time.UTC, 400)
			desc = clip(res.Snippet, 1000-len([]rune(also))-2) + "\n\n" + also
		}
		e := digest.Embed{Title: clip(res.Title, 256), URL: res.URL, Description: desc, Footer: footer, Timestamp: res.Published}
		if res.DateOnly {
			e.Timestamp = time.Time{}
		}
		out = append(out, e)
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

// button answers a lookup's Previous, Next and Share buttons from the
// list kept when the lookup ran.
func (s *Service) button(ctx context.Context, req *Request) (*Response, error) {
	expired := digestbot.Errorf(digestbot.ENOTFOUND, "this lookup has expired; run /lookup again")
	v := req.Options["id"]
	kind := ""
	for _, k := range []string{lookupPrev, lookupNext, lookupShare} {
		if rest, ok := strings.CutPrefix(v, k); ok {
			kind, v = k, rest
		}
	}
	if kind == "" {
		return nil, digestbot.Errorf(digestbot.EINVALID, "unknown button")
	}
	id, num, _ := strings.Cut(v, ":")
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 {
		return nil, expired // a button of the paging before lists were kept
	}
	b, err := s.Store.LoadLookup(ctx, req.GuildID, id)
	if digestbot.ErrorCode(err) == digestbot.ENOTFOUND {
		return nil, expired
	}
	if err != nil {
		return nil, err
	}
	var st lookupState
	if err := json.Unmarshal(b, &st); err != nil || n >= st.pages() {
		return nil, expired
	}
	if s.Search == nil {
		return nil, digestbot.Errorf(digestbot.EUNAVAILABLE, "lookup is not available here")
	}
	q := st.Query
	q.IDs = st.pageIDs(n)
	q.Guild = req.GuildID
	found, err := s.Search(ctx, q)
	if err != nil {
		return nil, err
	}
	results, gone := st.show(n, found.Results)
	if kind != lookupShare {
		return lookupResponse(id, &st, n, results, gone), nil
	}
	if len(results) == 0 {
		return nil, digestbot.Errorf(digestbot.ENOTFOUND, "the articles of this page have expired; nothing to share")
	}
	where := ""
	if st.pages() > 1 {
		where = fmt.Sprintf(" (page %d of %d)", n+1, st.pages())
	}
	return &Response{Content: fmt.Sprintf("<@%s> shared results for `%s`%s%s:", req.UserID, st.Query.Query, st.filters(), where), Embeds: resultEmbeds(results)}, nil
}

// thousands writes n with comma separators: 1,234.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// ParseSince reads a since option: a duration like 24h, 7d or 2w, or a
// date (2021-03-20, taken in UTC). A date still to come is refused: it
// would match nothing.
func ParseSince(v string, now time.Time) (time.Time, error) {
	if t, err := time.Parse("2006-01-02", v); err == nil {
		if t.After(now) {
			return time.Time{}, digestbot.Errorf(digestbot.EINVALID, "since %s is in the future; give a past date, or a duration such as 7d", v)
		}
		return t, nil
	}
	d, err := parseSinceDuration(v)
	if err != nil || d <= 0 {
		return time.Time{}, digestbot.Errorf(digestbot.EINVALID, "since %q: want a duration such as 24h or 7d, weeks such as 2w, or a date such as 2021-03-20", v)
	}
	return now.Add(-d), nil
}

// parseSinceDuration is config.ParseDuration that also takes whole weeks
// ("2w").
func parseSinceDuration(v string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(v, "w"); ok {
		weeks, err := strconv.Atoi(n)
		if err != nil || weeks < 0 || weeks > 10_000 {
			return 0, fmt.Errorf("bad number of weeks %q", n)
		}
		return time.Duration(weeks) * 7 * 24 * time.Hour, nil
	}
	return config.ParseDuration(v)
}

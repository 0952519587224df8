package ingest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/summarize"
)

// Push API defaults.
const (
	DefaultPushMaxBytes    = 8 << 20
	DefaultPushMaxArticles = 1000
)

// PushOptions configure the push API handler.
type PushOptions struct {
	// Token is the bearer token (DIGESTBOT_INGEST_TOKEN); empty refuses
	// every request.
	Token    string
	Articles ArticleSink
	// OnStored is called after the valid articles are stored.
	OnStored func(ctx context.Context, articles []*digestbot.Article, outcomes []digestbot.PutOutcome)
	// MaxBodyBytes caps the request body (default 8 MiB).
	MaxBodyBytes int64
	// MaxArticles caps the array length (default 1000).
	MaxArticles int
	Now         func() time.Time
	Logger      *slog.Logger
}

// PushResult is the outcome for one item of a push request.
type PushResult struct {
	Index  int    `json:"index"`
	ID     string `json:"id,omitempty"`
	Status string `json:"status"` // new, updated, unchanged, invalid
	Error  string `json:"error,omitempty"`
}

// pushResponse is the reply to a push request.
type pushResponse struct {
	Results []PushResult `json:"results"`
}

// pushItem is an ArticleJSON with the fields the push API also accepts.
type pushItem struct {
	digestbot.ArticleJSON
	GUID     string `json:"guid"`
	Language string `json:"language"`
}

// PushHandler serves POST /v1/articles: a JSON array of article objects
// (the ArticleJSON shape: title, url, source, published RFC 3339, summary,
// text, tags, sources, plus guid and language; any other field makes the
// item invalid; id is ignored — it is derived as for feeds; a published
// time more than 48h after the ingest time or before 1970 makes the item
// invalid, see checkPublished; sources, every outlet of the story, is
// checked by pushSources), authorised by
// "Authorization: Bearer TOKEN". Every item is validated and normalised on
// its own; the valid ones are stored in one batch and the reply lists a
// result per item, in order: {"results":[{"index","id","status","error"}]}.
// Errors that concern the whole request are {"error": "..."} with 400, 401,
// 403, 405, 413 or 503.
func PushHandler(opts PushOptions) http.Handler {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultPushMaxBytes
	}
	if opts.MaxArticles <= 0 {
		opts.MaxArticles = DefaultPushMaxArticles
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	// Comparing digests keeps the comparison constant-time whatever the
	// lengths of the token and the guess.
	want := sha256.Sum256([]byte(opts.Token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if opts.Token == "" {
			writeJSONError(w, http.StatusForbidden, "the push API is disabled: set DIGESTBOT_INGEST_TOKEN to enable it")
			return
		}
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeJSONError(w, http.StatusMethodNotAllowed, "use POST with a JSON array of articles")
			return
		}
		auth := r.Header.Get("Authorization")
		token, ok := strings.CutPrefix(auth, "Bearer ")
		got := sha256.Sum256([]byte(strings.TrimSpace(token)))
		if !ok || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="digestbot"`)
			writeJSONError(w, http.StatusUnauthorized, "missing or wrong bearer token")
			return
		}
		if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
			writeJSONError(w, http.StatusUnsupportedMediaType, "send Content-Type: application/json")
			return
		}
		body := http.MaxBytesReader(w, r.Body, opts.MaxBodyBytes)
		// The body is read as any JSON value first so that a body of the
		// wrong kind is refused in the API's words, not with a Go type.
		var whole json.RawMessage
		dec := json.NewDecoder(body)
		err := dec.Decode(&whole)
		if err == nil {
			// Anything after the array is a mistake (two arrays, a
			// truncated edit); refuse rather than store half of it.
			if _, terr := dec.Token(); !errors.Is(terr, io.EOF) {
				var mbe *http.MaxBytesError
				if errors.As(terr, &mbe) {
					err = terr
				} else {
					writeJSONError(w, http.StatusBadRequest, "the body holds more after its JSON array; send one array of article objects")
					return
				}
			}
		}
		if err != nil {
			var mbe *http.MaxBytesError
			switch {
			case errors.As(err, &mbe):
				writeJSONError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is larger than %d bytes", opts.MaxBodyBytes))
			case errors.Is(err, io.EOF):
				writeJSONError(w, http.StatusBadRequest, "the body is empty; send a JSON array of article objects")
			default:
				writeJSONError(w, http.StatusBadRequest, "the body is not valid JSON ("+jsonSyntaxMessage(err)+"); send a JSON array of article objects")
			}
			return
		}
		var items []json.RawMessage
		if kind := jsonKind(whole); kind != "an array" {
			writeJSONError(w, http.StatusBadRequest, "the body must be a JSON array of article objects, not "+kind)
			return
		}
		if err := json.Unmarshal(whole, &items); err != nil {
			// Unreachable: whole is a well-formed array.
			writeJSONError(w, http.StatusBadRequest, "the body must be a JSON array of article objects")
			return
		}
		if len(items) > opts.MaxArticles {
			writeJSONError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("%d articles in one request; the limit is %d", len(items), opts.MaxArticles))
			return
		}
		now := opts.Now()
		results := make([]PushResult, len(items))
		var (
			valid []*digestbot.Article
			where []int // index in items of each valid article
			seen  = map[string]int{}
		)
		for i, raw := range items {
			results[i].Index = i
			a, err := pushArticle(raw, now)
			if err != nil {
				results[i].Status, results[i].Error = "invalid", digestbot.ErrorMessage(err)
				continue
			}
			results[i].ID = a.ID
			if j, dup := seen[a.ID]; dup {
				results[i].Status, results[i].Error = "invalid", fmt.Sprintf("same article as item %d", j)
				continue
			}
			seen[a.ID] = i
			valid = append(valid, a)
			where = append(where, i)
		}
		if len(valid) > 0 {
			outs, err := opts.Articles.PutArticles(r.Context(), valid)
			if err != nil {
				opts.Logger.Error("push ingest: storing failed", "err", err)
				writeJSONError(w, http.StatusServiceUnavailable, "cannot store articles now: "+digestbot.ErrorMessage(err))
				return
			}
			for k, o := range outs {
				results[where[k]].Status = o.String()
			}
			if opts.OnStored != nil {
				opts.OnStored(r.Context(), valid, outs)
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(pushResponse{Results: results})
	})
}

// pushArticle validates and normalises one pushed item.
func pushArticle(raw json.RawMessage, now time.Time) (*digestbot.Article, error) {
	it, err := decodePushItem(raw)
	if err != nil {
		return nil, err
	}
	takeFirstSource(&it)
	if FoldSpace(it.Title) == "" {
		return nil, digestbot.Errorf(digestbot.EINVALID, "title is required")
	}
	if len(it.Title) > digestbot.MaxTitleLen {
		return nil, digestbot.Errorf(digestbot.EINVALID, "title is %d bytes; the limit is %d", len(it.Title), digestbot.MaxTitleLen)
	}
	if len(it.Text) > digestbot.MaxTextLen {
		return nil, digestbot.Errorf(digestbot.EINVALID, "text is %d bytes; the limit is %d", len(it.Text), digestbot.MaxTextLen)
	}
	if len(it.Tags) > digestbot.MaxTags {
		return nil, digestbot.Errorf(digestbot.EINVALID, "%d tags; the limit is %d", len(it.Tags), digestbot.MaxTags)
	}
	var canon string
	if strings.TrimSpace(it.URL) != "" {
		var ok bool
		if canon, ok = CanonicalURL(it.URL, ""); !ok {
			return nil, digestbot.Errorf(digestbot.EINVALID, "url %q is not an absolute http or https URL (of at most %d bytes)", it.URL, digestbot.MaxURLLen)
		}
	}
	var pub time.Time
	if it.Published != "" {
		t, err := time.Parse(time.RFC3339, it.Published)
		if err != nil {
			return nil, digestbot.Errorf(digestbot.EINVALID, "published %q is not an RFC 3339 time such as 2024-03-20T08:00:00Z", it.Published)
		}
		if why := checkPublished(t, now); why != "" {
			return nil, digestbot.Errorf(digestbot.EINVALID, "published %s %s", it.Published, why)
		}
		pub = t
	}
	if FoldSpace(it.Source) == "" && canon == "" {
		return nil, digestbot.Errorf(digestbot.EINVALID, "an article needs a url or a source")
	}
	source := FoldSpace(it.Source)
	if source == "" {
		source = hostOf(canon)
	}
	others, err := pushSources(it.Sources, digestbot.Source{Name: source, URL: canon, Published: pub}, now)
	if err != nil {
		return nil, err
	}
	a := newArticle(rawArticle{
		title: it.Title, text: it.Text, html: true, url: canon, guid: it.GUID,
		source: source, published: pub, others: others, tags: it.Tags, language: languageTag(it.Language),
		ownLanguage: true, feed: "push",
	}, now)
	if s := FoldSpace(it.Summary); s != "" {
		// A summary the publisher wrote is kept, within the size limit.
		a.Summary = summarize.Cut(s, SummaryLen)
	}
	if err := a.Validate(); err != nil {
		return nil, err
	}
	return a, nil
}

// takeFirstSource fills the item's source, url and published, where they
// are left out, from the first of its "sources": the item's own outlet.
func takeFirstSource(it *pushItem) {
	if len(it.Sources) == 0 {
		return
	}
	first := it.Sources[0]
	for _, f := range [][2]*string{{&it.Source, &first.Name}, {&it.URL, &first.URL}, {&it.Published, &first.Published}} {
		if strings.TrimSpace(*f[0]) == "" {
			*f[0] = *f[1]
		}
	}
}

// pushSources checks the item's "sources", the form ArticleJSON prints:
// every outlet of the story, the first being the item's own, which must
// agree with the item's source, url and published (own, normalised). Each
// entry is checked as the item's own fields are: a link must be http(s),
// a date RFC 3339 and trusted by checkPublished. It returns the outlets
// after the first.
func pushSources(entries []digestbot.SourceJSON, own digestbot.Source, now time.Time) ([]digestbot.Source, error) {
	if len(entries) == 0 {
		return nil, nil
	}
	if len(entries) > digestbot.MaxSources {
		return nil, digestbot.Errorf(digestbot.EINVALID, "%d sources; the limit is %d", len(entries), digestbot.MaxSources)
	}
	out := make([]digestbot.Source, len(entries))
	for i, e := range entries {
		src := digestbot.Source{Name: FoldSpace(e.Name)}
		if strings.TrimSpace(e.URL) != "" {
			var ok bool
			if src.URL, ok = CanonicalURL(e.URL, ""); !ok {
				return nil, digestbot.Errorf(digestbot.EINVALID, "sources[%d]: url %q is not an absolute http or https URL (of at most %d bytes)", i, e.URL, digestbot.MaxURLLen)
			}
		}
		switch {
		case src.Name == "" && src.URL == "":
			return nil, digestbot.Errorf(digestbot.EINVALID, "sources[%d] has neither a name nor a url", i)
		case src.Name == "":
			src.Name = hostOf(src.URL)
		}
		if e.Published != "" {
			t, err := time.Parse(time.RFC3339, e.Published)
			if err != nil {
				return nil, digestbot.Errorf(digestbot.EINVALID, "sources[%d]: published %q is not an RFC 3339 time such as 2024-03-20T08:00:00Z", i, e.Published)
			}
			if why := checkPublished(t, now); why != "" {
				return nil, digestbot.Errorf(digestbot.EINVALID, "sources[%d]: published %s %s", i, e.Published, why)
			}
			src.Published = t.UTC()
		}
		out[i] = src
	}
	first := out[0]
	stamp := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	for _, f := range []struct {
		field, entry, item string
		same               bool
	}{
		{"source", first.Name, own.Name, first.Name == own.Name},
		{"url", first.URL, own.URL, first.URL == own.URL},
		{"published", stamp(first.Published), stamp(own.Published), first.Published.Equal(own.Published)},
	} {
		if !f.same {
			return nil, digestbot.Errorf(digestbot.EINVALID,
				"the %s of sources[0] (%q) is not the item's %s (%q): the first of sources is the item's own outlet; leave source, url and published out, or make them agree",
				f.field, f.entry, f.field, f.item)
		}
	}
	return out[1:], nil
}

// pushFields are the fields of a pushed item, in the order the API
// documents them; any other field refuses the item, since a misspelled
// field ("sumary") silently dropped would lose the client's data.
var pushFields = []string{"id", "title", "url", "source", "published", "summary", "text", "tags", "sources", "guid", "language"}

// sourceFields are the fields of an entry of "sources".
var sourceFields = []string{"name", "url", "published"}

// decodeSources reads the "sources" of an item as strictly as the item
// itself: a list of objects whose fields are sourceFields, each a string
// (or null); null is no list.
func decodeSources(raw json.RawMessage) ([]digestbot.SourceJSON, error) {
	var entries []json.RawMessage
	if err := json.Unmarshal(raw, &entries); err != nil {
		return nil, digestbot.Errorf(digestbot.EINVALID, `"sources" must be a list of objects {"name", "url", "published"}, not %s`, jsonKind(raw))
	}
	out := make([]digestbot.SourceJSON, len(entries))
	for i, e := range entries {
		var fields map[string]json.RawMessage
		if jsonKind(e) != "an object" || json.Unmarshal(e, &fields) != nil {
			return nil, digestbot.Errorf(digestbot.EINVALID, "sources[%d] must be an object {\"name\", \"url\", \"published\"}, not %s", i, jsonKind(e))
		}
		keys := slices.Sorted(maps.Keys(fields))
		for _, k := range keys {
			var target *string
			switch {
			case strings.EqualFold(k, "name"):
				target = &out[i].Name
			case strings.EqualFold(k, "url"):
				target = &out[i].URL
			case strings.EqualFold(k, "published"):
				target = &out[i].Published
			default:
				return nil, digestbot.Errorf(digestbot.EINVALID, "sources[%d]: unknown field %q; the fields are %s", i, k, strings.Join(sourceFields, ", "))
			}
			if err := json.Unmarshal(fields[k], target); err != nil {
				return nil, digestbot.Errorf(digestbot.EINVALID, "sources[%d]: %q must be a string, not %s", i, k, jsonKind(fields[k]))
			}
		}
	}
	return out, nil
}

// decodePushItem reads one item of a push request. Its errors name the
// field and the JSON kind expected, never a Go type: they go to the client.
// Field names match case-insensitively, as encoding/json does and as
// clients that marshal untagged structs ("Title") rely on.
func decodePushItem(raw json.RawMessage) (pushItem, error) {
	var it pushItem
	switch kind := jsonKind(raw); kind {
	case "an object":
	case "null":
		return it, digestbot.Errorf(digestbot.EINVALID, "item is null; each item must be an article object such as {\"title\": ..., \"url\": ...}")
	default:
		return it, digestbot.Errorf(digestbot.EINVALID, "item is not a JSON object but %s; each item must be an article object such as {\"title\": ..., \"url\": ...}", kind)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil { // the opening brace
		return it, digestbot.Errorf(digestbot.EINVALID, "item is not a JSON object")
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return it, digestbot.Errorf(digestbot.EINVALID, "item is not a JSON object")
		}
		key, _ := tok.(string)
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return it, digestbot.Errorf(digestbot.EINVALID, "item is not a JSON object")
		}
		target, want := it.field(key)
		if target == nil {
			return it, digestbot.Errorf(digestbot.EINVALID, "unknown field %q; the fields are %s", key, strings.Join(pushFields, ", "))
		}
		if list, ok := target.(*[]digestbot.SourceJSON); ok {
			if *list, err = decodeSources(value); err != nil {
				return it, err
			}
			continue
		}
		// null leaves the field empty, as it did before fields were checked.
		if err := json.Unmarshal(value, target); err != nil {
			return it, digestbot.Errorf(digestbot.EINVALID, "%q must be %s, not %s", key, want, jsonKind(value))
		}
	}
	return it, nil
}

// field returns where the item field named key is decoded and what JSON
// value it takes, or nil for a field the API does not have.
func (it *pushItem) field(key string) (any, string) {
	for _, f := range pushFields {
		if !strings.EqualFold(key, f) {
			continue
		}
		switch f {
		case "id":
			return &it.ID, "a string"
		case "title":
			return &it.Title, "a string"
		case "url":
			return &it.URL, "a string"
		case "source":
			return &it.Source, "a string"
		case "published":
			return &it.Published, "a string"
		case "summary":
			return &it.Summary, "a string"
		case "text":
			return &it.Text, "a string"
		case "tags":
			return &it.Tags, "a list of strings"
		case "sources":
			return &it.Sources, `a list of objects {"name", "url", "published"}`
		case "guid":
			return &it.GUID, "a string"
		case "language":
			return &it.Language, "a string"
		}
	}
	return nil, ""
}

// jsonKind names the kind of a well-formed JSON value in the API's words.
func jsonKind(v []byte) string {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return "nothing"
	}
	switch v[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't':
		return "true"
	case 'f':
		return "false"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}

// jsonSyntaxMessage describes a JSON decoding error without Go type names:
// a syntax error with its byte offset, a cut-off body as such.
func jsonSyntaxMessage(err error) string {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("%s at byte %d", strings.TrimPrefix(se.Error(), "json: "), se.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "it ends in the middle of a value"
	}
	return "it cannot be read"
}

// writeJSONError answers {"error": msg} with status.
func writeJSONError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

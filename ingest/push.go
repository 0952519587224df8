package ingest

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
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
// text, tags; id is ignored — it is derived as for feeds; a published time
// more than 48h after the ingest time or before 1970 makes the item
// invalid, see checkPublished), authorised by
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
		dec := json.NewDecoder(body)
		var items []json.RawMessage
		if err := dec.Decode(&items); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				writeJSONError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is larger than %d bytes", opts.MaxBodyBytes))
				return
			}
			writeJSONError(w, http.StatusBadRequest, "body must be a JSON array of article objects: "+err.Error())
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
	var it pushItem
	if err := json.Unmarshal(raw, &it); err != nil {
		return nil, digestbot.Errorf(digestbot.EINVALID, "not an article object: %v", err)
	}
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
	source := it.Source
	if FoldSpace(source) == "" {
		source = hostOf(canon)
	}
	a := newArticle(rawArticle{
		title: it.Title, text: it.Text, html: true, url: canon, guid: it.GUID,
		source: source, published: pub, tags: it.Tags, language: languageTag(it.Language),
		feed: "push",
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

// writeJSONError answers {"error": msg} with status.
func writeJSONError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

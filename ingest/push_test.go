package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	digestbot "github.com/digestbot/digestbot"
)

func pushRequest(t *testing.T, h http.Handler, auth, body string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/v1/articles", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("reply is not JSON: %q", rec.Body.String())
	}
	return rec.Code, out
}

func TestPushAuth(t *testing.T) {
	body := `[{"title":"t","url":"https://a.example/1"}]`
	tests := []struct {
		name  string
		token string
		auth  string
		code  int
		msg   string
	}{
		{"token unset refuses everything", "", "Bearer anything", http.StatusForbidden, "DIGESTBOT_INGEST_TOKEN"},
		{"token unset, empty bearer", "", "Bearer ", http.StatusForbidden, "disabled"},
		{"no header", "s3cret", "", http.StatusUnauthorized, "bearer token"},
		{"wrong token", "s3cret", "Bearer s3cre", http.StatusUnauthorized, "bearer token"},
		{"basic auth", "s3cret", "Basic czNjcmV0", http.StatusUnauthorized, "bearer token"},
		{"right token", "s3cret", "Bearer s3cret", http.StatusOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := newMemSink()
			h := PushHandler(PushOptions{Token: tt.token, Articles: sink})
			code, out := pushRequest(t, h, tt.auth, body)
			if code != tt.code {
				t.Fatalf("status %d, want %d (%v)", code, tt.code, out)
			}
			if tt.msg != "" {
				if msg, _ := out["error"].(string); !strings.Contains(msg, tt.msg) {
					t.Errorf("error %q, want it to mention %q", msg, tt.msg)
				}
				if sink.calls != 0 {
					t.Errorf("stored despite refusal")
				}
			}
		})
	}
}

func TestPushItems(t *testing.T) {
	sink := newMemSink()
	var hooked []*digestbot.Article
	h := PushHandler(PushOptions{Token: "tok", Articles: sink, Now: fixedNow,
		OnStored: func(_ context.Context, arts []*digestbot.Article, _ []digestbot.PutOutcome) { hooked = arts }})
	body := `[
	 {"title":"Dam inspection finds cracks","url":"HTTPS://Water.example/dam?utm_source=x#top","source":"Water Desk",
	  "published":"2024-05-01T10:00:00+02:00","text":"<p>Inspectors found <b>two</b> cracks.</p><p>Repairs start soon.</p>","tags":["dams","Dams","safety"]},
	 {"title":"","url":"https://water.example/untitled"},
	 {"title":"Bad link","url":"javascript:alert(1)"},
	 {"title":"Bad date","url":"https://water.example/d","published":"yesterday"},
	 {"title":"No url no source"},
	 {"title":"Dam inspection finds cracks","url":"https://water.example/dam"},
	 {"title":"Wire story","source":"Wire","summary":"A summary the publisher wrote.","text":"Body."},
	 "not an object"
	]`
	code, out := pushRequest(t, h, "Bearer tok", body)
	if code != http.StatusOK {
		t.Fatalf("status %d: %v", code, out)
	}
	var got []PushResult
	b, _ := json.Marshal(out["results"])
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	wantStatus := []string{"new", "invalid", "invalid", "invalid", "invalid", "invalid", "new", "invalid"}
	var statuses []string
	for i, r := range got {
		statuses = append(statuses, r.Status)
		if r.Index != i {
			t.Errorf("result %d has index %d", i, r.Index)
		}
		if r.Status == "invalid" && r.Error == "" {
			t.Errorf("result %d invalid without a reason", i)
		}
	}
	if !reflect.DeepEqual(statuses, wantStatus) {
		t.Fatalf("statuses %v, want %v (%+v)", statuses, wantStatus, got)
	}
	for i, want := range map[int]string{1: "title", 2: "not an absolute http", 3: "RFC 3339", 4: "url or a source", 5: "same article as item 0", 7: "item is not a JSON object but a string"} {
		if !strings.Contains(got[i].Error, want) {
			t.Errorf("item %d error %q, want %q", i, got[i].Error, want)
		}
	}
	a := sink.byID[got[0].ID]
	if a == nil {
		t.Fatal("first article not stored")
	}
	if a.URL != "https://water.example/dam" || a.Text != "Inspectors found two cracks.\n\nRepairs start soon." ||
		a.JSON(nil).Published != "2024-05-01T08:00:00Z" || !reflect.DeepEqual(a.Tags, []string{"dams", "safety"}) ||
		a.Summary != "Inspectors found two cracks. Repairs start soon." {
		t.Errorf("normalised article %+v", a)
	}
	if w := sink.byID[got[6].ID]; w == nil || w.Summary != "A summary the publisher wrote." {
		t.Errorf("publisher summary not kept: %+v", w)
	}
	if len(hooked) != 2 {
		t.Errorf("hook saw %d articles", len(hooked))
	}

	// The same push again: unchanged; a changed text: updated.
	_, out = pushRequest(t, h, "Bearer tok", `[{"title":"Dam inspection finds cracks","url":"https://water.example/dam","source":"Water Desk","text":"<p>Inspectors found <b>two</b> cracks.</p><p>Repairs start soon.</p>","tags":["dams","safety"]},
	 {"title":"Wire story","source":"Wire","summary":"A summary the publisher wrote.","text":"Body, corrected."}]`)
	b, _ = json.Marshal(out["results"])
	got = nil
	json.Unmarshal(b, &got)
	if len(got) != 2 || got[0].Status != "unchanged" || got[1].Status != "updated" {
		t.Errorf("re-push: %+v", got)
	}
}

// TestPushPublishedBounds: the push API refuses an item whose publication
// time is more than 48 hours after the ingest time or before 1970 (it
// would lead every digest, or it is a placeholder), and says which time
// and why; the other items of the request are stored.
func TestPushPublishedBounds(t *testing.T) {
	sink := newMemSink()
	h := PushHandler(PushOptions{Token: "tok", Articles: sink, Now: fixedNow}) // 2025-06-01T12:00:00Z
	code, out := pushRequest(t, h, "Bearer tok", `[
	 {"title":"From the future","url":"https://a.example/1","published":"2099-01-01T00:00:00Z"},
	 {"title":"Before the epoch","url":"https://a.example/2","published":"1969-12-31T23:59:59Z"},
	 {"title":"Slightly ahead","url":"https://a.example/3","published":"2025-06-03T11:00:00Z"},
	 {"title":"Too far ahead, with an offset","url":"https://a.example/4","published":"2025-06-03T14:30:00+01:00"},
	 {"title":"Yesterday","url":"https://a.example/5","published":"2025-05-31T12:00:00Z"}
	]`)
	if code != http.StatusOK {
		t.Fatalf("status %d: %v", code, out)
	}
	var got []PushResult
	b, _ := json.Marshal(out["results"])
	if err := json.Unmarshal(b, &got); err != nil || len(got) != 5 {
		t.Fatalf("results %v: %v", out, err)
	}
	wants := []struct{ status, err string }{
		{"invalid", "published 2099-01-01T00:00:00Z is more than 48h in the future (the ingest time is 2025-06-01T12:00:00Z)"},
		{"invalid", "published 1969-12-31T23:59:59Z is before 1970-01-01"},
		{"new", ""},
		{"invalid", "published 2025-06-03T14:30:00+01:00 is more than 48h in the future"},
		{"new", ""},
	}
	for i, w := range wants {
		if got[i].Status != w.status || !strings.Contains(got[i].Error, w.err) || (w.err == "") != (got[i].Error == "") {
			t.Errorf("item %d: %s %q, want %s %q", i, got[i].Status, got[i].Error, w.status, w.err)
		}
	}
	if a := sink.byID[got[2].ID]; a == nil || a.JSON(nil).Published != "2025-06-03T11:00:00Z" {
		t.Errorf("the item 47h ahead is not stored with its time: %+v", a)
	}
	if n := sink.count(); n != 2 {
		t.Errorf("%d articles stored, want 2", n)
	}
}

func TestPushRequestErrors(t *testing.T) {
	tests := []struct {
		name   string
		method string
		ctype  string
		body   string
		code   int
		msg    string
	}{
		{"an object", http.MethodPost, "application/json", `{"title":"x"}`, http.StatusBadRequest, "the body must be a JSON array of article objects, not an object"},
		{"a string", http.MethodPost, "application/json", ` "x"`, http.StatusBadRequest, "the body must be a JSON array of article objects, not a string"},
		{"null", http.MethodPost, "application/json", `null`, http.StatusBadRequest, "the body must be a JSON array of article objects, not null"},
		{"a number", http.MethodPost, "application/json", `12`, http.StatusBadRequest, "not a number"},
		{"empty", http.MethodPost, "application/json", ``, http.StatusBadRequest, "the body is empty"},
		{"two arrays", http.MethodPost, "application/json", `[{"title":"t","source":"s"}] [{"title":"u","source":"s"}]`, http.StatusBadRequest, "more after its JSON array"},
		{"cut off", http.MethodPost, "application/json", `[{"title":`, http.StatusBadRequest, "the body is not valid JSON (it ends in the middle of a value)"},
		{"broken json", http.MethodPost, "application/json", `[{"title" "x"}]`, http.StatusBadRequest, "the body is not valid JSON (invalid character"},
		{"too large", http.MethodPost, "application/json", `[{"title":"` + strings.Repeat("x", 5000) + `"}]`, http.StatusRequestEntityTooLarge, "larger than 4096 bytes"},
		{"too many", http.MethodPost, "application/json", `[{},{},{},{}]`, http.StatusRequestEntityTooLarge, "the limit is 3"},
		{"wrong method", http.MethodGet, "", ``, http.StatusMethodNotAllowed, "use POST"},
		{"wrong content type", http.MethodPost, "text/plain", `[]`, http.StatusUnsupportedMediaType, "Content-Type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := PushHandler(PushOptions{Token: "tok", Articles: newMemSink(), MaxBodyBytes: 4096, MaxArticles: 3})
			req := httptest.NewRequest(tt.method, "/v1/articles", strings.NewReader(tt.body))
			req.Header.Set("Authorization", "Bearer tok")
			if tt.ctype != "" {
				req.Header.Set("Content-Type", tt.ctype)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.code {
				t.Errorf("status %d, want %d: %s", rec.Code, tt.code, rec.Body)
			}
			var out map[string]string
			if json.Unmarshal(rec.Body.Bytes(), &out) != nil || out["error"] == "" {
				t.Fatalf("no JSON error: %s", rec.Body)
			}
			if !strings.Contains(out["error"], tt.msg) {
				t.Errorf("error %q, want %q", out["error"], tt.msg)
			}
			checkNoGoTypes(t, out["error"])
		})
	}
	t.Run("store down", func(t *testing.T) {
		sink := newMemSink()
		sink.err = digestbot.WrapError(digestbot.EUNAVAILABLE, errors.New("dial tcp: refused"), "redis is unavailable")
		h := PushHandler(PushOptions{Token: "tok", Articles: sink})
		code, out := pushRequest(t, h, "Bearer tok", `[{"title":"t","url":"https://a.example/"}]`)
		if code != http.StatusServiceUnavailable || !strings.Contains(out["error"].(string), "redis is unavailable") {
			t.Errorf("%d %v", code, out)
		}
	})
}

// goTypeWords are fragments of encoding/json's messages that name Go types;
// none may reach a push client.
var goTypeWords = []string{"Go ", "json:", "[]", "ingest.", "digestbot.", "RawMessage", "struct", "pushItem", "ArticleJSON", "unmarshal"}

func checkNoGoTypes(t *testing.T, msg string) {
	t.Helper()
	for _, w := range goTypeWords {
		if strings.Contains(msg, w) {
			t.Errorf("message %q shows Go internals (%q)", msg, w)
		}
	}
}

// TestPushItemErrors: an item that is not an article object, a field of
// the wrong JSON kind and an unknown field are refused in the API's words,
// naming the field; the other items of the request are stored.
func TestPushItemErrors(t *testing.T) {
	const fields = "the fields are id, title, url, source, published, summary, text, tags, sources, guid, language"
	tests := []struct{ name, item, want string }{
		{"tags a string", `{"title":"t","url":"https://a.example/1","tags":"asia"}`, `"tags" must be a list of strings, not a string`},
		{"tags hold a number", `{"title":"t","url":"https://a.example/1","tags":["asia",5]}`, `"tags" must be a list of strings, not an array`},
		{"title a number", `{"title":5,"url":"https://a.example/1"}`, `"title" must be a string, not a number`},
		{"url an object", `{"title":"t","url":{"href":"https://a.example/1"}}`, `"url" must be a string, not an object`},
		{"published a number", `{"title":"t","url":"https://a.example/1","published":1711000000}`, `"published" must be a string, not a number`},
		{"item a number", `5`, `item is not a JSON object but a number`},
		{"item a string", `"hello"`, `item is not a JSON object but a string`},
		{"item an array", `[{"title":"t"}]`, `item is not a JSON object but an array`},
		{"item true", `true`, `item is not a JSON object but true`},
		{"item null", `null`, `item is null`},
		{"unknown field", `{"title":"t","url":"https://a.example/1","foo":1}`, `unknown field "foo"; ` + fields},
		{"misspelled field", `{"title":"t","url":"https://a.example/1","sumary":"lost otherwise"}`, `unknown field "sumary"`},
		{"matched is output only", `{"title":"t","url":"https://a.example/1","matched":["x"]}`, `unknown field "matched"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := newMemSink()
			h := PushHandler(PushOptions{Token: "tok", Articles: sink, Now: fixedNow})
			code, out := pushRequest(t, h, "Bearer tok", `[`+tt.item+`,{"title":"Good one","url":"https://good.example/1"}]`)
			if code != http.StatusOK {
				t.Fatalf("status %d: %v", code, out)
			}
			var got []PushResult
			b, _ := json.Marshal(out["results"])
			if err := json.Unmarshal(b, &got); err != nil || len(got) != 2 {
				t.Fatalf("results %v: %v", out, err)
			}
			if got[0].Status != "invalid" || !strings.Contains(got[0].Error, tt.want) {
				t.Errorf("item 0: %s %q, want invalid %q", got[0].Status, got[0].Error, tt.want)
			}
			checkNoGoTypes(t, got[0].Error)
			if got[1].Status != "new" || sink.count() != 1 {
				t.Errorf("the good item: %+v, %d stored", got[1], sink.count())
			}
		})
	}
}

// TestPushSources: "sources" takes every outlet of a story in the form the
// commands print it; the first is the item's own outlet and fills the
// item's source, url and published when they are left out; entries are
// checked as strictly as the item's own fields.
func TestPushSources(t *testing.T) {
	// An article as ingest --json prints it goes back in unchanged.
	arts, err := Load(context.Background(), "testdata/newsletter.txt", LoadOptions{Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	printed, err := json.Marshal(arts[1].JSON(nil))
	if err != nil {
		t.Fatal(err)
	}
	second := `{"name":"Second Wire","url":"https://second.example/b?utm_source=x","published":"2024-05-02T00:00:00Z"}`
	// The JSON form has a time, not a mark that it stands for a date only.
	var asPrinted []digestbot.Source
	for _, src := range arts[1].Sources {
		src.DateOnly = false
		asPrinted = append(asPrinted, src)
	}
	tests := []struct {
		name, item string
		sources    []digestbot.Source // stored, when valid
		err        string             // else
	}{
		{"as the commands print it", string(printed), asPrinted, ""},
		{"own fields taken from the first", `{"title":"t","sources":[{"name":"First Desk","url":"https://first.example/a","published":"2024-05-01T00:00:00Z"},` + second + `]}`,
			[]digestbot.Source{
				{Name: "First Desk", URL: "https://first.example/a", Published: time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)},
				{Name: "Second Wire", URL: "https://second.example/b", Published: time.Date(2024, 5, 2, 0, 0, 0, 0, time.UTC)},
			}, ""},
		{"own fields agree", `{"title":"t","source":"First Desk","url":"https://FIRST.example/a","sources":[{"name":"First Desk","url":"https://first.example/a"},{"url":"https://second.example/b"}]}`,
			[]digestbot.Source{{Name: "First Desk", URL: "https://first.example/a"}, {Name: "second.example", URL: "https://second.example/b"}}, ""},
		{"one entry is no list", `{"title":"t","sources":[{"name":"First Desk","url":"https://first.example/a"}]}`, nil, ""},
		{"own source disagrees", `{"title":"t","source":"Other","url":"https://first.example/a","sources":[{"name":"First Desk","url":"https://first.example/a"},` + second + `]}`,
			nil, `the source of sources[0] ("First Desk") is not the item's source ("Other"): the first of sources is the item's own outlet`},
		{"own date disagrees", `{"title":"t","url":"https://first.example/a","published":"2024-05-03T00:00:00Z","sources":[{"name":"first.example","url":"https://first.example/a","published":"2024-05-01T00:00:00Z"}]}`,
			nil, `the published of sources[0] ("2024-05-01T00:00:00Z") is not the item's published ("2024-05-03T00:00:00Z")`},
		{"own link disagrees", `{"title":"t","url":"https://first.example/x","sources":[{"url":"https://first.example/a"}]}`,
			nil, `the url of sources[0] ("https://first.example/a") is not the item's url ("https://first.example/x")`},
		{"bad link", `{"title":"t","sources":[{"name":"A","url":"https://a.example/"},{"name":"B","url":"ftp://b.example/"}]}`, nil, `sources[1]: url "ftp://b.example/" is not an absolute http or https URL`},
		{"bad date", `{"title":"t","sources":[{"name":"A","url":"https://a.example/"},{"name":"B","published":"May 2"}]}`, nil, `sources[1]: published "May 2" is not an RFC 3339 time`},
		{"date far ahead", `{"title":"t","sources":[{"name":"A","url":"https://a.example/"},{"name":"B","published":"2030-01-01T00:00:00Z"}]}`, nil, "sources[1]: published 2030-01-01T00:00:00Z is more than 48h in the future"},
		{"empty entry", `{"title":"t","sources":[{"name":"A","url":"https://a.example/"},{"name":" "}]}`, nil, "sources[1] has neither a name nor a url"},
		{"misspelled field", `{"title":"t","sources":[{"name":"A","url":"https://a.example/"},{"nmae":"B"}]}`, nil, `sources[1]: unknown field "nmae"; the fields are name, url, published`},
		{"entry a string", `{"title":"t","sources":["A"]}`, nil, "sources[0] must be an object"},
		{"name a number", `{"title":"t","sources":[{"name":5}]}`, nil, `sources[0]: "name" must be a string, not a number`},
		{"not a list", `{"title":"t","sources":{"name":"A"}}`, nil, `"sources" must be a list of objects`},
		{"too many", `{"title":"t","sources":[` + strings.Repeat(`{"name":"A"},`, digestbot.MaxSources) + `{"name":"A"}]}`, nil, fmt.Sprintf("%d sources; the limit is %d", digestbot.MaxSources+1, digestbot.MaxSources)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := newMemSink()
			h := PushHandler(PushOptions{Token: "tok", Articles: sink, Now: fixedNow})
			code, out := pushRequest(t, h, "Bearer tok", `[`+tt.item+`]`)
			var got []PushResult
			b, _ := json.Marshal(out["results"])
			if err := json.Unmarshal(b, &got); err != nil || code != http.StatusOK || len(got) != 1 {
				t.Fatalf("status %d, results %v: %v", code, out, err)
			}
			if tt.err != "" {
				if got[0].Status != "invalid" || !strings.Contains(got[0].Error, tt.err) || sink.count() != 0 {
					t.Errorf("%s %q, %d stored; want invalid %q", got[0].Status, got[0].Error, sink.count(), tt.err)
				}
				checkNoGoTypes(t, got[0].Error)
				return
			}
			a := sink.byID[got[0].ID]
			if got[0].Status != "new" || a == nil {
				t.Fatalf("%s %q", got[0].Status, got[0].Error)
			}
			if !reflect.DeepEqual(a.Sources, tt.sources) {
				t.Errorf("sources %+v\nwant %+v", a.Sources, tt.sources)
			}
			if err := a.Validate(); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestPushItemFields: every documented field is accepted, null leaves a
// field empty, and names match case-insensitively as before.
func TestPushItemFields(t *testing.T) {
	sink := newMemSink()
	h := PushHandler(PushOptions{Token: "tok", Articles: sink, Now: fixedNow})
	code, out := pushRequest(t, h, "Bearer tok", `[
	 {"id":"ignored","title":"All fields","url":"https://a.example/all","source":"Desk","published":"2025-05-31T12:00:00Z",
	  "summary":"Short.","text":"Body.","tags":["x"],"guid":"g-1","language":"en"},
	 {"Title":"Upper case names","URL":"https://a.example/upper","Tags":null,"summary":null}
	]`)
	if code != http.StatusOK {
		t.Fatalf("status %d: %v", code, out)
	}
	var got []PushResult
	b, _ := json.Marshal(out["results"])
	if err := json.Unmarshal(b, &got); err != nil || len(got) != 2 {
		t.Fatalf("results %v: %v", out, err)
	}
	for i, r := range got {
		if r.Status != "new" {
			t.Errorf("item %d: %s %q", i, r.Status, r.Error)
		}
	}
	if a := sink.byID[got[1].ID]; a == nil || a.Title != "Upper case names" {
		t.Errorf("upper-case item stored as %+v", a)
	}
}

// FuzzPushBody posts arbitrary bytes to the push API: it answers 200 with
// one result per array item, or refuses the whole request with 400 or 413
// and stores nothing; never a 5xx, never a panic.
func FuzzPushBody(f *testing.F) {
	for _, s := range []string{
		`[{"title":"Harbour reopens","url":"https://a.example/1","source":"Wire","published":"2026-03-20T08:00:00Z","tags":["port"]}]`,
		`[{"title":"","url":"x"},{"title":"t","source":"s"},{"title":"t","source":"s"}]`,
		`{"title":"not an array"}`, `[`, `[]`, `[1,"a",null,{}]`, `[{"title":"t","url":"https://a.example/#x","published":"yesterday"}]`,
		`[{"title":"t","sources":[{"name":"A","url":"https://a.example/","published":"2026-03-20T00:00:00Z"},{"name":"B","url":"https://b.example/x"}]},{"title":"u","source":"C","sources":[{"name":"D"},{"nmae":"E"}]}]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		sink := newMemSink()
		h := PushHandler(PushOptions{Token: "fuzz-token-0123456789", Articles: sink, MaxBodyBytes: 1 << 16, MaxArticles: 50})
		req := httptest.NewRequest(http.MethodPost, "/v1/articles", strings.NewReader(string(body)))
		req.Header.Set("Authorization", "Bearer fuzz-token-0123456789")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK:
			var out pushResponse
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
				t.Fatalf("200 with a reply that is not JSON: %q", rec.Body.String())
			}
			var items []json.RawMessage
			if err := json.Unmarshal(body, &items); err == nil && len(items) != len(out.Results) {
				t.Fatalf("%d items, %d results", len(items), len(out.Results))
			}
			for _, r := range out.Results {
				if r.Status == "invalid" && r.Error == "" {
					t.Fatalf("item %d refused without a reason", r.Index)
				}
				if (r.Status == "new") != (sink.byID[r.ID] != nil) && r.Status != "invalid" {
					t.Fatalf("item %d is %q but stored=%v", r.Index, r.Status, sink.byID[r.ID] != nil)
				}
			}
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			if sink.calls != 0 {
				t.Fatalf("refused with %d but stored articles", rec.Code)
			}
		default:
			t.Fatalf("status %d for body %q", rec.Code, body)
		}
	})
}

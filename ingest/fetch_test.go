package ingest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	digestbot "github.com/digestbot/digestbot"
)

func TestIsInternalAddr(t *testing.T) {
	tests := []struct {
		addr     string
		internal bool
	}{
		{"127.0.0.1", true}, {"127.8.9.10", true}, {"::1", true},
		{"10.1.2.3", true}, {"172.16.0.1", true}, {"192.168.1.1", true}, {"fd00::1", true},
		{"169.254.169.254", true}, {"fe80::1", true},
		{"100.64.0.1", true}, {"100.127.255.254", true},
		{"224.0.0.1", true}, {"ff02::1", true},
		{"0.0.0.0", true}, {"::", true}, {"255.255.255.255", true},
		{"::ffff:127.0.0.1", true}, {"::ffff:10.0.0.1", true}, {"64:ff9b::a00:1", true}, {"2002:7f00:1::1", true}, {"2001:0:4136:e378:8000:63bf:3fff:fdd2", true},
		{"93.184.216.34", false}, {"8.8.8.8", false}, {"100.128.0.1", false}, {"2606:4700::1111", false},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			if got := IsInternalAddr(netip.MustParseAddr(tt.addr)); got != tt.internal {
				t.Errorf("IsInternalAddr(%s) = %v, want %v", tt.addr, got, tt.internal)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"120", 2 * time.Minute, true},
		{"0", 0, true},
		{"Wed, 01 May 2024 13:00:00 GMT", time.Hour, true},
		{"Wed, 01 May 2024 11:00:00 GMT", 0, true},
		{"", 0, false},
		{"-5", 0, false},
		{"soon", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := ParseRetryAfter(tt.in, now)
			if got != tt.want || ok != tt.ok {
				t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestFetcher(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/feed", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Last-Modified", "Wed, 01 May 2024 10:00:00 GMT")
		w.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
		w.Write([]byte("<rss/>"))
	})
	mux.HandleFunc("/ua", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(r.UserAgent())) })
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		// Streamed without Content-Length: the cap must hold while reading.
		for i := 0; i < 40; i++ {
			w.Write([]byte(strings.Repeat("x", 1024)))
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("/busy", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "90")
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	mux.HandleFunc("/missing", http.NotFound)
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop", http.StatusFound) })
	mux.HandleFunc("/to-ftp", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "ftp://example.com/feed", http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	ctx := context.Background()
	f := NewFetcher(FetcherOptions{AllowPrivate: true, MaxBodyBytes: 16 << 10, UserAgent: "digestbot/test"})

	t.Run("conditional get", func(t *testing.T) {
		res, err := f.Fetch(ctx, FetchRequest{URL: srv.URL + "/feed"})
		if err != nil || res.NotModified || string(res.Body) != "<rss/>" || res.ETag != `"v1"` || res.LastModified == "" {
			t.Fatalf("first fetch: %+v, %v", res, err)
		}
		res, err = f.Fetch(ctx, FetchRequest{URL: srv.URL + "/feed", ETag: res.ETag})
		if err != nil || !res.NotModified || res.Body != nil || res.ETag != `"v1"` {
			t.Fatalf("second fetch: %+v, %v", res, err)
		}
	})
	t.Run("user agent", func(t *testing.T) {
		res, err := f.Fetch(ctx, FetchRequest{URL: srv.URL + "/ua"})
		if err != nil || string(res.Body) != "digestbot/test" {
			t.Fatalf("%v %q", err, res.Body)
		}
	})
	errTests := []struct {
		name, path string
		code       string
		msg        string
	}{
		{"body cap", "/big", digestbot.ELIMIT, "larger than the limit"},
		{"503 with retry-after", "/busy", digestbot.EUNAVAILABLE, "503"},
		{"404", "/missing", digestbot.EINVALID, "404"},
		{"redirect loop", "/loop", digestbot.EINVALID, "more than 5 redirects"},
		{"redirect to ftp", "/to-ftp", digestbot.EINVALID, "redirect to a ftp URL"},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := f.Fetch(ctx, FetchRequest{URL: srv.URL + tt.path})
			if err == nil {
				t.Fatalf("no error: %+v", res)
			}
			if digestbot.ErrorCode(err) != tt.code || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %v (code %s), want %s containing %q", err, digestbot.ErrorCode(err), tt.code, tt.msg)
			}
		})
	}
	t.Run("retry-after carried", func(t *testing.T) {
		_, err := f.Fetch(ctx, FetchRequest{URL: srv.URL + "/busy"})
		var he *HTTPError
		if !errors.As(err, &he) || he.RetryAfter != 90*time.Second || he.StatusCode != 503 {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("not http", func(t *testing.T) {
		for _, u := range []string{"file:///etc/passwd", "gopher://x/", "/relative", "http://"} {
			if _, err := f.Fetch(ctx, FetchRequest{URL: u}); digestbot.ErrorCode(err) != digestbot.EINVALID {
				t.Errorf("%s: %v, want EINVALID", u, err)
			}
		}
	})
}

// TestFetcherRefusesPrivate checks the guard at connect time: requests to
// loopback, by address or by a name that resolves there, are refused when
// private addresses are not allowed, and so is a redirect to 127.0.0.1 from
// a server the guard lets through.
func TestFetcherRefusesPrivate(t *testing.T) {
	var hits atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte("<rss/>"))
	}))
	defer target.Close()
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/feed", http.StatusFound)
	}))
	defer redirector.Close()
	targetPort := target.Listener.Addr().(*net.TCPAddr).Port

	strict := NewFetcher(FetcherOptions{})
	// The redirector stands for a public server: only the target is internal.
	onlyTarget := newFetcher(FetcherOptions{}, func(ap netip.AddrPort) bool {
		return IsInternalAddr(ap.Addr()) && int(ap.Port()) == targetPort
	})
	tests := []struct {
		name string
		f    *Fetcher
		url  string
	}{
		{"loopback address", strict, target.URL + "/feed"},
		{"name resolving to loopback", strict, fmt.Sprintf("http://localhost:%d/feed", targetPort)},
		{"redirect to 127.0.0.1", onlyTarget, redirector.URL + "/go"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.f.Fetch(context.Background(), FetchRequest{URL: tt.url})
			if digestbot.ErrorCode(err) != digestbot.EFORBIDDEN || !strings.Contains(digestbot.ErrorMessage(err), "DIGESTBOT_ALLOW_PRIVATE_FEEDS") {
				t.Errorf("%v (code %s), want EFORBIDDEN naming DIGESTBOT_ALLOW_PRIVATE_FEEDS", err, digestbot.ErrorCode(err))
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the internal server was reached %d times", n)
	}
	// The same redirect with private addresses allowed reaches the target.
	open := NewFetcher(FetcherOptions{AllowPrivate: true})
	if res, err := open.Fetch(context.Background(), FetchRequest{URL: redirector.URL + "/go"}); err != nil || string(res.Body) != "<rss/>" {
		t.Fatalf("allowed: %v", err)
	}
}

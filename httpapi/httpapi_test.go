package httpapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestReadyzReportsEachCheck(t *testing.T) {
	redisUp := true
	h := Handler(Options{Ready: []Check{
		{Name: "redis", Test: func(context.Context) error {
			if redisUp {
				return nil
			}
			return errors.New("connection refused")
		}},
		{Name: "gateway", Test: func(context.Context) error { return nil }},
	}})
	get := func(path string) (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		b, _ := io.ReadAll(rec.Body)
		return rec.Code, string(b)
	}
	if code, body := get("/readyz"); code != http.StatusOK || !strings.Contains(body, `"redis":"ok"`) {
		t.Errorf("ready: %d %s", code, body)
	}
	redisUp = false
	if code, body := get("/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "connection refused") {
		t.Errorf("redis down: %d %s, want 503 naming the problem", code, body)
	}
	if code, _ := get("/healthz"); code != http.StatusOK {
		t.Errorf("healthz: %d", code)
	}
	if code, _ := get("/metrics"); code != http.StatusNotFound {
		t.Errorf("metrics without a handler: %d, want 404", code)
	}
}

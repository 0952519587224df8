package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestHandlerExposesBotMetrics(t *testing.T) {
	m := New()
	m.ArticlesIngested.WithLabelValues("new").Add(3)
	m.DiscordRateLimit.Inc()
	m.ObserveCommand("subscribe", 20*time.Millisecond)
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`digestbot_articles_ingested_total{outcome="new"} 3`,
		`digestbot_discord_ratelimited_total 1`,
		`digestbot_command_seconds_count{command="subscribe"} 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

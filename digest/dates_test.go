package digest

import (
	"strings"
	"testing"
	"time"

	digestbot "github.com/digestbot/digestbot"
)

// TestDateOnlyShowsTheDay: a story dated by the day reads as that day in
// any zone and carries no timestamp (Discord would show its midnight UTC
// as the evening before in the Americas); a story with a time shows its
// day in the digest's zone and keeps its timestamp.
func TestDateOnlyShowsTheDay(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	day := time.Date(2026, 3, 20, 0, 0, 0, 0, time.UTC)
	src := func(dateOnly bool) []digestbot.Source {
		return []digestbot.Source{{Name: "Wire", URL: "https://example.org/a", Published: day, DateOnly: dateOnly},
			{Name: "Post", URL: "https://example.org/b", Published: day, DateOnly: dateOnly}}
	}
	dated := itemEmbed(Item{Title: "T", Published: day, DateOnly: true, Sources: src(true)}, 0, "", ny, DiscordLimits)
	if !dated.Timestamp.IsZero() || !strings.HasSuffix(dated.Footer, "· 20 Mar 2026") || !strings.Contains(dated.Description, "[Post](https://example.org/b) · 20 Mar 2026") {
		t.Errorf("a date only in New York: footer %q, timestamp %v, description %q", dated.Footer, dated.Timestamp, dated.Description)
	}
	timed := itemEmbed(Item{Title: "T", Published: day, Sources: src(false)}, 0, "", ny, DiscordLimits)
	if !timed.Timestamp.Equal(day) || !strings.HasSuffix(timed.Footer, "· 19 Mar 2026") {
		t.Errorf("midnight UTC as a moment in New York: footer %q, timestamp %v", timed.Footer, timed.Timestamp)
	}
}

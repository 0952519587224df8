package ingest

import (
	"testing"
	"time"
)

// TestFeedDatesWithoutATime: an item dated by the day ("2026-03-20", "Fri,
// 20 Mar 2026") is that day, midnight UTC, marked as a date only; an item
// with a time of day keeps its moment, midnight included.
func TestFeedDatesWithoutATime(t *testing.T) {
	day := time.Date(2026, 3, 20, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name, doc string
		want      time.Time
		dateOnly  bool
	}{
		{"RSS date only", rssItem("Fri, 20 Mar 2026"), day, true},
		{"RSS with time", rssItem("Fri, 20 Mar 2026 14:05:00 +0100"), time.Date(2026, 3, 20, 13, 5, 0, 0, time.UTC), false},
		{"RSS at midnight", rssItem("Fri, 20 Mar 2026 00:00:00 GMT"), day, false},
		{"Atom date only", atomEntry("2026-03-20"), day, true},
		{"Atom with time", atomEntry("2026-03-20T09:30:00-05:00"), time.Date(2026, 3, 20, 14, 30, 0, 0, time.UTC), false},
		{"JSON Feed date only", `{"version":"https://jsonfeed.org/version/1.1","title":"F","items":[{"id":"1","url":"https://example.org/1","title":"T","content_text":"x","date_published":"2026-03-20"}]}`, day, true},
	}
	now := time.Date(2026, 3, 21, 12, 0, 0, 0, time.UTC)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			arts, err := Parse([]byte(tt.doc), "feed", LoadOptions{Now: func() time.Time { return now }})
			if err != nil || len(arts) != 1 {
				t.Fatalf("Parse: %d articles, %v", len(arts), err)
			}
			a := arts[0]
			if !a.Published.Equal(tt.want) || a.DateOnly != tt.dateOnly {
				t.Errorf("published %v, date only %v; want %v, %v", a.Published, a.DateOnly, tt.want, tt.dateOnly)
			}
			if src := a.AllSources(); src[0].DateOnly != tt.dateOnly {
				t.Errorf("its outlet's date only = %v", src[0].DateOnly)
			}
		})
	}
}

func rssItem(date string) string {
	return `<?xml version="1.0"?><rss version="2.0"><channel><title>F</title><link>https://example.org/</link>` +
		`<item><title>T</title><link>https://example.org/1</link><description>x</description><pubDate>` + date + `</pubDate></item></channel></rss>`
}

func atomEntry(date string) string {
	return `<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>F</title><id>urn:f</id><updated>2026-03-20T00:00:00Z</updated>` +
		`<entry><title>T</title><id>urn:1</id><link href="https://example.org/1"/><published>` + date + `</published><updated>` + date + `</updated><summary>x</summary></entry></feed>`
}

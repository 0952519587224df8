package trend

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 3, 20, 9, 30, 0, 0, time.UTC) // a Friday

func TestWindowPicksTheStepBySpan(t *testing.T) {
	paris, _ := time.LoadLocation("Europe/Paris")
	tests := []struct {
		since     time.Duration
		loc       *time.Location
		step      time.Duration
		steps     int
		firstFrom string
	}{
		{24 * time.Hour, time.UTC, time.Hour, 24, "2026-03-19T10:00:00Z"},
		{72 * time.Hour, time.UTC, time.Hour, 72, "2026-03-17T10:00:00Z"},
		{73 * time.Hour, time.UTC, Day, 3, "2026-03-18T00:00:00Z"},
		{7 * Day, time.UTC, Day, 7, "2026-03-14T00:00:00Z"},
		// Days begin at midnight in the channel's zone; the clocks of Paris
		// go forward on 29 March, within the 30 days before 20 April.
		{7 * Day, paris, Day, 7, "2026-03-14T00:00:00+01:00"},
		{30 * Day, time.UTC, Day, 30, "2026-02-19T00:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v in %s", tt.since, tt.loc), func(t *testing.T) {
			from, step, steps := Window(now.Add(-tt.since), now, tt.loc)
			if step != tt.step || steps != tt.steps || from.Format(time.RFC3339) != tt.firstFrom {
				t.Errorf("Window = %s, %v, %d steps; want %s, %v, %d", from.Format(time.RFC3339), step, steps, tt.firstFrom, tt.step, tt.steps)
			}
		})
	}
	// Across a change of the clocks a day is 23 hours long: still 30 steps.
	april := time.Date(2026, 4, 20, 9, 30, 0, 0, paris)
	if _, _, steps := Window(april.Add(-30*Day), april, paris); steps != 30 {
		t.Errorf("30 days across the clock change: %d steps, want 30", steps)
	}
}

// hitsAt returns n hits d before now, from outlet.
func hitsAt(n int, d time.Duration, outlet string) []Hit {
	var out []Hit
	for range n {
		out = append(out, Hit{At: now.Add(-d).Truncate(time.Hour), Outlet: outlet})
	}
	return out
}

func TestBuildCountsAndReads(t *testing.T) {
	// A quiet week (one story a day from two outlets) and a busy last day.
	var hits []Hit
	for day := 1; day <= 6; day++ {
		hits = append(hits, hitsAt(1, time.Duration(day)*Day, "Coastal Ledger")...)
	}
	hits = append(hits, hitsAt(7, 2*time.Hour, "Harbour Wire")...)
	hits = append(hits, hitsAt(5, 5*time.Hour, "Rendal Post")...)
	hits = append(hits, hitsAt(3, 40*Day, "Too Old")...) // before the window
	s := build("ferry strike", hits, now.Add(-7*Day), now, time.UTC, false)
	if s.Total != 18 || len(s.Counts) != 7 {
		t.Fatalf("total %d in %d steps, want 18 in 7", s.Total, len(s.Counts))
	}
	if got := fmt.Sprint(s.Counts); got != "[1 1 1 1 1 1 12]" {
		t.Errorf("counts %s, want [1 1 1 1 1 1 12]", got)
	}
	// 12 in the last 24 h against 18 over 6 days and 9.5 hours.
	want := "12 stories in the last 24 h, 4.4× the daily average of the last 7 days (18 in all)."
	if got := s.Reading(); got != want {
		t.Errorf("reading\n got %q\nwant %q", got, want)
	}
	if got := s.OutletLine(); got != "Top outlets: Harbour Wire 7 · Coastal Ledger 6 · Rendal Post 5" {
		t.Errorf("outlets: %q", got)
	}
}

func TestReadings(t *testing.T) {
	flat := func() []Hit {
		var hs []Hit
		for h := range 72 {
			hs = append(hs, hitsAt(1, time.Duration(h)*time.Hour, "")...)
		}
		return hs
	}
	tests := []struct {
		name   string
		hits   []Hit
		since  time.Duration
		approx bool
		want   string
	}{
		{"nothing", nil, 7 * Day, false, "No stories matched in the last 7 days."},
		{"hourly, steady", flat(), 72 * time.Hour, false, "3 stories in the last 3 h, about the 3-hour average of the last 72 h (72 in all)."},
		{"quiet lately", hitsAt(4, 3*Day, "A"), 7 * Day, false, "0 stories in the last 24 h; 4 stories in the last 7 days."},
		{"phrases left unchecked", hitsAt(2, time.Hour, "A"), 7 * Day, true, "About 2 stories in the last 24 h, 6.5× the daily average of the last 7 days (about 2 in all)."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := build("q", tt.hits, now.Add(-tt.since), now, time.UTC, tt.approx)
			if got := s.Reading(); got != tt.want {
				t.Errorf("reading\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestOutletsAreCountedOverWhatWasRead(t *testing.T) {
	hits := append(hitsAt(3, time.Hour, "Harbour Wire"), hitsAt(4, 2*time.Hour, "")...)
	for i := range 6 {
		hits = append(hits, hitsAt(1, time.Hour, fmt.Sprintf("Outlet %d", i))...)
	}
	s := build("q", hits, now.Add(-7*Day), now, time.UTC, false)
	line := s.OutletLine()
	if !strings.HasPrefix(line, "Top outlets: Harbour Wire 3 · Outlet 0 1") || strings.Count(line, "·") != TopOutlets-1 {
		t.Errorf("outlets %q: want Harbour Wire first and %d in all", line, TopOutlets)
	}
	if !strings.HasSuffix(line, "(of the newest 9 stories)") {
		t.Errorf("outlets %q: should say they were counted over 9 of 13 stories", line)
	}
}

// build is Build over hits: each a story of its hour, its outlet read.
func build(query string, hits []Hit, since, to time.Time, loc *time.Location, approx bool) *Series {
	var counts []Count
	for _, h := range hits {
		counts = append(counts, Count{At: h.At, Stories: 1})
	}
	return Build(query, counts, hits, since, to, loc, approx)
}

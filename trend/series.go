// Package trend turns the articles a query matched into the data of a
// /trend reply: counts per hour or per day, the outlets that carried the
// stories and a one-line reading ("12 stories in the last 24 h, 4× the
// daily average of the last 7 days"). Series and Reading are pure; Counter
// gathers the matches from an index (ArchiveFinder: the lookup index) and
// the store.
package trend

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Limits of a trend.
const (
	// HourlyUpTo is the longest window charted per hour; longer ones are
	// charted per day.
	HourlyUpTo = 72 * time.Hour
	// TopOutlets is how many outlets a reply names.
	TopOutlets = 5
)

// Count is how many matching stories were published in one hour.
type Count struct {
	At      time.Time // the hour
	Stories int
}

// Hit is one matching story whose outlet was read: when it was published
// (to the hour) and the outlet that carried it ("" when unknown).
type Hit struct {
	At     time.Time
	Outlet string
}

// Outlet is an outlet and how many of the stories it carried.
type Outlet struct {
	Name    string
	Stories int
}

// Series is a trend ready to chart: the count of matching stories in each
// step (hour or day) of the window, oldest first.
type Series struct {
	Query    string
	From, To time.Time      // the window; From is the start of the first step
	Step     time.Duration  // time.Hour or 24 * time.Hour
	Location *time.Location // days begin at midnight here
	Counts   []int
	Total    int
	// Recent counts the stories since RecentFrom: the last 24 hours (the
	// last 3, for an hourly series), in whole hours as the index keeps
	// them, for the reading.
	Recent     int
	RecentFrom time.Time
	// Approximate is set when some matches could not be checked on the
	// article (a phrase, beyond the reading budget): they are counted.
	Approximate bool
	// Outlets are the outlets that carried most of the stories, most first,
	// counted over OutletsOf of them (the newest, when there were many).
	Outlets   []Outlet
	OutletsOf int
}

// Day is the daily step.
const Day = 24 * time.Hour

// Window returns the steps a trend since `since` shows at `to`: per hour
// up to HourlyUpTo, else per day (calendar days in loc), the first step
// being the first whole one at or after since and the last the one that
// holds `to`. So "since 7d" shows the last seven days, today included.
func Window(since, to time.Time, loc *time.Location) (from time.Time, step time.Duration, steps int) {
	if loc == nil {
		loc = time.UTC
	}
	step = Day
	if to.Sub(since) <= HourlyUpTo {
		step = time.Hour
	}
	from = ceilStep(since, step, loc)
	last := floorStep(to, step, loc)
	if from.After(last) {
		from = last
	}
	for t := from; !t.After(last); t = nextStep(t, step, loc) {
		steps++
	}
	return from, step, steps
}

// floorStep is the start of the step that holds t.
func floorStep(t time.Time, step time.Duration, loc *time.Location) time.Time {
	if step == time.Hour {
		return t.Truncate(time.Hour)
	}
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
}

// ceilStep is the first step boundary at or after t.
func ceilStep(t time.Time, step time.Duration, loc *time.Location) time.Time {
	f := floorStep(t, step, loc)
	if f.Equal(t) {
		return f
	}
	return nextStep(f, step, loc)
}

// nextStep is the start of the step after the one starting at t; a day is
// a calendar day, 23 or 25 hours long when the clocks change.
func nextStep(t time.Time, step time.Duration, loc *time.Location) time.Time {
	if step == time.Hour {
		return t.Add(time.Hour)
	}
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day()+1, 0, 0, 0, 0, loc)
}

// Build counts the stories of counts into the steps of the window from
// `since` to `to`, and the outlets of the stories in hits (usually the
// newest: reading an outlet costs a read). What lies outside the window
// is left out; approximate is passed on.
func Build(query string, counts []Count, hits []Hit, since, to time.Time, loc *time.Location, approximate bool) *Series {
	if loc == nil {
		loc = time.UTC
	}
	from, step, steps := Window(since, to, loc)
	s := &Series{Query: query, From: from, To: to, Step: step, Location: loc, Counts: make([]int, steps), Approximate: approximate}
	starts := make([]time.Time, steps)
	t := from
	for i := range starts {
		starts[i] = t
		t = nextStep(t, step, loc)
	}
	s.RecentFrom = to.Truncate(time.Hour).Add(-(recentHours(step) - 1) * time.Hour)
	in := func(at time.Time) bool { return !at.Before(from) && !at.After(to) }
	for _, c := range counts {
		if !in(c.At) || c.Stories <= 0 {
			continue
		}
		// The last start at or before the hour.
		i, found := slices.BinarySearchFunc(starts, c.At, func(s, at time.Time) int { return s.Compare(at) })
		if !found {
			i--
		}
		s.Counts[i] += c.Stories
		s.Total += c.Stories
		if !c.At.Before(s.RecentFrom) {
			s.Recent += c.Stories
		}
	}
	outlets := map[string]int{}
	for _, h := range hits {
		if in(h.At) && h.Outlet != "" {
			outlets[h.Outlet]++
			s.OutletsOf++
		}
	}
	for name, n := range outlets {
		s.Outlets = append(s.Outlets, Outlet{name, n})
	}
	slices.SortFunc(s.Outlets, func(a, b Outlet) int { return cmp.Or(cmp.Compare(b.Stories, a.Stories), cmp.Compare(a.Name, b.Name)) })
	if len(s.Outlets) > TopOutlets {
		s.Outlets = s.Outlets[:TopOutlets]
	}
	return s
}

// Span is the length of the window, for words: "7 days", "24 h".
func (s *Series) Span() string {
	d := s.To.Sub(s.From)
	if s.Step == Day {
		days := len(s.Counts)
		return count(days, "day", "days")
	}
	hours := int((d + time.Hour - 1) / time.Hour)
	return fmt.Sprintf("%d h", hours)
}

// recentHours is the length of the recent period the reading compares
// with the average: a day, or 3 hours in an hourly series.
func recentHours(step time.Duration) time.Duration {
	if step == time.Hour {
		return 3
	}
	return 24
}

// Reading is the one-line summary of the series: the stories of the last
// 24 hours (3 hours, in an hourly series) against the window's average
// over as long a time.
//
//	12 stories in the last 24 h, 4× the daily average of the last 7 days (40 in all).
func (s *Series) Reading() string {
	about := ""
	if s.Approximate {
		about = "about "
	}
	if s.Total == 0 {
		return fmt.Sprintf("No stories matched in the last %s.", s.Span())
	}
	hours := recentHours(s.Step)
	recent, avgName := fmt.Sprintf("in the last %d h", hours), "daily"
	if s.Step == time.Hour {
		avgName = fmt.Sprintf("%d-hour", hours)
	}
	line := upperFirst(fmt.Sprintf("%s%s %s", about, stories(s.Recent), recent))
	if s.Recent == 0 {
		return fmt.Sprintf("%s; %s%s in the last %s.", line, about, stories(s.Total), s.Span())
	}
	// The average over a period as long as the recent one, which begins on
	// a whole hour and ends now.
	span, recentSpan := s.To.Sub(s.From), s.To.Sub(s.RecentFrom)
	if span < recentSpan {
		span = recentSpan
	}
	expected := float64(s.Total) * float64(recentSpan) / float64(span)
	return fmt.Sprintf("%s, %s the %s average of the last %s (%s%d in all).", line, ratio(float64(s.Recent)/expected), avgName, s.Span(), about, s.Total)
}

// ratio words a multiple of the average: "4×", "2.5×", "about", "0.3×".
func ratio(r float64) string {
	switch {
	case r >= 0.8 && r < 1.25:
		return "about"
	case r >= 10:
		return fmt.Sprintf("%.0f×", r)
	}
	return strings.TrimSuffix(fmt.Sprintf("%.1f", r), ".0") + "×"
}

// OutletLine names the top outlets: "Harbour Wire 12 · Coastal Ledger 8",
// with the share of stories they were counted over when that is not all.
func (s *Series) OutletLine() string {
	if len(s.Outlets) == 0 {
		return ""
	}
	parts := make([]string, len(s.Outlets))
	for i, o := range s.Outlets {
		parts[i] = fmt.Sprintf("%s %d", o.Name, o.Stories)
	}
	line := "Top outlets: " + strings.Join(parts, " · ")
	if s.OutletsOf < s.Total {
		line += fmt.Sprintf(" (of the newest %d stories)", s.OutletsOf)
	}
	return line
}

func stories(n int) string { return count(n, "story", "stories") }

func count(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

func upperFirst(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

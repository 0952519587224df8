// Package schedule parses digest schedules: the presets "hourly",
// "daily HH:MM" and "weekly DAY HH:MM", robfig/cron descriptors and 5-field
// cron expressions, each in an IANA time zone. It refuses, with a reason a
// user can act on, every spec that is malformed, never fires, or fires more
// often than the configured minimum interval.
package schedule

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // minimal images have no zoneinfo; users name any IANA zone

	"github.com/robfig/cron/v3"

	digestbot "github.com/digestbot/digestbot"
)

// DefaultMinInterval is the shortest allowed time between two digests when
// the configuration does not say otherwise.
const DefaultMinInterval = 5 * time.Minute

// MaxSpecLen bounds the spec text; real specs are a few dozen characters.
const MaxSpecLen = 200

// parser accepts standard 5-field cron and the @ descriptors. Time zones are
// not part of the spec (they are given separately), so no CRON_TZ= prefix.
var parser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Schedule is a parsed, validated digest schedule in a time zone.
type Schedule struct {
	spec  string // canonical form of what the user wrote
	cron  string // the 5-field cron or descriptor it stands for
	loc   *time.Location
	sched cron.Schedule
}

// Parse parses spec in the IANA zone tz ("" = UTC) and refuses it with an
// EINVALID error when it is malformed, names an unknown zone, never fires,
// or fires more often than minInterval (0 = DefaultMinInterval).
func Parse(spec, tz string, minInterval time.Duration) (*Schedule, error) {
	if minInterval <= 0 {
		minInterval = DefaultMinInterval
	}
	loc, err := LoadZone(tz)
	if err != nil {
		return nil, err
	}
	spec = strings.Join(strings.Fields(spec), " ")
	if spec == "" {
		return nil, digestbot.Errorf(digestbot.EINVALID, `schedule is empty: give a preset ("hourly", "daily 08:00", "weekly mon 08:00") or a 5-field cron expression`)
	}
	if len(spec) > MaxSpecLen {
		return nil, digestbot.Errorf(digestbot.EINVALID, "schedule is longer than %d characters", MaxSpecLen)
	}
	lower := strings.ToLower(spec)
	if strings.HasPrefix(lower, "cron_tz=") || strings.HasPrefix(lower, "tz=") {
		// robfig panics on a bare "CRON_TZ=UTC"; and the zone is its own option anyway.
		return nil, digestbot.Errorf(digestbot.EINVALID, "schedule %q: give the time zone separately (the timezone option), not as a CRON_TZ= prefix", spec)
	}
	canonical, cronSpec, err := expandPreset(lower)
	if err != nil {
		return nil, err
	}
	if cronSpec == "" {
		canonical, cronSpec = spec, spec
	}
	if rest, ok := strings.CutPrefix(lower, "@every "); ok {
		// robfig turns a zero or negative interval into "every second".
		if d, err := time.ParseDuration(strings.TrimSpace(rest)); err == nil && d <= 0 {
			return nil, digestbot.Errorf(digestbot.EINVALID, "schedule %q: the interval must be positive", spec)
		}
	}
	sched, err := parseCron(cronSpec)
	if err != nil {
		return nil, digestbot.WrapError(digestbot.EINVALID, err, "schedule %q is not a valid preset or 5-field cron expression (minute hour day-of-month month day-of-week): %s", spec, cleanCronError(err))
	}
	switch s := sched.(type) {
	case *cron.SpecSchedule:
		s.Location = loc
	}
	out := &Schedule{spec: canonical, cron: cronSpec, loc: loc, sched: sched}
	if err := out.checkInterval(minInterval); err != nil {
		return nil, err
	}
	return out, nil
}

// LoadZone loads an IANA time zone; "" is UTC. "Local" is refused because
// it would mean whatever zone the server happens to run in.
func LoadZone(tz string) (*time.Location, error) {
	tz = strings.TrimSpace(tz)
	if tz == "" || strings.EqualFold(tz, "UTC") {
		return time.UTC, nil
	}
	if tz == "Local" || len(tz) > 64 {
		return nil, digestbot.Errorf(digestbot.EINVALID, "unknown time zone %q: use an IANA name such as Europe/Paris or America/New_York", tz)
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		// Zone names are case-sensitive files; people type
		// "europe/paris" or "America/New York". Try the usual spelling.
		if l, err2 := time.LoadLocation(zoneSpelling(tz)); err2 == nil {
			return l, nil
		}
		// A city, country or abbreviation that names one zone ("Beijing",
		// "New York", "PST") is that zone.
		if l, err2 := resolveAlias(tz); l != nil || err2 != nil {
			return l, err2
		}
		return nil, digestbot.WrapError(digestbot.EINVALID, err, "unknown time zone %q: use an IANA name such as Europe/Paris or America/New_York", tz)
	}
	return loc, nil
}

// zoneSpelling writes a zone name the way the IANA database does for most
// zones: each word capitalised, words joined by '_' ("america/new york" ->
// "America/New_York"). Short all-letter names (UTC, EST) are upper case.
func zoneSpelling(tz string) string {
	if len(tz) <= 4 && !strings.ContainsAny(tz, "/_ -") {
		return strings.ToUpper(tz)
	}
	parts := strings.Split(strings.ReplaceAll(strings.TrimSpace(tz), " ", "_"), "/")
	for i, p := range parts {
		words := strings.FieldsFunc(p, func(r rune) bool { return r == '_' || r == '-' })
		seps := strings.FieldsFunc(p, func(r rune) bool { return r != '_' && r != '-' })
		var b strings.Builder
		for j, w := range words {
			if j > 0 && j-1 < len(seps) {
				b.WriteString(seps[j-1][:1])
			}
			b.WriteString(strings.ToUpper(w[:1]) + strings.ToLower(w[1:]))
		}
		parts[i] = b.String()
	}
	return strings.Join(parts, "/")
}

// parseCron calls robfig's parser, turning a panic (it has had several on
// odd input) into an error.
func parseCron(spec string) (s cron.Schedule, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("cron parser failed: %v", r)
		}
	}()
	return parser.Parse(spec)
}

func cleanCronError(err error) string {
	msg := err.Error()
	if strings.Contains(msg, "expected exactly 5 fields") || strings.Contains(msg, "expected 5") {
		return "a cron expression has exactly 5 fields"
	}
	return msg
}

var weekdays = map[string]string{
	"sun": "0", "sunday": "0", "mon": "1", "monday": "1", "tue": "2", "tues": "2", "tuesday": "2",
	"wed": "3", "wednesday": "3", "thu": "4", "thur": "4", "thurs": "4", "thursday": "4",
	"fri": "5", "friday": "5", "sat": "6", "saturday": "6",
}

var weekdayNames = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// expandPreset turns a preset into its canonical text and cron spec. Both
// are "" (and err nil) when spec is not a preset.
func expandPreset(spec string) (canonical, cronSpec string, err error) {
	f := strings.Fields(spec)
	switch f[0] {
	case "hourly":
		if len(f) != 1 {
			return "", "", digestbot.Errorf(digestbot.EINVALID, `schedule %q: "hourly" takes nothing after it`, spec)
		}
		return "hourly", "0 * * * *", nil
	case "daily":
		if len(f) != 2 {
			return "", "", digestbot.Errorf(digestbot.EINVALID, `schedule %q: write "daily HH:MM", e.g. "daily 08:00"`, spec)
		}
		h, m, err := parseClock(f[1], spec)
		if err != nil {
			return "", "", err
		}
		return fmt.Sprintf("daily %02d:%02d", h, m), fmt.Sprintf("%d %d * * *", m, h), nil
	case "weekly":
		if len(f) != 3 {
			return "", "", digestbot.Errorf(digestbot.EINVALID, `schedule %q: write "weekly DAY HH:MM", e.g. "weekly mon 08:00"`, spec)
		}
		d, ok := weekdays[f[1]]
		if !ok {
			return "", "", digestbot.Errorf(digestbot.EINVALID, "schedule %q: %q is not a day of the week (mon, tue, wed, thu, fri, sat, sun)", spec, f[1])
		}
		h, m, err := parseClock(f[2], spec)
		if err != nil {
			return "", "", err
		}
		n, _ := strconv.Atoi(d)
		return fmt.Sprintf("weekly %s %02d:%02d", weekdayNames[n], h, m), fmt.Sprintf("%d %d * * %s", m, h, d), nil
	}
	return "", "", nil
}

func parseClock(s, spec string) (h, m int, err error) {
	bad := digestbot.Errorf(digestbot.EINVALID, "schedule %q: %q is not a time of day; write HH:MM on a 24-hour clock, e.g. 08:00 or 17:30", spec, s)
	hs, ms, ok := strings.Cut(s, ":")
	if !ok || len(hs) == 0 || len(hs) > 2 || len(ms) != 2 {
		return 0, 0, bad
	}
	h, err1 := strconv.Atoi(hs)
	m, err2 := strconv.Atoi(ms)
	if err1 != nil || err2 != nil || h < 0 || h > 23 || m < 0 || m > 59 || hs[0] == '+' || hs[0] == '-' || ms[0] == '+' || ms[0] == '-' {
		return 0, 0, bad
	}
	return h, m, nil
}

// Next returns the first time after `after` at which the schedule fires,
// in the schedule's zone; zero when it never does.
func (s *Schedule) Next(after time.Time) time.Time {
	t := s.sched.Next(after.In(s.loc))
	if t.IsZero() {
		return t
	}
	return t.In(s.loc)
}

// Spec returns the canonical spec ("daily 08:00", "*/30 * * * *").
func (s *Schedule) Spec() string { return s.spec }

// Cron returns the cron expression or descriptor the spec stands for.
func (s *Schedule) Cron() string { return s.cron }

// Location returns the schedule's time zone.
func (s *Schedule) Location() *time.Location { return s.loc }

// TimeZone returns the IANA name of the schedule's zone.
func (s *Schedule) TimeZone() string { return s.loc.String() }

// CronSchedule returns the schedule for robfig/cron's Cron.Schedule.
func (s *Schedule) CronSchedule() cron.Schedule { return cronAdapter{s} }

type cronAdapter struct{ s *Schedule }

func (a cronAdapter) Next(t time.Time) time.Time { return a.s.Next(t) }

// walkStart is a fixed reference for the checks that look at dates, so a
// spec is judged the same way whenever it is parsed.
var walkStart = time.Date(2027, time.December, 25, 0, 0, 0, 0, time.UTC)

// starBit marks a cron field written as "*" (robfig/cron's convention),
// which changes how day of month and day of week combine.
const starBit = 1 << 63

// checkInterval refuses schedules that fire more often than min, and those
// that never fire. The gaps are those of the wall clock: the times of day
// a spec allows are checked exactly from the cron fields, and the gap from
// the last time of one day to the first of the next counts when two
// consecutive days can both match (checked over eight years of dates). A
// daylight-saving jump, which can shorten one gap a year by an hour, is not
// counted: the minimum is there to stop a flood of digests, not that.
func (s *Schedule) checkInterval(min time.Duration) error {
	tooOften := func(gap time.Duration) error {
		return digestbot.Errorf(digestbot.EINVALID, "schedule %q fires every %s at times; the shortest allowed interval is %s", s.spec, DurationText(gap), DurationText(min))
	}
	switch c := s.sched.(type) {
	case cron.ConstantDelaySchedule:
		if c.Delay < min {
			return tooOften(c.Delay)
		}
		return nil
	case *cron.SpecSchedule:
		var tods []int // minutes after midnight
		for h := 0; h < 24; h++ {
			if c.Hour&(1<<uint(h)) == 0 {
				continue
			}
			for m := 0; m < 60; m++ {
				if c.Minute&(1<<uint(m)) != 0 {
					tods = append(tods, h*60+m)
				}
			}
		}
		for i := 1; i < len(tods); i++ {
			if gap := time.Duration(tods[i]-tods[i-1]) * time.Minute; gap < min {
				return tooOften(gap)
			}
		}
		if len(tods) > 0 {
			wrap := time.Duration(tods[0]+24*60-tods[len(tods)-1]) * time.Minute
			if wrap < min && consecutiveDays(c) {
				return tooOften(wrap)
			}
		}
	}
	if s.Next(walkStart).IsZero() {
		return digestbot.Errorf(digestbot.EINVALID, "schedule %q never fires (no such date)", s.spec)
	}
	return nil
}

// consecutiveDays reports whether two consecutive dates both match the
// schedule's month, day-of-month and day-of-week fields.
func consecutiveDays(c *cron.SpecSchedule) bool {
	prev := false
	for d := walkStart; d.Before(walkStart.AddDate(8, 0, 0)); d = d.AddDate(0, 0, 1) {
		cur := dayMatches(c, d)
		if cur && prev {
			return true
		}
		prev = cur
	}
	return false
}

// dayMatches is robfig/cron's rule: the month must match; day of month and
// day of week must both match when either is "*", else either may.
func dayMatches(c *cron.SpecSchedule, t time.Time) bool {
	if c.Month&(1<<uint(t.Month())) == 0 {
		return false
	}
	dom := c.Dom&(1<<uint(t.Day())) != 0
	dow := c.Dow&(1<<uint(t.Weekday())) != 0
	if c.Dom&starBit != 0 || c.Dow&starBit != 0 {
		return dom && dow
	}
	return dom || dow
}

package schedule

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// String returns the spec with its zone, for logs and operators: "daily
// 08:00 (Europe/Paris)". Replies to people use Words.
func (s *Schedule) String() string { return s.spec + " (" + s.loc.String() + ")" }

// Words describes the schedule for people: "every day at 08:00,
// Europe/Oslo", "every Monday at 08:00, Europe/Oslo", "every weekday
// (Monday to Friday) at 09:00, America/New_York", "every hour", "every 30
// minutes". A cron expression of another shape is named as it is, with
// its zone. The zone is left out where it changes nothing (every hour,
// every 30 minutes, in a zone a whole number of hours from UTC).
func (s *Schedule) Words() string {
	what, zoned := s.words()
	if zoned || !wholeHours(s.loc) {
		return what + ", " + s.loc.String()
	}
	return what
}

// words describes the cron of s; zoned says whether the description
// depends on the time zone.
func (s *Schedule) words() (string, bool) {
	switch c := strings.ToLower(s.cron); {
	case c == "@hourly":
		return "every hour", false
	case c == "@daily" || c == "@midnight":
		return "every day at 00:00", true
	case c == "@weekly":
		return "every Sunday at 00:00", true
	case c == "@monthly":
		return "on the 1st of every month at 00:00", true
	case c == "@yearly" || c == "@annually":
		return "every 1 January at 00:00", true
	case strings.HasPrefix(c, "@every "):
		d, err := time.ParseDuration(strings.TrimSpace(c[len("@every "):]))
		if err == nil {
			return "every " + DurationText(d), false
		}
	}
	f := strings.Fields(s.cron)
	if len(f) == 5 {
		if w, zoned, ok := cronWords(f[0], f[1], f[2], f[3], f[4]); ok {
			return w, zoned
		}
	}
	return "on the cron schedule `" + s.spec + "`", true
}

// cronWords describes the common shapes of a 5-field cron expression.
func cronWords(min, hour, dom, month, dow string) (string, bool, bool) {
	if month != "*" {
		return "", false, false
	}
	m, minOK := number(min, 59)
	if hour == "*" && dom == "*" && dow == "*" {
		switch n, ok := step(min); {
		case minOK && m == 0:
			return "every hour", false, true
		case minOK:
			return fmt.Sprintf("every hour at %d minutes past", m), false, true
		case ok && 60%n == 0:
			return fmt.Sprintf("every %d minutes", n), false, true
		}
		return "", false, false
	}
	if n, ok := step(hour); ok && minOK && dom == "*" && dow == "*" && 24%n == 0 {
		if m == 0 {
			return fmt.Sprintf("every %d hours", n), true, true
		}
		return fmt.Sprintf("every %d hours at %d minutes past", n, m), true, true
	}
	if !minOK {
		return "", false, false
	}
	var times []string
	for _, h := range strings.Split(hour, ",") {
		hh, ok := number(h, 23)
		if !ok {
			return "", false, false
		}
		times = append(times, fmt.Sprintf("%02d:%02d", hh, m))
	}
	at := " at " + list(times)
	switch {
	case dom == "*" && dow == "*":
		return "every day" + at, true, true
	case dom == "*" && (dow == "1-5" || dow == "mon-fri"):
		return "every weekday (Monday to Friday)" + at, true, true
	case dom == "*":
		var days []string
		for _, d := range strings.Split(dow, ",") {
			n, ok := weekdays[strings.ToLower(d)]
			if !ok {
				if _, isNum := number(d, 7); !isNum {
					return "", false, false
				}
				n = d
			}
			i, _ := strconv.Atoi(n)
			days = append(days, time.Weekday(i%7).String())
		}
		return "every " + list(days) + at, true, true
	case dow == "*":
		d, ok := number(dom, 31)
		if !ok || d == 0 {
			return "", false, false
		}
		return "on the " + ordinal(d) + " of every month" + at, true, true
	}
	return "", false, false
}

// number reads a cron field that is one number from 0 to max.
func number(f string, max int) (int, bool) {
	n, err := strconv.Atoi(f)
	return n, err == nil && n >= 0 && n <= max && f[0] != '+'
}

// step reads a "*/N" field.
func step(f string) (int, bool) {
	rest, ok := strings.CutPrefix(f, "*/")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(rest)
	return n, err == nil && n > 0
}

// list joins words as a sentence does: "a", "a and b", "a, b and c".
func list(ws []string) string {
	if len(ws) == 1 {
		return ws[0]
	}
	return strings.Join(ws[:len(ws)-1], ", ") + " and " + ws[len(ws)-1]
}

func ordinal(n int) string {
	switch {
	case n%100 >= 11 && n%100 <= 13:
		return fmt.Sprintf("%dth", n)
	case n%10 == 1:
		return fmt.Sprintf("%dst", n)
	case n%10 == 2:
		return fmt.Sprintf("%dnd", n)
	case n%10 == 3:
		return fmt.Sprintf("%drd", n)
	}
	return fmt.Sprintf("%dth", n)
}

// wholeHours reports whether loc is always a whole number of hours from
// UTC (then "every hour" is on the hour in UTC too).
func wholeHours(loc *time.Location) bool {
	january, july := clocks(loc)
	return january%3600 == 0 && july%3600 == 0
}

// DurationText writes a duration in words: "1 minute", "15 minutes",
// "2 hours", "30 days", "90 seconds"; never Go's "15m0s".
func DurationText(d time.Duration) string {
	unit := func(n int64, one string) string {
		if n == 1 {
			return "1 " + one
		}
		return fmt.Sprintf("%d %ss", n, one)
	}
	day := 24 * time.Hour
	switch {
	case d >= day && d%day == 0:
		return unit(int64(d/day), "day")
	case d >= time.Hour && d%time.Hour == 0:
		return unit(int64(d/time.Hour), "hour")
	case d >= time.Minute && d%time.Minute == 0:
		return unit(int64(d/time.Minute), "minute")
	case d >= time.Second && d%time.Second == 0:
		return unit(int64(d/time.Second), "second")
	}
	return d.String()
}

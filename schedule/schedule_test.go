package schedule

import (
	"strings"
	"testing"
	"time"

	digestbot "github.com/digestbot/digestbot"
)

func TestParseNext(t *testing.T) {
	paris, _ := time.LoadLocation("Europe/Paris")
	shanghai, _ := time.LoadLocation("Asia/Shanghai")
	tests := []struct {
		name, spec, tz string
		after          time.Time
		wantSpec       string
		want           time.Time
	}{
		{"hourly", "hourly", "", time.Date(2026, 3, 1, 10, 15, 0, 0, time.UTC), "hourly", time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC)},
		{"daily in Paris", "daily 08:00", "Europe/Paris", time.Date(2026, 3, 1, 7, 30, 0, 0, time.UTC), "daily 08:00", time.Date(2026, 3, 2, 8, 0, 0, 0, paris)},
		{"daily single digit hour", "Daily  8:05", "UTC", time.Date(2026, 3, 1, 7, 30, 0, 0, time.UTC), "daily 08:05", time.Date(2026, 3, 1, 8, 5, 0, 0, time.UTC)},
		{"weekly monday", "weekly mon 08:00", "Asia/Shanghai", time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC), "weekly mon 08:00", time.Date(2026, 11, 30, 8, 0, 0, 0, shanghai)},
		{"weekly full day name", "weekly Friday 17:30", "UTC", time.Date(2026, 11, 27, 18, 0, 0, 0, time.UTC), "weekly fri 17:30", time.Date(2026, 12, 4, 17, 30, 0, 0, time.UTC)},
		{"cron every 30 minutes", "*/30 * * * *", "", time.Date(2026, 3, 1, 10, 15, 0, 0, time.UTC), "*/30 * * * *", time.Date(2026, 3, 1, 10, 30, 0, 0, time.UTC)},
		{"cron weekdays", "0 9 * * 1-5", "America/New_York", time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC), "0 9 * * 1-5", time.Date(2026, 11, 30, 14, 0, 0, 0, time.UTC)},
		{"descriptor", "@daily", "", time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC), "@daily", time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)},
		{"every", "@every 2h", "", time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC), "@every 2h", time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)},
		// 02:30 does not exist on the day clocks go forward: that day has no
		// digest (robfig/cron skips it) and the items wait a day.
		{"daily across spring forward", "daily 02:30", "Europe/Paris", time.Date(2026, 3, 28, 12, 0, 0, 0, time.UTC), "daily 02:30", time.Date(2026, 3, 30, 2, 30, 0, 0, paris)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse(tt.spec, tt.tz, 0)
			if err != nil {
				t.Fatalf("Parse(%q, %q): %v", tt.spec, tt.tz, err)
			}
			if s.Spec() != tt.wantSpec {
				t.Errorf("Spec() = %q, want %q", s.Spec(), tt.wantSpec)
			}
			if got := s.Next(tt.after); !got.Equal(tt.want) {
				t.Errorf("Next(%v) = %v, want %v", tt.after, got, tt.want)
			}
			if got := s.Next(tt.after); got.Location() != s.Location() {
				t.Errorf("Next is in %v, want the schedule's zone %v", got.Location(), s.Location())
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	tests := []struct {
		name, spec, tz string
		min            time.Duration
		wantMsg        string // part of the user message
	}{
		{"empty", "  ", "", 0, "schedule is empty"},
		{"garbage", "whenever", "", 0, "not a valid preset"},
		{"six fields", "0 0 8 * * *", "", 0, "exactly 5 fields"},
		{"out of range minute", "61 * * * *", "", 0, "not a valid preset"},
		{"every zero", "@every 0s", "", 0, "interval must be positive"},
		{"every negative", "@every -5m", "", 0, "interval must be positive"},
		{"every too short", "@every 1m", "", 0, "shortest allowed interval is 5 minutes"},
		{"bare CRON_TZ", "CRON_TZ=UTC", "", 0, "time zone separately"},
		{"CRON_TZ prefix", "CRON_TZ=Asia/Tokyo 0 8 * * *", "", 0, "time zone separately"},
		{"TZ prefix", "TZ=UTC 0 8 * * *", "", 0, "time zone separately"},
		{"unknown zone", "daily 08:00", "Mars/Olympus", 0, `unknown time zone "Mars/Olympus"`},
		{"local zone", "daily 08:00", "Local", 0, "unknown time zone"},
		{"every minute", "* * * * *", "", 0, "fires every 1 minute"},
		{"two minutes apart once a day", "0,2 8 * * *", "", 0, "fires every 2 minutes"},
		{"across midnight", "59 23 * * *", "", 0, ""}, // allowed: a day apart
		{"across midnight too close", "58 23,0 * * *", "", 2 * time.Hour, "fires every 1 hour"},
		{"hourly under a 2h minimum", "hourly", "", 2 * time.Hour, "shortest allowed interval is 2 hours"},
		{"never fires", "0 0 30 2 *", "", 0, "never fires"},
		{"leap day only, close across midnight", "58 23 28 2 *", "", 0, ""}, // Feb 28 only: a year apart
		{"Feb 28 and 29 across midnight", "30 0,23 28,29 2 *", "", 2 * time.Hour, "fires every 1 hour"},
		{"weekends across midnight", "30 0,23 * * 6,0", "", 2 * time.Hour, "fires every 1 hour"},
		{"monday only, across midnight", "30 0,23 * * 1", "", 2 * time.Hour, ""},
		{"daily without time", "daily", "", 0, `write "daily HH:MM"`},
		{"daily bad time", "daily 25:00", "", 0, "not a time of day"},
		{"daily bad minutes", "daily 8:5", "", 0, "not a time of day"},
		{"weekly bad day", "weekly someday 08:00", "", 0, "not a day of the week"},
		{"hourly with extra", "hourly 5", "", 0, "takes nothing after it"},
		{"too long", strings.Repeat("1,", 150) + " * * * *", "", 0, "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse(tt.spec, tt.tz, tt.min)
			if tt.wantMsg == "" {
				if err != nil {
					t.Fatalf("Parse(%q) = %v, want it accepted", tt.spec, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Parse(%q, %q) = %v, want an error", tt.spec, tt.tz, s)
			}
			if code := digestbot.ErrorCode(err); code != digestbot.EINVALID {
				t.Errorf("code = %q, want %q", code, digestbot.EINVALID)
			}
			if msg := digestbot.ErrorMessage(err); !strings.Contains(msg, tt.wantMsg) {
				t.Errorf("message %q does not contain %q", msg, tt.wantMsg)
			}
		})
	}
}

func TestString(t *testing.T) {
	s, err := Parse("weekly MON 8:00", "Europe/Berlin", 0)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.String(), "weekly mon 08:00 (Europe/Berlin)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got, want := s.Cron(), "0 8 * * 1"; got != want {
		t.Errorf("Cron() = %q, want %q", got, want)
	}
	// The canonical spec parses back to the same schedule.
	again, err := Parse(s.Spec(), s.TimeZone(), 0)
	if err != nil || again.String() != s.String() {
		t.Errorf("re-parsing %q gave %v, %v", s.Spec(), again, err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"hourly", "daily 08:00", "weekly mon 08:00", "*/5 * * * *", "@every 1h", "CRON_TZ=UTC", "0 0 30 2 *", "TZ= 1", "@every 0s", "5-1/0 * * * *",
		"0 9 * * 1-5", "30 7 * * 1,3,5", "0 8,17 * * *", "0 6 22 * *", "0 */6 * * *", "15 * * * *", "@monthly"} {
		f.Add(s, "UTC")
	}
	f.Add("daily 08:00", "Europe/Paris")
	f.Add("daily 08:00", "Beijing")
	f.Add("hourly", "CST")
	f.Add("weekly mon 08:00", "new york")
	f.Fuzz(func(t *testing.T, spec, tz string) {
		s, err := Parse(spec, tz, 0)
		if err != nil {
			if digestbot.ErrorCode(err) != digestbot.EINVALID {
				t.Fatalf("Parse(%q, %q): code %q, want EINVALID: %v", spec, tz, digestbot.ErrorCode(err), err)
			}
			return
		}
		from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		a := s.Next(from)
		if a.IsZero() || !a.After(from) {
			t.Fatalf("Parse(%q): Next(%v) = %v", spec, from, a)
		}
		if b := s.Next(a); !b.IsZero() && b.Sub(a) < DefaultMinInterval {
			t.Fatalf("Parse(%q) accepted a schedule firing %v apart", spec, b.Sub(a))
		}
		if _, err := Parse(s.Spec(), s.TimeZone(), 0); err != nil {
			t.Fatalf("canonical spec %q does not parse again: %v", s.Spec(), err)
		}
		if w := s.Words(); w == "" {
			t.Fatalf("Parse(%q) has no words", spec)
		}
	})
}

// TestZonesAsPeopleTypeThem: the usual spelling is found whatever the case,
// with spaces for underscores; a zone that does not exist is still refused.
func TestZonesAsPeopleTypeThem(t *testing.T) {
	for in, want := range map[string]string{
		"europe/paris": "Europe/Paris", "america/new_york": "America/New_York", "America/New York": "America/New_York",
		"ASIA/HO_CHI_MINH": "Asia/Ho_Chi_Minh", "utc": "UTC", "Europe/Paris": "Europe/Paris",
	} {
		loc, err := LoadZone(in)
		if err != nil || loc.String() != want {
			t.Errorf("LoadZone(%q) = %v, %v; want %s", in, loc, err, want)
		}
	}
	if _, err := LoadZone("mars/olympus_mons"); err == nil {
		t.Error("a zone that does not exist was accepted")
	}
}

// TestScheduleInWords: a schedule reads as a sentence, with its zone where
// the zone changes when it fires; never as cron or Go syntax.
func TestScheduleInWords(t *testing.T) {
	tests := []struct{ spec, tz, want string }{
		{"daily 08:00", "Europe/Oslo", "every day at 08:00, Europe/Oslo"},
		{"daily 08:00", "", "every day at 08:00, UTC"},
		{"weekly mon 08:00", "Europe/Oslo", "every Monday at 08:00, Europe/Oslo"},
		{"hourly", "Europe/Oslo", "every hour"},
		{"hourly", "Asia/Kolkata", "every hour, Asia/Kolkata"},
		{"*/30 * * * *", "America/New_York", "every 30 minutes"},
		{"15 * * * *", "", "every hour at 15 minutes past"},
		{"0 */6 * * *", "Asia/Tokyo", "every 6 hours, Asia/Tokyo"},
		{"0 9 * * 1-5", "America/New_York", "every weekday (Monday to Friday) at 09:00, America/New_York"},
		{"30 7 * * 1,3,5", "", "every Monday, Wednesday and Friday at 07:30, UTC"},
		{"0 8,17 * * *", "", "every day at 08:00 and 17:00, UTC"},
		{"0 8 * * 0", "", "every Sunday at 08:00, UTC"},
		{"0 6 1 * *", "", "on the 1st of every month at 06:00, UTC"},
		{"0 6 22 * *", "", "on the 22nd of every month at 06:00, UTC"},
		{"@daily", "Europe/Paris", "every day at 00:00, Europe/Paris"},
		{"@every 2h", "", "every 2 hours"},
		{"@every 90m", "", "every 90 minutes"},
		{"0 8 * 1 *", "Europe/Paris", "on the cron schedule `0 8 * 1 *`, Europe/Paris"},
	}
	for _, tt := range tests {
		s, err := Parse(tt.spec, tt.tz, 0)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.spec, err)
		}
		if got := s.Words(); got != tt.want {
			t.Errorf("%s in %q: %q, want %q", tt.spec, tt.tz, got, tt.want)
		}
	}
	for d, want := range map[time.Duration]string{time.Minute: "1 minute", 15 * time.Minute: "15 minutes",
		time.Hour: "1 hour", 30 * 24 * time.Hour: "30 days", 90 * time.Second: "90 seconds", 36 * time.Hour: "36 hours"} {
		if got := DurationText(d); got != want {
			t.Errorf("DurationText(%v) = %q, want %q", d, got, want)
		}
	}
}

package commands

import (
	"fmt"
	"time"
)

// plural picks the word that agrees with a count of n: one for 1, many
// for 0 and more ("0 articles match", "1 article matches"). Every count in
// a reply goes through it (or count), so none reads "1 articles".
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// count writes n with the agreeing noun: "1 story", "3 stories".
func count(n int, one, many string) string {
	return fmt.Sprintf("%d %s", n, plural(n, one, many))
}

func stories(n int) string { return count(n, "story", "stories") }

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// dateLayout is how a reply writes a date: "20 Mar 2026", read the same
// way everywhere.
const dateLayout = "2 Jan 2006"

// discordTime renders a time that Discord shows in each reader's own zone.
func discordTime(t time.Time) string { return fmt.Sprintf("<t:%d:f>", t.Unix()) }

package commands

import (
	"strings"
)

// helpExamples show a command as people use it; a command without one is
// described by its definition.
var helpExamples = map[string]string{
	"subscribe":      "follow a query or topic here: `/subscribe query:\"facial recognition\" OR surveillance NOT BMW`, `/subscribe topic:NAME`",
	"unsubscribe":    "stop following one",
	"subscriptions":  "what a channel follows, and when its digest comes",
	"schedule":       "when digests come: `/schedule when:daily 08:00 timezone:Oslo` (hourly, daily HH:MM, weekly mon HH:MM, or cron)",
	"digest preview": "see the next digest (only you see it)",
	"digest now":     "post it now",
	"lookup":         "search past articles: `/lookup query:ferry strike since:7d`",
	"feeds add":      "add a feed to read: `/feeds add url:https://example.org/feed.xml`",
	"topics create":  "name a query to share: `/topics create name:ports query:harbour OR ferry`",
}

// helpText lists every command (Definitions), with the query language
// in brief. Commands that change the server's digests are marked.
func helpText() string {
	var b strings.Builder
	b.WriteString("**digestbot** posts news digests to each channel on its own schedule.\n")
	for _, d := range Definitions() {
		if d.Name == "help" {
			continue
		}
		what := helpExamples[d.Name]
		if what == "" {
			what = strings.ToLower(d.Description[:1]) + d.Description[1:]
		}
		mark := ""
		if d.Manage {
			mark = " ✎"
		}
		b.WriteString("• `/" + d.Name + "`" + mark + " — " + what + "\n")
	}
	b.WriteString("Queries: words (all must occur), \"exact phrases\", OR, -word or NOT word, prefix*, " +
		"title:, source:, tag:, site:example.org, topic:NAME.\n")
	b.WriteString("✎ needs the Manage Channels permission. Long lists come in pages: use the buttons under them.")
	return b.String()
}

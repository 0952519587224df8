package why

import (
	"fmt"
	"strings"
	"time"

	digestbot "github.com/digestbot/digestbot"
)

// What the bot has of the article (Report.Status).
const (
	StatusStored     = "stored"      // stored, and this server may see it
	StatusNotVisible = "not_visible" // stored only from other servers' own feeds
	StatusNotStored  = "not_stored"  // never seen, or older than the retention window
)

// What became of the article for one subscription (Subscription.Outcome).
const (
	OutcomeDelivered          = "delivered"           // in a digest posted to the channel
	OutcomeDelivering         = "delivering"          // in a digest being posted right now
	OutcomePending            = "pending"             // waiting for the channel's next digest
	OutcomeNotMatchedYet      = "not_matched_yet"     // ingested after the matcher's last run
	OutcomeBeforeSubscription = "before_subscription" // ingested before the subscription (and its backfill)
	OutcomeNotQueued          = "not_queued"          // matches now; did not when it was matched
	OutcomeBacklog            = "backlog"             // came with a new feed's first poll, published before it was added
	OutcomeExcluded           = "excluded"            // an exclusion of the query removed it
	OutcomeNoMatch            = "no_match"            // the story lacks what the query asks for
	OutcomeBroken             = "broken"              // the subscription matches nothing (a deleted topic)
)

// Report is the explanation for one article and one server; its JSON form
// is what `digestbot why --json` prints.
type Report struct {
	URL     string   `json:"url"` // canonical
	GuildID string   `json:"guild_id"`
	Status  string   `json:"status"`
	Article *Article `json:"article,omitempty"` // when stored and visible
	// FeedTrouble lists this server's feeds that are paused or failing,
	// when the article is not stored: it may be in one of them.
	FeedTrouble   []FeedNote     `json:"feed_trouble,omitempty"`
	Retention     time.Duration  `json:"-"`
	Subscriptions []Subscription `json:"subscriptions"`
}

// Article is what the server may know of a stored article.
type Article struct {
	ID        string    `json:"id"`
	Title     string    `json:"title"`
	Source    string    `json:"source,omitempty"` // the outlet's name, for a public article
	From      string    `json:"from"`             // where the bot got it, as this server may know
	Ingested  time.Time `json:"ingested"`
	Published time.Time `json:"published,omitzero"`
	Language  string    `json:"language"` // "" when unknown
	// FeedTrouble says what is wrong with the feed it came from, if
	// anything (and the feed is one this server may know of).
	FeedTrouble string `json:"feed_trouble,omitempty"`
}

// FeedNote is a feed of the server with a polling problem.
type FeedNote struct {
	Feed    string `json:"feed"`
	Trouble string `json:"trouble"`
}

// Subscription is what became of the article for one subscription.
type Subscription struct {
	ID        string    `json:"id"`
	ChannelID string    `json:"channel_id"`
	Label     string    `json:"label"`
	CreatedAt time.Time `json:"created_at"`
	Outcome   string    `json:"outcome"`
	Terms     []string  `json:"terms,omitempty"`    // matched terms
	Excluded  []string  `json:"excluded,omitempty"` // exclusions that removed it ("-BMW")
	// Delivered: when, the message's link, and how it was shown there
	// (digestbot.Placed*: "" as a story of the message).
	DeliveredAt time.Time `json:"delivered_at,omitzero"`
	Message     string    `json:"message,omitempty"`
	How         string    `json:"how,omitempty"`
	// Pending: when the channel's next digest is due, and why delivery
	// to the channel is paused, if it is.
	NextDigest time.Time `json:"next_digest,omitzero"`
	Paused     string    `json:"paused,omitempty"`
	Reason     string    `json:"reason,omitempty"` // more on the outcome
}

// TextOptions tune Text.
type TextOptions struct {
	// Channel names a channel: "<#ID>" in Discord, "channel ID" on a terminal.
	Channel func(id string) string
	// MaxNoMatch is how many subscriptions that do not match are listed
	// one by one; the rest are counted. 0: all.
	MaxNoMatch int
	Location   *time.Location // times are shown in it; nil: UTC
}

// Text renders the report as Markdown lines (which read as plain text on
// a terminal too).
func (r *Report) Text(o TextOptions) string {
	if o.Channel == nil {
		o.Channel = func(id string) string { return "channel " + id }
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	when := func(t time.Time) string { return t.In(o.Location).Format("2006-01-02 15:04 MST") }
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	switch r.Status {
	case StatusNotStored:
		line("**Not stored:** the bot has not seen %s (or saw it more than %s ago, longer than it keeps articles). A story is stored when one of the feeds the bot polls, the push API or the operator brings it in; add its feed with `/feeds add`.", r.URL, days(r.Retention))
		for _, f := range r.FeedTrouble {
			line("• This server's feed %s: %s", f.Feed, f.Trouble)
		}
		return b.String()
	case StatusNotVisible:
		line("**Not visible to this server:** the bot has %s only from feeds of other servers, which only they see. Add a feed that carries it with `/feeds add` to get it here.", r.URL)
		return b.String()
	}
	a := r.Article
	line("**%s**", a.Title)
	from := "from " + a.From
	if a.Source != "" {
		from = a.Source + ", " + from
	}
	lang := a.Language
	if lang == "" {
		lang = "unknown"
	}
	line("Stored %s · %s · language %s", when(a.Ingested), from, lang)
	if a.FeedTrouble != "" {
		line("⚠ The feed it came from: %s", a.FeedTrouble)
	}
	if len(r.Subscriptions) == 0 {
		line("This server has no subscriptions.")
		return b.String()
	}
	noMatch := 0
	for _, s := range r.Subscriptions {
		if s.Outcome == OutcomeNoMatch {
			noMatch++
			if o.MaxNoMatch > 0 && noMatch > o.MaxNoMatch {
				continue
			}
		}
		line("• `%s` in %s: %s", s.Label, o.Channel(s.ChannelID), s.explain(when))
	}
	if o.MaxNoMatch > 0 && noMatch > o.MaxNoMatch {
		line("• %d more subscriptions do not match it.", noMatch-o.MaxNoMatch)
	}
	return b.String()
}

// explain is the sentence for one subscription.
func (s *Subscription) explain(when func(time.Time) string) string {
	matched := "matched"
	if len(s.Terms) > 0 {
		matched = "matched " + quoteAll(s.Terms)
	}
	switch s.Outcome {
	case OutcomeDelivered:
		out := matched + "; delivered " + when(s.DeliveredAt)
		switch {
		case s.How == digestbot.PlacedSetAside:
			return out + ", but Discord refused the message that held it (see /subscriptions)"
		case s.Message == "":
			return out
		case s.How == digestbot.PlacedBehindMore:
			return out + " behind the More stories button of " + s.Message
		case s.How == digestbot.PlacedNotShown:
			return out + " in " + s.Message + ", counted in its section's \"more\" (not shown)"
		}
		return out + " in " + s.Message
	case OutcomeDelivering:
		return matched + "; its digest is being posted right now"
	case OutcomePending:
		out := matched + "; waiting for the channel's next digest"
		if !s.NextDigest.IsZero() {
			out += ", due " + when(s.NextDigest)
		}
		if s.Paused != "" {
			out += "; but delivery to this channel is paused: " + s.Paused
		}
		if s.Reason != "" {
			out += " (" + s.Reason + ")"
		}
		return out
	case OutcomeNotMatchedYet:
		return "matches " + quoteAll(s.Terms) + ", but the matcher has not reached it yet (stored after its last run); it is matched within a minute"
	case OutcomeBeforeSubscription:
		return "matches, but the story was stored before the subscription was created (" + when(s.CreatedAt) + "); subscriptions get what arrives after them"
	case OutcomeBacklog:
		return "matches, but it came with the first poll of this server's new feed and was published before the feed was added: a new feed starts from now (its backlog is for /lookup; /feeds add backfill: brings the last days)"
	case OutcomeNotQueued:
		return "matches it now, but did not when it arrived (the story or a topic changed since); stories are matched once, when they arrive"
	case OutcomeExcluded:
		return "left out by " + strings.Join(s.Excluded, " ")
	case OutcomeBroken:
		return "matches nothing: " + s.Reason
	}
	return "no match: the story does not have what the query asks for"
}

func quoteAll(terms []string) string {
	if len(terms) == 0 {
		return "(by language alone)"
	}
	q := make([]string, len(terms))
	for i, t := range terms {
		q[i] = "**" + t + "**"
	}
	return strings.Join(q, ", ")
}

func days(d time.Duration) string {
	if d <= 0 {
		return "the retention window"
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}

package digestbot

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Limits of a spike rule.
const (
	MinSpikeOutlets = 2
	MaxSpikeOutlets = 50
	MaxSpikeHours   = 72
)

// Spike asks for an alert when a subscription's query suddenly spreads:
// when the Outlets-th distinct outlet carries a matching story within
// Hours hours. Written N/H (`spike:5/6`).
type Spike struct {
	Outlets int `json:"outlets"`
	Hours   int `json:"hours"`
}

// ParseSpike reads N/H; "" is no rule (nil).
func ParseSpike(text string) (*Spike, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, nil
	}
	n, h, ok := strings.Cut(text, "/")
	outlets, err1 := strconv.Atoi(strings.TrimSpace(n))
	hours, err2 := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(h), "h"))
	if !ok || err1 != nil || err2 != nil {
		return nil, Errorf(EINVALID, "spike %q: write outlets/hours, e.g. 5/6 for 5 outlets within 6 hours", text)
	}
	s := &Spike{Outlets: outlets, Hours: hours}
	return s, s.Validate()
}

// Validate checks the rule's limits.
func (s *Spike) Validate() error {
	if s == nil {
		return nil
	}
	switch {
	case s.Outlets < MinSpikeOutlets || s.Outlets > MaxSpikeOutlets:
		return Errorf(EINVALID, "spike: the number of outlets must be %d to %d, not %d", MinSpikeOutlets, MaxSpikeOutlets, s.Outlets)
	case s.Hours < 1 || s.Hours > MaxSpikeHours:
		return Errorf(EINVALID, "spike: the window must be 1 to %d hours, not %d", MaxSpikeHours, s.Hours)
	}
	return nil
}

// String writes the rule as N/H; "" for none.
func (s *Spike) String() string {
	if s == nil {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.Outlets, s.Hours)
}

// Window is the rule's window as a duration.
func (s *Spike) Window() time.Duration { return time.Duration(s.Hours) * time.Hour }

// MaxSpikeNames bounds the outlets an alert names.
const MaxSpikeNames = 10

// SpikeAlert marks the hit of the story that made a subscription's query
// spread (see Spike): it was the Outlets-th distinct outlet within Hours
// hours. A channel gets at most one per subscription and window.
//
// It is a field of the Hit, not of the PendingItem, so that it survives
// the merge of the item with other subscriptions' hits. It combines with
// the subscription's delivery settings (Subscription.Mode, Mention) as an
// instant hit does: the spike hit is marked Instant, so the story goes out
// within a minute with the alert above it, through the instant alerts'
// path, in a subscription of either mode, pinging its role if it has one;
// the subscription's other stories keep its mode.
type SpikeAlert struct {
	Outlets int      `json:"outlets"`
	Hours   int      `json:"hours"`
	Names   []string `json:"names,omitempty"` // up to MaxSpikeNames of the outlets
}

// Text is the alert as one line: "📈 spreading: 5 outlets in 6 h".
func (a *SpikeAlert) Text() string {
	return fmt.Sprintf("📈 spreading: %d outlets in %d h", a.Outlets, a.Hours)
}

// SpikeNote is one matching story of a subscription that has a spike rule.
type SpikeNote struct {
	GuildID, SubscriptionID string
	Outlets                 []string      // the story's outlets
	At                      time.Time     // when it was published (else ingested)
	Window                  time.Duration // the rule's window
	Threshold               int           // the rule's outlets
}

// SpikeCount is a subscription's state after a note.
type SpikeCount struct {
	Outlets int      // distinct outlets within the window
	Names   []string // their names, when Outlets reached the threshold
	Alerted bool     // an alert already went out in this window
}

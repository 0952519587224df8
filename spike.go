package digestbot

import (
	"fmt"
	"strconv"
	"strings"
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

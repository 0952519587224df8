package subscriptions

// Spike alerts: a subscription with a spike rule (digestbot.Spike) gets
// an alert when its query suddenly spreads. The matcher notes the outlets
// of each matching story in the store (counted per subscription within the
// rule's window, kept in Redis with an expiry), and when the count reaches
// the rule's number the hit of the story that made it carries the alert
// (digestbot.Hit.Spike) into the channel's pending queue, the normal
// delivery path, marked instant: like a story of an instant subscription
// it goes out within a minute (OnInstant), whatever the subscription's
// mode, pinging the subscription's role if it has one. The store
// remembers the alert for a window, so a channel gets one per
// subscription and window, not a storm.
//
// The mark is written only after the queue took the alert: a run that
// fails in between is repeated, finds the count at the threshold and no
// mark, and queues the alert again (the queue merges the repeat).

import (
	"context"
	"fmt"
	"strings"
	"time"

	digestbot "github.com/digestbot/digestbot"
)

// SpikeCounter counts the outlets of subscriptions' matching stories;
// *store.Store is one.
type SpikeCounter interface {
	NoteSpikes(ctx context.Context, now time.Time, notes []digestbot.SpikeNote) ([]digestbot.SpikeCount, error)
	MarkSpikeAlerted(ctx context.Context, guildID, subID string, window time.Duration) error
}

// spikeNotes collects, for one batch, the hits of subscriptions with a
// spike rule and where each sits among the pending items.
type spikeNotes struct {
	notes []digestbot.SpikeNote
	at    [][2]int // item and hit index of each note
	subs  []*digestbot.Subscription
}

// add notes a's outlets for s, whose hit is items[item].Hits[hit]. A story
// older than the window is not noted: it cannot make a spread now.
func (n *spikeNotes) add(s *digestbot.Subscription, a *digestbot.Article, now time.Time, item, hit int) {
	if s.Spike == nil {
		return
	}
	at := a.Published
	if at.IsZero() || at.After(now) {
		at = a.Ingested
	}
	if at.Before(now.Add(-s.Spike.Window())) {
		return
	}
	var outlets []string
	for _, name := range a.SourceNames() {
		if name = strings.TrimSpace(name); name != "" {
			outlets = append(outlets, name)
		}
	}
	if len(outlets) == 0 {
		return
	}
	n.notes = append(n.notes, digestbot.SpikeNote{GuildID: s.GuildID, SubscriptionID: s.ID, Outlets: outlets, At: at,
		Window: s.Spike.Window(), Threshold: s.Spike.Outlets})
	n.at = append(n.at, [2]int{item, hit})
	n.subs = append(n.subs, s)
}

// count records the notes and marks the hit of each subscription whose
// count reached its rule, once per subscription; it returns those
// subscriptions, to be marked as alerted once the items are queued.
func (m *Matcher) countSpikes(ctx context.Context, n *spikeNotes, items []digestbot.PendingItem, now time.Time) ([]*digestbot.Subscription, error) {
	if m.opt.Spikes == nil || len(n.notes) == 0 {
		return nil, nil
	}
	counts, err := m.opt.Spikes.NoteSpikes(ctx, now, n.notes)
	if err != nil {
		return nil, fmt.Errorf("count the outlets of spike rules: %w", err)
	}
	var alerted []*digestbot.Subscription
	done := map[string]bool{}
	for i, c := range counts {
		s := n.subs[i]
		if c.Alerted || done[s.ID] || c.Outlets < s.Spike.Outlets {
			continue
		}
		done[s.ID] = true
		where := n.at[i]
		h := &items[where[0]].Hits[where[1]]
		h.Spike = &digestbot.SpikeAlert{Outlets: c.Outlets, Hours: s.Spike.Hours, Names: c.Names}
		h.Instant = true
		alerted = append(alerted, s)
	}
	return alerted, nil
}

// alerted marks the subscriptions whose alert is queued (and scheduled).
func (m *Matcher) alerted(ctx context.Context, subs []*digestbot.Subscription) {
	for _, s := range subs {
		if err := m.opt.Spikes.MarkSpikeAlerted(ctx, s.GuildID, s.ID, s.Spike.Window()); err != nil {
			// The next story of the window may alert again: one more alert,
			// never a lost one.
			m.log.Warn("matcher: recording a spike alert failed", "subscription", s.ID, "err", err)
		}
		m.log.Info("matcher: spike alert", "guild", s.GuildID, "channel", s.ChannelID, "subscription", s.ID, "rule", s.Spike.String())
	}
}

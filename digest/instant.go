package digest

// Instant alerts: a subscription in instant mode has each matching story
// posted within a minute of its ingest instead of in the channel's digest.
// They go the digests' way (the same Deliverer: claim, frozen parts,
// nonces and markers), with a queue of their own and a header of their
// own; see Scheduler.Alert and Deliverer.DeliverAlert.

import (
	"context"
	"fmt"
	"strings"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/due"
)

// DefaultAlertDelay is how long an alert waits after its first story was
// matched, so that stories matched moments apart share a message.
const DefaultAlertDelay = time.Second

// Alert makes each channel's alert due AlertDelay from now, unless it is
// due earlier already: the matcher calls it for the channels that got an
// instant subscription's story.
func (s *Scheduler) Alert(ctx context.Context, refs []digestbot.ChannelRef) error {
	if s.Alerts == nil {
		return nil
	}
	delay := s.AlertDelay
	if delay == 0 {
		delay = DefaultAlertDelay
	}
	delay = max(delay, 0)
	at := s.now().Add(delay)
	for _, ref := range refs {
		if err := s.Alerts.Put(ctx, ref.Key(), at, digestbot.PutIfEarlier); err != nil {
			return err
		}
	}
	return nil
}

// handleAlert posts one channel's alert; the entry leaves the queue once
// it is done (the next instant story puts it back).
func (s *Scheduler) handleAlert(ctx context.Context, e digestbot.DueEntry) due.Outcome {
	ref, ok := digestbot.ChannelRefFromKey(e.Member)
	if !ok {
		s.log().Warn("digest scheduler: dropping a malformed alert entry", "member", e.Member)
		return due.Outcome{}
	}
	res, err := s.DeliverAlert(ctx, ref)
	if out, again := s.retry(ctx, ref, e, res, err); again {
		return out
	}
	return due.Outcome{} // posted, nothing to post, or paused (the items wait for the resume)
}

// mentionLine is the line of role mentions that opens a message which
// pings them ("" for none).
func mentionLine(roles []string) string {
	if len(roles) == 0 {
		return ""
	}
	var b strings.Builder
	for i, r := range roles {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("<@&" + r + ">")
	}
	return b.String() + "\n"
}

// alertHeader opens an alert: what matched, how many stories, and where
// the rest are.
func alertHeader(d *Digest, inThread int, limits Limits) string {
	head := "⚡ **Alert**"
	if len(d.Sections) == 1 {
		head += " · **" + EscapeMarkdown(cutPlain(d.Sections[0].Label, maxLabelLen)) + "**"
		if d.Stories > 1 {
			head += fmt.Sprintf(" · %d stories", d.Stories)
		}
	} else {
		var counts []string
		for _, s := range d.Sections {
			counts = append(counts, fmt.Sprintf("**%s** %d", EscapeMarkdown(cutPlain(s.Label, maxLabelLen)), len(s.Items)+s.More))
		}
		head += fmt.Sprintf(" · %d %s\n%s", d.Stories, plural(d.Stories, "story", "stories"), strings.Join(counts, " · "))
	}
	if inThread > 0 {
		head += fmt.Sprintf("\n%d %s in the thread below.", inThread, plural(inThread, "more story is", "more stories are"))
	}
	return cutMarkdown(head, limits.Content)
}

// sectionLabels names a digest's subscriptions in plain text.
func sectionLabels(d *Digest) string {
	labels := make([]string, len(d.Sections))
	for i, s := range d.Sections {
		labels[i] = s.Label
	}
	return strings.Join(labels, ", ")
}

package guildfile

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/config"
	"github.com/digestbot/digestbot/schedule"
	"github.com/digestbot/digestbot/store"
	"github.com/digestbot/digestbot/subscriptions"
)

// maxProblems is how many problems an import's error lists.
const maxProblems = 20

// problems collects what is wrong with a document.
type problems []string

func (ps *problems) add(format string, args ...any) { *ps = append(*ps, fmt.Sprintf(format, args...)) }

func (ps problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	shown := ps
	if len(shown) > maxProblems {
		shown = shown[:maxProblems]
	}
	msg := fmt.Sprintf("the document has %d %s; nothing was imported:\n- %s", len(ps), plural(len(ps), "problem", "problems"), strings.Join(shown, "\n- "))
	if len(ps) > len(shown) {
		msg += fmt.Sprintf("\n- … and %d more", len(ps)-len(shown))
	}
	return digestbot.Errorf(digestbot.EINVALID, "%s", msg)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// check turns doc into what Import writes, checking every item with the
// rules of the commands and the server's quotas against what it has.
func check(ctx context.Context, st Writer, doc *Document, opts Options) (*plan, error) {
	cfg := opts.Config
	if cfg == nil {
		return nil, digestbot.Errorf(digestbot.EINVALID, "import needs the configuration")
	}
	p := &plan{guild: cmp.Or(opts.GuildID, doc.GuildID)}
	if err := store.CheckID("guild", p.guild); err != nil {
		return nil, err
	}
	var ps problems
	now := opts.Now.UTC()

	// Feeds.
	seen := map[string]bool{}
	for i, f := range doc.Feeds {
		at := fmt.Sprintf("feeds[%d] (%s)", i, f.URL)
		if err := digestbot.ValidateFeedURL(f.URL); err != nil {
			ps.add("%s: %s", at, digestbot.ErrorMessage(err))
			continue
		}
		if seen[f.URL] {
			ps.add("%s: listed twice", at)
			continue
		}
		seen[f.URL] = true
		// New to this store, it starts from now like any feed added.
		feed := &digestbot.Feed{GuildID: p.guild, URL: f.URL, Name: f.Name, AddedBy: f.AddedBy, AddedAt: orNow(f.AddedAt, now), DeliverSince: now}
		if f.Interval != "" {
			d, err := config.ParseDuration(f.Interval)
			if err != nil || d <= 0 {
				ps.add("%s: interval %q is not a duration such as 30m", at, f.Interval)
				continue
			}
			feed.Interval = d
		}
		p.feeds = append(p.feeds, feed)
	}

	// Topics: the server's own; the operator's names are taken.
	operator := map[string]string{}
	for _, t := range cfg.Topics {
		operator[digestbot.NormalizeTopicName(t.Name)] = t.Query
	}
	docTopics := map[string]*subscriptions.Query{}
	for i, t := range doc.Topics {
		name := digestbot.NormalizeTopicName(t.Name)
		at := fmt.Sprintf("topics[%d] (%s)", i, t.Name)
		if err := digestbot.ValidateTopicName(name); err != nil {
			ps.add("%s: %s", at, digestbot.ErrorMessage(err))
			continue
		}
		if _, taken := operator[name]; taken {
			ps.add("%s: the bot's own topic has that name", at)
			continue
		}
		if _, dup := docTopics[name]; dup {
			ps.add("%s: listed twice", at)
			continue
		}
		q, err := subscriptions.Parse(t.Query)
		if err != nil {
			ps.add("%s: %s", at, digestbot.ErrorMessage(err))
			continue
		}
		docTopics[name] = q
		p.topics = append(p.topics, &digestbot.Topic{GuildID: p.guild, Name: name, Query: t.Query, CreatedBy: t.CreatedBy, UpdatedAt: orNow(t.UpdatedAt, now)})
	}
	have, err := st.Topics(ctx, p.guild)
	if err != nil {
		return nil, err
	}
	known := func(name string) bool {
		_, inDoc := docTopics[name]
		_, op := operator[name]
		has := slices.ContainsFunc(have, func(h *digestbot.Topic) bool { return h.Name == name })
		return inDoc || op || has
	}

	// Subscriptions: a query that parses, or a topic the server will have.
	for i, s := range doc.Subscriptions {
		at := fmt.Sprintf("subscriptions[%d] (channel %s)", i, s.ChannelID)
		if err := store.CheckID("channel", s.ChannelID); err != nil {
			ps.add("%s: %s", at, digestbot.ErrorMessage(err))
			continue
		}
		var sub *digestbot.Subscription
		switch {
		case (s.Query == "") == (s.Topic == ""):
			ps.add("%s: give either a query or a topic", at)
			continue
		case s.Query != "":
			q, err := subscriptions.Parse(s.Query)
			if err != nil {
				ps.add("%s: %s", at, digestbot.ErrorMessage(err))
				continue
			}
			for _, ref := range q.Topics() {
				if !known(digestbot.NormalizeTopicName(ref)) {
					ps.add("%s: the query names topic:%s, which neither the document nor the server has", at, ref)
				}
			}
			// The id comes from the normalised query, as /subscribe makes it.
			sub = subscriptions.NewSubscription(p.guild, s.ChannelID, q)
		default:
			name := digestbot.NormalizeTopicName(s.Topic)
			if !known(name) {
				ps.add("%s: topic %s is neither in the document nor the server's", at, s.Topic)
				continue
			}
			sub = &digestbot.Subscription{GuildID: p.guild, ChannelID: s.ChannelID, Topic: name}
			sub.ID = digestbot.SubscriptionID(sub.GuildID, sub.ChannelID, "", sub.Topic)
		}
		// The document may name the default, as the README does; a mode
		// ParseMode does not know is left for Validate to refuse.
		mode := s.Mode
		if m, ok := digestbot.ParseMode(s.Mode); ok {
			mode = m
		}
		sub.CreatedBy, sub.CreatedAt, sub.Mode, sub.Mention = s.CreatedBy, orNow(s.CreatedAt, now), mode, s.Mention
		spike, err := digestbot.ParseSpike(s.Spike)
		if err != nil {
			ps.add("%s: %s", at, digestbot.ErrorMessage(err))
			continue
		}
		sub.Spike = spike
		if err := sub.Validate(); err != nil {
			ps.add("%s: %s", at, digestbot.ErrorMessage(err))
			continue
		}
		p.subs = append(p.subs, sub)
	}

	// Schedules, parsed as /schedule parses them.
	seenSched := map[string]bool{}
	for i, sc := range doc.Schedules {
		at := fmt.Sprintf("schedules[%d] (%s)", i, scheduleOf(sc.ChannelID))
		if sc.ChannelID != "" {
			if err := store.CheckID("channel", sc.ChannelID); err != nil {
				ps.add("%s: %s", at, digestbot.ErrorMessage(err))
				continue
			}
		}
		if seenSched[sc.ChannelID] {
			ps.add("%s: listed twice", at)
			continue
		}
		seenSched[sc.ChannelID] = true
		tz := cmp.Or(sc.TimeZone, cfg.Schedule.TimeZone)
		parsed, err := schedule.Parse(sc.Spec, tz, cfg.Schedule.MinInterval)
		if err != nil {
			ps.add("%s: %s", at, digestbot.ErrorMessage(err))
			continue
		}
		out := &digestbot.ChannelSchedule{GuildID: p.guild, ChannelID: sc.ChannelID, Spec: parsed.Spec(), TimeZone: sc.TimeZone, UpdatedAt: orNow(sc.UpdatedAt, now)}
		p.schedules = append(p.schedules, out)
	}
	if err := quotas(ctx, st, p, cfg, &ps); err != nil {
		return nil, err
	}
	return p, ps.err()
}

// quotas checks that what the server has and what is new together stay
// within the configured limits.
func quotas(ctx context.Context, st Writer, p *plan, cfg *config.Config, ps *problems) error {
	feeds, err := st.Feeds(ctx, p.guild)
	if err != nil {
		return err
	}
	topics, err := st.Topics(ctx, p.guild)
	if err != nil {
		return err
	}
	subs, err := st.Subscriptions(ctx, p.guild, "")
	if err != nil {
		return err
	}
	newFeeds, newTopics, newSubs := 0, 0, 0
	for _, f := range p.feeds {
		if !slices.ContainsFunc(feeds, func(h *digestbot.Feed) bool { return h.URL == f.URL }) {
			newFeeds++
		}
	}
	for _, t := range p.topics {
		if !slices.ContainsFunc(topics, func(h *digestbot.Topic) bool { return h.Name == t.Name }) {
			newTopics++
		}
	}
	for _, s := range p.subs {
		if !slices.ContainsFunc(subs, func(h *digestbot.Subscription) bool { return h.ID == s.ID }) {
			newSubs++
		}
	}
	lim := cfg.Limits
	for _, q := range []struct {
		kind            string
		have, add, most int
	}{
		{"feeds", len(feeds), newFeeds, lim.FeedsPerGuild},
		{"topics", len(topics), newTopics, lim.TopicsPerGuild},
		{"subscriptions", len(subs), newSubs, lim.SubscriptionsPerGuild},
	} {
		if q.have+q.add > q.most {
			ps.add("%s: the server has %d and the document adds %d; the limit is %d", q.kind, q.have, q.add, q.most)
		}
	}
	return nil
}

// orNow is t, or now when t is unset.
func orNow(t, now time.Time) time.Time {
	if t.IsZero() {
		return now
	}
	return t
}

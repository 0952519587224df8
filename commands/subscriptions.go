package commands

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/digest"
	"github.com/digestbot/digestbot/schedule"
	"github.com/digestbot/digestbot/subscriptions"
)

// limitError rewords a store's ELIMIT error with the configured limit, so
// the reply counts right ("the limit of 1 subscription"); other errors
// pass unchanged.
func limitError(err error, limit int, one, many, fix string) error {
	if digestbot.ErrorCode(err) != digestbot.ELIMIT {
		return err
	}
	return digestbot.WrapError(digestbot.ELIMIT, err, "this server has reached its limit of %s; %s", count(limit, one, many), fix)
}

// matchCount says how many of the recent articles match: "none match",
// "1 matches", "4 match".
func matchCount(n int) string {
	if n == 0 {
		return "none match"
	}
	return fmt.Sprintf("%d %s", n, plural(n, "matches", "match"))
}

// resolve parses a query and expands its topic references for this guild.
func (s *Service) resolve(ctx context.Context, guildID, text string) (*subscriptions.Query, error) {
	q, err := subscriptions.Parse(text)
	if err != nil {
		return nil, err
	}
	if len(q.Topics()) == 0 {
		return q, nil
	}
	topics, err := s.visibleTopics(ctx, guildID)
	if err != nil {
		return nil, err
	}
	return resolveIn(topics, q)
}

// effectiveSchedule is the channel's schedule as the digest scheduler
// resolves it (its own, else the guild default, else the configured one);
// own says whether the channel has its own.
func (s *Service) effectiveSchedule(ctx context.Context, ref digestbot.ChannelRef) (sc *schedule.Schedule, own bool, err error) {
	var stored []*digestbot.ChannelSchedule
	for _, ch := range []string{ref.ChannelID, ""} {
		cs, err := s.Store.Schedule(ctx, ref.GuildID, ch)
		if err != nil {
			return nil, false, err
		}
		if cs != nil {
			stored = append(stored, cs)
			own = own || ch == ref.ChannelID
		}
	}
	table := digest.NewScheduleTable(stored, digest.Defaults{Spec: s.Config.Schedule.Default, TimeZone: s.Config.Schedule.TimeZone, MinInterval: s.Config.Schedule.MinInterval})
	sc, _ = table.Resolve(ref)
	return sc, own, nil
}

func (s *Service) subscribe(ctx context.Context, req *Request) (*Response, error) {
	ref, err := s.channel(ctx, req)
	if err != nil {
		return nil, err
	}
	queryText := strings.TrimSpace(req.Options["query"])
	topicName := digestbot.NormalizeTopicName(req.Options["topic"])
	if (queryText == "") == (topicName == "") {
		return nil, digestbot.Errorf(digestbot.EINVALID, "give either query or topic, e.g. /subscribe query:\"facial recognition\"")
	}
	// query:topic:NAME is the topic itself: one subscription, not two that
	// read the same in /subscriptions.
	if parsed, err := subscriptions.Parse(queryText); err == nil && queryText != "" {
		if ref, ok := parsed.Root.(*subscriptions.TopicRef); ok {
			queryText, topicName = "", digestbot.NormalizeTopicName(ref.Name)
		}
	}
	spike, err := digestbot.ParseSpike(req.Options["spike"])
	if err != nil {
		return nil, err
	}
	var q *subscriptions.Query
	var sub *digestbot.Subscription
	if queryText != "" {
		if q, err = s.resolve(ctx, ref.GuildID, queryText); err != nil {
			return nil, err
		}
		parsed, _ := subscriptions.Parse(queryText)
		sub = subscriptions.NewSubscription(ref.GuildID, ref.ChannelID, parsed)
	} else {
		t, err := s.topic(ctx, ref.GuildID, topicName)
		if err != nil {
			return nil, err
		}
		if q, err = s.resolve(ctx, ref.GuildID, t.Query); err != nil {
			return nil, err
		}
		sub = &digestbot.Subscription{GuildID: ref.GuildID, ChannelID: ref.ChannelID, Topic: t.Name}
		sub.ID = digestbot.SubscriptionID(sub.GuildID, sub.ChannelID, "", sub.Topic)
	}
	sub.CreatedBy, sub.CreatedAt, sub.Spike = req.UserID, s.now().UTC(), spike
	// Validate the schedule before storing anything, so a bad one changes nothing.
	var newSched *digestbot.ChannelSchedule
	var parsedSched *schedule.Schedule
	if spec := strings.TrimSpace(req.Options["schedule"]); spec != "" {
		cur, _ := s.Store.Schedule(ctx, ref.GuildID, ref.ChannelID)
		tz := s.Config.Schedule.TimeZone
		if cur != nil && cur.TimeZone != "" {
			tz = cur.TimeZone
		}
		sc, err := schedule.Parse(spec, tz, s.Config.Schedule.MinInterval)
		if err != nil {
			return nil, err
		}
		newSched = &digestbot.ChannelSchedule{GuildID: ref.GuildID, ChannelID: ref.ChannelID, Spec: sc.Spec(), TimeZone: sc.TimeZone(), UpdatedAt: s.now().UTC()}
		parsedSched = sc
	}
	set, err := deliveryOptions(req)
	if err != nil {
		return nil, err
	}
	sub.Mode, sub.Mention = set.apply(digestbot.ModeDigest, "")
	// The same query written another way is the subscription the channel
	// has; one stored before ids came from the normalised query has an id
	// of its own, so it is looked for by its query too.
	same, err := s.sameSubscription(ctx, ref, subscriptions.SameAs(sub))
	if err != nil {
		return nil, err
	}
	created := false
	if same != nil {
		sub = same
	} else if created, err = s.Store.AddSubscription(ctx, sub, s.Config.Limits.SubscriptionsPerGuild); err != nil {
		return nil, limitError(err, s.Config.Limits.SubscriptionsPerGuild, "subscription", "subscriptions", "remove one with /unsubscribe first")
	}
	changed := false
	if !created && set.given() {
		// Subscribing again with mode or mention changes how the
		// subscription is delivered; what is not given stays.
		cur, err := s.subscription(ctx, ref.GuildID, sub.ID)
		if err != nil {
			return nil, err
		}
		mode, mention := set.apply(cur.Mode, cur.Mention)
		if mode != cur.Mode || mention != cur.Mention {
			if cur, err = s.Store.SetDelivery(ctx, ref.GuildID, sub.ID, mode, mention); err != nil {
				return nil, err
			}
			changed = true
		}
		sub.Mode, sub.Mention = cur.Mode, cur.Mention
	}
	if newSched != nil {
		if err := s.Store.SetSchedule(ctx, newSched); err != nil {
			return nil, err
		}
	}
	s.scheduled(ctx, ref, newSched != nil)

	var b strings.Builder
	if s.resume(ctx, ref) {
		b.WriteString("Delivery to this channel had been paused; it is resumed.\n")
	}
	switch {
	case created:
		fmt.Fprintf(&b, "Subscribed <#%s> to `%s`%s.\n", ref.ChannelID, sub.Label(), deliveryNote(sub))
		b.WriteString(spikeLine(sub.Spike))
	case changed:
		fmt.Fprintf(&b, "<#%s> was already subscribed to `%s`; from now on its stories come %s.\n", ref.ChannelID, sub.Label(), deliveryHow(sub))
	default:
		fmt.Fprintf(&b, "<#%s> was already subscribed to `%s`%s; nothing changed.\n", ref.ChannelID, sub.Label(), deliveryNote(sub))
	}
	if !created && spike != nil && spike.String() != sub.Spike.String() {
		b.WriteString("Its spike rule stays as it was; to give it another, /unsubscribe and subscribe again.\n")
	}
	if sub.Topic != "" {
		fmt.Fprintf(&b, "Topic query: `%s`\n", q.String())
	}
	if parsedSched != nil {
		// A schedule belongs to the channel, not to one subscription: say
		// so, as the option sits next to the query and reads otherwise.
		fmt.Fprintf(&b, "%s\n", channelScheduleLine(ref, parsedSched))
	}
	n, examples, err := s.recentMatches(ctx, ref.GuildID, q, 7*24*time.Hour, 3)
	if err == nil {
		fmt.Fprintf(&b, "Of the articles published in the last 7 days, %s", matchCount(n))
		if bf := s.Config.Backfill; bf > 0 {
			fmt.Fprintf(&b, " (the next digest also brings those of the last %s).", schedule.DurationText(bf))
		} else {
			b.WriteString(" (they are not re-sent; digests bring what arrives from now on).")
		}
		for _, r := range examples {
			fmt.Fprintf(&b, "\n• %s", resultLink(r))
		}
		b.WriteString("\n")
	}
	if sc, _, err := s.effectiveSchedule(ctx, ref); err == nil {
		fmt.Fprintf(&b, "Next digest: %s — %s.", discordTime(sc.Next(s.now())), sc.Words())
	}
	return &Response{Content: b.String()}, nil
}

// recentMatches counts, with the lookup's search, the articles of the
// last window that q matches and guildID may see, and returns the keep
// newest of them. A query the lookup cannot run (site: or lang: with no
// word) is its error.
func (s *Service) recentMatches(ctx context.Context, guildID string, q *subscriptions.Query, window time.Duration, keep int) (int, []LookupResult, error) {
	if s.Search == nil {
		return 0, nil, digestbot.Errorf(digestbot.EUNAVAILABLE, "lookup is not available here")
	}
	found, err := s.Search(ctx, LookupQuery{Query: q.String(), Since: s.now().Add(-window), Guild: guildID, Limit: maxLookupResults})
	if err != nil {
		return 0, nil, err
	}
	// The newest of the best maxLookupResults: all of them unless more
	// than that match, and the ranking favours the recent.
	examples := slices.Clone(found.Results)
	sort.SliceStable(examples, func(i, j int) bool { return examples[i].Published.After(examples[j].Published) })
	return max(found.Total, len(found.Results)), examples[:min(keep, len(examples))], nil
}

// resultLink is a found article as one line: its linked title and source.
func resultLink(r LookupResult) string {
	t := clip(r.Title, 120)
	if r.URL == "" {
		return fmt.Sprintf("%s — %s", t, r.Source)
	}
	return fmt.Sprintf("[%s](%s) — %s", t, r.URL, r.Source)
}

// sameSubscription returns the channel's subscription to the query or
// topic that SameAs calls key, or nil.
func (s *Service) sameSubscription(ctx context.Context, ref digestbot.ChannelRef, key string) (*digestbot.Subscription, error) {
	if key == "" {
		return nil, nil
	}
	subs, err := s.Store.Subscriptions(ctx, ref.GuildID, ref.ChannelID)
	if err != nil {
		return nil, err
	}
	for _, sub := range subs {
		if subscriptions.SameAs(sub) == key {
			return sub, nil
		}
	}
	return nil, nil
}

func (s *Service) unsubscribe(ctx context.Context, req *Request) (*Response, error) {
	ref, err := s.channel(ctx, req)
	if err != nil {
		return nil, err
	}
	want := strings.TrimSpace(req.Options["subscription"])
	subs, err := s.Store.Subscriptions(ctx, ref.GuildID, "")
	if err != nil {
		return nil, err
	}
	// The autocomplete sends the id; a typed query works too, in this
	// channel, however it is written.
	typed := ""
	if q, err := subscriptions.Parse(want); err == nil {
		typed = q.Key()
	}
	var found *digestbot.Subscription
	for _, sub := range subs {
		if sub.ID == want {
			found = sub
			break
		}
		if sub.ChannelID == ref.ChannelID && found == nil && (strings.EqualFold(sub.Label(), want) || typed != "" && subscriptions.SameAs(sub) == typed) {
			found = sub
		}
	}
	if found == nil {
		return nil, digestbot.Errorf(digestbot.ENOTFOUND, "no subscription %q in this server; /subscriptions lists them", want)
	}
	removed, err := s.Store.RemoveSubscription(ctx, ref.GuildID, found.ID)
	if err != nil {
		return nil, err
	}
	return &Response{Content: fmt.Sprintf("Unsubscribed <#%s> from `%s`.", removed.ChannelID, removed.Label())}, nil
}

func (s *Service) listSubscriptions(ctx context.Context, req *Request) (*Response, error) {
	ref, err := s.channel(ctx, req)
	if err != nil {
		return nil, err
	}
	subs, err := s.Store.Subscriptions(ctx, ref.GuildID, ref.ChannelID)
	if err != nil {
		return nil, err
	}
	var head string
	var items []string
	if len(subs) == 0 {
		head = fmt.Sprintf("<#%s> has no subscriptions. Add one with /subscribe query:…", ref.ChannelID)
	} else {
		head = fmt.Sprintf("<#%s> — %s:", ref.ChannelID, count(len(subs), "subscription", "subscriptions"))
		// Oldest first, as the store has them; those of one moment by label,
		// so the pages are in the same order each time.
		sort.SliceStable(subs, func(i, j int) bool {
			if !subs[i].CreatedAt.Equal(subs[j].CreatedAt) {
				return subs[i].CreatedAt.Before(subs[j].CreatedAt)
			}
			return subs[i].Label() < subs[j].Label()
		})
		topics, err := s.visibleTopics(ctx, ref.GuildID)
		if err != nil {
			return nil, err
		}
		for _, sub := range subs {
			line := fmt.Sprintf("• `%s` — since %s%s", sub.Label(), sub.CreatedAt.Format(dateLayout), deliveryNote(sub))
			if why := matchesNothing(topics, sub); why != "" {
				line += " ⚠ matches nothing: " + why
			}
			items = append(items, line)
		}
	}
	var b strings.Builder
	if sc, own, err := s.effectiveSchedule(ctx, ref); err == nil {
		from := "the server's default schedule"
		if own {
			from = "this channel's own schedule"
		}
		fmt.Fprintf(&b, "Digests %s (%s). Next digest: %s.\n", sc.Words(), from, discordTime(sc.Next(s.now())))
	}
	st, err := s.Store.ChannelState(ctx, ref.GuildID, ref.ChannelID)
	if err == nil && st.PausedReason != "" {
		fmt.Fprintf(&b, "⚠ Delivery is paused since %s: %s\n", discordTime(st.PausedAt), st.PausedReason)
		if st.PausedBy == digestbot.PauseUnknownChannel && s.Config.Delivery.GoneChannelGrace > 0 {
			fmt.Fprintf(&b, "Unless the channel comes back, its subscriptions are removed %s.\n", discordTime(st.PausedAt.Add(s.Config.Delivery.GoneChannelGrace)))
		}
		b.WriteString("Use /digest now here once the bot can post again: that resumes delivery.\n")
	}
	if err == nil && st.Dropped > 0 {
		fmt.Fprintf(&b, "%s not kept while delivery was paused (the backlog was full).\n", stories(st.Dropped))
	}
	if err == nil && st.SetAside > 0 {
		fmt.Fprintf(&b, "Discord refused %s of this channel's digests; the bot skipped them. Last reason: %s\n",
			count(st.SetAside, "message", "messages"), st.LastSetAside)
	}
	if pending, err := s.Store.Pending(ctx, ref.GuildID, ref.ChannelID); err == nil && len(pending) > 0 {
		fmt.Fprintf(&b, "%s waiting for the next digest.\n", stories(len(pending)))
	}
	// Members' watches are theirs: the server's view is how many, never what.
	if members, watches, err := s.Store.WatchCounts(ctx, ref.GuildID); err == nil && members > 0 {
		fmt.Fprintf(&b, "%s %s personal watches in this server (%s in all; /watch add follows a query by direct message).\n",
			count(members, "member", "members"), plural(members, "has", "have"), strconv.Itoa(watches))
	}
	return s.paged(ctx, ref.GuildID, listPages(head, items, b.String()), true)
}

// matchesNothing says why a subscription matches nothing (its query no
// longer reads, or a topic it uses is gone or on a circle), "" when it
// works: the matcher leaves such a subscription out, and only its log
// would tell.
func matchesNothing(topics map[string]*digestbot.Topic, sub *digestbot.Subscription) string {
	var q *subscriptions.Query
	if sub.Topic != "" {
		q = topicRef(digestbot.NormalizeTopicName(sub.Topic))
	} else {
		var err error
		if q, err = subscriptions.Parse(sub.Query); err != nil {
			return "the query no longer reads: " + digestbot.ErrorMessage(err)
		}
	}
	if _, err := resolveIn(topics, q); err != nil {
		return digestbot.ErrorMessage(err)
	}
	return ""
}

// subscription returns one of the guild's subscriptions by id.
func (s *Service) subscription(ctx context.Context, guildID, id string) (*digestbot.Subscription, error) {
	subs, err := s.Store.Subscriptions(ctx, guildID, "")
	if err != nil {
		return nil, err
	}
	for _, sub := range subs {
		if sub.ID == id {
			return sub, nil
		}
	}
	return nil, digestbot.Errorf(digestbot.ENOTFOUND, "no subscription %q in this server", id)
}

// delivery is what /subscribe's mode and mention options ask for.
type delivery struct {
	mode    string // digestbot.ModeDigest or ModeInstant; "" when not given
	modeSet bool
	mention string // role id; "" when not given
}

// deliveryOptions reads the mode and mention options.
func deliveryOptions(req *Request) (delivery, error) {
	var d delivery
	if m := strings.ToLower(strings.TrimSpace(req.Options["mode"])); m != "" {
		mode, ok := digestbot.ParseMode(m)
		if !ok {
			return d, digestbot.Errorf(digestbot.EINVALID, "mode takes %s or %s, not %q", ModeDigest, ModeInstant, m)
		}
		d.mode, d.modeSet = mode, true
	}
	role := strings.TrimSpace(req.Options["mention"])
	role = strings.TrimSuffix(strings.TrimPrefix(role, "<@&"), ">")
	if role == "" {
		return d, nil
	}
	if role == req.GuildID {
		// The @everyone role has the server's id.
		return d, digestbot.Errorf(digestbot.EINVALID, "mention takes a role; the bot never pings @everyone")
	}
	if strings.Trim(role, "0123456789") != "" || len(role) > 20 {
		return d, digestbot.Errorf(digestbot.EINVALID, "mention takes a role, e.g. mention:@alerts; %q is not one", role)
	}
	d.mention = role
	return d, nil
}

func (d delivery) given() bool { return d.modeSet || d.mention != "" }

// apply returns the settings that result from these options over the
// current ones.
func (d delivery) apply(mode, mention string) (string, string) {
	if d.modeSet {
		mode = d.mode
	}
	if d.mention != "" {
		mention = d.mention
	}
	return mode, mention
}

// deliveryHow says how a subscription's stories come.
func deliveryHow(sub *digestbot.Subscription) string {
	how := "in the channel's digest"
	if sub.Instant() {
		how = "as they arrive (each story within a minute)"
	}
	if sub.Mention != "" {
		how += fmt.Sprintf(", mentioning <@&%s>", sub.Mention)
	}
	return how
}

// deliveryNote says how a subscription is delivered when it is not the
// plain digest: ": instant, mentions @role".
func deliveryNote(sub *digestbot.Subscription) string {
	var parts []string
	if sub.Instant() {
		parts = append(parts, "instant: each story within a minute")
	}
	if sub.Mention != "" {
		parts = append(parts, fmt.Sprintf("mentions <@&%s>", sub.Mention))
	}
	if sp := sub.Spike; sp != nil {
		parts = append(parts, fmt.Sprintf("📈 spike alert at %d outlets within %d h", sp.Outlets, sp.Hours))
	}
	if len(parts) == 0 {
		return ""
	}
	return ": " + strings.Join(parts, ", ")
}

// spikeLine says what a spike rule does, "" for none.
func spikeLine(sp *digestbot.Spike) string {
	if sp == nil {
		return ""
	}
	return fmt.Sprintf("📈 Spike alert: when %d outlets have carried a matching story within %d hours, the story that makes it %d is posted here within a minute, marked (at most once in %d hours).\n",
		sp.Outlets, sp.Hours, sp.Outlets, sp.Hours)
}

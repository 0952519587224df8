package commands

import (
	"context"
	"fmt"
	"sort"
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
	var lookupErr error
	rq, err := q.ResolveTopics(func(name string) (*subscriptions.Query, bool) {
		t, err := s.topic(ctx, guildID, name)
		if err != nil {
			lookupErr = err
			return nil, false
		}
		tq, err := subscriptions.Parse(t.Query)
		if err != nil {
			lookupErr = err
			return nil, false
		}
		return tq, true
	})
	if lookupErr != nil {
		return nil, lookupErr
	}
	return rq, err
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
	sub := &digestbot.Subscription{GuildID: ref.GuildID, ChannelID: ref.ChannelID, CreatedBy: req.UserID, CreatedAt: s.now().UTC(), Spike: spike}
	if queryText != "" {
		if q, err = s.resolve(ctx, ref.GuildID, queryText); err != nil {
			return nil, err
		}
		parsed, _ := subscriptions.Parse(queryText)
		sub.Query = parsed.String()
	} else {
		t, err := s.topic(ctx, ref.GuildID, topicName)
		if err != nil {
			return nil, err
		}
		if q, err = s.resolve(ctx, ref.GuildID, t.Query); err != nil {
			return nil, err
		}
		sub.Topic = t.Name
	}
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
	sub.ID = digestbot.SubscriptionID(sub.GuildID, sub.ChannelID, sub.Query, sub.Topic)
	created, err := s.Store.AddSubscription(ctx, sub, s.Config.Limits.SubscriptionsPerGuild)
	if err != nil {
		return nil, limitError(err, s.Config.Limits.SubscriptionsPerGuild, "subscription", "subscriptions", "remove one with /unsubscribe first")
	}
	if newSched != nil {
		if err := s.Store.SetSchedule(ctx, newSched); err != nil {
			return nil, err
		}
		s.scheduleChanged(ctx, ref)
	} else if s.ChannelSubscribed != nil {
		s.ChannelSubscribed(ctx, ref)
	}

	var b strings.Builder
	if s.resume(ctx, ref) {
		b.WriteString("Delivery to this channel had been paused; it is resumed.\n")
	}
	if created {
		fmt.Fprintf(&b, "Subscribed <#%s> to `%s`.\n", ref.ChannelID, sub.Label())
		b.WriteString(spikeLine(sub.Spike))
	} else {
		fmt.Fprintf(&b, "<#%s> was already subscribed to `%s`; nothing changed.\n", ref.ChannelID, sub.Label())
		if spike != nil {
			b.WriteString("To give it another spike rule, /unsubscribe and subscribe again.\n")
		}
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
		fmt.Fprintf(&b, "Of the articles the bot received in the last 7 days, %s", matchCount(n))
		if bf := s.Config.Backfill; bf > 0 {
			fmt.Fprintf(&b, " (the next digest also brings those of the last %s).", strings.TrimSuffix(bf.String(), "0m0s"))
		} else {
			b.WriteString(" (they are not re-sent; digests bring what arrives from now on).")
		}
		for _, a := range examples {
			fmt.Fprintf(&b, "\n• %s", articleLink(a))
		}
		b.WriteString("\n")
	}
	if sc, _, err := s.effectiveSchedule(ctx, ref); err == nil {
		fmt.Fprintf(&b, "Next digest: %s — %s.", discordTime(sc.Next(s.now())), sc)
	}
	return &Response{Content: b.String()}, nil
}

// recentMatches counts the archive's articles of the last window that q
// matches and that guildID may see.
func (s *Service) recentMatches(ctx context.Context, guildID string, q *subscriptions.Query, window time.Duration, keep int) (int, []*digestbot.Article, error) {
	const maxScan = 5_000 // bounds the work (and Redis reads) of one command
	entries, err := s.Store.ArticlesSince(ctx, s.now().Add(-window), maxScan)
	if err != nil {
		return 0, nil, err
	}
	n := 0
	var examples []*digestbot.Article
	for i := 0; i < len(entries); i += 500 {
		ids := make([]string, 0, 500)
		for _, e := range entries[i:min(i+500, len(entries))] {
			ids = append(ids, e.ArticleID)
		}
		arts, err := s.Store.GetArticles(ctx, ids)
		if err != nil {
			return 0, nil, err
		}
		for _, a := range arts {
			if a == nil || !a.VisibleTo(guildID) {
				continue
			}
			if _, ok := q.Match(subscriptions.DocFromArticle(a)); ok {
				n++
				examples = append(examples, a)
			}
		}
	}
	// Newest examples first.
	sort.SliceStable(examples, func(i, j int) bool { return articleTime(examples[i]).After(articleTime(examples[j])) })
	if len(examples) > keep {
		examples = examples[:keep]
	}
	return n, examples, nil
}

func articleTime(a *digestbot.Article) time.Time {
	if !a.Published.IsZero() {
		return a.Published
	}
	return a.Ingested
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
	// The autocomplete sends the id; a typed label works too, in this channel.
	var found *digestbot.Subscription
	for _, sub := range subs {
		if sub.ID == want || (sub.ChannelID == ref.ChannelID && strings.EqualFold(sub.Label(), want)) {
			found = sub
			break
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
	var b strings.Builder
	if len(subs) == 0 {
		fmt.Fprintf(&b, "<#%s> has no subscriptions. Add one with /subscribe query:…\n", ref.ChannelID)
	} else {
		fmt.Fprintf(&b, "<#%s> — %s:\n", ref.ChannelID, count(len(subs), "subscription", "subscriptions"))
		for _, sub := range subs {
			spike := ""
			if sub.Spike != nil {
				spike = ", spike " + sub.Spike.String()
			}
			fmt.Fprintf(&b, "• `%s` (id %s, since %s%s)\n", sub.Label(), sub.ID, sub.CreatedAt.Format("2006-01-02"), spike)
		}
	}
	if sc, own, err := s.effectiveSchedule(ctx, ref); err == nil {
		from := "server default"
		if own {
			from = "this channel"
		}
		fmt.Fprintf(&b, "Schedule: %s (%s). Next digest: %s.\n", sc, from, discordTime(sc.Next(s.now())))
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
	return &Response{Content: b.String(), Ephemeral: true}, nil
}

// spikeLine says what a spike rule does, "" for none.
func spikeLine(sp *digestbot.Spike) string {
	if sp == nil {
		return ""
	}
	return fmt.Sprintf("📈 Spike alert: when %d outlets have carried a matching story within %d hours, this channel gets its digest at once, that story on top (at most once in %d hours).\n",
		sp.Outlets, sp.Hours, sp.Hours)
}

package commands

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	neturl "net/url"
	"sort"
	"strings"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/config"
	"github.com/digestbot/digestbot/digest"
	"github.com/digestbot/digestbot/schedule"
	"github.com/digestbot/digestbot/subscriptions"
)

// LookupQuery is a /lookup request as the archive sees it.
type LookupQuery struct {
	Query  string
	Since  time.Time
	Source string
	Cursor string
	Limit  int
	// Guild is the server asking: it sees public articles and those its
	// own feeds brought in, never another server's.
	Guild string
}

// LookupResult is one article found.
type LookupResult struct {
	Title, URL, Source string
	Published          time.Time
	Snippet            string // summary with the matched terms in **bold**
}

// LookupPage is one page of results.
type LookupPage struct {
	Results []LookupResult
	Next    string // cursor of the next page; "" at the end
	Total   int
}

// Service implements Handler over the bot's core. The function fields are
// the parts that live in other packages (matcher job, digest delivery,
// archive search, feed check); cmd wires them, tests replace them.
type Service struct {
	Store  digestbot.Store
	Config *config.Config
	// Topics returns the operator topics from the configuration.
	GlobalTopics []*digestbot.Topic

	// MatchNow matches whatever is ingested but not yet matched, so that a
	// preview or an immediate digest never misses what is in the archive.
	MatchNow func(ctx context.Context) error
	// Preview composes the channel's next digest without posting it.
	Preview func(ctx context.Context, ref digestbot.ChannelRef) ([]digest.Message, error)
	// PostNow delivers the channel's digest now.
	PostNow func(ctx context.Context, ref digestbot.ChannelRef) (digest.Result, error)
	// Search runs an archive lookup.
	Search func(ctx context.Context, q LookupQuery) (*LookupPage, error)
	// CheckFeed fetches and parses a feed URL once before it is added.
	CheckFeed func(ctx context.Context, url string) (articles int, err error)
	// ResumeChannel lifts a channel's delivery pause (set when the channel
	// was gone or forbidden); resumed says whether it was paused.
	ResumeChannel func(ctx context.Context, ref digestbot.ChannelRef) (resumed bool, err error)
	// ResumeFeed clears a feed's failures and pause so it is polled again
	// at once; /feeds add calls it, also for a feed the server already has.
	ResumeFeed func(ctx context.Context, url string) error
	// ScheduleChanged tells the digest scheduler that a channel's (or, with
	// an empty ChannelID, a guild's) schedule changed.
	ScheduleChanged func(ctx context.Context, ref digestbot.ChannelRef)
	// ChannelSubscribed tells the digest scheduler that a channel has a new
	// subscription, so that it gets digests if it had none.
	ChannelSubscribed func(ctx context.Context, ref digestbot.ChannelRef)

	Now func() time.Time
	Log *slog.Logger
}

// lookupState is what a lookup's buttons need later: the query and the
// page on screen. It is kept in the store (not in this process), so the
// replica that receives the button need not be the one that ran the lookup.
type lookupState struct {
	Query LookupQuery `json:"query"`
	Shown *LookupPage `json:"shown"`
}

var _ Handler = (*Service)(nil)

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Handle answers one command.
func (s *Service) Handle(ctx context.Context, req *Request) (*Response, error) {
	if req.GuildID == "" {
		return nil, digestbot.Errorf(digestbot.EINVALID, "digestbot commands work in a server, not in direct messages")
	}
	def, ok := definition(req.Name)
	if req.Name == "button" {
		return s.button(ctx, req)
	}
	if !ok {
		return nil, digestbot.Errorf(digestbot.EINVALID, "unknown command /%s", req.Name)
	}
	if err := checkOptions(def, req); err != nil {
		return nil, err
	}
	if def.Manage && !req.CanManage {
		return nil, digestbot.Errorf(digestbot.EFORBIDDEN, "/%s needs the Manage Channels permission (or the manager role)", req.Name)
	}
	switch req.Name {
	case "subscribe":
		return s.subscribe(ctx, req)
	case "unsubscribe":
		return s.unsubscribe(ctx, req)
	case "subscriptions":
		return s.listSubscriptions(ctx, req)
	case "schedule":
		return s.setSchedule(ctx, req)
	case "digest preview":
		return s.digestPreview(ctx, req)
	case "digest now":
		return s.digestNow(ctx, req)
	case "lookup":
		return s.lookup(ctx, req)
	case "feeds add":
		return s.feedsAdd(ctx, req)
	case "feeds remove":
		return s.feedsRemove(ctx, req)
	case "feeds list":
		return s.feedsList(ctx, req)
	case "topics list":
		return s.topicsList(ctx, req)
	case "topics create":
		return s.topicsCreate(ctx, req)
	case "topics delete":
		return s.topicsDelete(ctx, req)
	case "help":
		return &Response{Content: helpText, Ephemeral: true}, nil
	}
	return nil, digestbot.Errorf(digestbot.EINVALID, "unknown command /%s", req.Name)
}

func definition(name string) (Definition, bool) {
	for _, d := range Definitions() {
		if d.Name == name {
			return d, true
		}
	}
	return Definition{}, false
}

// maxOptionLen bounds any option value; the longest legitimate one is a query.
const maxOptionLen = 1000

// checkOptions refuses unknown options, missing required ones and oversized values.
func checkOptions(def Definition, req *Request) error {
	known := map[string]Option{}
	for _, o := range def.Options {
		known[o.Name] = o
	}
	for name, v := range req.Options {
		if _, ok := known[name]; !ok {
			return digestbot.Errorf(digestbot.EINVALID, "/%s has no option %q", def.Name, name)
		}
		if len(v) > maxOptionLen {
			return digestbot.Errorf(digestbot.EINVALID, "option %s is longer than %d characters", name, maxOptionLen)
		}
	}
	for _, o := range def.Options {
		if o.Required && strings.TrimSpace(req.Options[o.Name]) == "" {
			return digestbot.Errorf(digestbot.EINVALID, "/%s needs the option %s", def.Name, o.Name)
		}
	}
	return nil
}

// channel returns the channel a command is about: the channel option, which
// must belong to the calling server, or the channel it was used in.
func (s *Service) channel(ctx context.Context, req *Request) (digestbot.ChannelRef, error) {
	id := strings.TrimSpace(req.Options["channel"])
	id = strings.TrimSuffix(strings.TrimPrefix(id, "<#"), ">")
	if id == "" || id == req.ChannelID {
		if req.ChannelID == "" {
			return digestbot.ChannelRef{}, digestbot.Errorf(digestbot.EINVALID, "name a channel")
		}
		return digestbot.ChannelRef{GuildID: req.GuildID, ChannelID: req.ChannelID}, nil
	}
	if req.ChannelInGuild == nil {
		return digestbot.ChannelRef{}, digestbot.Errorf(digestbot.EINVALID, "channel %s cannot be checked here", id)
	}
	ok, err := req.ChannelInGuild(ctx, id)
	if err != nil {
		return digestbot.ChannelRef{}, err
	}
	if !ok {
		return digestbot.ChannelRef{}, digestbot.Errorf(digestbot.ENOTFOUND, "channel %s is not a channel of this server", id)
	}
	return digestbot.ChannelRef{GuildID: req.GuildID, ChannelID: id}, nil
}

// topic returns the topic a guild sees under name: its own, else the operator's.
func (s *Service) topic(ctx context.Context, guildID, name string) (*digestbot.Topic, error) {
	name = digestbot.NormalizeTopicName(name)
	own, err := s.ownTopic(ctx, guildID, name)
	if err != nil {
		return nil, err
	}
	if own != nil {
		return own, nil
	}
	if t := s.operatorTopic(name); t != nil {
		return t, nil
	}
	return nil, digestbot.Errorf(digestbot.ENOTFOUND, "there is no topic %q; /topics list shows them", name)
}

// operatorTopic returns the operator topic called name, or nil.
func (s *Service) operatorTopic(name string) *digestbot.Topic {
	name = digestbot.NormalizeTopicName(name)
	for _, t := range s.GlobalTopics {
		if digestbot.NormalizeTopicName(t.Name) == name {
			return t
		}
	}
	return nil
}

// ownTopic returns the server's own topic called name, or nil.
func (s *Service) ownTopic(ctx context.Context, guildID, name string) (*digestbot.Topic, error) {
	name = digestbot.NormalizeTopicName(name)
	own, err := s.Store.Topics(ctx, guildID)
	if err != nil {
		return nil, err
	}
	for _, t := range own {
		if t.Name == name {
			return t, nil
		}
	}
	return nil, nil
}

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
	var q *subscriptions.Query
	sub := &digestbot.Subscription{GuildID: ref.GuildID, ChannelID: ref.ChannelID, CreatedBy: req.UserID, CreatedAt: s.now().UTC()}
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
	} else {
		fmt.Fprintf(&b, "<#%s> was already subscribed to `%s`; nothing changed.\n", ref.ChannelID, sub.Label())
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
			fmt.Fprintf(&b, "• `%s` (id %s, since %s)\n", sub.Label(), sub.ID, sub.CreatedAt.Format("2006-01-02"))
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

func (s *Service) setSchedule(ctx context.Context, req *Request) (*Response, error) {
	ref, err := s.channel(ctx, req)
	if err != nil {
		return nil, err
	}
	when := strings.TrimSpace(req.Options["when"])
	tz := strings.TrimSpace(req.Options["timezone"])
	if when == "" && tz == "" {
		return nil, digestbot.Errorf(digestbot.EINVALID, "/schedule needs when, timezone or both, e.g. /schedule when:daily 08:00 timezone:Europe/Paris")
	}
	fromDefault := false
	if when == "" {
		// Only the zone changes: keep what the channel gets now (its own
		// schedule, else the server's or the configured default, which the
		// channel then holds as its own — the reply says so).
		own, err := s.Store.Schedule(ctx, ref.GuildID, ref.ChannelID)
		if err != nil {
			return nil, err
		}
		cur, _, err := s.effectiveSchedule(ctx, ref)
		if err != nil {
			return nil, err
		}
		when, fromDefault = cur.Spec(), own == nil
	}
	if tz == "" {
		if cur, err := s.Store.Schedule(ctx, ref.GuildID, ref.ChannelID); err == nil && cur != nil && cur.TimeZone != "" {
			tz = cur.TimeZone
		} else {
			tz = s.Config.Schedule.TimeZone
		}
	}
	sc, err := schedule.Parse(when, tz, s.Config.Schedule.MinInterval)
	if err != nil {
		return nil, err
	}
	cs := &digestbot.ChannelSchedule{GuildID: ref.GuildID, ChannelID: ref.ChannelID, Spec: sc.Spec(), TimeZone: sc.TimeZone(), UpdatedAt: s.now().UTC()}
	if err := s.Store.SetSchedule(ctx, cs); err != nil {
		return nil, err
	}
	s.scheduleChanged(ctx, ref)
	msg := fmt.Sprintf("%s Next: %s.", channelScheduleLine(ref, sc), discordTime(sc.Next(s.now())))
	if fromDefault {
		msg += fmt.Sprintf(" The channel followed the default schedule; it now has its own (%s), so later changes to the default do not reach it.", sc.Spec())
	}
	return &Response{Content: msg}, nil
}

// channelScheduleLine tells that a schedule was set for a whole channel:
// /subscribe schedule:… and /schedule both change it for every
// subscription the channel has, not for one.
func channelScheduleLine(ref digestbot.ChannelRef, sc *schedule.Schedule) string {
	return fmt.Sprintf("<#%s> now gets its digest %s; this applies to every subscription of the channel.", ref.ChannelID, sc)
}

// resume lifts a delivery pause; a manager acting on the channel is the
// sign that it works again. Failures are logged: the command goes on.
func (s *Service) resume(ctx context.Context, ref digestbot.ChannelRef) bool {
	if s.ResumeChannel == nil {
		return false
	}
	resumed, err := s.ResumeChannel(ctx, ref)
	if err != nil && s.Log != nil {
		s.Log.Warn("could not resume a paused channel", "guild", ref.GuildID, "channel", ref.ChannelID, "err", err)
	}
	return resumed
}

func (s *Service) scheduleChanged(ctx context.Context, ref digestbot.ChannelRef) {
	if s.ScheduleChanged != nil {
		s.ScheduleChanged(ctx, ref)
	}
}

func (s *Service) matchNow(ctx context.Context) error {
	if s.MatchNow == nil {
		return nil
	}
	return s.MatchNow(ctx)
}

func (s *Service) digestPreview(ctx context.Context, req *Request) (*Response, error) {
	ref, err := s.channel(ctx, req)
	if err != nil {
		return nil, err
	}
	if err := s.matchNow(ctx); err != nil {
		return nil, err
	}
	if s.Preview == nil {
		return nil, digestbot.Errorf(digestbot.EUNAVAILABLE, "previews are not available here")
	}
	msgs, err := s.Preview(ctx, ref)
	if err != nil {
		return nil, err
	}
	if len(msgs) == 0 {
		return &Response{Content: fmt.Sprintf("Nothing is waiting for <#%s>: the next digest would be empty and will not be posted.", ref.ChannelID), Ephemeral: true}, nil
	}
	// An interaction reply is one message: show the first, say how many follow.
	r := &Response{Content: msgs[0].Content, Embeds: msgs[0].Embeds, Ephemeral: true}
	if len(msgs) > 1 {
		r.Content = strings.TrimSpace(r.Content + fmt.Sprintf("\n(preview of message 1 of %d)", len(msgs)))
	}
	return r, nil
}

func (s *Service) digestNow(ctx context.Context, req *Request) (*Response, error) {
	ref, err := s.channel(ctx, req)
	if err != nil {
		return nil, err
	}
	if err := s.matchNow(ctx); err != nil {
		return nil, err
	}
	if s.PostNow == nil {
		return nil, digestbot.Errorf(digestbot.EUNAVAILABLE, "posting is not available here")
	}
	// A manager asking for a digest now is the signal that the channel works again.
	s.resume(ctx, ref)
	res, err := s.PostNow(ctx, ref)
	if err != nil {
		if digestbot.ErrorCode(err) == digestbot.EUNAVAILABLE && res.WindowID != "" {
			// Say what happened, not "later": some messages may be in the
			// channel already, and none will be posted twice.
			return &Response{Content: fmt.Sprintf("Posted %d of %d messages of the digest to <#%s>; Discord did not confirm the rest. "+
				"They are retried shortly, and no message is posted twice.", res.Posted+res.Found, res.Parts, ref.ChannelID), Ephemeral: true}, nil
		}
		return nil, err
	}
	switch {
	case res.Busy:
		return &Response{Content: fmt.Sprintf("A digest for <#%s> is being posted right now; it is complete within a minute.", ref.ChannelID), Ephemeral: true}, nil
	case res.Paused:
		return nil, digestbot.Errorf(digestbot.EUNAVAILABLE, "delivery to this channel is paused: %s", res.PausedReason)
	case res.Interrupted:
		return &Response{Content: fmt.Sprintf("Posted %d of %d messages of the digest to <#%s>; the bot is restarting, so the rest follows within a minute, and no message is posted twice.",
			res.Posted+res.Found, res.Parts, ref.ChannelID), Ephemeral: true}, nil
	case res.Items == 0:
		return &Response{Content: fmt.Sprintf("Nothing is waiting for <#%s>; no digest posted.", ref.ChannelID), Ephemeral: true}, nil
	}
	msg := fmt.Sprintf("Posted a digest of %s to <#%s>.", stories(res.Stories), ref.ChannelID)
	if res.Stories == 0 {
		msg = fmt.Sprintf("Finished posting the digest to <#%s>.", ref.ChannelID)
	}
	if res.SetAside > 0 {
		msg += fmt.Sprintf(" Discord refused %s of it; see /subscriptions.", plural(res.SetAside, "one message", fmt.Sprintf("%d messages", res.SetAside)))
	}
	return &Response{Content: msg, Ephemeral: true}, nil
}

// lookupTTL is how long a lookup's buttons keep working (an interaction
// token lives 15 minutes).
const lookupTTL = 15 * time.Minute

func (s *Service) lookup(ctx context.Context, req *Request) (*Response, error) {
	q := LookupQuery{Query: strings.TrimSpace(req.Options["query"]), Source: strings.TrimSpace(req.Options["source"]), Limit: 5}
	if since := strings.TrimSpace(req.Options["since"]); since != "" {
		t, err := ParseSince(since, s.now())
		if err != nil {
			return nil, err
		}
		q.Since = t
	}
	if s.Search == nil {
		return nil, digestbot.Errorf(digestbot.EUNAVAILABLE, "lookup is not available here")
	}
	return s.lookupPage(ctx, req.GuildID, q)
}

func (s *Service) lookupPage(ctx context.Context, guildID string, q LookupQuery) (*Response, error) {
	q.Guild = guildID
	page, err := s.Search(ctx, q)
	if err != nil {
		return nil, err
	}
	r := &Response{Ephemeral: true}
	if len(page.Results) == 0 {
		r.Content = fmt.Sprintf("No article matches `%s`.", q.Query)
		return r, nil
	}
	r.Content = fmt.Sprintf("%s %s `%s`:", count(page.Total, "article", "articles"), plural(page.Total, "matches", "match"), q.Query)
	r.Embeds = resultEmbeds(page.Results)
	id, err := s.remember(ctx, guildID, &lookupState{Query: q, Shown: page})
	if err != nil {
		return nil, err
	}
	if page.Next != "" {
		r.Buttons = append(r.Buttons, Button{Label: "Next page", CustomID: "lookup-next:" + id})
	}
	r.Buttons = append(r.Buttons, Button{Label: "Share in channel", CustomID: "lookup-share:" + id})
	return r, nil
}

func resultEmbeds(rs []LookupResult) []digest.Embed {
	out := make([]digest.Embed, 0, len(rs))
	for _, res := range rs {
		footer := res.Source
		if !res.Published.IsZero() {
			footer += " · " + res.Published.UTC().Format("2006-01-02")
		}
		out = append(out, digest.Embed{Title: clip(res.Title, 256), URL: res.URL, Description: clip(res.Snippet, 1000), Footer: footer, Timestamp: res.Published})
	}
	return out
}

func (s *Service) remember(ctx context.Context, guildID string, st *lookupState) (string, error) {
	b, err := json.Marshal(st)
	if err != nil {
		return "", digestbot.WrapError(digestbot.EINTERNAL, err, "save lookup")
	}
	var r [9]byte
	rand.Read(r[:])
	id := hex.EncodeToString(r[:])
	if err := s.Store.SaveLookup(ctx, guildID, id, b, lookupTTL); err != nil {
		return "", err
	}
	return id, nil
}

func (s *Service) button(ctx context.Context, req *Request) (*Response, error) {
	kind, id, _ := strings.Cut(req.Options["id"], ":")
	b, err := s.Store.LoadLookup(ctx, req.GuildID, id)
	if digestbot.ErrorCode(err) == digestbot.ENOTFOUND {
		return nil, digestbot.Errorf(digestbot.ENOTFOUND, "this lookup has expired; run /lookup again")
	}
	if err != nil {
		return nil, err
	}
	var st lookupState
	if err := json.Unmarshal(b, &st); err != nil || st.Shown == nil {
		return nil, digestbot.Errorf(digestbot.ENOTFOUND, "this lookup has expired; run /lookup again")
	}
	switch kind {
	case "lookup-next":
		q := st.Query
		q.Cursor = st.Shown.Next
		return s.lookupPage(ctx, req.GuildID, q)
	case "lookup-share":
		return &Response{Content: fmt.Sprintf("<@%s> shared results for `%s`:", req.UserID, st.Query.Query), Embeds: resultEmbeds(st.Shown.Results)}, nil
	}
	return nil, digestbot.Errorf(digestbot.EINVALID, "unknown button")
}

// ParseSince reads a /lookup since option: a duration like 24h or 7d, or a
// date (2021-03-20, taken in UTC).
func ParseSince(v string, now time.Time) (time.Time, error) {
	if t, err := time.Parse("2006-01-02", v); err == nil {
		return t, nil
	}
	d, err := config.ParseDuration(v)
	if err != nil || d <= 0 {
		return time.Time{}, digestbot.Errorf(digestbot.EINVALID, "since %q: want a duration such as 24h or 7d, or a date such as 2021-03-20", v)
	}
	return now.Add(-d), nil
}

func (s *Service) feedsAdd(ctx context.Context, req *Request) (*Response, error) {
	url := strings.TrimSpace(req.Options["url"])
	if err := checkFeedURL(url); err != nil {
		return nil, err
	}
	f := &digestbot.Feed{GuildID: req.GuildID, URL: url, Name: strings.TrimSpace(req.Options["name"]), AddedBy: req.UserID, AddedAt: s.now().UTC()}
	n := -1
	if s.CheckFeed != nil {
		var err error
		if n, err = s.CheckFeed(ctx, url); err != nil {
			return nil, err
		}
	}
	created, err := s.Store.AddFeed(ctx, f, s.Config.Limits.FeedsPerGuild)
	if err != nil {
		return nil, limitError(err, s.Config.Limits.FeedsPerGuild, "feed", "feeds", "remove one with /feeds remove first")
	}
	// The fetch above just worked: a feed paused by earlier failures is polled again.
	if s.ResumeFeed != nil {
		if err := s.ResumeFeed(ctx, url); err != nil && s.Log != nil {
			s.Log.Warn("could not resume a feed", "url", url, "err", err)
		}
	}
	if !created {
		return &Response{Content: fmt.Sprintf("%s is already one of this server's feeds; it is polled again from now.", url)}, nil
	}
	msg := fmt.Sprintf("Added the feed %s; it is polled every %s.", url, s.Config.Polling.Interval)
	if n >= 0 {
		msg += fmt.Sprintf(" It holds %s now.", count(n, "article", "articles"))
	}
	return &Response{Content: msg}, nil
}

// checkFeedURL refuses anything but an absolute http(s) URL before the
// feed is fetched, so a chat command can never make the bot read a local
// file or another scheme. Private addresses are refused by the fetcher.
func checkFeedURL(raw string) error {
	u, err := neturl.Parse(raw)
	switch {
	case len(raw) > digestbot.MaxURLLen:
		return digestbot.Errorf(digestbot.EINVALID, "the feed URL is longer than %d characters", digestbot.MaxURLLen)
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return digestbot.Errorf(digestbot.EINVALID, "%q is not a feed URL: give an http:// or https:// address", raw)
	case u.User != nil:
		return digestbot.Errorf(digestbot.EINVALID, "feed URLs may not carry a user name or password")
	}
	return nil
}

func (s *Service) feedsRemove(ctx context.Context, req *Request) (*Response, error) {
	url := strings.TrimSpace(req.Options["url"])
	if err := s.Store.RemoveFeed(ctx, req.GuildID, url); err != nil {
		return nil, err
	}
	return &Response{Content: fmt.Sprintf("Removed the feed %s.", url)}, nil
}

func (s *Service) feedsList(ctx context.Context, req *Request) (*Response, error) {
	feeds, err := s.Store.Feeds(ctx, req.GuildID)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	if len(feeds) == 0 && len(s.Config.Feeds) == 0 {
		return &Response{Content: "No feeds yet. Add one with /feeds add url:…", Ephemeral: true}, nil
	}
	line := func(url, name, origin string) {
		h, err := s.Store.FeedHealth(ctx, url)
		status := "not polled yet"
		if err == nil && h != nil {
			switch {
			case h.PausedReason != "":
				status = "⏸ paused: " + h.PausedReason
			case h.Failures > 0:
				status = fmt.Sprintf("⚠ %s in a row, last: %s", count(h.Failures, "failure", "failures"), h.LastError)
			case !h.LastSuccess.IsZero():
				status = "ok, last fetched " + discordTime(h.LastSuccess)
			}
		}
		label := url
		if name != "" {
			label = name + " — " + url
		}
		fmt.Fprintf(&b, "• %s%s: %s\n", label, origin, status)
	}
	for _, f := range feeds {
		line(f.URL, f.Name, "")
	}
	for _, f := range s.Config.Feeds {
		line(f.URL, f.Name, " (operator)")
	}
	return &Response{Content: b.String(), Ephemeral: true}, nil
}

func (s *Service) topicsList(ctx context.Context, req *Request) (*Response, error) {
	own, err := s.Store.Topics(ctx, req.GuildID)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	seen := map[string]bool{}
	for _, t := range own {
		seen[t.Name] = true
		fmt.Fprintf(&b, "• **%s** — `%s`\n", t.Name, t.Query)
	}
	for _, t := range s.GlobalTopics {
		if !seen[t.Name] {
			fmt.Fprintf(&b, "• **%s** — `%s` (operator)\n", t.Name, t.Query)
		}
	}
	if b.Len() == 0 {
		return &Response{Content: "No topics yet. Create one with /topics create name:… query:…", Ephemeral: true}, nil
	}
	return &Response{Content: b.String(), Ephemeral: true}, nil
}

func (s *Service) topicsCreate(ctx context.Context, req *Request) (*Response, error) {
	name := digestbot.NormalizeTopicName(req.Options["name"])
	if err := digestbot.ValidateTopicName(name); err != nil {
		return nil, err
	}
	q, err := subscriptions.Parse(req.Options["query"])
	if err != nil {
		return nil, err
	}
	for _, ref := range q.Topics() {
		if ref == name {
			return nil, digestbot.Errorf(digestbot.EINVALID, "topic %s cannot refer to itself", name)
		}
	}
	// A server topic of an operator topic's name would take its place for
	// this server: every topic:NAME subscription would silently follow the
	// new query and the operator's would vanish from /topics list. A topic
	// the server already has under that name (made before this check) stays
	// its own to change.
	if s.operatorTopic(name) != nil {
		own, err := s.ownTopic(ctx, req.GuildID, name)
		if err != nil {
			return nil, err
		}
		if own == nil {
			return nil, digestbot.Errorf(digestbot.ECONFLICT, "%s is one of the bot's own topics; choose another name", name)
		}
	}
	if _, err := s.resolve(ctx, req.GuildID, q.String()); err != nil {
		return nil, err
	}
	t := &digestbot.Topic{GuildID: req.GuildID, Name: name, Query: q.String(), CreatedBy: req.UserID, UpdatedAt: s.now().UTC()}
	if err := s.Store.PutTopic(ctx, t, s.Config.Limits.TopicsPerGuild); err != nil {
		return nil, limitError(err, s.Config.Limits.TopicsPerGuild, "topic", "topics", "delete one first")
	}
	return &Response{Content: fmt.Sprintf("Topic **%s** is `%s`. Subscriptions to it follow this query from now on.", name, t.Query)}, nil
}

func (s *Service) topicsDelete(ctx context.Context, req *Request) (*Response, error) {
	name := digestbot.NormalizeTopicName(req.Options["name"])
	// Checked first: the subscriptions that use an operator topic are no
	// reason to give, as deleting it is not the server's to do anyway.
	if s.operatorTopic(name) != nil {
		own, err := s.ownTopic(ctx, req.GuildID, name)
		if err != nil {
			return nil, err
		}
		if own == nil {
			return nil, digestbot.Errorf(digestbot.EFORBIDDEN, "%s is one of the bot's own topics; only the operator can change it", name)
		}
	}
	subs, err := s.Store.Subscriptions(ctx, req.GuildID, "")
	if err != nil {
		return nil, err
	}
	users := 0
	for _, sub := range subs {
		if sub.Topic == name || refersTo(sub.Query, name) {
			users++
		}
	}
	if users > 0 {
		return nil, digestbot.Errorf(digestbot.ECONFLICT, "topic %s is used by %s; unsubscribe %s first", name, count(users, "subscription", "subscriptions"), plural(users, "it", "them"))
	}
	topics, err := s.Store.Topics(ctx, req.GuildID)
	if err != nil {
		return nil, err
	}
	for _, t := range topics {
		if t.Name != name && refersTo(t.Query, name) {
			return nil, digestbot.Errorf(digestbot.ECONFLICT, "topic %s is used by the topic %s; change that one first", name, t.Name)
		}
	}
	if err := s.Store.DeleteTopic(ctx, req.GuildID, name); err != nil {
		return nil, err
	}
	return &Response{Content: fmt.Sprintf("Deleted the topic %s.", name)}, nil
}

// refersTo reports whether query text holds a topic:name reference.
func refersTo(query, name string) bool {
	if query == "" {
		return false
	}
	q, err := subscriptions.Parse(query)
	if err != nil {
		return false
	}
	for _, t := range q.Topics() {
		if t == name {
			return true
		}
	}
	return false
}

// Autocomplete suggests values for the focused option.
func (s *Service) Autocomplete(ctx context.Context, req *Request) ([]Choice, error) {
	typed := strings.ToLower(strings.TrimSpace(req.Options[req.Focused]))
	var out []Choice
	add := func(name, value string) {
		if len(out) < 25 && (typed == "" || strings.Contains(strings.ToLower(name), typed)) {
			out = append(out, Choice{Name: clip(name, 100), Value: clip(value, 100)})
		}
	}
	switch req.Focused {
	case "topic", "name":
		own, err := s.Store.Topics(ctx, req.GuildID)
		if err != nil {
			return nil, err
		}
		seen := map[string]bool{}
		for _, t := range own {
			seen[t.Name] = true
			add(t.Name+" — "+t.Query, t.Name)
		}
		if req.Focused == "topic" {
			for _, t := range s.GlobalTopics {
				if !seen[t.Name] {
					add(t.Name+" — "+t.Query, t.Name)
				}
			}
		}
	case "subscription":
		ch := req.ChannelID
		if c := req.Options["channel"]; c != "" {
			ch = c
		}
		subs, err := s.Store.Subscriptions(ctx, req.GuildID, ch)
		if err != nil {
			return nil, err
		}
		for _, sub := range subs {
			add(sub.Label(), sub.ID)
		}
	case "timezone":
		for _, z := range commonZones {
			add(z, z)
		}
	case "url":
		feeds, err := s.Store.Feeds(ctx, req.GuildID)
		if err != nil {
			return nil, err
		}
		for _, f := range feeds {
			add(f.URL, f.URL)
		}
	}
	return out, nil
}

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

func articleLink(a *digestbot.Article) string {
	t := clip(a.Title, 120)
	if a.URL == "" {
		return fmt.Sprintf("%s — %s", t, a.Source)
	}
	return fmt.Sprintf("[%s](%s) — %s", t, a.URL, a.Source)
}

// discordTime renders a time that Discord shows in each reader's own zone.
func discordTime(t time.Time) string { return fmt.Sprintf("<t:%d:f>", t.Unix()) }

const helpText = "**digestbot** posts news digests on each channel's schedule.\n" +
	"• `/subscribe query:\"facial recognition\" OR surveillance` — follow a query (words, \"phrases\", OR, -exclude, prefix*, title:/source:/tag:)\n" +
	"• `/subscribe topic:NAME` — follow a topic; `/topics list` shows them\n" +
	"• `/schedule when:daily 08:00 timezone:Europe/Paris` — when digests arrive (hourly, daily HH:MM, weekly mon HH:MM, or cron)\n" +
	"• `/subscriptions` — what this channel follows; `/unsubscribe` to stop\n" +
	"• `/digest preview` — see the next digest; `/digest now` — post it now\n" +
	"• `/lookup query:… since:7d` — search past articles\n" +
	"• `/feeds add url:…` — add a source\n" +
	"Changing subscriptions needs Manage Channels."

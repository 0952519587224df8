// Package why explains what became of one article for one server: whether
// the bot has stored it (when, and from which of the sources this server
// may know of), which of the server's subscriptions match it and with
// which terms, or why not (no term of the query, an exclusion, not
// visible to this server, not matched yet), and whether it was delivered
// (when, and in which message) or is waiting for the channel's next
// digest. /digest why and `digestbot why` both print a Report.
//
// Nothing in a Report comes from another server: its subscriptions, its
// feeds' names and URLs, its channels. An article only another server's
// own feeds brought in is reported as stored but not visible, nothing more.
package why

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/ingest"
	"github.com/digestbot/digestbot/subscriptions"
)

// Store is what an explanation reads (package store implements it).
type Store interface {
	GetArticles(ctx context.Context, ids []string) ([]*digestbot.Article, error)
	ArticleCopies(ctx context.Context, id string) ([]string, error)
	Subscriptions(ctx context.Context, guildID, channelID string) ([]*digestbot.Subscription, error)
	Topics(ctx context.Context, guildID string) ([]*digestbot.Topic, error)
	Feeds(ctx context.Context, guildID string) ([]*digestbot.Feed, error)
	FeedHealth(ctx context.Context, url string) (*digestbot.FeedHealth, error)
	Watermark(ctx context.Context, name string) (string, error)
	ArticlesAfter(ctx context.Context, seq string, max int) ([]digestbot.LogEntry, error)
	ArticleStatus(ctx context.Context, guildID, channelID, articleID string) (*digestbot.ArticleStatus, error)
	ChannelState(ctx context.Context, guildID, channelID string) (*digestbot.ChannelState, error)
}

// Explainer answers for one article and one server.
type Explainer struct {
	Store Store
	// GlobalTopics are the operator's topics (the configuration's).
	GlobalTopics []*digestbot.Topic
	// OperatorFeeds are the configuration's feeds, public to every server,
	// so their names may be shown.
	OperatorFeeds []*digestbot.Feed
	// Backfill is the matcher's: a subscription also gets what was
	// ingested this long before it was created.
	Backfill time.Duration
	// Retention is how long articles are kept (for "not stored" answers).
	Retention time.Duration
	// NextDigest says when a channel's next digest is due (the digests
	// due queue); nil: not said.
	NextDigest func(ctx context.Context, ref digestbot.ChannelRef) (time.Time, bool, error)
	// Watermark names the matcher's cursor (default "matcher").
	Watermark string
}

// maxBehind bounds how much of the ingest log after the matcher's
// watermark an explanation reads to find the article.
const maxBehind = 1000

// Explain reports on the article at rawURL for guildID. The URL is made
// canonical as ingest does, so tracking parameters and fragments do not
// matter. Errors: EINVALID for a URL that is not http(s); store errors.
func (e *Explainer) Explain(ctx context.Context, guildID, rawURL string) (*Report, error) {
	canon, ok := ingest.CanonicalURL(rawURL, "")
	if !ok {
		return nil, digestbot.Errorf(digestbot.EINVALID, "%q is not an http or https link to an article", cut(rawURL, 100))
	}
	r := &Report{URL: canon, GuildID: guildID, Subscriptions: []Subscription{}}
	a, stored, err := e.find(ctx, guildID, canon)
	if err != nil {
		return nil, err
	}
	switch {
	case a == nil && !stored:
		r.Status = StatusNotStored
		return r, e.feedTrouble(ctx, guildID, r)
	case a == nil:
		r.Status = StatusNotVisible
		return r, nil
	}
	r.Status = StatusStored
	if err := e.describe(ctx, guildID, a, r); err != nil {
		return nil, err
	}
	return r, e.subscriptions(ctx, guildID, a, r)
}

// find returns the copy of the article at canon that guildID may see
// (the one under the URL's own id first: a public source makes that one
// public), and whether any copy is stored at all.
func (e *Explainer) find(ctx context.Context, guildID, canon string) (a *digestbot.Article, stored bool, err error) {
	id := digestbot.ArticleID(canon, "", "", "")
	copies, err := e.Store.ArticleCopies(ctx, id)
	if err != nil {
		return nil, false, err
	}
	arts, err := e.Store.GetArticles(ctx, append([]string{id}, copies...))
	if err != nil {
		return nil, false, err
	}
	for _, x := range arts {
		if x == nil {
			continue
		}
		stored = true
		if x.VisibleTo(guildID) {
			return x, true, nil
		}
	}
	return nil, stored, nil
}

// describe fills in what the server may know of a stored article.
func (e *Explainer) describe(ctx context.Context, guildID string, a *digestbot.Article, r *Report) error {
	r.Article = &Article{ID: a.ID, Title: a.Title, Ingested: a.Ingested, Published: a.Published, Language: a.Language}
	feeds, err := e.Store.Feeds(ctx, guildID)
	if err != nil {
		return err
	}
	var feedURL string
	switch {
	case len(a.Guilds) > 0:
		// Brought in by this server's own feed: name it as this server
		// knows it. The story's source name may have come from another
		// server that follows the same URL, so it is not shown.
		r.Article.From = "a feed of this server"
		if i := slices.IndexFunc(feeds, func(f *digestbot.Feed) bool { return f.URL == a.Feed }); i >= 0 {
			r.Article.From = "this server's feed " + feedLabel(feeds[i])
			feedURL = a.Feed
		}
	default:
		r.Article.Source = a.Source
		switch i := slices.IndexFunc(e.OperatorFeeds, func(f *digestbot.Feed) bool { return f.URL == a.Feed }); {
		case i >= 0:
			r.Article.From = "the bot's feed " + feedLabel(e.OperatorFeeds[i])
			feedURL = a.Feed
		case a.Feed == "push":
			r.Article.From = "the bot's push API"
		default:
			r.Article.From = "the bot's operator"
		}
	}
	if feedURL != "" {
		h, err := e.Store.FeedHealth(ctx, feedURL)
		if err != nil {
			return err
		}
		r.Article.FeedTrouble = trouble(h)
	}
	return nil
}

func feedLabel(f *digestbot.Feed) string {
	if f.Name != "" {
		return f.Name + " (" + f.URL + ")"
	}
	return f.URL
}

// trouble says what is wrong with a feed's polling, "" when nothing is.
func trouble(h *digestbot.FeedHealth) string {
	switch {
	case h == nil:
		return ""
	case h.PausedReason != "":
		return "polling is paused: " + h.PausedReason
	case h.Failures > 0:
		return fmt.Sprintf("its last %d polls failed (last: %s)", h.Failures, h.LastError)
	}
	return ""
}

// feedTrouble lists the server's own feeds that are paused or failing: a
// story the bot has not seen may be in one of them.
func (e *Explainer) feedTrouble(ctx context.Context, guildID string, r *Report) error {
	feeds, err := e.Store.Feeds(ctx, guildID)
	if err != nil {
		return err
	}
	for _, f := range feeds {
		h, err := e.Store.FeedHealth(ctx, f.URL)
		if err != nil {
			return err
		}
		if t := trouble(h); t != "" {
			r.FeedTrouble = append(r.FeedTrouble, FeedNote{Feed: feedLabel(f), Trouble: t})
		}
	}
	r.Retention = e.Retention
	return nil
}

// subscriptions explains each of the server's subscriptions.
func (e *Explainer) subscriptions(ctx context.Context, guildID string, a *digestbot.Article, r *Report) error {
	subs, err := e.Store.Subscriptions(ctx, guildID, "")
	if err != nil {
		return err
	}
	topics, err := e.Store.Topics(ctx, guildID)
	if err != nil {
		return err
	}
	lookup := topicLookup(topics, e.GlobalTopics)
	// The server's own feed that brought a private article in: a new
	// feed's backlog is not delivered (digestbot.Feed.HoldsBack).
	var feed *digestbot.Feed
	if len(a.Guilds) > 0 && a.Feed != "" {
		feeds, err := e.Store.Feeds(ctx, guildID)
		if err != nil {
			return err
		}
		if i := slices.IndexFunc(feeds, func(f *digestbot.Feed) bool { return f.URL == a.Feed }); i >= 0 {
			feed = feeds[i]
		}
	}
	doc := subscriptions.DocFromArticle(a)
	channels := map[string]*channelInfo{}
	unmatched := -1 // read once, when a subscription needs it
	for _, s := range subs {
		sr := Subscription{ID: s.ID, ChannelID: s.ChannelID, Label: s.Label(), CreatedAt: s.CreatedAt}
		q, err := queryOf(s, lookup)
		if err != nil {
			sr.Outcome, sr.Reason = OutcomeBroken, digestbot.ErrorMessage(err)
			r.Subscriptions = append(r.Subscriptions, sr)
			continue
		}
		terms, ok := q.Match(doc)
		if !ok {
			sr.Outcome = OutcomeNoMatch
			if sr.Excluded = q.Excluded(doc); len(sr.Excluded) > 0 {
				sr.Outcome = OutcomeExcluded
			}
			r.Subscriptions = append(r.Subscriptions, sr)
			continue
		}
		sr.Terms = slices.Clone(terms)
		ch := channels[s.ChannelID]
		if ch == nil {
			if ch, err = e.channel(ctx, guildID, s.ChannelID, a.ID); err != nil {
				return err
			}
			channels[s.ChannelID] = ch
		}
		if unmatched < 0 && ch.status.Pending == nil && ch.status.DeliveredAt.IsZero() {
			if unmatched, err = e.notMatchedYet(ctx, a.ID); err != nil {
				return err
			}
		}
		e.outcome(&sr, s, a, ch, feed, unmatched == 1)
		r.Subscriptions = append(r.Subscriptions, sr)
	}
	return nil
}

// channelInfo is what one channel's queues and schedule say.
type channelInfo struct {
	status *digestbot.ArticleStatus
	paused string
	next   time.Time
}

func (e *Explainer) channel(ctx context.Context, guildID, channelID, articleID string) (*channelInfo, error) {
	st, err := e.Store.ArticleStatus(ctx, guildID, channelID, articleID)
	if err != nil {
		return nil, err
	}
	ch := &channelInfo{status: st}
	if st.DeliveredAt.IsZero() {
		cs, err := e.Store.ChannelState(ctx, guildID, channelID)
		if err != nil {
			return nil, err
		}
		ch.paused = cs.PausedReason
		if e.NextDigest != nil {
			at, ok, err := e.NextDigest(ctx, digestbot.ChannelRef{GuildID: guildID, ChannelID: channelID})
			if err != nil {
				return nil, err
			}
			if ok {
				ch.next = at
			}
		}
	}
	return ch, nil
}

// notMatchedYet reports (1) whether the article is in the ingest log after
// the matcher's watermark: ingested after the matcher's last run.
func (e *Explainer) notMatchedYet(ctx context.Context, id string) (int, error) {
	name := e.Watermark
	if name == "" {
		name = "matcher"
	}
	wm, err := e.Store.Watermark(ctx, name)
	if err != nil {
		return 0, err
	}
	entries, err := e.Store.ArticlesAfter(ctx, wm, maxBehind)
	if err != nil {
		return 0, err
	}
	if slices.ContainsFunc(entries, func(l digestbot.LogEntry) bool { return l.ArticleID == id }) {
		return 1, nil
	}
	return 0, nil
}

// outcome says what became of an article a subscription matches.
func (e *Explainer) outcome(sr *Subscription, s *digestbot.Subscription, a *digestbot.Article, ch *channelInfo, feed *digestbot.Feed, notMatched bool) {
	st := ch.status
	switch {
	case !st.DeliveredAt.IsZero():
		sr.Outcome, sr.DeliveredAt = OutcomeDelivered, st.DeliveredAt
		if p := st.Placement; p != nil {
			sr.How = p.How
			if p.MessageID != "" {
				sr.Message = "https://discord.com/channels/" + s.GuildID + "/" + p.ChannelID + "/" + p.MessageID
			}
		}
	case st.Delivering:
		sr.Outcome = OutcomeDelivering
	case st.Pending != nil:
		sr.Outcome, sr.NextDigest, sr.Paused = OutcomePending, ch.next, ch.paused
		if !slices.ContainsFunc(st.Pending.Hits, func(h digestbot.Hit) bool { return h.SubscriptionID == s.ID }) {
			sr.Reason = "queued by another subscription of the channel"
		}
	case notMatched:
		sr.Outcome = OutcomeNotMatchedYet
	case feed.HoldsBack(fmt.Sprintf("%d-0", a.Ingested.UnixMilli()), a.Published):
		// First stored at a.Ingested: by that feed's first poll if no
		// later than its end.
		sr.Outcome = OutcomeBacklog
	case a.Ingested.Before(s.CreatedAt.Add(-e.Backfill)):
		sr.Outcome = OutcomeBeforeSubscription
	default:
		sr.Outcome = OutcomeNotQueued
	}
}

// topicLookup resolves topic names as the matcher does: the server's own
// topic, else the operator's.
func topicLookup(guild, global []*digestbot.Topic) func(string) (*subscriptions.Query, bool) {
	byName := map[string]string{}
	for _, t := range global {
		byName[digestbot.NormalizeTopicName(t.Name)] = t.Query
	}
	for _, t := range guild {
		byName[digestbot.NormalizeTopicName(t.Name)] = t.Query
	}
	return func(name string) (*subscriptions.Query, bool) {
		text, ok := byName[name]
		if !ok {
			return nil, false
		}
		q, err := subscriptions.Parse(text)
		return q, err == nil
	}
}

func queryOf(s *digestbot.Subscription, lookup func(string) (*subscriptions.Query, bool)) (*subscriptions.Query, error) {
	var q *subscriptions.Query
	if s.Topic != "" {
		q = &subscriptions.Query{Root: &subscriptions.TopicRef{Name: digestbot.NormalizeTopicName(s.Topic)}}
	} else {
		var err error
		if q, err = subscriptions.Parse(s.Query); err != nil {
			return nil, err
		}
	}
	return q.ResolveTopics(lookup)
}

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

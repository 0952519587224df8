// Package guildfile moves one server's setup in and out of the store as a
// JSON document: its feeds, topics, subscriptions and schedules (the
// `digestbot export` and `digestbot import` commands). An import checks
// the whole document before it writes anything, and then adds only what
// the server lacks: nothing it has is replaced.
package guildfile

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/config"
	"github.com/digestbot/digestbot/store"
)

// Format names the document's layout; an import refuses any other.
const Format = "digestbot-guild/1"

// MaxBytes bounds a document an import reads.
const MaxBytes = 16 << 20

// Document is one server's setup. Runtime state (feed health, pending
// stories, delivery) is not part of it, nor are members' personal watches
// (theirs, not the server's). Its JSON field names are a stable
// interface: fields are added, never renamed.
type Document struct {
	Format        string         `json:"format"`
	GuildID       string         `json:"guild_id"`
	ExportedAt    time.Time      `json:"exported_at"`
	Feeds         []Feed         `json:"feeds"`
	Topics        []Topic        `json:"topics"`
	Subscriptions []Subscription `json:"subscriptions"`
	Schedules     []Schedule     `json:"schedules"`
}

// Feed is one of the server's own feeds.
type Feed struct {
	URL      string    `json:"url"`
	Name     string    `json:"name,omitempty"`
	Interval string    `json:"interval,omitempty"` // e.g. "30m"; "" for the configured one
	AddedBy  string    `json:"added_by,omitempty"`
	AddedAt  time.Time `json:"added_at,omitzero"`
}

// Topic is one of the server's own topics.
type Topic struct {
	Name      string    `json:"name"`
	Query     string    `json:"query"`
	CreatedBy string    `json:"created_by,omitempty"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// Subscription subscribes a channel to a query or a topic.
type Subscription struct {
	ChannelID string    `json:"channel_id"`
	Query     string    `json:"query,omitempty"`
	Topic     string    `json:"topic,omitempty"`
	Mode      string    `json:"mode,omitempty"`    // "" (digest) or "instant"
	Mention   string    `json:"mention,omitempty"` // a role id of the server
	Spike     string    `json:"spike,omitempty"`   // "N/H", see digestbot.ParseSpike
	CreatedBy string    `json:"created_by,omitempty"`
	CreatedAt time.Time `json:"created_at,omitzero"`
}

// Schedule is a channel's schedule, or with ChannelID "" the server's
// default.
type Schedule struct {
	ChannelID string    `json:"channel_id"`
	Spec      string    `json:"spec"`
	TimeZone  string    `json:"timezone,omitempty"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// Reader is what Export reads; *store.Store is one.
type Reader interface {
	Feeds(ctx context.Context, guildID string) ([]*digestbot.Feed, error)
	Topics(ctx context.Context, guildID string) ([]*digestbot.Topic, error)
	Subscriptions(ctx context.Context, guildID, channelID string) ([]*digestbot.Subscription, error)
	GuildSchedules(ctx context.Context, guildID string) ([]*digestbot.ChannelSchedule, error)
}

// Writer is what Import reads and writes; *store.Store is one.
type Writer interface {
	Reader
	AddFeed(ctx context.Context, f *digestbot.Feed, limit int) (bool, error)
	PutTopic(ctx context.Context, t *digestbot.Topic, limit int) error
	AddSubscription(ctx context.Context, s *digestbot.Subscription, limit int) (bool, error)
	SetSchedule(ctx context.Context, s *digestbot.ChannelSchedule) error
}

// Export reads a server's setup, each list in a fixed order, so that two
// exports of the same setup are equal but for ExportedAt.
func Export(ctx context.Context, st Reader, guildID string, now time.Time) (*Document, error) {
	if err := store.CheckID("guild", guildID); err != nil {
		return nil, err
	}
	doc := &Document{Format: Format, GuildID: guildID, ExportedAt: now.UTC(),
		Feeds: []Feed{}, Topics: []Topic{}, Subscriptions: []Subscription{}, Schedules: []Schedule{}}
	feeds, err := st.Feeds(ctx, guildID)
	if err != nil {
		return nil, err
	}
	for _, f := range feeds {
		ff := Feed{URL: f.URL, Name: f.Name, AddedBy: f.AddedBy, AddedAt: f.AddedAt}
		if f.Interval > 0 {
			ff.Interval = f.Interval.String()
		}
		doc.Feeds = append(doc.Feeds, ff)
	}
	topics, err := st.Topics(ctx, guildID)
	if err != nil {
		return nil, err
	}
	for _, t := range topics {
		doc.Topics = append(doc.Topics, Topic{Name: t.Name, Query: t.Query, CreatedBy: t.CreatedBy, UpdatedAt: t.UpdatedAt})
	}
	subs, err := st.Subscriptions(ctx, guildID, "")
	if err != nil {
		return nil, err
	}
	for _, s := range subs {
		doc.Subscriptions = append(doc.Subscriptions, Subscription{ChannelID: s.ChannelID, Query: s.Query, Topic: s.Topic,
			Mode: s.Mode, Mention: s.Mention, Spike: s.Spike.String(), CreatedBy: s.CreatedBy, CreatedAt: s.CreatedAt})
	}
	scs, err := st.GuildSchedules(ctx, guildID)
	if err != nil {
		return nil, err
	}
	for _, sc := range scs {
		doc.Schedules = append(doc.Schedules, Schedule{ChannelID: sc.ChannelID, Spec: sc.Spec, TimeZone: sc.TimeZone, UpdatedAt: sc.UpdatedAt})
	}
	slices.SortFunc(doc.Feeds, func(a, b Feed) int { return cmp.Compare(a.URL, b.URL) })
	slices.SortFunc(doc.Subscriptions, func(a, b Subscription) int {
		return cmp.Or(cmp.Compare(a.ChannelID, b.ChannelID), cmp.Compare(a.Topic, b.Topic), cmp.Compare(a.Query, b.Query))
	})
	return doc, nil
}

// Decode reads a document, refusing unknown fields (a misspelled field
// would otherwise be dropped without a word) and another format.
func Decode(data []byte) (*Document, error) {
	if len(data) > MaxBytes {
		return nil, digestbot.Errorf(digestbot.ELIMIT, "the document is %d bytes, the limit is %d", len(data), MaxBytes)
	}
	d := json.NewDecoder(strings.NewReader(string(data)))
	d.DisallowUnknownFields()
	var doc Document
	if err := d.Decode(&doc); err != nil {
		return nil, digestbot.Errorf(digestbot.EINVALID, "not a digestbot server document: %v", err)
	}
	if doc.Format != Format {
		return nil, digestbot.Errorf(digestbot.EINVALID, "the document's format is %q; this version reads %q", doc.Format, Format)
	}
	return &doc, nil
}

// Options of an import.
type Options struct {
	// GuildID is the server to import into; "" means the document's own.
	GuildID string
	// Config gives the quotas, the minimum schedule interval, the default
	// time zone and the operator's topics (a subscription may follow them).
	Config *config.Config
	// Now stamps what the document leaves undated.
	Now time.Time
}

// Report says what an import did, one line per item not created.
type Report struct {
	GuildID string
	Created map[string]int // by kind: "feeds", "topics", "subscriptions", "schedules"
	Skipped []string       // what was left alone, and why
	// Channels are the channels that have subscriptions now, for the
	// scheduler to give each its next digest.
	Channels []digestbot.ChannelRef
}

// plan is a checked document in the store's types, ready to write.
type plan struct {
	guild     string
	feeds     []*digestbot.Feed
	topics    []*digestbot.Topic
	subs      []*digestbot.Subscription
	schedules []*digestbot.ChannelSchedule
}

// Import checks every item of doc against the rules the commands apply
// and against the server's quotas (counting what it has), and only when
// all pass writes them: feeds, topics, then subscriptions (which may
// follow the topics), then schedules. An item the server has already is
// left as it is and reported as skipped. EINVALID lists every problem.
func Import(ctx context.Context, st Writer, doc *Document, opts Options) (*Report, error) {
	p, err := check(ctx, st, doc, opts)
	if err != nil {
		return nil, err
	}
	lim := opts.Config.Limits
	r := &Report{GuildID: p.guild, Created: map[string]int{}}
	have, err := st.Topics(ctx, p.guild)
	if err != nil {
		return nil, err
	}
	for _, f := range p.feeds {
		created, err := st.AddFeed(ctx, f, lim.FeedsPerGuild)
		if err != nil {
			return r, fmt.Errorf("feed %s: %w", f.URL, err)
		}
		count(r, created, "feeds", "feed %s: the server has it already", f.URL)
	}
	for _, t := range p.topics {
		if i := slices.IndexFunc(have, func(h *digestbot.Topic) bool { return h.Name == t.Name }); i >= 0 {
			if have[i].Query == t.Query {
				r.Skipped = append(r.Skipped, fmt.Sprintf("topic %s: the server has it already", t.Name))
			} else {
				r.Skipped = append(r.Skipped, fmt.Sprintf("topic %s: the server has its own, with the query %q, kept", t.Name, have[i].Query))
			}
			continue
		}
		if err := st.PutTopic(ctx, t, lim.TopicsPerGuild); err != nil {
			return r, fmt.Errorf("topic %s: %w", t.Name, err)
		}
		r.Created["topics"]++
	}
	chans := map[digestbot.ChannelRef]bool{}
	for _, s := range p.subs {
		created, err := st.AddSubscription(ctx, s, lim.SubscriptionsPerGuild)
		if err != nil {
			return r, fmt.Errorf("subscription %s in channel %s: %w", s.Label(), s.ChannelID, err)
		}
		count(r, created, "subscriptions", "subscription %s in channel %s: the server has it already", s.Label(), s.ChannelID)
		chans[digestbot.ChannelRef{GuildID: s.GuildID, ChannelID: s.ChannelID}] = true
	}
	old, err := st.GuildSchedules(ctx, p.guild)
	if err != nil {
		return r, err
	}
	for _, sc := range p.schedules {
		if slices.ContainsFunc(old, func(o *digestbot.ChannelSchedule) bool { return o.ChannelID == sc.ChannelID }) {
			r.Skipped = append(r.Skipped, fmt.Sprintf("schedule of %s: the server has one, kept", scheduleOf(sc.ChannelID)))
			continue
		}
		if err := st.SetSchedule(ctx, sc); err != nil {
			return r, fmt.Errorf("schedule of %s: %w", scheduleOf(sc.ChannelID), err)
		}
		r.Created["schedules"]++
	}
	for ref := range chans {
		r.Channels = append(r.Channels, ref)
	}
	slices.SortFunc(r.Channels, func(a, b digestbot.ChannelRef) int { return cmp.Compare(a.ChannelID, b.ChannelID) })
	return r, nil
}

func count(r *Report, created bool, kind, format string, args ...any) {
	if created {
		r.Created[kind]++
		return
	}
	r.Skipped = append(r.Skipped, fmt.Sprintf(format, args...))
}

func scheduleOf(channelID string) string {
	if channelID == "" {
		return "the server (its default)"
	}
	return "channel " + channelID
}

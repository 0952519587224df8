// Package demo is the zero set-up demonstration: sample articles bundled
// into the binary (an RSS feed, an Atom feed, a JSON Feed and a text
// newsletter, in English and Chinese, every story invented for the
// project), sample topics and subscriptions on three channels of a demo
// server, and the steps that ingest, match and deliver them.
package demo

import (
	"context"
	"embed"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"path"
	"slices"
	"strings"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/digest"
	"github.com/digestbot/digestbot/ingest"
	"github.com/digestbot/digestbot/subscriptions"
)

//go:embed data
var files embed.FS

// GuildID is the demo server.
const GuildID = "demo-guild"

// Topic is a sample topic of the demo server.
type Topic struct{ Name, Query string }

// Channel is a demo channel and what it subscribes to: queries, and topics
// written "topic:name".
type Channel struct {
	Ref  digestbot.ChannelRef
	Name string
	Subs []string
}

// Topics are the demo server's topics.
var Topics = []Topic{
	{"shipping", `port OR harbour OR shipping OR ferry OR 港口 OR 码头`},
	{"surveillance", `"facial recognition" OR "personal data" OR surveillance OR 人脸识别`},
}

// Channels are the demo channels and their subscriptions.
var Channels = []Channel{
	{digestbot.ChannelRef{GuildID: GuildID, ChannelID: "harbour-watch"}, "harbour-watch", []string{"topic:shipping", `"fishing quota" OR 捕捞配额`}},
	{digestbot.ChannelRef{GuildID: GuildID, ChannelID: "tech-policy"}, "tech-policy", []string{"topic:surveillance", `chip* OR 芯片`}},
	{digestbot.ChannelRef{GuildID: GuildID, ChannelID: "energy-desk"}, "energy-desk", []string{`"wind farm" OR offshore`}},
}

// Env is the demo after Setup: what a prompt or a test needs to go on.
type Env struct {
	Store         digestbot.Store
	GuildID       string
	Channels      []Channel
	Topics        []*digestbot.Topic
	Subscriptions []*digestbot.Subscription
	Articles      []*digestbot.Article
	Queued        int // pending items written by the matcher
}

// Files lists the bundled sample files.
func Files() []string {
	var out []string
	_ = fs.WalkDir(files, "data", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	slices.Sort(out)
	return out
}

// Articles parses the bundled samples with ingest.Parse, Ingested set to now.
func Articles(now time.Time) ([]*digestbot.Article, error) {
	var all []*digestbot.Article
	for _, p := range Files() {
		data, err := files.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("demo: read %s: %w", p, err)
		}
		arts, err := ingest.Parse(data, path.Base(p), ingest.LoadOptions{Now: func() time.Time { return now }})
		if err != nil {
			return nil, fmt.Errorf("demo: parse %s: %w", p, err)
		}
		all = append(all, arts...)
	}
	return all, nil
}

// Setup fills st with the demo: the sample topics, subscriptions and
// articles, and runs the matcher once so every channel has its pending
// items. now is the clock; logger (nil: slog.Default()) gets the matcher's
// messages.
func Setup(ctx context.Context, st digestbot.Store, now time.Time, logger *slog.Logger) (*Env, error) {
	env := &Env{Store: st, GuildID: GuildID, Channels: Channels}
	for _, t := range Topics {
		topic := &digestbot.Topic{GuildID: GuildID, Name: t.Name, Query: t.Query, CreatedBy: "demo", UpdatedAt: now}
		if err := st.PutTopic(ctx, topic, digestbot.DefaultMaxTopicsPerGuild); err != nil {
			return nil, fmt.Errorf("demo: topic %s: %w", t.Name, err)
		}
		env.Topics = append(env.Topics, topic)
	}
	for _, ch := range Channels {
		for _, label := range ch.Subs {
			var sub *digestbot.Subscription
			if name, ok := strings.CutPrefix(label, "topic:"); ok {
				sub = &digestbot.Subscription{GuildID: GuildID, ChannelID: ch.Ref.ChannelID, Topic: name}
				sub.ID = digestbot.SubscriptionID(sub.GuildID, sub.ChannelID, "", sub.Topic)
			} else {
				q, err := subscriptions.Parse(label)
				if err != nil {
					return nil, fmt.Errorf("demo: query %q: %w", label, err)
				}
				sub = subscriptions.NewSubscription(GuildID, ch.Ref.ChannelID, q)
			}
			sub.CreatedBy, sub.CreatedAt = "demo", now
			if _, err := st.AddSubscription(ctx, sub, digestbot.DefaultMaxSubscriptionsPerGuild); err != nil {
				return nil, fmt.Errorf("demo: subscribe %s to %q: %w", ch.Name, label, err)
			}
			env.Subscriptions = append(env.Subscriptions, sub)
		}
	}
	arts, err := Articles(now)
	if err != nil {
		return nil, err
	}
	if _, err := st.PutArticles(ctx, arts); err != nil {
		return nil, fmt.Errorf("demo: store articles: %w", err)
	}
	env.Articles = arts
	// The bot's own matcher job, run once over the new articles.
	m := subscriptions.NewMatcher(st, subscriptions.MatcherOptions{Now: func() time.Time { return now }, Logger: logger})
	stats, err := m.RunOnce(ctx)
	if err != nil {
		return nil, fmt.Errorf("demo: match: %w", err)
	}
	env.Queued = stats.Items
	return env, nil
}

// DeliverAll delivers every demo channel's digest through d, writing a
// heading for each channel to w before its messages.
func (e *Env) DeliverAll(ctx context.Context, d *digest.Deliverer, w io.Writer) error {
	for _, ch := range e.Channels {
		fmt.Fprintf(w, "\n════════ #%s · subscribed to: %s ════════\n\n", ch.Name, strings.Join(ch.Subs, " · "))
		res, err := d.Deliver(ctx, ch.Ref)
		if err != nil {
			return fmt.Errorf("demo: deliver #%s: %w", ch.Name, err)
		}
		if res.Parts == 0 {
			fmt.Fprintln(w, "(nothing new for this channel)")
		}
	}
	return nil
}

package commands

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/config"
	"github.com/digestbot/digestbot/digest"
	"github.com/digestbot/digestbot/trend"
)

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
	// Trend counts a query's matches over time (/trend).
	Trend func(ctx context.Context, req trend.Request) (*trend.Series, error)
	// Why explains what became of one article in a server (/digest why).
	Why Explain
	// CheckFeed fetches and parses a feed URL once before it is added.
	CheckFeed func(ctx context.Context, url string) (FeedCheck, error)
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
	// DirectChannel opens (or finds) the direct-message channel between
	// the bot and a member, where the member's watches are delivered.
	DirectChannel func(ctx context.Context, userID string) (channelID string, err error)

	Now func() time.Time
	Log *slog.Logger
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
	if req.Name == "button" {
		// A "More" button also works in direct messages (a watch's digest),
		// where the interaction names no server: its id does.
		if more, ok := parseMoreButton(req.Options["id"]); ok {
			return s.moreButton(ctx, req, more)
		}
	}
	if req.GuildID == "" {
		return nil, digestbot.Errorf(digestbot.EINVALID, "digestbot commands work in a server, not in direct messages")
	}
	def, ok := definition(req.Name)
	if req.Name == "button" {
		if turnsListPage(req.Options["id"]) {
			return s.turnPage(ctx, req)
		}
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
	case "digest why":
		return s.digestWhy(ctx, req)
	case "lookup":
		return s.lookup(ctx, req)
	case "trend":
		return s.trend(ctx, req)
	case "feeds add":
		return s.feedsAdd(ctx, req)
	case "feeds remove":
		return s.feedsRemove(ctx, req)
	case "feeds list":
		return s.feedsList(ctx, req)
	case "feeds import":
		return s.feedsImport(ctx, req)
	case "feeds export":
		return s.feedsExport(ctx, req)
	case "topics list":
		return s.topicsList(ctx, req)
	case "topics create":
		return s.topicsCreate(ctx, req)
	case "topics delete":
		return s.topicsDelete(ctx, req)
	case "watch add":
		return s.watchAdd(ctx, req)
	case "watch list":
		return s.watchList(ctx, req)
	case "watch remove":
		return s.watchRemove(ctx, req)
	case "help":
		return &Response{Content: helpText(), Ephemeral: true}, nil
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
		if o := known[name]; len(o.Choices) > 0 && v != "" && !slices.Contains(o.Choices, strings.ToLower(strings.TrimSpace(v))) {
			return digestbot.Errorf(digestbot.EINVALID, "option %s takes %s, not %q", name, strings.Join(o.Choices, " or "), v)
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

// Package commands is the transport-neutral core of the chat commands: the
// slash commands of DESIGN.md as data (names, options, permissions), the
// request a front end builds from an interaction or a typed line, and the
// response it renders. Discord (package bot) and the terminal (package
// console) are two front ends of the same handlers.
package commands

import (
	"context"
	"time"

	"github.com/digestbot/digestbot/digest"
)

// OptionType is the kind of value an option takes.
type OptionType int

// Option types; they map one to one onto Discord's application command option types.
const (
	String OptionType = iota
	Channel
	Integer
	Boolean
	Role // holds the role id
	// AttachmentOption is a file the user uploads with the command; its
	// value in Request.Options is the file name, the file itself is in
	// Request.Attachments.
	AttachmentOption
)

// Option describes one option of a command.
type Option struct {
	Name         string
	Description  string
	Type         OptionType
	Required     bool
	Autocomplete bool
	// Choices, when set, are the only values the option takes.
	Choices []string
}

// Definition describes one command or one subcommand group member.
// Subcommands are spelled as a space-separated Name ("digest now").
type Definition struct {
	Name        string
	Description string
	Options     []Option
	// Manage is true for commands that change a server's setup; they need
	// Manage Channels or the configured manager role, checked server-side.
	Manage bool
}

// Definitions returns every command, in display order. Names and options are
// part of the stable interface (DESIGN.md).
func Definitions() []Definition {
	ch := Option{Name: "channel", Description: "Channel (default: this one)", Type: Channel}
	return []Definition{
		{Name: "subscribe", Description: "Subscribe a channel to a query or a topic", Manage: true, Options: []Option{
			{Name: "query", Description: `Query: words, "phrases", OR, -exclude (or NOT), prefix*, title:/source:/tag:/site:`, Type: String},
			{Name: "topic", Description: "A named topic", Type: String, Autocomplete: true},
			ch,
			{Name: "schedule", Description: "hourly, daily 08:00, weekly mon 08:00, or a cron expression", Type: String},
			{Name: "mode", Description: "digest (default): in the channel's digest; instant: each story within a minute", Type: String,
				Choices: []string{ModeDigest, ModeInstant}},
			{Name: "mention", Description: "A role to ping with the posts of this subscription", Type: Role},
			{Name: "spike", Description: "Alert when N outlets carry it within H hours, e.g. 5/6", Type: String},
		}},
		{Name: "unsubscribe", Description: "Remove a subscription", Manage: true, Options: []Option{
			{Name: "subscription", Description: "The subscription to remove", Type: String, Required: true, Autocomplete: true},
			ch,
		}},
		{Name: "subscriptions", Description: "List a channel's subscriptions and schedule", Options: []Option{ch}},
		{Name: "schedule", Description: "Set when a channel gets its digest", Manage: true, Options: []Option{
			// Not required: timezone alone changes the zone and keeps the schedule.
			{Name: "when", Description: "hourly, daily 08:00, weekly mon 08:00, or a cron expression (default: the current one)", Type: String},
			{Name: "timezone", Description: "Time zone, e.g. Europe/Paris: type a city, country or CET to find it", Type: String, Autocomplete: true},
			ch,
		}},
		{Name: "digest preview", Description: "Show the next digest (only to you)", Options: []Option{ch}},
		{Name: "digest now", Description: "Post the digest now", Manage: true, Options: []Option{ch}},
		{Name: "digest why", Description: "What became of an article here: stored, matched, delivered, or why not", Options: []Option{
			{Name: "url", Description: "The article's link", Type: String, Required: true},
		}},
		{Name: "lookup", Description: "Search past articles", Options: []Option{
			{Name: "query", Description: "What to look for", Type: String, Required: true},
			{Name: "since", Description: "e.g. 24h, 7d, 2w or 2021-03-20", Type: String},
			{Name: "source", Description: "Only this source", Type: String},
		}},
		{Name: "trend", Description: "Chart how often a query came up", Options: []Option{
			{Name: "query", Description: "What to chart", Type: String, Required: true},
			{Name: "since", Description: "e.g. 24h, 7d (default) or 2021-03-20", Type: String},
		}},
		{Name: "feeds add", Description: "Add a feed to poll", Manage: true, Options: []Option{
			{Name: "url", Description: "RSS, Atom or JSON feed URL", Type: String, Required: true},
			{Name: "name", Description: "Source name to show", Type: String},
			{Name: "backfill", Description: "Also deliver the last days' stories, e.g. 3d (default: only new ones)", Type: String},
		}},
		{Name: "feeds remove", Description: "Stop polling a feed", Manage: true, Options: []Option{
			{Name: "url", Description: "Feed URL", Type: String, Required: true, Autocomplete: true},
		}},
		{Name: "feeds list", Description: "List this server's feeds and their health"},
		{Name: "feeds import", Description: "Add the feeds of an OPML file", Manage: true, Options: []Option{
			{Name: "file", Description: "OPML file (from another reader or /feeds export)", Type: AttachmentOption, Required: true},
		}},
		{Name: "feeds export", Description: "This server's feeds as an OPML file"},
		{Name: "topics list", Description: "List topics"},
		{Name: "topics create", Description: "Create or change a topic", Manage: true, Options: []Option{
			{Name: "name", Description: "Topic name", Type: String, Required: true},
			{Name: "query", Description: "The topic's query", Type: String, Required: true},
		}},
		{Name: "topics delete", Description: "Delete a topic", Manage: true, Options: []Option{
			{Name: "name", Description: "Topic name", Type: String, Required: true, Autocomplete: true},
		}},
		{Name: "watch add", Description: "Follow a query privately: digests come to you by direct message", Options: []Option{
			{Name: "query", Description: `Query: words, "phrases", OR, -exclude, prefix*, title:/source:/tag:`, Type: String, Required: true},
			{Name: "schedule", Description: "hourly, daily 08:00, weekly mon 08:00, or a cron expression (default: yours, else the server's)", Type: String},
			{Name: "timezone", Description: "IANA time zone of your schedule, e.g. Europe/Paris", Type: String, Autocomplete: true},
		}},
		{Name: "watch list", Description: "Your personal watches in this server"},
		{Name: "watch remove", Description: "Stop one of your personal watches", Options: []Option{
			{Name: "watch", Description: "The watch to stop", Type: String, Required: true, Autocomplete: true},
		}},
		{Name: "help", Description: "How to use the digest bot"},
	}
}

// The values of /subscribe's mode option.
const (
	ModeDigest  = "digest"
	ModeInstant = "instant"
)

// Request is one command invocation, whatever the front end.
type Request struct {
	Name      string            // "subscribe", "digest now", ...
	Options   map[string]string // option values as text; a channel option holds the channel id
	GuildID   string
	ChannelID string // where the command was used
	UserID    string
	// CanManage is the front end's reading of the caller's rights: the
	// member has Manage Channels (or Administrator) or the manager role.
	// The core checks it for every Manage command.
	CanManage bool
	// ChannelInGuild reports whether a channel id belongs to GuildID; the
	// core refuses a channel option that does not.
	ChannelInGuild func(ctx context.Context, channelID string) (bool, error)
	// Focused is the option being typed, for autocomplete requests.
	Focused string
	Now     time.Time
	// Attachments holds the files of the request's attachment options, by
	// option name (see Attachment).
	Attachments map[string]*Attachment
}

// Button is a component under a reply.
type Button struct {
	Label    string
	CustomID string // a value the front end routes back as a Request (Name "button", Options["id"])
	URL      string // a link button instead
}

// Response is what the core answers. Ephemeral replies are shown only to the caller.
type Response struct {
	Content   string
	Embeds    []digest.Embed
	Ephemeral bool
	Buttons   []Button
	// Files are sent with the reply as attachments (a chart, an export).
	Files []File
}

// Choice is an autocomplete suggestion.
type Choice struct {
	Name  string // shown
	Value string // sent back
}

// Handler answers commands. Errors are *digestbot.Error values; the front
// end turns them into a reply with UserMessage.
type Handler interface {
	Handle(ctx context.Context, req *Request) (*Response, error)
	Autocomplete(ctx context.Context, req *Request) ([]Choice, error)
}

package digestbot

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
	"time"
)

// Defaults for per-guild quotas; the configuration may change them.
const (
	DefaultMaxSubscriptionsPerGuild = 200
	DefaultMaxTopicsPerGuild        = 100
	DefaultMaxFeedsPerGuild         = 50
	MaxQueryLen                     = 500 // characters
	MaxTopicNameLen                 = 32
	DefaultMaxWatchesPerMember      = 10
	DefaultMaxWatchesPerGuild       = 500
)

// Delivery modes of a subscription (Subscription.Mode).
const (
	ModeDigest  = ""        // stories wait for the channel's digest (the default)
	ModeInstant = "instant" // each story is posted within a minute of its ingest
)

// ParseMode reads a mode as people write it, in /subscribe's option and
// in an exported document: "digest" (the default, stored as ModeDigest)
// or "instant"; ok is false for anything else.
func ParseMode(name string) (mode string, ok bool) {
	switch name {
	case "digest":
		return ModeDigest, true
	case ModeInstant:
		return ModeInstant, true
	}
	return "", false
}

// Topic is a named query. GuildID is empty for the operator's topics from the
// configuration file, which every guild sees; a guild's own topic of the same
// name hides the global one for that guild.
type Topic struct {
	GuildID   string    `json:"guild_id,omitempty"`
	Name      string    `json:"name"`  // lower case, see ValidateTopicName
	Query     string    `json:"query"` // query language text
	CreatedBy string    `json:"created_by,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
}

var topicNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// NormalizeTopicName returns the canonical (lower-case, trimmed) topic name.
func NormalizeTopicName(name string) string { return strings.ToLower(strings.TrimSpace(name)) }

// ValidateTopicName checks a normalised topic name.
func ValidateTopicName(name string) error {
	if name == "" {
		return Errorf(EINVALID, "topic name is empty")
	}
	if len(name) > MaxTopicNameLen {
		return Errorf(EINVALID, "topic name %q is longer than %d characters", name, MaxTopicNameLen)
	}
	if !topicNameRE.MatchString(name) {
		return Errorf(EINVALID, "topic name %q may hold only a-z, 0-9, - and _, starting with a letter or digit", name)
	}
	return nil
}

// Subscription subscribes one channel to a query or to a topic.
// Exactly one of Query and Topic is set.
//
// A personal watch is a subscription with Owner set: one member follows a
// query privately, and its ChannelID is the direct-message channel between
// the bot and that member. It belongs to the guild it was made in (GuildID),
// so it matches only what that guild may see; the guild's listings never
// show it (the store keeps watches apart, see WatchStore).
type Subscription struct {
	ID        string `json:"id"` // SubscriptionID(GuildID, ChannelID, Key or Query, Topic)
	GuildID   string `json:"guild_id"`
	ChannelID string `json:"channel_id"`
	Query     string `json:"query,omitempty"` // canonical query text (subscriptions.Query.String())
	// Key is the query's normalised form (subscriptions.Query.Key()): the
	// same for queries that differ only in case, spacing or the order of
	// their parts, so they are one subscription. The id is derived from
	// it. Empty in subscriptions stored before it existed, whose id is
	// derived from Query.
	Key       string    `json:"key,omitempty"`
	Topic     string    `json:"topic,omitempty"` // topic name
	CreatedBy string    `json:"created_by,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// Mode is ModeDigest ("") or ModeInstant.
	Mode string `json:"mode,omitempty"`
	// Mention is a role id pinged with the posts that carry the
	// subscription's stories; "" for none.
	Mention string `json:"mention,omitempty"`
	// Owner is the member a personal watch belongs to; "" for a channel's
	// subscription.
	Owner string `json:"owner,omitempty"`
	// Spike, when set, also alerts the channel when the query suddenly
	// spreads (see Spike and Hit.Spike). It is not part of the id.
	Spike *Spike `json:"spike,omitempty"`
}

// SubscriptionID returns the stable id of a subscription: the same channel
// subscribing to the same query or topic twice gets the same id, which
// makes adding idempotent. query is the query's Key (or, for a
// subscription stored without one, its Query).
func SubscriptionID(guildID, channelID, query, topic string) string {
	key := guildID + "\x00" + channelID + "\x00q:" + query
	if topic != "" {
		key = guildID + "\x00" + channelID + "\x00t:" + topic
	}
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:6])
}

// identity is the query text the id is derived from.
func (s *Subscription) identity() string {
	if s.Key != "" {
		return s.Key
	}
	return s.Query
}

// Label is how the subscription is shown to users: the topic name or the query.
func (s *Subscription) Label() string {
	if s.Topic != "" {
		return "topic:" + s.Topic
	}
	return s.Query
}

// Validate checks the fields that do not need the query parser.
func (s *Subscription) Validate() error {
	switch {
	case s.GuildID == "":
		return Errorf(EINVALID, "subscription has no guild")
	case s.ChannelID == "":
		return Errorf(EINVALID, "subscription has no channel")
	case (s.Query == "") == (s.Topic == ""):
		return Errorf(EINVALID, "give either a query or a topic")
	case len([]rune(s.Query)) > MaxQueryLen:
		return Errorf(EINVALID, "query is longer than %d characters", MaxQueryLen)
	case s.Key != "" && s.Query == "":
		return Errorf(EINVALID, "subscription has a query key but no query")
	case s.ID != SubscriptionID(s.GuildID, s.ChannelID, s.identity(), s.Topic):
		return Errorf(EINVALID, "subscription id does not match its content")
	case s.Mode != ModeDigest && s.Mode != ModeInstant:
		return Errorf(EINVALID, "mode %q is not one of digest, instant", s.Mode)
	case s.Mention != "" && !snowflake(s.Mention):
		return Errorf(EINVALID, "mention %q is not a role id", s.Mention)
	case s.Owner != "" && !snowflake(s.Owner):
		return Errorf(EINVALID, "owner %q is not a user id", s.Owner)
	case s.Owner != "" && (s.Mode != ModeDigest || s.Mention != ""):
		return Errorf(EINVALID, "a personal watch comes as a digest and mentions no role")
	}
	if err := s.Spike.Validate(); err != nil {
		return err
	}
	if s.Topic != "" {
		return ValidateTopicName(s.Topic)
	}
	return nil
}

// Instant reports whether the subscription's stories are posted as they
// come rather than in the channel's digest.
func (s *Subscription) Instant() bool { return s.Mode == ModeInstant }

// snowflake reports whether id looks like a Discord id: 1 to 20 digits.
func snowflake(id string) bool {
	if id == "" || len(id) > 20 {
		return false
	}
	for _, c := range id {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// ChannelSchedule is when a channel receives its digest. Spec is a preset
// ("hourly", "daily 08:00", "weekly mon 08:00") or a 5-field cron
// expression; see package schedule for parsing and limits.
type ChannelSchedule struct {
	GuildID   string    `json:"guild_id"`
	ChannelID string    `json:"channel_id"` // empty: the guild's default schedule
	Spec      string    `json:"spec"`
	TimeZone  string    `json:"timezone"` // IANA name; empty: the guild or global default
	UpdatedAt time.Time `json:"updated_at"`
}

// ChannelState is what the bot knows about delivering to a channel.
type ChannelState struct {
	GuildID      string    `json:"guild_id"`
	ChannelID    string    `json:"channel_id"`
	PausedReason string    `json:"paused_reason,omitempty"` // set when the channel is gone or forbidden
	PausedAt     time.Time `json:"paused_at,omitzero"`
	// PausedBy is the kind of answer that paused the channel: PauseForbidden
	// or PauseUnknownChannel.
	PausedBy     string    `json:"paused_by,omitempty"`
	LastDigestAt time.Time `json:"last_digest_at,omitzero"` // end of the last window delivered

	// Counters kept by the store itself (not written by SetChannelState).
	Dropped      int    `json:"-"` // items not queued because the channel was paused with a full backlog
	SetAside     int    `json:"-"` // digest parts given up after the chat service refused them
	LastSetAside string `json:"-"` // why the latest one was given up
}

// Kinds of pause (ChannelState.PausedBy).
const (
	PauseForbidden      = "forbidden"       // the bot may not post (or read) there
	PauseUnknownChannel = "unknown_channel" // the channel no longer exists; removed after a grace period
)

// Hit is one subscription that matched an article, with the terms that made it match.
type Hit struct {
	SubscriptionID string   `json:"sub"`
	Label          string   `json:"label"` // query text or topic:name, for grouping in the digest
	Terms          []string `json:"terms,omitempty"`
	// Instant and Mention are the subscription's delivery settings when it
	// matched: an instant hit makes the story an alert, and a mention's
	// role is pinged with the message that carries the story.
	Instant bool   `json:"instant,omitempty"`
	Mention string `json:"mention,omitempty"`
	// Spike is set on the hit whose story made the subscription's query
	// spread (Subscription.Spike); that hit is Instant too, so the alert
	// goes out within a minute whatever the subscription's mode.
	Spike *SpikeAlert `json:"spike,omitempty"`
}

// PendingItem is one article waiting to be delivered to one channel. It
// carries every subscription of the channel that matched the article.
type PendingItem struct {
	GuildID   string    `json:"guild_id"`
	ChannelID string    `json:"channel_id"`
	ArticleID string    `json:"article_id"`
	Hits      []Hit     `json:"hits"`
	QueuedAt  time.Time `json:"queued_at"`
}

// Instant reports whether an instant subscription matched the item: it is
// posted as an alert, not kept for the digest.
func (it PendingItem) Instant() bool {
	for _, h := range it.Hits {
		if h.Instant {
			return true
		}
	}
	return false
}

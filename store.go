package digestbot

import (
	"context"
	"strings"
	"time"
)

// Store is everything the bot keeps. Redis is the only state (package store
// implements it over go-redis, against a real server or the embedded one);
// consumers that need less declare a smaller interface of their own.
//
// Every method that takes a guild id only ever reads or changes that guild's
// data: knowing another guild's subscription id is not enough to touch it
// (the result is ENOTFOUND). Errors are *Error values: EINVALID for bad
// input, ENOTFOUND, ELIMIT for quotas, EUNAVAILABLE when Redis cannot be
// reached (within a bounded time; never a hang), EINTERNAL otherwise.
type Store interface {
	ArticleStore
	SubscriptionStore
	WatchStore
	ScheduleStore
	PendingStore
	FeedStore
	GuildStore
	LookupStore
	LeaseStore
	// Ping reports whether the store answers, as EUNAVAILABLE when it does not.
	Ping(ctx context.Context) error
	Close() error
}

// LogEntry is one article in the ingest log, in ingest order.
type LogEntry struct {
	Seq       string // opaque, increasing; pass as `after` to read on
	ArticleID string
	Ingested  time.Time
	// SeenBy is set when the entry announces an article again because more
	// servers may see it now (see Article.Guilds): the servers that could
	// see it before, to which it was offered then.
	SeenBy []string
}

// ArticleStore keeps the article archive and the ingest log.
type ArticleStore interface {
	// PutArticles stores articles by id, each put-if-absent with the
	// retention TTL. An existing article whose title, text, summary or tags
	// changed is updated in place (keeping Ingested and its log entry);
	// otherwise it is unchanged. Only new articles are appended to the ingest
	// log, so only they are matched. One round trip per batch (pipelined).
	PutArticles(ctx context.Context, articles []*Article) ([]PutOutcome, error)
	// GetArticles returns the articles with these ids, in order; nil for
	// an id that is not (or no longer) stored.
	GetArticles(ctx context.Context, ids []string) ([]*Article, error)
	// ArticlesAfter reads the ingest log after seq ("" = from the start),
	// at most max entries, oldest first.
	ArticlesAfter(ctx context.Context, seq string, max int) ([]LogEntry, error)
	// ArticlesSince reads the ingest log from time t on (for backfill and
	// "what would this have matched"), at most max entries, oldest first.
	ArticlesSince(ctx context.Context, t time.Time, max int) ([]LogEntry, error)
	// Watermark returns a named cursor ("" when unset); SetWatermark moves it.
	Watermark(ctx context.Context, name string) (string, error)
	SetWatermark(ctx context.Context, name, seq string) error
}

// SubscriptionChange is one entry of the change feed that lets a matcher
// keep its index current without reloading everything.
//
// Replicas append to the feed after their change is stored, so two
// changes of one guild made on two replicas may reach the feed in the
// other order. Each change therefore carries the guild's change counter
// after it (Version) and before it (PrevVersion), moved in the same atomic
// step as the change: a reader that has applied a guild's changes up to
// PrevVersion applies this one; one that sees a gap reloads the guild
// (GuildSnapshot) instead. Versions only grow, also across DeleteGuild.
// Zero in entries written before versions existed.
type SubscriptionChange struct {
	Seq          string
	Op           string // "add_sub", "remove_sub", "put_topic", "delete_topic", "delete_guild"
	GuildID      string
	Subscription *Subscription // add_sub, remove_sub
	Topic        *Topic        // put_topic, delete_topic
	Version      int64
	PrevVersion  int64
}

// GuildSnapshot is a guild's subscriptions and topics read in one atomic
// step, with its change counter (see SubscriptionChange): every change up
// to Version is in it, none after.
type GuildSnapshot struct {
	GuildID       string
	Subscriptions []*Subscription
	Topics        []*Topic
	Version       int64
}

// SubscriptionStore keeps subscriptions and guild topics.
type SubscriptionStore interface {
	// AddSubscription stores s (validated). Adding the same subscription
	// again is a no-op that returns created=false. ELIMIT when the guild
	// already has limit subscriptions.
	AddSubscription(ctx context.Context, s *Subscription, limit int) (created bool, err error)
	// SetDelivery changes how a guild's subscription is delivered (its
	// Mode and Mention) and returns it as stored; ENOTFOUND when the guild
	// has no subscription with that id.
	SetDelivery(ctx context.Context, guildID, subID, mode, mention string) (*Subscription, error)
	// RemoveSubscription removes a guild's subscription; ENOTFOUND when the
	// guild has no subscription with that id.
	RemoveSubscription(ctx context.Context, guildID, subID string) (*Subscription, error)
	// Subscriptions lists a guild's subscriptions, of one channel when
	// channelID is set, oldest first.
	Subscriptions(ctx context.Context, guildID, channelID string) ([]*Subscription, error)
	// AllSubscriptions lists every guild's subscriptions and personal
	// watches (for the matcher).
	AllSubscriptions(ctx context.Context) ([]*Subscription, error)
	// PutTopic creates or replaces a guild topic (GuildID set); ELIMIT past limit new topics.
	PutTopic(ctx context.Context, t *Topic, limit int) error
	// DeleteTopic removes a guild topic; ENOTFOUND when absent.
	DeleteTopic(ctx context.Context, guildID, name string) error
	// Topics lists a guild's own topics (not the global ones from the config).
	Topics(ctx context.Context, guildID string) ([]*Topic, error)
	// AllTopics lists every guild's topics.
	AllTopics(ctx context.Context) ([]*Topic, error)
	// SubscriptionChanges reads the change feed after seq ("" = its start).
	SubscriptionChanges(ctx context.Context, seq string, max int) ([]SubscriptionChange, error)
	// GuildSnapshot reads one guild's subscriptions (personal watches
	// included), topics and change counter at once.
	GuildSnapshot(ctx context.Context, guildID string) (*GuildSnapshot, error)
}

// WatchStore keeps members' personal watches: subscriptions with an Owner,
// delivered to the owner's direct-message channel. They are kept apart
// from the guild's subscriptions, which never list them (Subscriptions),
// but they reach the matcher like any other (AllSubscriptions, the change
// feed, GuildSnapshot).
type WatchStore interface {
	// AddWatch stores a validated watch (Owner set). Adding the same watch
	// again is a no-op that returns created=false. ELIMIT when its owner
	// already has perMember watches in the guild, or the guild perGuild.
	AddWatch(ctx context.Context, w *Subscription, perMember, perGuild int) (created bool, err error)
	// RemoveWatch removes one of owner's watches in the guild; ENOTFOUND
	// when owner has no watch with that id there.
	RemoveWatch(ctx context.Context, guildID, ownerID, watchID string) (*Subscription, error)
	// Watches lists owner's watches in the guild, oldest first.
	Watches(ctx context.Context, guildID, ownerID string) ([]*Subscription, error)
	// ChannelWatches lists the guild's watches delivered to a channel (a
	// member's direct-message channel), oldest first.
	ChannelWatches(ctx context.Context, guildID, channelID string) ([]*Subscription, error)
	// WatchCounts says how many members have watches in the guild, and how
	// many watches there are in all.
	WatchCounts(ctx context.Context, guildID string) (members, watches int, err error)
}

// ScheduleStore keeps channel schedules and delivery state.
type ScheduleStore interface {
	// SetSchedule stores a channel's schedule (ChannelID "" = the guild default).
	SetSchedule(ctx context.Context, s *ChannelSchedule) error
	// Schedule returns a channel's own schedule, or nil.
	Schedule(ctx context.Context, guildID, channelID string) (*ChannelSchedule, error)
	// AllSchedules lists every stored schedule of every guild.
	AllSchedules(ctx context.Context) ([]*ChannelSchedule, error)
	// ChannelState returns what is known about delivering to a channel
	// (a zero state, not nil, when nothing is).
	ChannelState(ctx context.Context, guildID, channelID string) (*ChannelState, error)
	SetChannelState(ctx context.Context, st *ChannelState) error
	// Channels lists the (guild, channel) pairs that have subscriptions.
	Channels(ctx context.Context) ([]ChannelRef, error)
}

// ChannelRef names a channel of a guild.
type ChannelRef struct{ GuildID, ChannelID string }

// Key names the channel in lists that hold channels of every guild (the
// digests due queue, the gone channels): "GUILD/CHANNEL".
func (r ChannelRef) Key() string { return r.GuildID + "/" + r.ChannelID }

// ChannelRefFromKey reads a Key; ok=false for anything else.
func ChannelRefFromKey(key string) (ref ChannelRef, ok bool) {
	g, c, ok := strings.Cut(key, "/")
	return ChannelRef{GuildID: g, ChannelID: c}, ok && g != "" && c != "" && !strings.Contains(c, "/")
}

// Delivery is one digest being delivered to a channel: the pending items it
// covers, frozen when it began, and the messages rendered from them, frozen
// at the first attempt, so that a retry after a crash, on any replica,
// posts exactly the same parts with the same nonces and markers.
type Delivery struct {
	GuildID   string
	ChannelID string
	WindowID  string // stable for the life of this delivery
	Items     []PendingItem
	StartedAt time.Time
	// Instant marks an alert: it froze only the items an instant
	// subscription matched (BeginAlert), and does not end a digest window.
	Instant bool
	// Parts are the messages of the digest, in order; nil until the first
	// attempt stored them (SetDeliveryParts).
	Parts []DeliveryPart
	// Placed says where each item went once the parts are done; the
	// deliverer sets it before AckDelivery, which keeps it with the
	// delivered items.
	Placed []Placement
}

// DeliveryPart is one message of a delivery and what became of it.
type DeliveryPart struct {
	// Key names the part within the delivery: "0", "1", ... and, for the
	// pieces of a part the chat service refused whole, "1.0", "1.1", ...
	Key string `json:"key"`
	// Body is the message, encoded by the digest package.
	Body string `json:"body"`
	// Posted is the message id once the chat service has it ("" before).
	Posted string `json:"-"`
	// Attempts are the times a post of it was sent, oldest first.
	Attempts []time.Time `json:"-"`
	// SetAside says why the part was given up ("" while it is not).
	SetAside string `json:"-"`
	// Strikes counts failures of this part while the chat service took
	// other posts: failures of its own, not of an outage.
	Strikes int `json:"-"`
}

// Done reports whether nothing is left to do for the part.
func (p DeliveryPart) Done() bool { return p.Posted != "" || p.SetAside != "" }

// PendingStore keeps per-channel pending queues and the delivery protocol:
// claim the channel (a short claim with a token, renewed while the
// delivery runs, so exactly one replica delivers at a time and another can
// take over within seconds when it dies), begin (freeze the items), store
// the rendered parts, record each attempt and each confirmed part, then
// acknowledge (remove exactly the frozen items). Items that arrive meanwhile
// stay pending. Every step after the claim checks the claim's token in the
// same atomic operation that writes, so a late holder can do no harm.
type PendingStore interface {
	// EnqueuePending adds items; an item for a (channel, article) already
	// pending gains the new hits instead of being added twice. An article
	// already delivered to the channel is not queued again. A paused
	// channel takes new items only up to a bounded backlog; the rest are
	// dropped and counted (ChannelState.Dropped).
	EnqueuePending(ctx context.Context, items []PendingItem) error
	// Pending lists a channel's pending items, oldest first.
	Pending(ctx context.Context, guildID, channelID string) ([]PendingItem, error)
	// ClaimChannel takes the delivery claim of a channel for ttl. ok=false
	// when another holder has it.
	ClaimChannel(ctx context.Context, guildID, channelID string, ttl time.Duration) (token string, ok bool, err error)
	// RenewChannel extends the claim token holds to ttl from now; ECONFLICT
	// when it no longer holds it.
	RenewChannel(ctx context.Context, guildID, channelID, token string, ttl time.Duration) error
	// ReleaseChannel gives the claim back if token still holds it.
	ReleaseChannel(ctx context.Context, guildID, channelID, token string) error
	// BeginDelivery returns the unfinished delivery of the channel if there
	// is one, else freezes the current pending items into a new one (nil
	// when nothing is pending). ECONFLICT when token no longer holds the claim.
	BeginDelivery(ctx context.Context, guildID, channelID, token string, now time.Time) (*Delivery, error)
	// BeginAlert is BeginDelivery for an alert: it returns the unfinished
	// delivery of the channel if there is one (of either kind), else
	// freezes only the pending items an instant subscription matched into
	// a new delivery with Instant set (nil when there are none).
	BeginAlert(ctx context.Context, guildID, channelID, token string, now time.Time) (*Delivery, error)
	// SetDeliveryParts stores the rendered parts of d (keys and bodies),
	// replacing the list: at the first attempt, and when a refused part is
	// replaced by smaller pieces. Sets d.Parts.
	SetDeliveryParts(ctx context.Context, d *Delivery, token string, parts []DeliveryPart) error
	// RecordAttempt records that a post of part key is being sent at at.
	RecordAttempt(ctx context.Context, d *Delivery, token, key string, at time.Time) error
	// MarkPartPosted records that the chat service has part key as messageID.
	MarkPartPosted(ctx context.Context, d *Delivery, token, key, messageID string) error
	// StrikePart counts a failure of part key that was its own and returns
	// the count.
	StrikePart(ctx context.Context, d *Delivery, token, key string) (int, error)
	// SetPartAside records that part key is given up, and why.
	SetPartAside(ctx context.Context, d *Delivery, token, key, reason string) error
	// AckDelivery removes the delivery's items from the queue, remembers
	// them as delivered, counts the parts set aside, and ends the delivery,
	// atomically.
	AckDelivery(ctx context.Context, d *Delivery, token string) error
}

// FeedStore keeps guild feeds and the health of every polled URL.
type FeedStore interface {
	AddFeed(ctx context.Context, f *Feed, limit int) (created bool, err error)
	RemoveFeed(ctx context.Context, guildID, url string) error // ENOTFOUND when absent
	Feeds(ctx context.Context, guildID string) ([]*Feed, error)
	AllFeeds(ctx context.Context) ([]*Feed, error)
	FeedHealth(ctx context.Context, url string) (*FeedHealth, error) // zero value with URL set when unknown
	SetFeedHealth(ctx context.Context, h *FeedHealth) error
}

// GuildStore handles a guild as a whole.
type GuildStore interface {
	// MarkGuildLeft records that the bot left a guild at t (zero t: it is back).
	MarkGuildLeft(ctx context.Context, guildID string, t time.Time) error
	// GuildsLeftBefore lists guilds the bot left before t.
	GuildsLeftBefore(ctx context.Context, t time.Time) ([]string, error)
	// DeleteGuild deletes every key of a guild: subscriptions, topics,
	// schedules, feeds, channel states and pending queues.
	DeleteGuild(ctx context.Context, guildID string) error
}

// LookupStore keeps the state behind a reply's buttons in Redis, so
// whichever replica receives the button can answer it: a lookup's "Next
// page" and "Share", and the Previous and Next of a reply in pages.
type LookupStore interface {
	// SaveLookup keeps state for ttl under the guild that ran the lookup.
	SaveLookup(ctx context.Context, guildID, id string, state []byte, ttl time.Duration) error
	// LoadLookup returns it; ENOTFOUND once expired or for another guild.
	LoadLookup(ctx context.Context, guildID, id string) ([]byte, error)
	// SaveReply keeps the pages of a reply for ttl under its guild.
	SaveReply(ctx context.Context, guildID, id string, state []byte, ttl time.Duration) error
	// LoadReply returns them; ENOTFOUND once expired or for another guild.
	LoadReply(ctx context.Context, guildID, id string) ([]byte, error)
}

// LeaseStore keeps process-wide leases: the background jobs that one
// process should run at a time (the matcher) take one, so
// several replicas can run against one Redis and another takes over when
// the holder stops.
type LeaseStore interface {
	// HoldLease takes the named lease for holder, or extends it when holder
	// has it already, to ttl from now; ok=false while another holder has it.
	HoldLease(ctx context.Context, name, holder string, ttl time.Duration) (ok bool, err error)
	// DropLease gives the lease back if holder has it.
	DropLease(ctx context.Context, name, holder string) error
}

// DueEntry is one entry of a due queue (DueQueue) as taken by a worker.
type DueEntry struct {
	Member string    // what is due: a channel ("GUILD/CHANNEL"), a feed, ...
	Due    time.Time // when it fell due (its time before it was taken)
	// Held is the take's own mark (the deadline it set, unix ms): Finish and
	// Extend succeed only while the entry still carries it, so a worker whose
	// take lapsed, or whose entry was rescheduled meanwhile, changes nothing.
	Held int64
	// Failures counts the consecutive failed runs reported by Finish.
	Failures int
}

// DueQueue holds members by due time, spread over several hash slots, for
// work that any replica may do: digests that fall due, feeds to poll. A
// worker takes due members for a while (their due time moves to the end of
// the take, so a worker that dies gives them back by itself) and finishes
// each with the next due time.
type DueQueue interface {
	// Shards is the number of parts the queue is spread over.
	Shards() int
	// Put sets member's due time (creating it). onlyEarlier keeps a due
	// time that is already earlier; absentOnly keeps any existing one.
	Put(ctx context.Context, member string, at time.Time, mode PutMode) error
	// Remove drops member from the queue.
	Remove(ctx context.Context, member string) error
	// When returns member's due time; ok=false when it is not queued.
	When(ctx context.Context, member string) (t time.Time, ok bool, err error)
	// Take takes up to max members of one shard due at now, each until
	// now+hold, oldest first.
	Take(ctx context.Context, shard int, now time.Time, max int, hold time.Duration) ([]DueEntry, error)
	// Finish ends a take: the member is due next at next (zero: removed),
	// its failure count grows by one when failed, else resets. ok=false
	// (and nothing changed) when the take no longer holds the member.
	Finish(ctx context.Context, e DueEntry, next time.Time, failed bool) (ok bool, err error)
	// Extend moves the end of a take to until; ok=false when the take no
	// longer holds the member. On success e.Held is updated.
	Extend(ctx context.Context, e *DueEntry, until time.Time) (ok bool, err error)
}

// PutMode says how DueQueue.Put treats a member that is already queued.
type PutMode int

// Put modes.
const (
	PutAlways    PutMode = iota // set the due time
	PutIfEarlier                // set it only when earlier than the queued one
	PutIfAbsent                 // add only members not queued yet
)

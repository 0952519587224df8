// Package config is the typed configuration of digestbot: environment
// variables (DESIGN.md) and an optional YAML file named by DIGESTBOT_CONFIG.
// Every default is written next to its field; Load refuses every invalid
// value with an error that names the variable or key, the value and what is
// allowed.
package config

import "time"

// Config is the whole configuration.
type Config struct {
	// Secrets (never printed; Redacted replaces them).
	DiscordToken     string // DISCORD_TOKEN or the file DISCORD_TOKEN_FILE
	DiscordTokenFile string // DISCORD_TOKEN_FILE, read again when Discord refuses the token
	IngestToken      string // DIGESTBOT_INGEST_TOKEN; empty: the push API refuses every request

	RedisURL   string   // DIGESTBOT_REDIS_URL; empty: embedded in-memory store
	RedisAddrs []string // parsed seed addresses (more than one: cluster)
	KeyPrefix  string   // key prefix, default "digestbot:" (YAML redis.prefix)

	DiscordAPIURL string // DIGESTBOT_DISCORD_API_URL; empty: https://discord.com
	GuildID       string // DIGESTBOT_GUILD_ID; register commands on this guild only
	ShardID       int    // DIGESTBOT_SHARD_ID, default 0
	ShardCount    int    // DIGESTBOT_SHARD_COUNT, default 1
	HTTPAddr      string // DIGESTBOT_HTTP_ADDR; empty: no HTTP endpoint

	AllowPrivateFeeds bool // DIGESTBOT_ALLOW_PRIVATE_FEEDS

	ConfigFile string // DIGESTBOT_CONFIG

	Feeds  []FeedConfig  // YAML feeds
	Topics []TopicConfig // YAML topics (global, seen by every guild)

	Schedule       ScheduleConfig
	Limits         Limits
	Polling        Polling
	Delivery       Delivery
	Permissions    Permissions
	Retention      time.Duration // YAML retention, default 720h (30 days): how long articles are kept
	GuildDataGrace time.Duration // YAML guild_data_grace, default 720h: data of a guild the bot left is deleted after this
	Backfill       time.Duration // YAML backfill, default 0: a new subscription also gets articles ingested this long before it
}

// FeedConfig is one feed from the configuration file.
type FeedConfig struct {
	URL      string        `yaml:"url"`
	Name     string        `yaml:"name"`
	Interval time.Duration `yaml:"interval"` // default Polling.Interval
}

// TopicConfig is one operator topic from the configuration file.
type TopicConfig struct {
	Name  string `yaml:"name"`
	Query string `yaml:"query"`
}

// ScheduleConfig holds digest schedule defaults.
type ScheduleConfig struct {
	Default     string        // YAML schedule.default, default "daily 08:00"
	TimeZone    string        // YAML schedule.timezone, default "UTC"
	MinInterval time.Duration // YAML schedule.min_interval, default 5m: more frequent schedules are refused
	MatchEvery  string        // YAML schedule.match, default "@every 1m": the matcher's cron spec
}

// Limits are per-guild quotas and digest sizes.
type Limits struct {
	SubscriptionsPerGuild int // YAML limits.subscriptions_per_guild, default 200
	TopicsPerGuild        int // YAML limits.topics_per_guild, default 100
	FeedsPerGuild         int // YAML limits.feeds_per_guild, default 50
	ItemsPerSection       int // YAML limits.items_per_section, default 50: stories per subscription in one digest, then "+N more"
	StoriesInChannel      int // YAML limits.stories_in_channel, default 10: stories a digest shows in the channel; the rest go to a thread
	CommandsPerMinute     int // YAML limits.commands_per_minute, default 20 (per user)
	WatchesPerMember      int // YAML limits.watches_per_member, default 10: personal watches of one member in one server
	WatchesPerGuild       int // YAML limits.watches_per_guild, default 500: personal watches of all members of one server
}

// Polling is how feeds are fetched.
type Polling struct {
	Interval     time.Duration // YAML polling.interval, default 15m, minimum 1m
	MaxFailures  int           // YAML polling.max_failures, default 10: consecutive failures that pause a feed
	Timeout      time.Duration // YAML polling.timeout, default 30s: total time for one fetch
	MaxBodyBytes int64         // YAML polling.max_body_bytes, default 10 MiB
	Concurrency  int           // YAML polling.concurrency, default 16: fetches at once, per process
	PerHost      int           // YAML polling.per_host, default 2: fetches of one host at once, per process
	HostDelay    time.Duration // YAML polling.host_delay, default 500ms: least time between two fetches of one host, per process (0: none)
}

// Delivery is how digests are posted.
type Delivery struct {
	Workers           int           // YAML delivery.workers, default 8: digests posted at once by one process
	RequestsPerSecond int           // YAML delivery.requests_per_second, default 48: Discord requests a second of all replicas together (Discord allows 50)
	PausedBacklog     int           // YAML delivery.paused_backlog, default 500: items a paused channel keeps; more are dropped and counted
	GoneChannelGrace  time.Duration // YAML delivery.gone_channel_grace, default 7d: a channel Discord says no longer exists is removed after this
	ClaimTime         time.Duration // YAML delivery.claim_time, default 15s: how soon another replica finishes the delivery of one that died
	NonceWindow       time.Duration // YAML delivery.nonce_window, default 2m: how long Discord is trusted to remember a message nonce
	InstantDelay      time.Duration // YAML delivery.instant_delay, default 1s: an alert waits this long after its first story was matched, gathering the stories that come with it
}

// Permissions says who may change a server's subscriptions.
type Permissions struct {
	ManagerRole string // YAML permissions.role: a role name or id that may manage, besides Manage Channels
}

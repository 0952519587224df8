package config

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/redisurl"
	"github.com/digestbot/digestbot/schedule"
)

// Bounds of the configurable values. They keep a typo (a zero, an extra
// digit) from turning into a bot that hammers a feed or never delivers.
const (
	MinPollInterval = time.Minute
	MaxPollInterval = 7 * 24 * time.Hour
	// A process polls at most this many feeds at once, this many of one
	// host, and waits at most this long between two fetches of one host.
	MaxPollConcurrency = 256
	MaxPollPerHost     = 16
	MaxHostDelay       = time.Minute
	MinRetention       = time.Hour
	MaxRetention       = 365 * 24 * time.Hour
	maxTokenFile       = 4096
)

// Defaults, as documented in the README.
func defaults() *Config {
	return &Config{
		KeyPrefix:  "digestbot:",
		ShardCount: 1,
		Schedule: ScheduleConfig{
			Default:     "daily 08:00",
			TimeZone:    "UTC",
			MinInterval: 5 * time.Minute,
			MatchEvery:  "@every 1m",
		},
		Limits: Limits{
			SubscriptionsPerGuild: digestbot.DefaultMaxSubscriptionsPerGuild,
			TopicsPerGuild:        digestbot.DefaultMaxTopicsPerGuild,
			FeedsPerGuild:         digestbot.DefaultMaxFeedsPerGuild,
			ItemsPerSection:       50,
			StoriesInChannel:      10,
			CommandsPerMinute:     20,
			WatchesPerMember:      digestbot.DefaultMaxWatchesPerMember,
			WatchesPerGuild:       digestbot.DefaultMaxWatchesPerGuild,
		},
		Polling: Polling{
			Interval:     15 * time.Minute,
			MaxFailures:  10,
			Timeout:      30 * time.Second,
			MaxBodyBytes: 10 << 20,
			Concurrency:  16,
			PerHost:      2,
			HostDelay:    500 * time.Millisecond,
		},
		Delivery: Delivery{
			Workers:           8,
			RequestsPerSecond: 48,
			PausedBacklog:     500,
			GoneChannelGrace:  7 * 24 * time.Hour,
			ClaimTime:         15 * time.Second,
			NonceWindow:       2 * time.Minute,
			InstantDelay:      time.Second,
		},
		Retention:      30 * 24 * time.Hour,
		GuildDataGrace: 30 * 24 * time.Hour,
	}
}

// fileConfig is the YAML file's shape. Durations are strings such as "15m".
type fileConfig struct {
	Redis struct {
		Prefix *string `yaml:"prefix"`
	} `yaml:"redis"`
	Feeds    []fileFeed    `yaml:"feeds"`
	Topics   []TopicConfig `yaml:"topics"`
	Schedule struct {
		Default     *string `yaml:"default"`
		TimeZone    *string `yaml:"timezone"`
		MinInterval *string `yaml:"min_interval"`
		Match       *string `yaml:"match"`
	} `yaml:"schedule"`
	Limits struct {
		SubscriptionsPerGuild *int `yaml:"subscriptions_per_guild"`
		TopicsPerGuild        *int `yaml:"topics_per_guild"`
		FeedsPerGuild         *int `yaml:"feeds_per_guild"`
		ItemsPerSection       *int `yaml:"items_per_section"`
		StoriesInChannel      *int `yaml:"stories_in_channel"`
		CommandsPerMinute     *int `yaml:"commands_per_minute"`
		WatchesPerMember      *int `yaml:"watches_per_member"`
		WatchesPerGuild       *int `yaml:"watches_per_guild"`
	} `yaml:"limits"`
	Polling struct {
		Interval     *string `yaml:"interval"`
		MaxFailures  *int    `yaml:"max_failures"`
		Timeout      *string `yaml:"timeout"`
		MaxBodyBytes *int64  `yaml:"max_body_bytes"`
		Concurrency  *int    `yaml:"concurrency"`
		PerHost      *int    `yaml:"per_host"`
		HostDelay    *string `yaml:"host_delay"`
	} `yaml:"polling"`
	Delivery struct {
		Workers           *int    `yaml:"workers"`
		RequestsPerSecond *int    `yaml:"requests_per_second"`
		PausedBacklog     *int    `yaml:"paused_backlog"`
		GoneChannelGrace  *string `yaml:"gone_channel_grace"`
		ClaimTime         *string `yaml:"claim_time"`
		NonceWindow       *string `yaml:"nonce_window"`
		InstantDelay      *string `yaml:"instant_delay"`
	} `yaml:"delivery"`
	Permissions struct {
		Role *string `yaml:"role"`
	} `yaml:"permissions"`
	Retention      *string `yaml:"retention"`
	GuildDataGrace *string `yaml:"guild_data_grace"`
	Backfill       *string `yaml:"backfill"`
}

type fileFeed struct {
	URL      string `yaml:"url"`
	Name     string `yaml:"name"`
	Interval string `yaml:"interval"`
}

// Errors collects every problem found, so one run of check-config shows them all.
type Errors []string

func (e Errors) Error() string {
	if len(e) == 1 {
		return e[0]
	}
	return fmt.Sprintf("%d configuration errors:\n  %s", len(e), strings.Join(e, "\n  "))
}

// Load reads the configuration from the environment (getenv) and the YAML
// file DIGESTBOT_CONFIG names, applies defaults and validates every value.
// The error, an *digestbot.Error with code EINVALID, lists every problem,
// each naming the variable or key, the value and what is allowed.
func Load(getenv func(string) string) (*Config, error) {
	c := defaults()
	var errs Errors
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }

	// Secrets.
	tok, tokFile := getenv("DISCORD_TOKEN"), getenv("DISCORD_TOKEN_FILE")
	switch {
	case tok != "" && tokFile != "":
		bad("DISCORD_TOKEN and DISCORD_TOKEN_FILE are both set: set only one")
	case tokFile != "":
		t, err := readSecretFile(tokFile)
		if err != nil {
			bad("DISCORD_TOKEN_FILE=%q: %v", tokFile, err)
		}
		c.DiscordToken, c.DiscordTokenFile = t, tokFile
	default:
		c.DiscordToken = strings.TrimSpace(tok)
	}
	if strings.ContainsAny(c.DiscordToken, " \t\r\n") {
		bad("DISCORD_TOKEN: the token contains white space; paste the bot token only")
	}
	c.IngestToken = getenv("DIGESTBOT_INGEST_TOKEN")
	if c.IngestToken != "" && len(c.IngestToken) < 16 {
		bad("DIGESTBOT_INGEST_TOKEN: %d characters; use at least 16 random characters (or unset it to refuse all pushes)", len(c.IngestToken))
	}

	// Redis.
	c.RedisURL = strings.TrimSpace(getenv("DIGESTBOT_REDIS_URL"))
	if c.RedisURL != "" {
		// The store connects with the same parser, so what passes here connects.
		o, err := redisurl.Parse(c.RedisURL)
		if err != nil {
			bad("DIGESTBOT_REDIS_URL: %s", digestbot.ErrorMessage(err))
		} else {
			c.RedisAddrs = o.Addrs
		}
	}

	// Discord.
	if v := getenv("DIGESTBOT_DISCORD_API_URL"); v != "" {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			bad("DIGESTBOT_DISCORD_API_URL=%q: want an http or https base URL such as https://discord.com or http://127.0.0.1:8080", v)
		} else {
			c.DiscordAPIURL = strings.TrimRight(v, "/")
		}
	}
	if v := getenv("DIGESTBOT_GUILD_ID"); v != "" {
		if !isSnowflake(v) {
			bad("DIGESTBOT_GUILD_ID=%q: want a Discord server id (digits only)", v)
		}
		c.GuildID = v
	}
	c.ShardID = intEnv(getenv, "DIGESTBOT_SHARD_ID", 0, bad)
	c.ShardCount = intEnv(getenv, "DIGESTBOT_SHARD_COUNT", 1, bad)
	if c.ShardCount < 1 || c.ShardCount > 4096 {
		bad("DIGESTBOT_SHARD_COUNT=%d: want 1 to 4096", c.ShardCount)
	} else if c.ShardID < 0 || c.ShardID >= c.ShardCount {
		bad("DIGESTBOT_SHARD_ID=%d: want 0 to %d (DIGESTBOT_SHARD_COUNT - 1)", c.ShardID, c.ShardCount-1)
	}

	// HTTP.
	if v := getenv("DIGESTBOT_HTTP_ADDR"); v != "" {
		if err := checkListenAddr(v); err != nil {
			bad("DIGESTBOT_HTTP_ADDR=%q: %v", v, err)
		}
		c.HTTPAddr = v
	}
	if v := getenv("DIGESTBOT_ALLOW_PRIVATE_FEEDS"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			bad("DIGESTBOT_ALLOW_PRIVATE_FEEDS=%q: want true or false", v)
		}
		c.AllowPrivateFeeds = b
	}

	// File.
	c.ConfigFile = getenv("DIGESTBOT_CONFIG")
	if c.ConfigFile != "" {
		data, err := readFileMax(c.ConfigFile, MaxConfigFileBytes)
		if err != nil {
			bad("DIGESTBOT_CONFIG=%q: %v", c.ConfigFile, unwrapPathError(err))
		} else {
			errs = append(errs, c.applyFile(data)...)
		}
	}

	if len(errs) > 0 {
		return nil, digestbot.WrapError(digestbot.EINVALID, errs, "%s", errs.Error())
	}
	return c, nil
}

// MaxConfigFileBytes bounds the configuration file: it holds feeds and
// topics, not data, and a path pointed at something huge must not eat the
// memory of the process that reads it.
const MaxConfigFileBytes = 1 << 20

// readFileMax reads a file of at most max bytes.
func readFileMax(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("the file is larger than %d bytes; a configuration file holds feeds, topics and settings", max)
	}
	return data, nil
}

func (c *Config) applyFile(data []byte) Errors {
	fc := &fileCheck{file: c.ConfigFile, lines: map[string]int{}, failed: map[string]bool{}}
	var f fileConfig
	decodeFile(data, &f, fc)
	bad := fc.bad
	if f.Redis.Prefix != nil {
		p := *f.Redis.Prefix
		if p == "" || len(p) > 64 || strings.ContainsAny(p, "{} \t\r\n") {
			bad("redis.prefix", "=%q: want 1 to 64 characters without braces or white space", p)
		}
		c.KeyPrefix = p
	}
	seen := map[string]bool{}
	for i, ff := range f.Feeds {
		key := fmt.Sprintf("feeds[%d]", i)
		feed := FeedConfig{URL: ff.URL, Name: strings.TrimSpace(ff.Name)}
		if ff.Interval != "" {
			feed.Interval = duration(ff.Interval, key+".interval", MinPollInterval, MaxPollInterval, bad)
		}
		u, err := url.Parse(ff.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad(key+".url", "=%q: want an http or https URL", ff.URL)
			continue
		}
		if seen[ff.URL] {
			bad(key+".url", "=%q: listed twice", ff.URL)
		}
		seen[ff.URL] = true
		c.Feeds = append(c.Feeds, feed)
	}
	c.Topics = checkTopics(f.Topics, bad)
	s := f.Schedule
	zoneOK, minOK := true, true // whether schedule.default can be checked against them
	if s.Default != nil {
		c.Schedule.Default = strings.TrimSpace(*s.Default)
	}
	if s.TimeZone != nil {
		if _, err := time.LoadLocation(*s.TimeZone); err != nil || *s.TimeZone == "" || *s.TimeZone == "Local" {
			bad("schedule.timezone", "=%q: want an IANA time zone name such as UTC or Europe/Paris", *s.TimeZone)
			zoneOK = false
		}
		c.Schedule.TimeZone = *s.TimeZone
	}
	if s.MinInterval != nil {
		c.Schedule.MinInterval = duration(*s.MinInterval, "schedule.min_interval", time.Minute, 7*24*time.Hour, bad)
		minOK = c.Schedule.MinInterval > 0
	}
	if s.Match != nil {
		c.Schedule.MatchEvery = strings.TrimSpace(*s.Match)
	}
	// A bad zone or minimum is reported above; the default is still
	// checked, against UTC and no minimum, so its own mistakes show too.
	zone, minimum := c.Schedule.TimeZone, c.Schedule.MinInterval
	if !zoneOK {
		zone = "UTC"
	}
	if !minOK {
		minimum = 0
	}
	if _, err := schedule.Parse(c.Schedule.Default, zone, minimum); err != nil {
		bad("schedule.default", "=%q: %s", c.Schedule.Default, digestbot.ErrorMessage(err))
	}
	if err := checkMatchSpec(c.Schedule.MatchEvery); err != nil {
		bad("schedule.match", "=%q: %v", c.Schedule.MatchEvery, err)
	}
	l := f.Limits
	intKey(l.SubscriptionsPerGuild, &c.Limits.SubscriptionsPerGuild, "limits.subscriptions_per_guild", 1, 100_000, bad)
	intKey(l.TopicsPerGuild, &c.Limits.TopicsPerGuild, "limits.topics_per_guild", 1, 10_000, bad)
	intKey(l.FeedsPerGuild, &c.Limits.FeedsPerGuild, "limits.feeds_per_guild", 1, 10_000, bad)
	intKey(l.ItemsPerSection, &c.Limits.ItemsPerSection, "limits.items_per_section", 1, 250, bad)
	intKey(l.StoriesInChannel, &c.Limits.StoriesInChannel, "limits.stories_in_channel", 1, 100, bad)
	intKey(l.CommandsPerMinute, &c.Limits.CommandsPerMinute, "limits.commands_per_minute", 1, 600, bad)
	intKey(l.WatchesPerMember, &c.Limits.WatchesPerMember, "limits.watches_per_member", 1, 1000, bad)
	intKey(l.WatchesPerGuild, &c.Limits.WatchesPerGuild, "limits.watches_per_guild", 1, 1_000_000, bad)
	p := f.Polling
	if p.Interval != nil {
		c.Polling.Interval = duration(*p.Interval, "polling.interval", MinPollInterval, MaxPollInterval, bad)
	}
	intKey(p.MaxFailures, &c.Polling.MaxFailures, "polling.max_failures", 1, 1000, bad)
	if p.Timeout != nil {
		c.Polling.Timeout = duration(*p.Timeout, "polling.timeout", time.Second, 5*time.Minute, bad)
	}
	if p.MaxBodyBytes != nil {
		if v := *p.MaxBodyBytes; v < 1024 || v > 100<<20 {
			bad("polling.max_body_bytes", "=%d: want 1024 to %d", v, 100<<20)
		} else {
			c.Polling.MaxBodyBytes = v
		}
	}
	intKey(p.Concurrency, &c.Polling.Concurrency, "polling.concurrency", 1, MaxPollConcurrency, bad)
	intKey(p.PerHost, &c.Polling.PerHost, "polling.per_host", 1, MaxPollPerHost, bad)
	if p.HostDelay != nil {
		c.Polling.HostDelay = duration(*p.HostDelay, "polling.host_delay", 0, MaxHostDelay, bad)
	}
	dl := f.Delivery
	intKey(dl.Workers, &c.Delivery.Workers, "delivery.workers", 1, 256, bad)
	intKey(dl.RequestsPerSecond, &c.Delivery.RequestsPerSecond, "delivery.requests_per_second", 1, 50, bad)
	intKey(dl.PausedBacklog, &c.Delivery.PausedBacklog, "delivery.paused_backlog", 1, 100_000, bad)
	if dl.GoneChannelGrace != nil {
		c.Delivery.GoneChannelGrace = duration(*dl.GoneChannelGrace, "delivery.gone_channel_grace", time.Hour, MaxRetention, bad)
	}
	if dl.ClaimTime != nil {
		c.Delivery.ClaimTime = duration(*dl.ClaimTime, "delivery.claim_time", 3*time.Second, 5*time.Minute, bad)
	}
	if dl.NonceWindow != nil {
		// Longer than Discord keeps nonces would post copies; shorter only
		// reads channels more often.
		c.Delivery.NonceWindow = duration(*dl.NonceWindow, "delivery.nonce_window", time.Second, 2*time.Minute, bad)
	}
	if dl.InstantDelay != nil {
		// Alerts are promised within a minute of ingest.
		c.Delivery.InstantDelay = duration(*dl.InstantDelay, "delivery.instant_delay", 0, 30*time.Second, bad)
	}
	if f.Permissions.Role != nil {
		c.Permissions.ManagerRole = strings.TrimSpace(*f.Permissions.Role)
	}
	if f.Retention != nil {
		c.Retention = duration(*f.Retention, "retention", MinRetention, MaxRetention, bad)
	}
	if f.Backfill != nil {
		c.Backfill = duration(*f.Backfill, "backfill", 0, 30*24*time.Hour, bad)
	}
	if f.GuildDataGrace != nil {
		c.GuildDataGrace = duration(*f.GuildDataGrace, "guild_data_grace", 0, MaxRetention, bad)
	}
	return fc.errors()
}

// duration parses a Go duration, also accepting a day suffix ("30d"), and
// refuses one outside lo to hi with examples that are inside.
func duration(s, key string, lo, hi time.Duration, bad func(key, format string, args ...any)) time.Duration {
	d, err := ParseDuration(s)
	if err != nil || d < lo || d > hi {
		bad(key, "=%q: want a duration from %s to %s, such as %s", s, fmtDur(lo), fmtDur(hi), durationExamples(lo, hi))
		return 0
	}
	return d
}

// exampleDurations are the values error messages suggest, shortest first.
var exampleDurations = []string{"10s", "30s", "1m", "5m", "15m", "30m", "1h", "2h", "6h", "12h", "1d", "2d", "7d", "30d", "90d", "365d"}

// durationExamples names up to three of exampleDurations that lie from lo
// to hi, spread over that range: "10s, 1m or 5m".
func durationExamples(lo, hi time.Duration) string {
	var in []string
	for _, e := range exampleDurations {
		if d, _ := ParseDuration(e); d >= lo && d <= hi {
			in = append(in, e)
		}
	}
	if len(in) == 0 { // a range narrower than the examples: its own ends
		in = []string{fmtDur(lo), fmtDur(hi)}
	}
	if n := len(in); n > 3 {
		in = []string{in[n/4], in[n/2], in[n-1]}
	}
	if len(in) == 1 {
		return in[0]
	}
	return strings.Join(in[:len(in)-1], ", ") + " or " + in[len(in)-1]
}

// ParseDuration is time.ParseDuration that also accepts whole days ("30d").
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 || days > 100_000 {
			return 0, fmt.Errorf("bad number of days %q", n)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

// fmtDur renders a duration the way the file takes it: 30d, 2h, 5m, 1m30s
// (time.Duration.String would say 5m0s).
func fmtDur(d time.Duration) string {
	const day = 24 * time.Hour
	if d >= day && d%day == 0 {
		return fmt.Sprintf("%dd", d/day)
	}
	if d <= 0 || d%time.Second != 0 {
		return d.String()
	}
	var b strings.Builder
	for _, u := range []struct {
		unit time.Duration
		name string
	}{{time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if n := d / u.unit; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.name)
			d -= n * u.unit
		}
	}
	return b.String()
}

func intKey(v *int, dst *int, key string, lo, hi int, bad func(key, format string, args ...any)) {
	if v == nil {
		return
	}
	if *v < lo || *v > hi {
		bad(key, "=%d: want %d to %d", *v, lo, hi)
		return
	}
	*dst = *v
}

func intEnv(getenv func(string) string, name string, def int, bad func(string, ...any)) int {
	v := getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		bad("%s=%q: want a whole number", name, v)
		return def
	}
	return n
}

var snowflakeRE = regexp.MustCompile(`^[0-9]{1,20}$`)

func isSnowflake(s string) bool { return snowflakeRE.MatchString(s) }

func checkListenAddr(v string) error {
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		return fmt.Errorf("want HOST:PORT such as :8080 or 127.0.0.1:8080")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("port %q is not 0 to 65535", port)
	}
	if host != "" && net.ParseIP(host) == nil && !regexp.MustCompile(`^[A-Za-z0-9.-]+$`).MatchString(host) {
		return fmt.Errorf("host %q is not an IP address or host name", host)
	}
	return nil
}

// ReadTokenFile reads a token file as Load does: trimmed, not empty, small.
func ReadTokenFile(path string) (string, error) { return readSecretFile(path) }

func readSecretFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", unwrapPathError(err)
	}
	defer f.Close()
	buf := make([]byte, maxTokenFile+1)
	n, _ := f.Read(buf)
	if n > maxTokenFile {
		return "", fmt.Errorf("file is larger than %d bytes; it should hold the token only", maxTokenFile)
	}
	t := strings.TrimSpace(string(buf[:n]))
	if t == "" {
		return "", fmt.Errorf("file is empty")
	}
	return t, nil
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

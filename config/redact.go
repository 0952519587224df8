package config

import (
	"fmt"
	"strings"

	"github.com/digestbot/digestbot/redisurl"
)

// secret shows whether a secret is set without showing it.
func secret(v string) string {
	if v == "" {
		return "(unset)"
	}
	return "(set, redacted)"
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// Redacted renders the effective configuration for people: every value,
// with secrets replaced. Nothing it prints is secret.
func (c *Config) Redacted() string {
	var b strings.Builder
	w := func(k string, v any) { fmt.Fprintf(&b, "%-34s %v\n", k, v) }
	w("DISCORD_TOKEN", discordTokenNote(c.DiscordToken))
	w("DIGESTBOT_INGEST_TOKEN", ingestTokenNote(c.IngestToken))
	if c.RedisURL == "" {
		w("DIGESTBOT_REDIS_URL", "(unset) — embedded in-memory store: nothing is persisted")
	} else {
		kind := "single server"
		if len(c.RedisAddrs) > 1 {
			kind = fmt.Sprintf("cluster, %d seeds", len(c.RedisAddrs))
		}
		w("DIGESTBOT_REDIS_URL", redisurl.Redact(c.RedisURL)+" ("+kind+")")
	}
	w("redis.prefix", c.KeyPrefix)
	w("DIGESTBOT_DISCORD_API_URL", orDefault(c.DiscordAPIURL, "https://discord.com (default)"))
	w("DIGESTBOT_GUILD_ID", orDefault(c.GuildID, "(unset) — commands registered globally"))
	w("DIGESTBOT_SHARD_ID / _COUNT", fmt.Sprintf("%d / %d", c.ShardID, c.ShardCount))
	w("DIGESTBOT_HTTP_ADDR", orDefault(c.HTTPAddr, "(unset) — no HTTP endpoint"))
	w("DIGESTBOT_ALLOW_PRIVATE_FEEDS", c.AllowPrivateFeeds)
	w("DIGESTBOT_CONFIG", orDefault(c.ConfigFile, "(unset)"))
	w("schedule.default", c.Schedule.Default)
	w("schedule.timezone", c.Schedule.TimeZone)
	w("schedule.min_interval", fmtDur(c.Schedule.MinInterval))
	w("schedule.match", c.Schedule.MatchEvery)
	w("limits.subscriptions_per_guild", c.Limits.SubscriptionsPerGuild)
	w("limits.topics_per_guild", c.Limits.TopicsPerGuild)
	w("limits.feeds_per_guild", c.Limits.FeedsPerGuild)
	w("limits.items_per_section", c.Limits.ItemsPerSection)
	w("limits.stories_in_channel", c.Limits.StoriesInChannel)
	w("limits.commands_per_minute", c.Limits.CommandsPerMinute)
	w("limits.watches_per_member", c.Limits.WatchesPerMember)
	w("limits.watches_per_guild", c.Limits.WatchesPerGuild)
	w("polling.interval", fmtDur(c.Polling.Interval))
	w("polling.max_failures", c.Polling.MaxFailures)
	w("polling.timeout", fmtDur(c.Polling.Timeout))
	w("polling.max_body_bytes", c.Polling.MaxBodyBytes)
	w("polling.concurrency", c.Polling.Concurrency)
	w("polling.per_host", c.Polling.PerHost)
	w("polling.host_delay", fmtDur(c.Polling.HostDelay))
	w("delivery.workers", c.Delivery.Workers)
	w("delivery.requests_per_second", c.Delivery.RequestsPerSecond)
	w("delivery.paused_backlog", c.Delivery.PausedBacklog)
	w("delivery.gone_channel_grace", fmtDur(c.Delivery.GoneChannelGrace))
	w("delivery.claim_time", fmtDur(c.Delivery.ClaimTime))
	w("delivery.nonce_window", fmtDur(c.Delivery.NonceWindow))
	w("delivery.instant_delay", fmtDur(c.Delivery.InstantDelay))
	w("permissions.role", orDefault(c.Permissions.ManagerRole, "(unset) — Manage Channels only"))
	w("retention", fmtDur(c.Retention))
	w("guild_data_grace", fmtDur(c.GuildDataGrace))
	w("backfill", fmtDur(c.Backfill))
	w("feeds", len(c.Feeds))
	for _, f := range c.Feeds {
		fmt.Fprintf(&b, "  - %s %s\n", f.URL, orDefault(f.Name, ""))
	}
	w("topics", len(c.Topics))
	for _, t := range c.Topics {
		fmt.Fprintf(&b, "  - %s: %s\n", t.Name, t.Query)
	}
	return b.String()
}

// discordTokenNote says what an unset token means: check-config passes
// without one, because only the bot itself needs it.
func discordTokenNote(v string) string {
	if v == "" {
		return "(unset) — `digestbot run` needs it; demo, ingest, match and lookup do not"
	}
	return secret(v)
}

func ingestTokenNote(v string) string {
	if v == "" {
		return "(unset) — the push API refuses every request"
	}
	return secret(v)
}

package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
	_ "time/tzdata" // schedules name IANA zones; minimal images may lack zoneinfo

	"github.com/robfig/cron/v3"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/config"
	"github.com/digestbot/digestbot/redisurl"
	"github.com/digestbot/digestbot/schedule"
	"github.com/digestbot/digestbot/store"
	"github.com/digestbot/digestbot/subscriptions"
)

// newLogger returns the process logger: text lines on stderr.
func newLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// loadConfig reads and validates the configuration from the environment,
// including the values that need the query and schedule parsers.
func loadConfig(e *env) (*config.Config, error) {
	cfg, err := config.Load(e.getenv)
	if err != nil {
		return nil, err
	}
	var errs config.Errors
	for i, t := range cfg.Topics {
		if _, err := subscriptions.Parse(t.Query); err != nil {
			errs = append(errs, fmt.Sprintf("%s: topics[%d].query=%q: %s", cfg.ConfigFile, i, t.Query, digestbot.ErrorMessage(err)))
		}
	}
	if _, err := schedule.Parse(cfg.Schedule.Default, cfg.Schedule.TimeZone, cfg.Schedule.MinInterval); err != nil {
		errs = append(errs, fmt.Sprintf("schedule.default=%q: %s", cfg.Schedule.Default, digestbot.ErrorMessage(err)))
	}
	if err := checkMatchSpec(cfg.Schedule.MatchEvery); err != nil {
		errs = append(errs, fmt.Sprintf("schedule.match=%q: %v", cfg.Schedule.MatchEvery, err))
	}
	if len(errs) > 0 {
		return nil, digestbot.WrapError(digestbot.EINVALID, errs, "%s", errs.Error())
	}
	return cfg, nil
}

// checkMatchSpec validates the matcher's cron spec. robfig/cron panics on
// some malformed specs and takes "@every 0s" as every second: refuse both.
func checkMatchSpec(spec string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("not a valid cron spec")
		}
	}()
	if d, ok := strings.CutPrefix(spec, "@every "); ok {
		dur, perr := time.ParseDuration(strings.TrimSpace(d))
		if perr != nil || dur < 10*time.Second {
			return fmt.Errorf("want @every with a duration of at least 10s, such as @every 1m")
		}
		return nil
	}
	if strings.Contains(spec, "CRON_TZ=") || strings.Contains(spec, "TZ=") {
		return fmt.Errorf("time zones are not needed here; give a 5-field cron spec or @every DURATION")
	}
	if _, perr := cron.ParseStandard(spec); perr != nil {
		return fmt.Errorf("want a 5-field cron spec or @every DURATION: %v", perr)
	}
	return nil
}

// openStore opens the store the configuration names: Redis at
// DIGESTBOT_REDIS_URL, or the embedded in-memory store when it is unset,
// which it announces because nothing then survives the process.
func openStore(ctx context.Context, e *env) (*store.Store, error) {
	cfg, err := loadConfig(e)
	if err != nil {
		return nil, err
	}
	return openStoreWith(ctx, e, cfg, newLogger(e.stderr))
}

func openStoreWith(ctx context.Context, e *env, cfg *config.Config, log *slog.Logger) (*store.Store, error) {
	opts := store.Options{URL: cfg.RedisURL, Prefix: cfg.KeyPrefix, Retention: cfg.Retention, Logger: log}
	if cfg.RedisURL == "" {
		fmt.Fprintln(e.stderr, "digestbot: DIGESTBOT_REDIS_URL is unset: using the embedded in-memory store; nothing is persisted")
		return store.OpenEmbedded(ctx, opts)
	}
	st, err := store.Open(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("DIGESTBOT_REDIS_URL=%s: %w", redisurl.Redact(cfg.RedisURL), err)
	}
	return st, nil
}

package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	_ "time/tzdata" // schedules name IANA zones; minimal images may lack zoneinfo

	"github.com/digestbot/digestbot/config"
	"github.com/digestbot/digestbot/store"
)

// newLogger returns the process logger: text lines on stderr.
func newLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// loadConfig reads and validates the configuration from the environment.
func loadConfig(e *env) (*config.Config, error) {
	return config.Load(e.getenv)
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
		return nil, fmt.Errorf("DIGESTBOT_REDIS_URL=%s: %w", config.RedactURL(cfg.RedisURL), err)
	}
	return st, nil
}

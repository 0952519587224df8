package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/bwmarrin/discordgo"
	"github.com/redis/go-redis/v9"
)

// routeLibraryLogs sends what discordgo and go-redis log (through their
// package-wide loggers, to stderr by default) into the bot's structured log,
// so an operator gets one format and one place to read.
func routeLibraryLogs(log *slog.Logger) {
	redis.SetLogger(redisLog{log.With("lib", "go-redis")})
	dlog := log.With("lib", "discordgo")
	discordgo.Logger = func(level, _ int, format string, a ...any) {
		l := slog.LevelDebug
		switch level {
		case discordgo.LogError:
			l = slog.LevelError
		case discordgo.LogWarning:
			l = slog.LevelWarn
		case discordgo.LogInformational:
			l = slog.LevelInfo
		}
		dlog.Log(context.Background(), l, fmt.Sprintf(format, a...))
	}
}

// redisLog adapts slog to go-redis; it logs connection-pool trouble, which
// is worth a warning.
type redisLog struct{ l *slog.Logger }

func (r redisLog) Printf(ctx context.Context, format string, v ...any) {
	r.l.WarnContext(ctx, fmt.Sprintf(format, v...))
}

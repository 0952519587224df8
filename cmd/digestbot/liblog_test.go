package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"
)

// TestLibraryLogsReachTheBotsLog: discordgo's and go-redis's own messages
// come out in the bot's structured log, marked with their library.
func TestLibraryLogsReachTheBotsLog(t *testing.T) {
	saved := discordgo.Logger
	t.Cleanup(func() { discordgo.Logger = saved })
	var buf bytes.Buffer
	routeLibraryLogs(newLogger(&buf))
	discordgo.Logger(discordgo.LogError, 0, "websocket closed with code %d", 4004)
	redisLog{newLogger(&buf).With("lib", "go-redis")}.Printf(context.Background(), "connection pool: %s", "timeout")
	out := buf.String()
	for _, want := range []string{`level=ERROR msg="websocket closed with code 4004" lib=discordgo`, `level=WARN msg="connection pool: timeout" lib=go-redis`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

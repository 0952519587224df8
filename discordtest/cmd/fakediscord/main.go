// Command fakediscord runs the Discord-compatible test server of package
// discordtest on its own, to try `digestbot run` by hand without Discord:
//
//	fakediscord -addr 127.0.0.1:8099 &
//	DISCORD_TOKEN=test-token DIGESTBOT_DISCORD_API_URL=http://127.0.0.1:8099 digestbot run &
//	curl -s -XPOST localhost:8099/_discordtest/interactions \
//	     -d '{"command":"subscribe","options":{"query":"Confucius"},"permissions":16}'
//	curl -s localhost:8099/_discordtest/interactions/ID
//	curl -s localhost:8099/_discordtest/channels/CHANNEL/messages
//
// -limits enforces Discord's rate limits, -nonce-ttl sets how long a nonce
// de-duplicates, and -chaos makes a share of message creates fail as
// Discord does on a bad day. GET /_discordtest/stats counts creates, 429s
// for exceeded limits and injected faults. It keeps everything in memory
// and exits on SIGINT or SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/digestbot/digestbot/discordtest"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8099", "listen address (keep it on loopback)")
	token := flag.String("token", discordtest.DefaultToken, "the bot token the server accepts")
	nonceTTL := flag.Duration("nonce-ttl", discordtest.DefaultNonceTTL, "how long a message nonce de-duplicates creates")
	limits := flag.Bool("limits", false, "enforce Discord's rate limits (50 requests/s, 5 messages per 5 s per channel)")
	chaos := flag.Float64("chaos", 0, "fraction of message creates that fail (5xx, resets, 429s, answers held back), e.g. 0.1")
	flag.Parse()

	s, err := discordtest.Listen(*addr, log.Printf)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fakediscord:", err)
		os.Exit(1)
	}
	s.SetToken(*token)
	s.SetNonceTTL(*nonceTTL)
	if *limits {
		s.SetLimits(discordtest.DiscordLimits)
	}
	if *chaos > 0 {
		f := *chaos
		s.SetChaos(&discordtest.Chaos{Seed: 1, Status5xx: f * 0.6, Reset: f * 0.2, RateLimit: f * 0.1, Hang: f * 0.1})
	}
	fmt.Printf("fakediscord: API %s  application %s  guild %s  channel %s\n", s.URL(), s.AppID, s.GuildID, s.ChannelID)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	s.Close()
}

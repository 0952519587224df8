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
// It keeps everything in memory and exits on SIGINT or SIGTERM.
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
	flag.Parse()

	s, err := discordtest.Listen(*addr, log.Printf)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fakediscord:", err)
		os.Exit(1)
	}
	s.Token = *token
	fmt.Printf("fakediscord: API %s  application %s  guild %s  channel %s\n", s.URL(), s.AppID, s.GuildID, s.ChannelID)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	s.Close()
}

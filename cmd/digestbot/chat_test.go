package main

import (
	"context"
	"log/slog"
	"testing"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/bot"
	"github.com/digestbot/digestbot/config"
	"github.com/digestbot/digestbot/discordtest"
	"github.com/digestbot/digestbot/store"
	"github.com/digestbot/digestbot/store/storetest"
)

// chat is the bot's core with its Discord front end connected to a
// Discord-compatible server: what `run` puts together, without the
// background jobs, so a test drives the commands and the jobs itself.
type chat struct {
	dc   *discordtest.Server
	c    *core
	st   *store.Store
	logs *syncBuffer
}

// startChat opens a store on b, builds the core with the configuration
// env gives (and nothing else set), and connects the bot.
func startChat(t *testing.T, b *storetest.Backend, env map[string]string) *chat {
	t.Helper()
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	st := b.Open(t, store.Options{Retention: cfg.Retention})
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ch := &chat{dc: discordtest.New(t), c: newCore(cfg, st, log, time.Now), st: st, logs: logs}
	// The bot indexes stored articles for lookup in the background (its
	// indexer, woken by onStored); here they are indexed before onStored
	// returns, so a lookup right after a poll sees them.
	ch.c.onStored = func(ctx context.Context, _ []*digestbot.Article, _ []digestbot.PutOutcome) {
		if _, _, err := ch.c.indexNow(ctx, 10*time.Second); err != nil {
			t.Errorf("indexing for lookup: %v", err)
		}
	}
	bt, err := bot.New(bot.Options{Token: ch.dc.Token, APIBaseURL: ch.dc.URL(), GuildID: ch.dc.GuildID, Handler: ch.c.service, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	ch.c.deliverer.Transport = bt
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := bt.Open(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		bt.Close()
		if t.Failed() {
			t.Logf("bot log:\n%s", logs.String())
		}
	})
	ch.dc.WaitCommands(ch.dc.GuildID)
	return ch
}

// command sends a slash command from a member with Manage Channels and
// waits for the reply.
func (ch *chat) command(t *testing.T, name string, opts ...discordtest.Option) discordtest.Reply {
	t.Helper()
	sent := ch.dc.SendInteraction(discordtest.Interaction{Command: name, Options: opts, Permissions: discordtest.PermManageChannels})
	return ch.dc.WaitReply(sent)
}

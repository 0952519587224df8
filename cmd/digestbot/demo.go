package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/digestbot/digestbot/config"
	"github.com/digestbot/digestbot/console"
	"github.com/digestbot/digestbot/demo"
	"github.com/digestbot/digestbot/store"
)

// cmdDemo runs the zero set-up demo: an embedded store, the bundled sample
// articles, sample topics and subscriptions; it ingests, matches once and
// prints every channel's digest as it would be posted. On a terminal it
// then takes the slash commands typed as text. Nothing reaches the network.
func cmdDemo(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "demo", "demo\n\nIngests the bundled sample articles into an embedded store, subscribes three\ndemo channels, matches, and prints the digests the bot would post. On a\nterminal it then takes slash commands typed as text (/help lists them).")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	// The demo ignores DIGESTBOT_* settings: it always runs on the defaults
	// and the embedded store, so it cannot touch a real deployment.
	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		return err
	}
	// Only problems go to stderr: the digests are the demo's output.
	logger := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, err := store.OpenEmbedded(ctx, store.Options{Logger: logger})
	if err != nil {
		return err
	}
	defer st.Close()

	now := time.Now()
	env, err := demo.Setup(ctx, st, now, logger)
	if err != nil {
		return err
	}
	c := newCore(cfg, st, logger, time.Now)
	if err := c.index.Add(ctx, env.Articles); err != nil {
		return fmt.Errorf("demo: index the samples for lookup: %w", err)
	}
	c.deliverer.Transport = console.New(e.stdout)

	fmt.Fprintf(e.stdout, "digestbot demo — embedded store, nothing leaves this machine.\n")
	fmt.Fprintf(e.stdout, "Ingested %d sample articles from %d bundled sources (RSS, Atom, JSON Feed, text newsletter); %d subscriptions on %d channels matched %d times.\n",
		len(env.Articles), len(demo.Files()), len(env.Subscriptions), len(env.Channels), env.Queued)
	if err := env.DeliverAll(ctx, c.deliverer, e.stdout); err != nil {
		return err
	}
	if !e.stdinIsTerminal {
		return nil
	}
	channels := map[string]string{}
	for _, ch := range env.Channels {
		channels[ch.Name] = ch.Ref.ChannelID
	}
	first := env.Channels[0]
	fmt.Fprintf(e.stdout, "\nYou are a manager of the demo server, typing in #%s (other channels: channel:#NAME).\n", first.Name)
	in, out, restore := startPrompt(e)
	defer restore()
	return promptLoop(ctx, in, out, c.service, env.GuildID, first.Ref.ChannelID, channels)
}

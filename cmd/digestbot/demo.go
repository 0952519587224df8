package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/digestbot/digestbot/console"
	"github.com/digestbot/digestbot/demo"
	"github.com/digestbot/digestbot/digest"
	"github.com/digestbot/digestbot/store"
)

// cmdDemo runs the zero set-up demo: an embedded store, the bundled sample
// articles, sample topics and subscriptions; it ingests, matches once and
// prints every channel's digest as it would be posted. Nothing reaches the
// network.
func cmdDemo(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "demo", "demo")
	if err := parseFlags(fs, args); err != nil {
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
	fmt.Fprintf(e.stdout, "digestbot demo — embedded store, nothing leaves this machine.\n")
	fmt.Fprintf(e.stdout, "Ingested %d sample articles from %d bundled sources (RSS, Atom, JSON Feed, text newsletter); %d subscriptions on %d channels matched %d times.\n",
		len(env.Articles), len(demo.Files()), len(env.Subscriptions), len(env.Channels), env.Queued)

	d := &digest.Deliverer{
		Store:     st,
		Transport: console.New(e.stdout),
		Logger:    logger,
		Clock:     func() time.Time { return now },
	}
	if err := env.DeliverAll(ctx, d, e.stdout); err != nil {
		return err
	}
	if e.stdinIsTerminal {
		return demoPrompt(ctx, e, env)
	}
	return nil
}

// demoPrompt is where the interactive prompt (the slash commands typed at a
// terminal, run against env.Store) plugs in.
func demoPrompt(ctx context.Context, e *env, env *demo.Env) error {
	fmt.Fprintln(e.stdout, "\n(The interactive prompt is not built yet; the demo ends here.)")
	return nil
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/digest"
	"github.com/digestbot/digestbot/guildfile"
)

// cmdExport writes one server's feeds, topics, subscriptions and schedules
// as a JSON document.
func cmdExport(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "export", "export --guild ID [--out FILE]\n\n"+
		"Writes one server's feeds, topics, subscriptions and schedules as one JSON\n"+
		"document (see README), to stdout or FILE; 'digestbot import' reads it.")
	guild := fs.String("guild", "", "the server (guild) id")
	out := fs.String("out", "", "write to this file instead of stdout")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *guild == "" || fs.NArg() > 0 {
		fs.Usage()
		return errUsage
	}
	st, err := openStore(ctx, e)
	if err != nil {
		return err
	}
	defer st.Close()
	doc, err := guildfile.Export(ctx, st, *guild, time.Now())
	if err != nil {
		return err
	}
	data, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return digestbot.WrapError(digestbot.EINTERNAL, err, "encode the document")
	}
	data = append(data, '\n')
	if *out == "" {
		_, err = e.stdout.Write(data)
		return err
	}
	if err := os.WriteFile(*out, data, 0o600); err != nil {
		return digestbot.Errorf(digestbot.EINVALID, "cannot write %s: %v", *out, err)
	}
	fmt.Fprintf(e.stderr, "wrote %s: the feeds (%d), topics (%d), subscriptions (%d) and schedules (%d) of server %s\n",
		*out, len(doc.Feeds), len(doc.Topics), len(doc.Subscriptions), len(doc.Schedules), doc.GuildID)
	return nil
}

// cmdImport loads a document written by export, into its server or the
// one --guild names.
func cmdImport(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "import", "import [--guild ID] FILE\n\n"+
		"Loads a document written by 'digestbot export' (FILE, or - for stdin) into\n"+
		"the server it names, or into --guild. Everything is checked first (queries,\n"+
		"topics, schedules, feed URLs, the server's limits): a document with a\n"+
		"problem changes nothing. Then what the server lacks is added; what it has\n"+
		"is kept and reported as skipped. Feeds are not fetched here: the bot polls\n"+
		"them, and a feed new to the server brings stories published from now on.")
	guild := fs.String("guild", "", "import into this server (guild) id instead of the document's")
	files, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(files) != 1 {
		fs.Usage()
		return errUsage
	}
	data, err := readDocument(e, files[0])
	if err != nil {
		return err
	}
	doc, err := guildfile.Decode(data)
	if err != nil {
		return err
	}
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, e)
	if err != nil {
		return err
	}
	defer st.Close()
	rep, err := guildfile.Import(ctx, st, doc, guildfile.Options{GuildID: *guild, Config: cfg, Now: time.Now()})
	if err != nil {
		if rep != nil {
			printImport(e.stdout, rep)
		}
		return err
	}
	// Each subscribed channel gets its next digest now, not at the running
	// bot's next hourly sweep.
	sched := &digest.Scheduler{Store: st, Queue: st.DueQueue("digests"),
		Defaults: digest.Defaults{Spec: cfg.Schedule.Default, TimeZone: cfg.Schedule.TimeZone, MinInterval: cfg.Schedule.MinInterval}}
	for _, ref := range rep.Channels {
		if err := sched.Ensure(ctx, ref); err != nil {
			fmt.Fprintf(e.stderr, "digestbot import: channel %s gets its schedule at the bot's next hourly check: %s\n", ref.ChannelID, digestbot.ErrorMessage(err))
		}
	}
	printImport(e.stdout, rep)
	return nil
}

func readDocument(e *env, name string) ([]byte, error) {
	var r io.Reader = e.stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, digestbot.Errorf(digestbot.EINVALID, "cannot read %s: %v", name, err)
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, guildfile.MaxBytes+1))
	if err != nil {
		return nil, digestbot.Errorf(digestbot.EINVALID, "cannot read %s: %v", name, err)
	}
	return data, nil
}

func printImport(w io.Writer, r *guildfile.Report) {
	n := func(kind, one string) string {
		if c := r.Created[kind]; c != 1 {
			return fmt.Sprintf("%d %s", c, kind)
		}
		return "1 " + one
	}
	fmt.Fprintf(w, "server %s: created %s, %s, %s, %s; skipped %d\n", r.GuildID,
		n("feeds", "feed"), n("topics", "topic"), n("subscriptions", "subscription"), n("schedules", "schedule"), len(r.Skipped))
	for _, s := range slices.Sorted(slices.Values(r.Skipped)) {
		fmt.Fprintf(w, "  skipped %s\n", s)
	}
}

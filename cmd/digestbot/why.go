package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/config"
	"github.com/digestbot/digestbot/store"
	"github.com/digestbot/digestbot/why"
)

// newExplainer answers "what became of this article here" over st, with
// the configuration's topics, feeds, backfill and retention, and the
// channels' next digests from the digests due queue (as the scheduler
// keeps it).
func newExplainer(cfg *config.Config, st *store.Store) *why.Explainer {
	queue := st.DueQueue("digests")
	return &why.Explainer{
		Store:         st,
		GlobalTopics:  globalTopics(cfg),
		OperatorFeeds: configFeeds(cfg),
		Backfill:      cfg.Backfill,
		Retention:     st.Retention(),
		NextDigest: func(ctx context.Context, ref digestbot.ChannelRef) (time.Time, bool, error) {
			return queue.When(ctx, ref.Key())
		},
	}
}

const whySynopsis = `why [--json] --guild ID URL

Explains what became of the article at URL for one server (guild), as
/digest why answers there: whether the bot stored it (when, from which
source that server may know of), which of the server's subscriptions match
it and with which terms, or why not (no term of the query, an exclusion,
not visible to the server, not matched yet), and when and in which message
it was delivered, or when the channel's next digest is due. The URL is made
canonical as ingest makes it (tracking parameters and fragments do not
matter).`

// cmdWhy prints the explanation for one article and one server.
func cmdWhy(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "why", whySynopsis)
	asJSON := fs.Bool("json", false, "print the explanation as one JSON object")
	guild := fs.String("guild", "", "the server (guild) id to explain for (required)")
	words, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(words) != 1 || strings.TrimSpace(*guild) == "" {
		fs.Usage()
		return errUsage
	}
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	st, err := openStoreWith(ctx, e, cfg, newLogger(e.stderr))
	if err != nil {
		return err
	}
	defer st.Close()
	rep, err := newExplainer(cfg, st).Explain(ctx, strings.TrimSpace(*guild), words[0])
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetEscapeHTML(false)
		return enc.Encode(rep)
	}
	_, err = fmt.Fprint(e.stdout, rep.Text(why.TextOptions{}))
	return err
}

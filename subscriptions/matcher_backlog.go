package subscriptions

// A feed new to a server starts from now: what its first poll for the
// server brings is matched for lookup's sake only, not queued for the
// server's channels, unless it was published after the feed was added
// (less its backfill). See digestbot.Feed.HoldsBack.

import (
	"context"
	"fmt"

	digestbot "github.com/digestbot/digestbot"
)

// FeedEntries reads servers' entries for feed URLs, in the order asked;
// nil where a server has no such feed. *store.Store is one.
type FeedEntries interface {
	FeedEntries(ctx context.Context, refs []digestbot.FeedRef) ([]*digestbot.Feed, error)
}

// backlog holds, for one batch, the feed entries of the servers that see
// an article through a feed of their own.
type backlog map[digestbot.FeedRef]*digestbot.Feed

// loadBacklog reads, in one round trip, the entries of the feeds that
// brought in the private articles of a batch, for each server that may
// see them. Public articles (the operator's feeds, the push API) are
// never held back.
func (m *Matcher) loadBacklog(ctx context.Context, arts []*digestbot.Article) (backlog, error) {
	if m.opt.Feeds == nil {
		return nil, nil
	}
	var refs []digestbot.FeedRef
	seen := map[digestbot.FeedRef]bool{}
	for _, a := range arts {
		if a == nil || a.Feed == "" {
			continue
		}
		for _, g := range a.Guilds {
			r := digestbot.FeedRef{GuildID: g, URL: a.Feed}
			if !seen[r] {
				seen[r] = true
				refs = append(refs, r)
			}
		}
	}
	if len(refs) == 0 {
		return nil, nil
	}
	fs, err := m.opt.Feeds.FeedEntries(ctx, refs)
	if err != nil {
		return nil, fmt.Errorf("read the feeds of new articles: %w", err)
	}
	b := make(backlog, len(refs))
	for i, r := range refs {
		if fs[i] != nil {
			b[r] = fs[i]
		}
	}
	return b, nil
}

// holdsBack reports whether a, logged at seq, is for lookup only in the
// channels of guild: part of the first poll of guild's own feed that
// brought it in, and published before the feed was added.
func (b backlog) holdsBack(a *digestbot.Article, guild, seq string) bool {
	if len(b) == 0 || a.Feed == "" || len(a.Guilds) == 0 {
		return false
	}
	return b[digestbot.FeedRef{GuildID: guild, URL: a.Feed}].HoldsBack(seq, a.Published)
}

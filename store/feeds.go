package store

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"github.com/digestbot/digestbot"
)

func checkFeedURL(u string) error {
	switch {
	case u == "":
		return digestbot.Errorf(digestbot.EINVALID, "feed URL is empty")
	case len(u) > digestbot.MaxURLLen:
		return digestbot.Errorf(digestbot.EINVALID, "feed URL is %d bytes, the limit is %d", len(u), digestbot.MaxURLLen)
	case !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://"):
		return digestbot.Errorf(digestbot.EINVALID, "feed URL %q is not http or https", u)
	}
	return nil
}

// AddFeed stores a guild feed. Adding the same URL again returns
// created=false and keeps the first entry. ELIMIT when the guild already has
// limit feeds (the default when limit <= 0). Feeds from the configuration
// file (GuildID "") are not stored: EINVALID.
//
// The URL is then followed by the guild and due for polling at once (see
// follow), also when the guild had it already.
func (s *Store) AddFeed(ctx context.Context, f *digestbot.Feed, limit int) (bool, error) {
	if f == nil {
		return false, digestbot.Errorf(digestbot.EINVALID, "feed is missing")
	}
	if f.GuildID == "" {
		return false, digestbot.Errorf(digestbot.EINVALID, "feed %q has no server; feeds for every server belong in the configuration file", f.URL)
	}
	if err := checkID("guild", f.GuildID); err != nil {
		return false, err
	}
	if err := checkFeedURL(f.URL); err != nil {
		return false, err
	}
	limit = limitOrDefault(limit, digestbot.DefaultMaxFeedsPerGuild)
	c := *f
	if c.AddedAt.IsZero() {
		c.AddedAt = s.now().UTC()
	}
	if err := s.registerGuild(ctx, c.GuildID); err != nil {
		return false, err
	}
	key := s.guildKey(c.GuildID, "feeds")
	status, n, err := s.runLimited(ctx, "add feed", addLimited, []string{key, key}, c.URL, encode(&c), limit, "")
	if err != nil {
		return false, err
	}
	if status == -1 {
		return false, digestbot.Errorf(digestbot.ELIMIT, "this server has %s, the limit is %d; remove one first", count(int(n), "feed", "feeds"), limit)
	}
	if err := s.follow(ctx, c.URL, c.GuildID); err != nil {
		return false, err
	}
	return status == 1, nil
}

// RemoveFeed removes a guild feed; ENOTFOUND when the guild has no feed
// with that URL. The URL leaves the polling queue the next time it falls
// due if no one follows it then.
func (s *Store) RemoveFeed(ctx context.Context, guildID, url string) error {
	if err := checkID("guild", guildID); err != nil {
		return err
	}
	n, err := s.rdb.HDel(ctx, s.guildKey(guildID, "feeds"), url).Result()
	if err != nil {
		return s.fail("remove feed", err)
	}
	if n == 0 {
		return digestbot.Errorf(digestbot.ENOTFOUND, "this server has no feed %q", url)
	}
	return s.unfollow(ctx, url, guildID)
}

// Feeds lists a guild's feeds, oldest first.
func (s *Store) Feeds(ctx context.Context, guildID string) ([]*digestbot.Feed, error) {
	if err := checkID("guild", guildID); err != nil {
		return nil, err
	}
	vals, err := s.rdb.HVals(ctx, s.guildKey(guildID, "feeds")).Result()
	if err != nil {
		return nil, s.fail("list feeds", err)
	}
	fs, err := decodeAll[digestbot.Feed]("list feeds", vals)
	if err != nil {
		return nil, err
	}
	sortFeeds(fs)
	return fs, nil
}

// AllFeeds lists every guild's feeds, by guild, oldest first within a
// guild. The same URL appears once per guild that added it.
func (s *Store) AllFeeds(ctx context.Context) ([]*digestbot.Feed, error) {
	per, err := s.allGuildHashes(ctx, "feeds")
	if err != nil {
		return nil, err
	}
	var out []*digestbot.Feed
	for _, vals := range per {
		fs, err := decodeAll[digestbot.Feed]("list all feeds", vals)
		if err != nil {
			return nil, err
		}
		sortFeeds(fs)
		out = append(out, fs...)
	}
	return out, nil
}

func sortFeeds(fs []*digestbot.Feed) {
	slices.SortFunc(fs, func(a, b *digestbot.Feed) int {
		return cmp.Or(a.AddedAt.Compare(b.AddedAt), cmp.Compare(a.URL, b.URL), cmp.Compare(a.GuildID, b.GuildID))
	})
}

package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/digestbot/digestbot/discordtest"
	"github.com/digestbot/digestbot/ingest"
	"github.com/digestbot/digestbot/store/storetest"
)

// TestNewFeedStartsFromNow adds feeds through Discord, polls them, runs
// the matcher and looks at what is pending: the backlog of a feed's first
// poll is stored for /lookup but not queued, except what was published
// after the feed was added or, with backfill, within its days; later
// polls are delivered as usual, undated stories too.
func TestNewFeedStartsFromNow(t *testing.T) { storetest.EachBackend(t, testNewFeedStartsFromNow) }

func testNewFeedStartsFromNow(t *testing.T, b *storetest.Backend) {
	ctx := context.Background()
	var later atomic.Bool // the second poll finds one more story
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now().UTC()
		item := func(slug string, published time.Time) string {
			date := ""
			if !published.IsZero() {
				date = "<pubDate>" + published.Format(time.RFC1123Z) + "</pubDate>"
			}
			return fmt.Sprintf("<item><title>Ferry strike: %s</title><link>https://news.example%s/%s</link>%s<description>The ferry crews stopped.</description></item>", slug, r.URL.Path, slug, date)
		}
		items := item("two-days-old", now.Add(-48*time.Hour)) + item("ten-days-old", now.Add(-240*time.Hour)) + item("undated", time.Time{}) +
			item("just-published", now.Add(10*time.Minute))
		if later.Load() {
			items += item("undated-later", time.Time{})
		}
		w.Header().Set("Content-Type", "application/rss+xml")
		fmt.Fprintf(w, `<?xml version="1.0"?><rss version="2.0"><channel><title>Harbour Wire</title><link>https://news.example/</link>%s</channel></rss>`, items)
	}))
	t.Cleanup(site.Close)

	ch := startChat(t, b, map[string]string{"DIGESTBOT_ALLOW_PRIVATE_FEEDS": "true"})
	poller, err := ingest.NewPoller(ingest.PollerOptions{Articles: ch.st, Feeds: ch.st, Fetcher: ch.c.fetcher, OnStored: ch.c.onStored})
	if err != nil {
		t.Fatal(err)
	}
	pendingIn := func(guild, channel string) []string {
		t.Helper()
		if _, err := ch.c.matcher.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		items, err := ch.st.Pending(ctx, guild, channel)
		if err != nil {
			t.Fatal(err)
		}
		arts, err := ch.st.GetArticles(ctx, func() (ids []string) {
			for _, it := range items {
				ids = append(ids, it.ArticleID)
			}
			return ids
		}())
		if err != nil {
			t.Fatal(err)
		}
		var urls []string
		for _, a := range arts {
			urls = append(urls, strings.TrimPrefix(a.URL, "https://news.example"))
		}
		slices.Sort(urls)
		return urls
	}
	pending := func() []string { t.Helper(); return pendingIn(ch.dc.GuildID, ch.dc.ChannelID) }

	if rep := ch.command(t, "subscribe", discordtest.Str("query", "ferry strike")); !strings.Contains(rep.Content, "Subscribed") {
		t.Fatalf("/subscribe answered %q", rep.Content)
	}
	rep := ch.command(t, "feeds add", discordtest.Str("url", site.URL+"/plain.xml"))
	if !strings.Contains(rep.Content, "Digests bring its stories published from now on") {
		t.Errorf("/feeds add answered %q", rep.Content)
	}
	poller.PollOnce(ctx, time.Now())
	if got, want := pending(), []string{"/plain.xml/just-published"}; !slices.Equal(got, want) {
		t.Errorf("after the first poll, pending %v, want %v: the backlog is not delivered", got, want)
	}
	// The backlog is stored for lookup all the same.
	if look := ch.command(t, "lookup", discordtest.Str("query", "ten days old")); !strings.Contains(fmt.Sprint(look.Embeds), "/plain.xml/ten-days-old") {
		t.Errorf("/lookup does not find a held-back story: %q %+v", look.Content, look.Embeds)
	}

	// /digest why says why it was not delivered.
	if why := ch.command(t, "digest why", discordtest.Str("url", "https://news.example/plain.xml/ten-days-old")); !strings.Contains(why.Content, "a new feed starts from now") {
		t.Errorf("/digest why of a held-back story: %q", why.Content)
	}

	// The next poll's stories are new, undated or not.
	later.Store(true)
	poller.PollOnce(ctx, time.Now().Add(time.Hour))
	if got, want := pending(), []string{"/plain.xml/just-published", "/plain.xml/undated-later"}; !slices.Equal(got, want) {
		t.Errorf("after the second poll, pending %v, want %v", got, want)
	}

	// With backfill, the first poll also delivers the last days' stories.
	later.Store(false)
	rep = ch.command(t, "feeds add", discordtest.Str("url", site.URL+"/backfilled.xml"), discordtest.Str("backfill", "3d"))
	if !strings.Contains(rep.Content, "Its stories of the last 3 days reach the next digests") {
		t.Errorf("/feeds add backfill:3d answered %q", rep.Content)
	}
	poller.PollOnce(ctx, time.Now().Add(2*time.Hour))
	want := []string{"/backfilled.xml/just-published", "/backfilled.xml/two-days-old", "/plain.xml/just-published", "/plain.xml/undated-later"}
	if got := pending(); !slices.Equal(got, want) {
		t.Errorf("after backfill:3d, pending %v, want %v", got, want)
	}
	if rep := ch.command(t, "feeds add", discordtest.Str("url", site.URL+"/x.xml"), discordtest.Str("backfill", "30d")); !strings.Contains(rep.Content, "at most 7 days") {
		t.Errorf("a backfill past the limit answered %q", rep.Content)
	}

	// Another server adds a feed the first has had all along: the stories
	// stored already become its own to look up, not its next digest.
	other := ch.dc.AddGuild("Other Guild")
	otherChannel := ch.dc.AddChannel(other, "news")
	as := func(name string, opts ...discordtest.Option) discordtest.Reply {
		sent := ch.dc.SendInteraction(discordtest.Interaction{GuildID: other, ChannelID: otherChannel, Command: name, Options: opts, Permissions: discordtest.PermManageChannels})
		return ch.dc.WaitReply(sent)
	}
	as("subscribe", discordtest.Str("query", "ferry strike"))
	as("feeds add", discordtest.Str("url", site.URL+"/plain.xml"))
	poller.PollOnce(ctx, time.Now().Add(3*time.Hour))
	if got, want := pendingIn(other, otherChannel), []string{"/plain.xml/just-published"}; !slices.Equal(got, want) {
		t.Errorf("the other server's pending %v, want %v", got, want)
	}
}

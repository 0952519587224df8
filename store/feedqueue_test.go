package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/store"
	"github.com/digestbot/digestbot/store/storetest"
)

// TestFeedQueue runs the feed polling suite on every backend.
func TestFeedQueue(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, sb *storetest.Backend) {
		b := backend{sb}
		t.Run("followers and the queue", func(t *testing.T) { testFeedFollowers(t, b) })
		t.Run("health is written only under the take", func(t *testing.T) { testFeedHealthUnderTake(t, b) })
		t.Run("resume", func(t *testing.T) { testFeedResume(t, b) })
		t.Run("sync repairs the queue", func(t *testing.T) { testFeedSync(t, b) })
		t.Run("concurrent add and remove keep the followers", func(t *testing.T) { testFeedFollowRace(t, b) })
	})
}

// takeFeed takes id from the feed queue at now; it fails the test when
// the feed is not due.
func takeFeed(t *testing.T, st *store.Store, id string, now time.Time) digestbot.DueEntry {
	t.Helper()
	for _, e := range takeAll(t, st.FeedQueue(), now, time.Minute) {
		if e.Member == id {
			return e
		}
	}
	t.Fatalf("feed %s is not due at %v", id, now)
	return digestbot.DueEntry{}
}

func guildsOf(pf *digestbot.PolledFeed) []string {
	var gs []string
	for _, f := range pf.Feeds {
		gs = append(gs, f.GuildID)
	}
	return gs
}

func testFeedFollowers(t *testing.T, b backend) {
	st := b.open(t, store.Options{})
	c := ctx(t)
	const u = "https://news.example.org/rss"
	id := digestbot.FeedID(u)
	t0 := time.Now()
	for i, g := range []string{"g1", "g2"} {
		f := &digestbot.Feed{GuildID: g, URL: u, Name: "Name " + g, AddedAt: t0.Add(time.Duration(i) * time.Second)}
		if _, err := st.AddFeed(c, f, 10); err != nil {
			t.Fatal(err)
		}
	}
	if at, ok, err := st.FeedQueue().When(c, id); err != nil || !ok || at.After(t0) {
		t.Fatalf("an added feed is due at %v (%v, %v), want at once", at, ok, err)
	}
	pf, err := st.PolledFeed(c, id)
	if err != nil {
		t.Fatal(err)
	}
	if pf.URL != u || !slices.Equal(guildsOf(pf), []string{"g1", "g2"}) || pf.Feeds[0].Name != "Name g1" {
		t.Fatalf("polled feed %+v, want the URL followed by g1 then g2", pf)
	}

	// A server that no longer has the feed, though the index still names it
	// (a crash between the two writes), is not among the followers.
	if err := st.Client().HDel(c, st.Prefix()+"{g:g2}:feeds", u).Err(); err != nil {
		t.Fatal(err)
	}
	if pf, err = st.PolledFeed(c, id); err != nil || !slices.Equal(guildsOf(pf), []string{"g1"}) {
		t.Fatalf("followers after g2 lost the feed: %v, %v", guildsOf(pf), err)
	}

	if err := st.RemoveFeed(c, "g1", u); err != nil {
		t.Fatal(err)
	}
	if pf, err = st.PolledFeed(c, id); err != nil || len(pf.Feeds) != 0 || pf.URL != u {
		t.Fatalf("after the last follower left: %+v, %v", pf, err)
	}
	// Still queued until a worker takes it and finds no follower.
	e := takeFeed(t, st, id, t0)
	if _, err := st.AddFeed(c, &digestbot.Feed{GuildID: "g3", URL: u}, 10); err != nil {
		t.Fatal(err)
	}
	if ok, err := st.ForgetFeed(c, e); err != nil || ok {
		t.Fatalf("forgot a feed that g3 follows again: %v, %v", ok, err)
	}
	e = takeFeed(t, st, id, t0)
	if err := st.RemoveFeed(c, "g3", u); err != nil {
		t.Fatal(err)
	}
	if ok, err := st.ForgetFeed(c, e); err != nil || !ok {
		t.Fatalf("forget = %v, %v", ok, err)
	}
	if _, ok, err := st.FeedQueue().When(c, id); err != nil || ok {
		t.Fatalf("a forgotten feed is still queued (%v, %v)", ok, err)
	}
	if pf, err = st.PolledFeed(c, id); err != nil || pf.URL != "" {
		t.Fatalf("a forgotten feed is still known: %+v, %v", pf, err)
	}

	// Deleting a server unfollows its feeds.
	if _, err := st.AddFeed(c, &digestbot.Feed{GuildID: "g4", URL: u}, 10); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteGuild(c, "g4"); err != nil {
		t.Fatal(err)
	}
	if pf, err = st.PolledFeed(c, id); err != nil || len(pf.Feeds) != 0 {
		t.Fatalf("after deleting g4: %+v, %v", pf, err)
	}
}

func testFeedHealthUnderTake(t *testing.T, b backend) {
	st := b.open(t, store.Options{})
	c := ctx(t)
	const u = "https://news.example.org/atom"
	id := digestbot.FeedID(u)
	if _, err := st.AddFeed(c, &digestbot.Feed{GuildID: "g1", URL: u}, 10); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	e := takeFeed(t, st, id, now)
	h := &digestbot.FeedHealth{URL: u, ETag: `"v1"`, LastSuccess: now.UTC().Truncate(time.Second)}
	if ok, err := st.SaveFeedHealth(c, e, h); err != nil || !ok {
		t.Fatalf("save under the take = %v, %v", ok, err)
	}
	if ok, err := st.FeedQueue().Finish(c, e, now.Add(15*time.Minute), false); err != nil || !ok {
		t.Fatalf("finish = %v, %v", ok, err)
	}
	// The take has ended: a late save of the same worker changes nothing.
	if ok, err := st.SaveFeedHealth(c, e, &digestbot.FeedHealth{URL: u, ETag: `"stale"`}); err != nil || ok {
		t.Fatalf("save after the take ended = %v, %v", ok, err)
	}
	got, err := st.FeedHealth(c, u)
	if err != nil || got.ETag != `"v1"` || !got.LastSuccess.Equal(h.LastSuccess) {
		t.Fatalf("health %+v, %v; want the one saved under the take", got, err)
	}
	if pf, err := st.PolledFeed(c, id); err != nil || pf.Health.ETag != `"v1"` {
		t.Fatalf("polled feed health %+v, %v", pf, err)
	}
}

func testFeedResume(t *testing.T, b backend) {
	st := b.open(t, store.Options{})
	c := ctx(t)
	const u = "https://example.org/feed.xml"
	id := digestbot.FeedID(u)
	if _, err := st.AddFeed(c, &digestbot.Feed{GuildID: "g1", URL: u}, 10); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	e := takeFeed(t, st, id, now)
	failedAt := now.UTC().Truncate(time.Second)
	paused := &digestbot.FeedHealth{URL: u, Failures: 10, PausedReason: "paused", ETag: `"v1"`,
		LastError: "HTTP 500", LastErrorAt: failedAt, NextPoll: now.Add(time.Hour)}
	if ok, err := st.SaveFeedHealth(c, e, paused); err != nil || !ok {
		t.Fatalf("save = %v, %v", ok, err)
	}
	// Resumed while the worker still holds its take (its fetch in flight).
	if err := st.ResumeFeed(c, u); err != nil {
		t.Fatal(err)
	}
	got, err := st.FeedHealth(c, u)
	if err != nil || got.PausedReason != "" || got.Failures != 0 || got.ETag != "" || !got.NextPoll.IsZero() ||
		got.LastError != "HTTP 500" || !got.LastErrorAt.Equal(failedAt) {
		t.Fatalf("resumed health %+v, %v; want pause, failures, validators and due time cleared, the last error kept", got, err)
	}
	if ok, _ := st.SaveFeedHealth(c, e, paused); ok {
		t.Error("the worker whose fetch was in flight wrote its health over the resume")
	}
	if ok, _ := st.FeedQueue().Finish(c, e, now.Add(time.Hour), true); ok {
		t.Error("the worker whose fetch was in flight finished its take after the resume")
	}
	if at, ok, err := st.FeedQueue().When(c, id); err != nil || !ok || at.After(now) {
		t.Fatalf("a resumed feed is due at %v (%v, %v), want at once", at, ok, err)
	}
	wantCode(t, st.ResumeFeed(c, "ftp://example.org/"), digestbot.EINVALID)
}

func testFeedSync(t *testing.T, b backend) {
	st := b.open(t, store.Options{})
	c := ctx(t)
	const cfg, own, queued = "https://operator.example/rss", "https://own.example/rss", "https://queued.example/rss"
	for _, u := range []string{own, queued} {
		if _, err := st.AddFeed(c, &digestbot.Feed{GuildID: "g1", URL: u}, 10); err != nil {
			t.Fatal(err)
		}
	}
	later := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	if err := st.FeedQueue().Put(c, digestbot.FeedID(queued), later, digestbot.PutAlways); err != nil {
		t.Fatal(err)
	}
	// A crash right after the server stored its feed lost the follow and
	// the queue entry.
	if err := st.FeedQueue().Remove(c, digestbot.FeedID(own)); err != nil {
		t.Fatal(err)
	}
	keys, err := storetest.Keys(c, st)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if strings.HasSuffix(k, ":f:"+digestbot.FeedID(own)) {
			if err := st.Client().Del(c, k).Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := st.SyncFeeds(c, []string{cfg}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, u := range []string{cfg, own} {
		if at, ok, err := st.FeedQueue().When(c, digestbot.FeedID(u)); err != nil || !ok || at.After(now) {
			t.Errorf("%s after sync: due %v (%v, %v), want at once", u, at, ok, err)
		}
	}
	if pf, err := st.PolledFeed(c, digestbot.FeedID(own)); err != nil || pf.URL != own || !slices.Equal(guildsOf(pf), []string{"g1"}) {
		t.Errorf("the lost follow was not repaired: %+v, %v", pf, err)
	}
	if at, _, _ := st.FeedQueue().When(c, digestbot.FeedID(queued)); !at.Equal(later) {
		t.Errorf("sync moved a queued feed to %v, want %v", at, later)
	}
}

// testFeedFollowRace: replicas add and remove the same server's feed at
// once; whatever the interleaving, the URL's followers end up naming the
// server exactly when the server has the feed.
func testFeedFollowRace(t *testing.T, b backend) {
	st := b.open(t, store.Options{})
	c := ctx(t)
	const rounds = 40
	for r := range rounds {
		u := fmt.Sprintf("https://race.example/%d", r)
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if w%2 == 0 {
					_, _ = st.AddFeed(context.Background(), &digestbot.Feed{GuildID: "g1", URL: u}, 1000)
				} else {
					_ = st.RemoveFeed(context.Background(), "g1", u)
				}
			}()
		}
		wg.Wait()
		has, err := st.Client().HExists(c, st.Prefix()+"{g:g1}:feeds", u).Result()
		if err != nil {
			t.Fatal(err)
		}
		pf, err := st.PolledFeed(c, digestbot.FeedID(u))
		if err != nil {
			t.Fatal(err)
		}
		if follows := len(pf.Feeds) == 1; follows != has {
			t.Fatalf("round %d: the server has the feed: %v, follows it: %v", r, has, follows)
		}
	}
}

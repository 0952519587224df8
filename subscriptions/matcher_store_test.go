package subscriptions_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/store"
	"github.com/digestbot/digestbot/store/storetest"
	"github.com/digestbot/digestbot/subscriptions"
)

// TestMatcherOnStore runs the matcher job against the real store: on a real
// redis-server, a real Redis Cluster and the embedded store.
func TestMatcherOnStore(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, b *storetest.Backend) {
		ctx := context.Background()
		st := b.Open(t, store.Options{})
		created := time.Now().Add(-time.Minute)
		sub := func(ch, query, topic string) *digestbot.Subscription {
			s := &digestbot.Subscription{GuildID: "g1", ChannelID: ch, Query: query, Topic: topic, CreatedAt: created}
			s.ID = digestbot.SubscriptionID(s.GuildID, s.ChannelID, s.Query, s.Topic)
			if _, err := st.AddSubscription(ctx, s, 100); err != nil {
				t.Fatal(err)
			}
			return s
		}
		sub("c1", "Confucius Institute", "")
		sub("c1", "", "surveillance")
		m := subscriptions.NewMatcher(st, subscriptions.MatcherOptions{
			GlobalTopics: []*digestbot.Topic{{Name: "surveillance", Query: `"facial recognition" OR surveillance`}},
			Logger:       slog.New(slog.DiscardHandler),
		})
		if _, err := m.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		put := func(id, title, text string) {
			a := &digestbot.Article{ID: id, Title: title, Text: text, Source: "Wire"}
			if _, err := st.PutArticles(ctx, []*digestbot.Article{a}); err != nil {
				t.Fatal(err)
			}
		}
		put("a1", "Norway closes Confucius Institute", "The Confucius Institute in Bergen closes; surveillance worries.")
		put("a2", "Weather", "Sunny.")
		// Added after the first run: reaches the matcher through the change feed.
		sub("c2", `"facial recognition" -BMW`, "")
		put("a3", "Stores", "Facial recognition cameras in stores.")
		stats, err := m.RunOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if stats.Articles != 3 || stats.Items != 3 {
			t.Errorf("stats %+v, want 3 articles and 3 items", stats)
		}
		got := map[string]int{}
		for _, ch := range []string{"c1", "c2"} {
			items, err := st.Pending(ctx, "g1", ch)
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range items {
				got[ch+"/"+it.ArticleID] = len(it.Hits)
			}
		}
		want := map[string]int{"c1/a1": 2, "c1/a3": 1, "c2/a3": 1}
		if len(got) != len(want) {
			t.Fatalf("pending %v, want %v", got, want)
		}
		for k, n := range want {
			if got[k] != n {
				t.Errorf("pending %v, want %v", got, want)
			}
		}
		if _, err := m.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// TestCatchUpMatchesEveryArticleBehindTheWatermark: a subscription added
// with backfill after the matcher has passed 25,000 articles gets every one
// of them that matches, however many there are, read a batch at a time.
func TestCatchUpMatchesEveryArticleBehindTheWatermark(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	const n = 25_000
	batch := make([]*digestbot.Article, 0, 1000)
	for i := range n {
		text := "Nothing to see."
		if i%10 == 9 { // one in ten matches, the last one among them
			text = "A story about lighthouses."
		}
		batch = append(batch, &digestbot.Article{ID: fmt.Sprintf("a%05d", i), Title: fmt.Sprintf("Story %d", i), Text: text, Source: "Wire"})
		if len(batch) == cap(batch) {
			if _, err := st.PutArticles(ctx, batch); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	m := subscriptions.NewMatcher(st, subscriptions.MatcherOptions{Backfill: time.Hour, Logger: slog.New(slog.DiscardHandler)})
	// No subscription yet: the watermark passes every article.
	if stats, err := m.RunOnce(ctx); err != nil || stats.Articles != n {
		t.Fatalf("first run: %+v, %v; want %d articles passed", stats, err, n)
	}
	s := &digestbot.Subscription{GuildID: "g1", ChannelID: "c1", Query: "lighthouses", CreatedAt: time.Now()}
	s.ID = digestbot.SubscriptionID(s.GuildID, s.ChannelID, s.Query, s.Topic)
	if _, err := st.AddSubscription(ctx, s, 10); err != nil {
		t.Fatal(err)
	}
	stats, err := m.RunOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	items, err := st.Pending(ctx, "g1", "c1")
	if err != nil {
		t.Fatal(err)
	}
	if want := n / 10; len(items) != want || stats.CaughtUp != n {
		t.Fatalf("caught up %d articles and queued %d items; want all %d read and %d queued", stats.CaughtUp, len(items), n, want)
	}
}

// TestMatcherFollowsChangesFromManyReplicas: three replicas (store clients
// of their own) add and remove the same subscriptions at once, so their
// change-feed entries interleave in any order, while the matcher follows
// the feed. On the single server one replica reaches Redis through a slow
// link, so its entries often land after later changes of the others.
// Afterwards the matcher's index is the store's: a story that every query
// matches reaches exactly the channels whose subscription is stored. On a
// real redis-server and on a Redis Cluster.
func TestMatcherFollowsChangesFromManyReplicas(t *testing.T) {
	for _, b := range []struct {
		name string
		urls func(testing.TB) []string // one per replica
	}{
		{"redis-server", func(tb testing.TB) []string {
			srv := storetest.Shared(tb)
			return []string{srv.URL, "redis://" + slowLink(tb, srv.Addr(), 2*time.Millisecond), srv.URL}
		}},
		{"cluster", func(tb testing.TB) []string {
			u := storetest.Cluster(tb)
			return []string{u, u, u}
		}},
	} {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			prefix := storetest.UniquePrefix()
			var replicas []*store.Store
			for _, u := range b.urls(t) {
				replicas = append(replicas, storetest.OpenOn(t, store.Options{URL: u, Prefix: prefix}))
			}
			st := replicas[0]
			m := subscriptions.NewMatcher(st, subscriptions.MatcherOptions{Logger: slog.New(slog.DiscardHandler), ReloadEvery: time.Hour})
			if _, err := m.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
			type slot struct{ guild, channel string }
			var slots []slot
			for i := range 8 {
				slots = append(slots, slot{fmt.Sprintf("g%d", i%2), fmt.Sprintf("c%d", i)})
			}
			newSub := func(s slot) *digestbot.Subscription {
				sub := &digestbot.Subscription{GuildID: s.guild, ChannelID: s.channel, Query: "lighthouse"}
				sub.ID = digestbot.SubscriptionID(sub.GuildID, sub.ChannelID, sub.Query, sub.Topic)
				return sub
			}

			stop := make(chan struct{})
			matched := make(chan error, 1)
			go func() {
				for {
					select {
					case <-stop:
						matched <- nil
						return
					default:
					}
					if _, err := m.RunOnce(ctx); err != nil {
						matched <- err
						return
					}
				}
			}()
			var wg sync.WaitGroup
			end := time.Now().Add(time.Second) // all replicas busy until the end
			for r, rep := range replicas {
				for w := range 2 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						rng := rand.New(rand.NewPCG(uint64(r), uint64(w)))
						for time.Now().Before(end) {
							s := slots[rng.IntN(len(slots))]
							if rng.IntN(2) == 0 {
								_, _ = rep.AddSubscription(ctx, newSub(s), 100)
							} else {
								_, _ = rep.RemoveSubscription(ctx, s.guild, newSub(s).ID)
							}
						}
					}()
				}
			}
			wg.Wait()
			close(stop)
			if err := <-matched; err != nil {
				t.Fatal(err)
			}
			if _, err := m.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := st.PutArticles(ctx, []*digestbot.Article{{ID: "beacon", Title: "The lighthouse", Text: "A lighthouse story.", Source: "Wire"}}); err != nil {
				t.Fatal(err)
			}
			if _, err := m.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
			if chs, err := st.SubscriptionChanges(ctx, "", 10_000); err == nil { // the first ones are enough to tell
				last, late := map[string]int64{}, 0
				for _, ch := range chs {
					if ch.Version < last[ch.GuildID] {
						late++
					}
					last[ch.GuildID] = max(last[ch.GuildID], ch.Version)
				}
				t.Logf("of the first %d changes, %d reached the feed after a later change of their guild", len(chs), late)
			}
			subs, err := st.AllSubscriptions(ctx)
			if err != nil {
				t.Fatal(err)
			}
			stored := map[slot]bool{}
			for _, s := range subs {
				stored[slot{s.GuildID, s.ChannelID}] = true
			}
			for _, s := range slots {
				items, err := st.Pending(ctx, s.guild, s.channel)
				if err != nil {
					t.Fatal(err)
				}
				if got := len(items) == 1; got != stored[s] {
					t.Errorf("%s/%s: subscription stored %v, story queued %v", s.guild, s.channel, stored[s], got)
				}
			}
		})
	}
}

// slowLink forwards TCP connections to addr through loopback, holding
// every chunk for delay in each direction: a replica far from Redis.
func slowLink(tb testing.TB, addr string, delay time.Duration) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	forward := func(dst, src net.Conn) {
		defer dst.Close()
		defer src.Close()
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				time.Sleep(delay)
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				s, err := net.Dial("tcp", addr)
				if err != nil {
					c.Close()
					return
				}
				go forward(s, c)
				forward(c, s)
			}()
		}
	}()
	return ln.Addr().String()
}

package store_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/store/storetest"
)

// benchArticle makes a distinct article of about 3 KB of text.
func benchArticle(run, n int) *digestbot.Article {
	url := fmt.Sprintf("https://bench.example.org/%d/%d", run, n)
	var text strings.Builder
	for text.Len() < 3000 {
		fmt.Fprintf(&text, "Paragraph %d of article %d reports on port traffic, grain prices and a committee vote. ", text.Len(), n)
	}
	return &digestbot.Article{
		ID:        digestbot.ArticleID(url, "", "", ""),
		Title:     fmt.Sprintf("Benchmark story %d of run %d", n, run),
		URL:       url,
		Source:    "Bench Wire",
		Published: time.Date(2026, 3, 20, 8, 0, 0, 0, time.UTC),
		Text:      text.String(),
		Summary:   "A short summary of the benchmark story.",
		Tags:      []string{"bench", "trade"},
	}
}

// BenchmarkPutArticles stores new 3 KB articles into a real redis-server:
// in pipelined batches of 500, and one call (so one round trip for the
// write and one for the log append) per article; and puts already stored
// articles again in batches of 500.
func BenchmarkPutArticles(b *testing.B) {
	st := storetest.Open(b)
	b.Logf("store benchmark: %s", storetest.Shared(b).Describe())
	run := 0
	for _, bc := range []struct {
		name   string
		batch  int
		repeat bool // put the same articles again: what a feed poll mostly does
	}{
		{"pipelined", 500, false},
		{"one-round-trip-each", 1, false},
		{"pipelined-repeat", 500, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			run++
			arts := make([]*digestbot.Article, b.N)
			for i := range arts {
				arts[i] = benchArticle(run, i)
			}
			ctx := b.Context()
			want := digestbot.PutNew
			if bc.repeat {
				for i := 0; i < len(arts); i += 500 {
					if _, err := st.PutArticles(ctx, arts[i:min(i+500, len(arts))]); err != nil {
						b.Fatal(err)
					}
				}
				want = digestbot.PutUnchanged
			}
			b.SetBytes(int64(len(arts[0].Text)))
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < len(arts); i += bc.batch {
				batch := arts[i:min(i+bc.batch, len(arts))]
				out, err := st.PutArticles(ctx, batch)
				if err != nil {
					b.Fatal(err)
				}
				if out[0] != want {
					b.Fatalf("article stored as %v, want %v", out[0], want)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "articles/s")
		})
	}
}

// BenchmarkEnqueuePending writes the pending queues of a matcher run into
// a real redis-server: 1,000 channels with 20 new items each per op (the
// digest issue's full cycle writes 10,000 such channels).
func BenchmarkEnqueuePending(b *testing.B) {
	st := storetest.Open(b)
	const channels, perChannel = 1000, 20
	run := 0
	b.ResetTimer()
	for b.Loop() {
		run++
		items := make([]digestbot.PendingItem, 0, channels*perChannel)
		for ch := range channels {
			for a := range perChannel {
				items = append(items, digestbot.PendingItem{
					GuildID:   fmt.Sprintf("g%d", ch%100),
					ChannelID: fmt.Sprintf("c%d", ch),
					ArticleID: fmt.Sprintf("r%d-a%d", run, a),
					Hits:      []digestbot.Hit{{SubscriptionID: "s1", Label: "trade", Terms: []string{"grain"}}},
				})
			}
		}
		if err := st.EnqueuePending(b.Context(), items); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*channels*perChannel)/b.Elapsed().Seconds(), "items/s")
}

// BenchmarkRedisMemory measures what a subscription and a pending digest
// item cost in Redis, for the README's sizing rule (articles: see the
// archive's Lookup100k benchmark). Run it alone and without
// DIGESTBOT_TEST_REDIS_URL, so that the redis-server holds nothing else:
//
//	go test ./store -run '^$' -bench RedisMemory -benchtime 1x
//
// 100,000 subscriptions (1,000 servers × 10 channels × 10 queries of
// three words, as /subscribe writes them, each with its change-feed entry)
// and 100,000 pending items (1,000 channels × 100 articles, one hit each),
// used_memory after minus before, divided by the count.
func BenchmarkRedisMemory(b *testing.B) {
	const guilds, channels, perChannel = 1000, 10, 10
	for b.Loop() {
		st := storetest.Open(b)
		ctx := b.Context()
		created := time.Date(2026, 3, 20, 8, 0, 0, 0, time.UTC)
		before := storetest.UsedMemory(b, st)
		n := 0
		for g := range guilds {
			for c := range channels {
				for q := range perChannel {
					s := &digestbot.Subscription{
						GuildID: fmt.Sprintf("11000000000000%05d", g), ChannelID: fmt.Sprintf("12000000000%05d%02d", g, c),
						Query: fmt.Sprintf("harbour strike %d", q*7+c), CreatedBy: "130000000000000001", CreatedAt: created,
					}
					s.ID = digestbot.SubscriptionID(s.GuildID, s.ChannelID, s.Query, "")
					if _, err := st.AddSubscription(ctx, s, 100); err != nil {
						b.Fatal(err)
					}
					n++
				}
			}
		}
		afterSubs := storetest.UsedMemory(b, st)
		var items []digestbot.PendingItem
		for ch := range guilds {
			for a := range 100 {
				items = append(items, digestbot.PendingItem{
					GuildID: fmt.Sprintf("11000000000000%05d", ch), ChannelID: fmt.Sprintf("12000000000%05d00", ch),
					ArticleID: fmt.Sprintf("%032x", ch*1000+a), QueuedAt: created,
					Hits: []digestbot.Hit{{SubscriptionID: "s1", Label: "harbour strike", Terms: []string{"harbour", "strike"}}},
				})
			}
		}
		if err := st.EnqueuePending(ctx, items); err != nil {
			b.Fatal(err)
		}
		afterPending := storetest.UsedMemory(b, st)
		b.ReportMetric(float64(afterSubs-before)/float64(n), "B/subscription")
		b.ReportMetric(float64(afterPending-afterSubs)/float64(len(items)), "B/pending-item")
	}
}

package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/discordtest"
	"github.com/digestbot/digestbot/store/storetest"
	"github.com/digestbot/digestbot/subscriptions/benchgen"
)

// BenchmarkInstantAlerts measures what an instant subscriber waits for:
// the time from a push to the HTTP API (POST /v1/articles) to the alert's
// message at the Discord-compatible server, with `digestbot run` as
// deployed (a real redis-server, the real discordgo client, the matcher
// ticking every second). 100,000 generated subscriptions (benchgen
// queries) in 10,000 channels of 50 servers, one in ten instant (one per
// channel); generated articles are pushed one at a time, every
// DIGESTBOT_BENCH_EVERY (default 500ms). Each (alert message, article in
// it) is one sample; p50, p95 and the largest are reported in ms. Run it
// with
//
//	go test ./cmd/digestbot -run '^$' -bench InstantAlerts -benchtime 1x -timeout 30m
//
// (DIGESTBOT_BENCH_SUBSCRIPTIONS and DIGESTBOT_BENCH_ARTICLES change the
// sizes, default 100000 and 200; DIGESTBOT_BENCH_INSTANT_DELAY sets
// delivery.instant_delay, default 1s).
func BenchmarkInstantAlerts(b *testing.B) {
	nSubs, nArts := benchSize("DIGESTBOT_BENCH_SUBSCRIPTIONS", 100_000), benchSize("DIGESTBOT_BENCH_ARTICLES", 200)
	every := 500 * time.Millisecond
	if d, err := time.ParseDuration(os.Getenv("DIGESTBOT_BENCH_EVERY")); err == nil && d > 0 {
		every = d
	}
	const perChannel, guilds = 10, 50
	gen := benchgen.New(benchgen.Options{Seed: 7})
	queries := gen.Queries(nSubs)
	arts := gen.Articles(nArts + 1) // the first warms up
	be := &storetest.Backend{Name: storetest.RedisServer, URL: storetest.RealRedis(b).URL}
	for range b.N {
		b.StopTimer()
		dc := discordtest.New(b)
		dc.Timeout = 5 * time.Minute
		var gs []string
		for range guilds {
			gs = append(gs, dc.AddGuild("bench"))
		}
		nChannels := (nSubs + perChannel - 1) / perChannel
		refs := make([]digestbot.ChannelRef, nChannels)
		for i := range refs {
			g := gs[i%guilds]
			refs[i] = digestbot.ChannelRef{GuildID: g, ChannelID: dc.AddChannel(g, "c"+strconv.Itoa(i))}
		}
		yaml := "schedule:\n  match: \"@every 1s\"\nlimits:\n  subscriptions_per_guild: 100000\n"
		if d := os.Getenv("DIGESTBOT_BENCH_INSTANT_DELAY"); d != "" {
			yaml += "delivery:\n  instant_delay: " + d + "\n"
		}
		r := startRun(b, be, dc, yaml)
		addSubscriptions(b, r, refs, queries, perChannel)

		// Warm up: the matcher loads the subscriptions, the first alert goes out.
		push := func(a benchgen.Article) time.Time {
			at := time.Now()
			r.push(b, map[string]any{"title": a.Title, "text": a.Text, "url": "https://bench.example/" + a.ID, "source": "Bench Wire"})
			return at
		}
		push(arts[0])
		waitQuiet(b, dc, time.Minute)
		before := len(dc.AllMessages())

		b.StartTimer()
		pushed := map[string]time.Time{}
		for _, a := range arts[1:] {
			pushed["https://bench.example/"+a.ID] = push(a)
			time.Sleep(every)
		}
		waitQuiet(b, dc, 30*time.Second)
		b.StopTimer()

		var ms []float64
		alerts := 0
		for _, m := range dc.AllMessages()[before:] {
			alerts++
			for _, e := range m.Embeds {
				if at, ok := pushed[e.URL]; ok {
					ms = append(ms, float64(m.CreatedAt.Sub(at).Milliseconds()))
				}
			}
		}
		if len(ms) == 0 {
			b.Fatal("no alert reached the server")
		}
		slices.Sort(ms)
		pct := func(p float64) float64 { return ms[min(len(ms)-1, int(p*float64(len(ms))))] }
		b.ReportMetric(pct(0.50), "p50-ms")
		b.ReportMetric(pct(0.95), "p95-ms")
		b.ReportMetric(ms[len(ms)-1], "max-ms")
		b.ReportMetric(float64(alerts)/float64(nArts), "alerts/article")
		b.Logf("%d subscriptions, %d articles pushed every %v: %d alert messages, %d stories in them; ingest to Discord p50 %.0f ms, p95 %.0f ms, max %.0f ms",
			nSubs, nArts, every, alerts, len(ms), pct(0.50), pct(0.95), ms[len(ms)-1])
	}
}

func benchSize(env string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(env)); err == nil && v > 0 {
		return v
	}
	return def
}

// addSubscriptions stores the queries as subscriptions, perChannel to a
// channel, the first of each channel instant.
func addSubscriptions(b *testing.B, r *running, refs []digestbot.ChannelRef, queries []string, perChannel int) {
	b.Helper()
	ctx := context.Background()
	var wg sync.WaitGroup
	const workers = 16
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(queries); i += workers {
				ref := refs[i/perChannel]
				s := &digestbot.Subscription{GuildID: ref.GuildID, ChannelID: ref.ChannelID, Query: queries[i], CreatedAt: time.Now().Add(-time.Hour)}
				if i%perChannel == 0 {
					s.Mode = digestbot.ModeInstant
				}
				s.ID = digestbot.SubscriptionID(s.GuildID, s.ChannelID, s.Query, "")
				if _, err := r.st.AddSubscription(ctx, s, 1_000_000); err != nil {
					errs <- fmt.Errorf("subscription %d: %w", i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

// waitQuiet waits until the server has taken no message for three
// seconds, at most max.
func waitQuiet(b *testing.B, dc *discordtest.Server, max time.Duration) {
	b.Helper()
	end := time.Now().Add(max)
	n, since := -1, time.Now()
	for time.Now().Before(end) {
		if m := len(dc.AllMessages()); m != n {
			n, since = m, time.Now()
		} else if n > 0 && time.Since(since) > 3*time.Second {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

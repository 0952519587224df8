package digest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/analysis"
	"github.com/digestbot/digestbot/store/storetest"
	"github.com/digestbot/digestbot/subscriptions"
	"github.com/digestbot/digestbot/subscriptions/benchgen"
)

// benchArticles turns generated articles into archive articles from a few
// dozen outlets, published over a day.
func benchArticles(g *benchgen.Generator, n int) []*digestbot.Article {
	gen := g.Articles(n)
	out := make([]*digestbot.Article, n)
	for i, a := range gen {
		url := fmt.Sprintf("https://outlet%02d.example/%d", i%40, i)
		out[i] = &digestbot.Article{
			ID: digestbot.ArticleID(url, "", "", ""), Title: a.Title, URL: url, Text: a.Text,
			Source:    fmt.Sprintf("Outlet %02d", i%40),
			Published: day.Add(time.Duration(i) * 86 * time.Second),
			Summary:   strings.TrimSpace(a.Text[:min(len(a.Text), 280)]),
		}
	}
	return out
}

// cpuTime is the CPU time this process has used, user and system: on a
// shared machine it says more than the wall clock.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkComposeRender composes and renders the digests of 10,000
// channels with 20 pending items each (3 subscriptions per channel; items
// drawn from 5,000 articles of about 3 KB; terms taken from the article so
// that the query-biased summary has a sentence to find). One operation is
// all 10,000 channels, on all CPUs.
func BenchmarkComposeRender(b *testing.B) {
	const channels, perChannel = 10_000, 20
	g := benchgen.New(benchgen.Options{Seed: 1})
	arts := benchArticles(g, 5_000)
	byID := make(map[string]*digestbot.Article, len(arts))
	for _, a := range arts {
		byID[a.ID] = a
	}
	words := make([][]analysis.Token, len(arts))
	for i, a := range arts {
		words[i] = analysis.Tokenize(a.Text)
	}
	r := rand.New(rand.NewPCG(1, 1))
	queues := make([][]digestbot.PendingItem, channels)
	for c := range queues {
		for range perChannel {
			i := r.IntN(len(arts))
			a, toks := arts[i], words[i]
			term := toks[len(toks)/2+r.IntN(len(toks)/2)].Text
			label := fmt.Sprintf("query %d-%d", c, r.IntN(3))
			queues[c] = append(queues[c], digestbot.PendingItem{GuildID: "g", ChannelID: fmt.Sprint(c), ArticleID: a.ID,
				Hits: []digestbot.Hit{{SubscriptionID: label, Label: label, Terms: []string{term}}}})
		}
	}
	words = nil
	runtime.GC()
	workers := runtime.GOMAXPROCS(0)
	b.ResetTimer()
	cpu0 := cpuTime()
	for b.Loop() {
		cache := NewArticleCache(0) // cold: every article is analysed once per operation
		var wg sync.WaitGroup
		var msgs [16]int
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for c := w; c < channels; c += workers {
					d := Compose(ChannelInfo{Ref: digestbot.ChannelRef{GuildID: "g", ChannelID: fmt.Sprint(c)}}, queues[c], byID, ComposeOptions{Now: now, Cache: cache})
					msgs[w%16] += len(Render(d, DiscordLimits))
				}
			}()
		}
		wg.Wait()
	}
	b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
	b.ReportMetric(float64(channels), "channels/op")
}

// BenchmarkFullCycle is one matcher and digest cycle: 1,000 new articles
// matched against 100,000 subscriptions of 10,000 channels (100 guilds), the
// hits written to the channels' pending queues in a real redis-server, and
// every channel's digest composed and rendered from its queue as read back
// from Redis. The index and the articles are built outside the timer (the
// bot keeps its index in memory; the articles are the ones just ingested).
func BenchmarkFullCycle(b *testing.B) {
	const nArticles, nSubs, nChannels = 1_000, 100_000, 10_000
	st := storetest.Open(b)
	ctx := context.Background()
	g := benchgen.New(benchgen.Options{Seed: 2})
	arts := benchArticles(g, nArticles)
	byID := make(map[string]*digestbot.Article, len(arts))
	for _, a := range arts {
		byID[a.ID] = a
	}
	index := subscriptions.NewIndex()
	type sub struct {
		ref   digestbot.ChannelRef
		label string
	}
	subs := map[string]sub{}
	for i, q := range g.Queries(nSubs) {
		pq, err := subscriptions.Parse(q)
		if err != nil {
			b.Fatal(err)
		}
		c := i % nChannels
		id := fmt.Sprint(i)
		subs[id] = sub{digestbot.ChannelRef{GuildID: fmt.Sprintf("guild%03d", c%100), ChannelID: fmt.Sprintf("chan%05d", c)}, pq.String()}
		if err := index.Add(id, pq); err != nil {
			b.Fatal(err)
		}
	}
	refs := make([]digestbot.ChannelRef, 0, nChannels)
	for c := range nChannels {
		refs = append(refs, digestbot.ChannelRef{GuildID: fmt.Sprintf("guild%03d", c%100), ChannelID: fmt.Sprintf("chan%05d", c)})
	}
	workers := runtime.GOMAXPROCS(0) * 4 // Redis round trips overlap
	var hits, items, digests int
	var tMatch, tEnqueue, tCompose, tCPU time.Duration
	b.ResetTimer()
	for b.Loop() {
		// Fresh queues for each cycle, outside the timer.
		b.StopTimer()
		if err := st.Client().FlushDB(ctx).Err(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		t0, c0 := time.Now(), cpuTime()

		// Match: one pending item per (channel, article) with every hit.
		var queue []digestbot.PendingItem
		var doc subscriptions.Doc
		for _, a := range arts {
			doc.Reset(a.Title, a.Text, a.Source, a.Tags)
			at := map[digestbot.ChannelRef]int{}
			for _, m := range index.Match(&doc) {
				s := subs[m.ID]
				hits++
				hit := digestbot.Hit{SubscriptionID: m.ID, Label: s.label, Terms: m.Terms}
				if i, ok := at[s.ref]; ok {
					queue[i].Hits = append(queue[i].Hits, hit)
					continue
				}
				at[s.ref] = len(queue)
				queue = append(queue, digestbot.PendingItem{GuildID: s.ref.GuildID, ChannelID: s.ref.ChannelID, ArticleID: a.ID, Hits: []digestbot.Hit{hit}, QueuedAt: now})
			}
		}
		items += len(queue)
		t1 := time.Now()
		if err := st.EnqueuePending(ctx, queue); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()

		// Compose every channel's digest from its queue in Redis.
		cache := NewArticleCache(0)
		var wg sync.WaitGroup
		var mu sync.Mutex
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n := 0
				for c := w; c < len(refs); c += workers {
					pend, err := st.Pending(ctx, refs[c].GuildID, refs[c].ChannelID)
					if err != nil {
						b.Error(err)
						return
					}
					if d := Compose(ChannelInfo{Ref: refs[c]}, pend, byID, ComposeOptions{Now: now, Cache: cache}); d != nil {
						Render(d, DiscordLimits)
						n++
					}
				}
				mu.Lock()
				digests += n
				mu.Unlock()
			}()
		}
		wg.Wait()
		tMatch, tEnqueue, tCompose = tMatch+t1.Sub(t0), tEnqueue+t2.Sub(t1), tCompose+time.Since(t2)
		tCPU += cpuTime() - c0
	}
	ops := float64(b.N)
	b.ReportMetric(tCPU.Seconds()/ops, "cpu-s/op")
	b.ReportMetric(tMatch.Seconds()/ops, "s-match/op")
	b.ReportMetric(tEnqueue.Seconds()/ops, "s-enqueue/op")
	b.ReportMetric(tCompose.Seconds()/ops, "s-compose/op")
	b.ReportMetric(float64(hits)/ops, "hits/op")
	b.ReportMetric(float64(items)/ops, "pending-items/op")
	b.ReportMetric(float64(digests)/ops, "digests/op")
}

// BenchmarkAnalyze is the per-article cost that ArticleCache saves: the
// sentences, their postings and the title signature of a 3 KB article.
func BenchmarkAnalyze(b *testing.B) {
	arts := benchArticles(benchgen.New(benchgen.Options{Seed: 1}), 200)
	i := 0
	for b.Loop() {
		analyze(arts[i%len(arts)])
		i++
	}
}

// BenchmarkStories groups the 100 results a /lookup keeps into stories
// (what the lookup adds to its first answer):
//
//	go test ./digest -run '^$' -bench Stories -count 6
func BenchmarkStories(b *testing.B) {
	arts := benchArticles(benchgen.New(benchgen.Options{Seed: 1}), 100)
	refs := make([]StoryRef, len(arts))
	for i, a := range arts {
		refs[i] = StoryRef{Title: a.Title, Published: a.Published}
	}
	for b.Loop() {
		Stories(refs)
	}
}

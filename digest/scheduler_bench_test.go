package digest

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/store"
	"github.com/digestbot/digestbot/store/storetest"
	"github.com/redis/go-redis/v9"
)

// nullChat is a chat service that takes every post at once: the
// scheduler's benchmark measures the bot's side only.
type nullChat struct{ n atomic.Int64 }

func (c *nullChat) Post(context.Context, digestbot.ChannelRef, Message, string) (string, error) {
	return "m" + strconv.FormatInt(c.n.Add(1), 10), nil
}
func (c *nullChat) Recent(context.Context, digestbot.ChannelRef, time.Time, time.Time) ([]Posted, error) {
	return nil, nil
}
func (c *nullChat) ChannelKind(context.Context, digestbot.ChannelRef) (string, error) {
	return KindText, nil
}
func (c *nullChat) StartThread(_ context.Context, _ digestbot.ChannelRef, id, _ string) (string, error) {
	return id, nil
}
func (c *nullChat) PostForum(context.Context, digestbot.ChannelRef, string, Message) (string, error) {
	return "f", nil
}
func (c *nullChat) FindForumPost(context.Context, digestbot.ChannelRef, string) (string, error) {
	return "", nil
}
func (c *nullChat) AddButton(context.Context, digestbot.ChannelRef, string, Message, string, string) error {
	return nil
}

// commandCalls sums the commands every master of the store's Redis has
// run (INFO commandstats).
func commandCalls(b *testing.B, st *store.Store) int64 {
	b.Helper()
	var total atomic.Int64
	each := func(ctx context.Context, c *redis.Client) error {
		info, err := c.Info(ctx, "commandstats").Result()
		if err != nil {
			return err
		}
		for line := range strings.SplitSeq(info, "\n") {
			if i := strings.Index(line, "calls="); i >= 0 {
				n, _ := strconv.ParseInt(strings.SplitN(line[i+6:], ",", 2)[0], 10, 64)
				total.Add(n)
			}
		}
		return nil
	}
	ctx := context.Background()
	var err error
	if cc, ok := st.Client().(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, each)
	} else {
		err = each(ctx, st.Client().(*redis.Client))
	}
	if err != nil {
		b.Fatal(err)
	}
	return total.Load()
}

// BenchmarkSchedulerDueAtOnce: 100,000 channels, each with a subscription
// and a pending story, fall due in the same minute; three schedulers (three
// replicas, each with its own connections) on a Redis Cluster take, compose
// and post all of them to a chat service that answers at once. It reports
// the time to deliver all and the Redis commands per due channel. Run it with
//
//	go test ./digest -run '^$' -bench SchedulerDueAtOnce -benchtime 1x -timeout 60m
//
// (DIGESTBOT_BENCH_CHANNELS sets another number of channels.)
func BenchmarkSchedulerDueAtOnce(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("DIGESTBOT_BENCH_CHANNELS")); err == nil && v > 0 {
		n = v
	}
	url := storetest.Cluster(b)
	for range b.N {
		prefix := storetest.UniquePrefix()
		st := storetest.OpenOn(b, store.Options{URL: url, Prefix: prefix})
		ctx := context.Background()
		b.StopTimer()
		// One story, shared by all channels; a subscription and a pending
		// item per channel; all due now.
		a := &digestbot.Article{Title: "Harbour cranes arrive", URL: "https://example.org/cranes", Source: "Example", Text: "The cranes arrived at the harbour.", Published: time.Now()}
		a.ID = digestbot.ArticleID(a.URL, "", "", "")
		if _, err := st.PutArticles(ctx, []*digestbot.Article{a}); err != nil {
			b.Fatal(err)
		}
		var wg sync.WaitGroup
		const setupWorkers = 16
		errs := make(chan error, setupWorkers)
		for w := range setupWorkers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var items []digestbot.PendingItem
				q := st.DueQueue("digests")
				for i := w; i < n; i += setupWorkers {
					ref := digestbot.ChannelRef{GuildID: fmt.Sprintf("g%d", i%1000), ChannelID: fmt.Sprintf("c%d", i)}
					sub := &digestbot.Subscription{GuildID: ref.GuildID, ChannelID: ref.ChannelID, Query: "harbour", CreatedAt: time.Now()}
					sub.ID = digestbot.SubscriptionID(sub.GuildID, sub.ChannelID, sub.Query, "")
					if _, err := st.AddSubscription(ctx, sub, 1000); err != nil {
						errs <- err
						return
					}
					items = append(items, digestbot.PendingItem{GuildID: ref.GuildID, ChannelID: ref.ChannelID, ArticleID: a.ID, QueuedAt: time.Now(),
						Hits: []digestbot.Hit{{SubscriptionID: sub.ID, Label: "harbour", Terms: []string{"harbour"}}}})
					if len(items) == 500 {
						if err := st.EnqueuePending(ctx, items); err != nil {
							errs <- err
							return
						}
						items = items[:0]
					}
					if err := q.Put(ctx, ref.Key(), time.Now(), digestbot.PutAlways); err != nil {
						errs <- err
						return
					}
				}
				if err := st.EnqueuePending(ctx, items); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
		chat := &nullChat{}
		before := commandCalls(b, st)
		b.StartTimer()
		start := time.Now()
		runCtx, stop := context.WithCancel(ctx)
		var done sync.WaitGroup
		var delivered atomic.Int64
		all := make(chan struct{})
		for range 3 {
			rst := storetest.OpenOn(b, store.Options{URL: url, Prefix: prefix})
			d := &Deliverer{Store: rst, Transport: chat, Logger: quietLog}
			s := &Scheduler{
				Store: rst, Queue: rst.DueQueue("digests"), Workers: 32, Logger: quietLog,
				Defaults: Defaults{Spec: "daily 08:00", TimeZone: "UTC"},
				Deliver: func(ctx context.Context, ref digestbot.ChannelRef) (Result, error) {
					res, err := d.Deliver(ctx, ref)
					if err == nil && res.Posted > 0 && delivered.Add(1) == int64(n) {
						close(all)
					}
					return res, err
				},
			}
			done.Add(1)
			go func() { defer done.Done(); _ = s.Run(runCtx) }()
		}
		select {
		case <-all:
		case <-time.After(30 * time.Minute):
			b.Fatalf("%d of %d channels delivered in 30 minutes", delivered.Load(), n)
		}
		took := time.Since(start)
		stop()
		done.Wait()
		b.StopTimer()
		calls := commandCalls(b, st) - before
		b.ReportMetric(took.Seconds(), "s/all")
		b.ReportMetric(float64(n)/took.Seconds(), "channels/s")
		b.ReportMetric(float64(calls)/float64(n), "redis-cmds/channel")
	}
}

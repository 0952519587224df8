package ingest

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
	"github.com/digestbot/digestbot/store"
	"github.com/digestbot/digestbot/store/storetest"
)

// TestPollThroughputBench measures polling with 1 and with 3 replicas:
// 10,000 servers' feeds (500 servers, 20 each) on 20 loopback hosts,
// polled every minute (the shortest interval) from one Redis Cluster. It
// reports the fetches per second of the first round, when every feed is
// due at once (what the replicas can do), and for the rounds after it the
// time between two fetches of each URL as a share of the interval: near 1
// means no URL was fetched twice in an interval, at most 1.1 that each
// was fetched within a tenth of an interval of falling due. Jitter is off,
// so a URL falls due exactly an interval after its last fetch began.
//
// It runs for about five minutes, so only when DIGESTBOT_POLL_BENCH is set:
//
//	DIGESTBOT_POLL_BENCH=1 go test ./ingest -run TestPollThroughputBench -v -timeout 20m
//
// DIGESTBOT_POLL_BENCH_FEEDS changes the number of feeds.
func TestPollThroughputBench(t *testing.T) {
	if os.Getenv("DIGESTBOT_POLL_BENCH") == "" {
		t.Skip("set DIGESTBOT_POLL_BENCH=1 to measure polling throughput (about five minutes)")
	}
	feeds := 10_000
	if v := os.Getenv("DIGESTBOT_POLL_BENCH_FEEDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 20 {
			t.Fatalf("DIGESTBOT_POLL_BENCH_FEEDS=%q: want a number of at least 20", v)
		}
		feeds = n
	}
	url := storetest.Cluster(t)
	for _, n := range []int{1, 3} {
		t.Run(fmt.Sprintf("%d replicas", n), func(t *testing.T) { benchPolling(t, url, feeds, n) })
	}
}

func benchPolling(t *testing.T, url string, feeds, replicas int) {
	const (
		hosts    = 20
		interval = time.Minute
		rounds   = 3 // the first, all due at once, and two more
	)
	farm := newFeedFarm(t, hosts, feeds/hosts, 0)
	urls := farm.urls()
	prefix := storetest.UniquePrefix()
	st := storetest.OpenOn(t, store.Options{URL: url, Prefix: prefix})
	ctx := context.Background()
	var wg sync.WaitGroup
	work := make(chan int)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				f := &digestbot.Feed{GuildID: fmt.Sprintf("g%d", i%(feeds/20)), URL: urls[i]}
				if _, err := st.AddFeed(ctx, f, 100); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	for i := range urls {
		work <- i
	}
	close(work)
	wg.Wait()

	var rs []*replica
	for i := range replicas {
		rs = append(rs, newReplica(t, fmt.Sprintf("replica-%d", i), url, prefix, PollerOptions{
			Interval: interval, PerHost: 2, HostDelay: 10 * time.Millisecond, Rand: func() float64 { return 0 },
		}))
	}
	start := time.Now()
	stop := runReplicas(rs)
	defer stop()
	fetchedOnce := func() bool {
		farm.mu.Lock()
		defer farm.mu.Unlock()
		return len(farm.fetches) == len(urls)
	}
	waitFor(t, 10*interval, "every feed to be fetched once", fetchedOnce)
	first := time.Since(start)
	time.Sleep(time.Duration(rounds-1)*interval + interval/2 - first%interval)
	stop()

	all := farm.fetched()
	var ratios []float64
	fetches := 0
	for _, u := range urls {
		ts := all[u]
		fetches += len(ts)
		for i := 1; i < len(ts); i++ {
			ratios = append(ratios, float64(ts[i].Sub(ts[i-1]))/float64(interval))
		}
	}
	slices.Sort(ratios)
	q := func(p float64) float64 { return ratios[min(len(ratios)-1, int(p*float64(len(ratios))))] }
	// A URL fetched twice in one interval shows as a gap near 0; the gaps a
	// little under 1 are the time between a worker's clock reading and its
	// request reaching the server, which differs from fetch to fetch.
	twice, late := 0, 0
	for _, r := range ratios {
		if r < 0.5 {
			twice++
		}
		if r > 1.1 {
			late++
		}
	}
	farm.mu.Lock()
	byAgent := fmt.Sprint(farm.byAgent)
	farm.mu.Unlock()
	t.Logf("%d replicas, %d feeds on %d hosts: first round %.1f s = %.0f fetches/s; %d fetches in %.0f s (%s)",
		replicas, len(urls), hosts, first.Seconds(), float64(len(urls))/first.Seconds(), fetches, time.Since(start).Seconds(), byAgent)
	if len(ratios) > 0 {
		t.Logf("gap between two fetches of a URL / interval, %d gaps: min %.3f, p50 %.3f, p99 %.3f, max %.3f; fetched twice in an interval: %d, later than 1.1: %d",
			len(ratios), ratios[0], q(0.5), q(0.99), ratios[len(ratios)-1], twice, late)
	}
}

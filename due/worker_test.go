package due_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/due"
	"github.com/digestbot/digestbot/store"
	"github.com/digestbot/digestbot/store/storetest"
)

// Three workers (as three replicas would) share one queue on a real Redis:
// every due entry runs exactly once per due time, and entries come back at
// the time their handler gives.
func TestReplicasShareTheQueue(t *testing.T) {
	storetest.EachRealBackend(t, testReplicasShareTheQueue)
}

func testReplicasShareTheQueue(t *testing.T, b *storetest.Backend) {
	st := b.Open(t, store.Options{})
	q := st.DueQueue("test")
	ctx := context.Background()
	now := time.Now()
	const n = 120
	for i := range n {
		if err := q.Put(ctx, fmt.Sprintf("m%d", i), now.Add(-time.Second), digestbot.PutAlways); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	runs := map[string]int{}
	byWorker := map[int]int{}
	var total atomic.Int32
	done := make(chan struct{})
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for w := range 3 {
		wk := &due.Worker{
			Name: "test", Queue: q, Workers: 4, Poll: 20 * time.Millisecond,
			Handle: func(ctx context.Context, e digestbot.DueEntry) due.Outcome {
				mu.Lock()
				runs[e.Member]++
				byWorker[w]++
				mu.Unlock()
				time.Sleep(2 * time.Millisecond)
				if total.Add(1) == n {
					close(done)
				}
				return due.Outcome{Next: time.Now().Add(time.Hour)}
			},
		}
		wg.Add(1)
		go func() { defer wg.Done(); wk.Run(runCtx) }()
	}
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("only %d of %d entries ran", total.Load(), n)
	}
	time.Sleep(100 * time.Millisecond) // a second run would show up now
	stop()
	wg.Wait()
	for m, c := range runs {
		if c != 1 {
			t.Errorf("%s ran %d times", m, c)
		}
	}
	if len(runs) != n {
		t.Errorf("%d entries ran, want %d", len(runs), n)
	}
	for w := range 3 {
		if byWorker[w] == 0 {
			t.Errorf("worker %d ran nothing: %v", w, byWorker)
		}
	}
	at, ok, err := q.When(ctx, "m0")
	if err != nil || !ok || at.Before(now.Add(59*time.Minute)) {
		t.Errorf("m0 is due again %v (%v, %v), want in an hour", at, ok, err)
	}
}

// A handler that panics does not stop the worker; the entry is retried
// later, counted as a failure.
func TestAPanicIsAFailureRetriedLater(t *testing.T) {
	storetest.EachBackend(t, testAPanicIsAFailureRetriedLater)
}

func testAPanicIsAFailureRetriedLater(t *testing.T, b *storetest.Backend) {
	st := b.Open(t, store.Options{})
	q := st.DueQueue("test")
	ctx := context.Background()
	if err := q.Put(ctx, "boom", time.Now().Add(-time.Second), digestbot.PutAlways); err != nil {
		t.Fatal(err)
	}
	if err := q.Put(ctx, "fine", time.Now().Add(-time.Second), digestbot.PutAlways); err != nil {
		t.Fatal(err)
	}
	ran := make(chan string, 4)
	runCtx, stop := context.WithCancel(ctx)
	wk := &due.Worker{
		Name: "test", Queue: q, Poll: 10 * time.Millisecond,
		Handle: func(ctx context.Context, e digestbot.DueEntry) due.Outcome {
			ran <- e.Member
			if e.Member == "boom" {
				panic("handler bug")
			}
			return due.Outcome{Next: time.Now().Add(time.Hour)}
		},
	}
	go wk.Run(runCtx)
	got := map[string]bool{}
	for len(got) < 2 {
		select {
		case m := <-ran:
			got[m] = true
		case <-time.After(10 * time.Second):
			t.Fatalf("ran %v", got)
		}
	}
	stop()
	// The run is finished a moment after it panicked; until then the
	// entry carries its take (15 s).
	var at time.Time
	var ok bool
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if at, ok, _ = q.When(ctx, "boom"); ok && at.After(time.Now().Add(30*time.Second)) {
			break
		}
	}
	if !ok || at.Before(time.Now().Add(30*time.Second)) {
		t.Errorf("after a panic the entry is due %v (%v), want after a backoff of about a minute", at, ok)
	}
	es, _ := q.Take(ctx, 0, at.Add(time.Second), 100, time.Minute)
	for sh := 1; sh < q.Shards(); sh++ {
		more, _ := q.Take(ctx, sh, at.Add(time.Second), 100, time.Minute)
		es = append(es, more...)
	}
	for _, e := range es {
		if e.Member == "boom" && e.Failures != 1 {
			t.Errorf("the panic counted %d failures, want 1", e.Failures)
		}
	}
}

// A closed gate takes nothing; opening it lets the work run.
func TestGateHoldsWorkBack(t *testing.T) {
	storetest.EachBackend(t, testGateHoldsWorkBack)
}

func testGateHoldsWorkBack(t *testing.T, b *storetest.Backend) {
	st := b.Open(t, store.Options{})
	q := st.DueQueue("test")
	ctx := context.Background()
	if err := q.Put(ctx, "x", time.Now().Add(-time.Second), digestbot.PutAlways); err != nil {
		t.Fatal(err)
	}
	var open atomic.Bool
	ran := make(chan struct{}, 1)
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	wk := &due.Worker{
		Name: "test", Queue: q, Poll: 10 * time.Millisecond, Gate: open.Load,
		Handle: func(ctx context.Context, e digestbot.DueEntry) due.Outcome {
			ran <- struct{}{}
			return due.Outcome{}
		},
	}
	go wk.Run(runCtx)
	select {
	case <-ran:
		t.Fatal("ran while the gate was closed")
	case <-time.After(200 * time.Millisecond):
	}
	open.Store(true)
	select {
	case <-ran:
	case <-time.After(10 * time.Second):
		t.Fatal("did not run after the gate opened")
	}
}

// A run longer than the take keeps its entry: the take is renewed, so no
// other replica runs it meanwhile.
func TestALongRunKeepsItsTake(t *testing.T) {
	storetest.EachRealBackend(t, testALongRunKeepsItsTake)
}

func testALongRunKeepsItsTake(t *testing.T, b *storetest.Backend) {
	st := b.Open(t, store.Options{})
	q := st.DueQueue("test")
	ctx := context.Background()
	if err := q.Put(ctx, "slow", time.Now().Add(-time.Second), digestbot.PutAlways); err != nil {
		t.Fatal(err)
	}
	var runs atomic.Int32
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for range 2 {
		wk := &due.Worker{
			Name: "test", Queue: q, Poll: 20 * time.Millisecond, Hold: 300 * time.Millisecond,
			Handle: func(ctx context.Context, e digestbot.DueEntry) due.Outcome {
				runs.Add(1)
				time.Sleep(time.Second)
				return due.Outcome{Next: time.Now().Add(time.Hour)}
			},
		}
		wg.Add(1)
		go func() { defer wg.Done(); wk.Run(runCtx) }()
	}
	time.Sleep(1500 * time.Millisecond)
	stop()
	wg.Wait()
	if n := runs.Load(); n != 1 {
		t.Errorf("a run three times longer than its take ran %d times, want once", n)
	}
}

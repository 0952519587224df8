package lease

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/digestbot/digestbot/store"
	"github.com/digestbot/digestbot/store/storetest"
)

// waitFor polls cond for up to 10 s (generous: the test asserts what
// happens, not how fast).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting until %s", what)
}

func TestOneReplicaRunsTheJobAndAnotherTakesOver(t *testing.T) {
	storetest.EachBackend(t, testOneReplicaRunsTheJobAndAnotherTakesOver)
}

func testOneReplicaRunsTheJobAndAnotherTakesOver(t *testing.T, b *storetest.Backend) {
	st := b.Open(t, store.Options{})
	var running, maxRunning atomic.Int32
	var mu sync.Mutex
	who := ""
	job := func(name string) func(context.Context) {
		return func(ctx context.Context) {
			n := running.Add(1)
			if n > maxRunning.Load() {
				maxRunning.Store(n)
			}
			mu.Lock()
			who = name
			mu.Unlock()
			<-ctx.Done()
			running.Add(-1)
		}
	}
	ctxs := map[string]context.CancelFunc{}
	var wg sync.WaitGroup
	for _, name := range []string{"a", "b"} {
		ctx, cancel := context.WithCancel(context.Background())
		ctxs[name] = cancel
		replica := st // each replica with its own connection to the same Redis
		if name == "b" {
			replica = b.Replica(t, st)
		}
		l := &Lease{Store: replica, Name: "poller", Holder: name, TTL: 300 * time.Millisecond}
		wg.Add(1)
		go func() { defer wg.Done(); l.Run(ctx, job(name)) }()
	}
	defer func() {
		for _, c := range ctxs {
			c()
		}
		wg.Wait()
	}()
	waitFor(t, "one replica runs the job", func() bool { return running.Load() == 1 })
	time.Sleep(time.Second) // several renewals: the other replica must stay idle
	mu.Lock()
	first := who
	mu.Unlock()
	ctxs[first]() // the running replica shuts down
	other := map[string]string{"a": "b", "b": "a"}[first]
	waitFor(t, "the other replica takes over", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return who == other && running.Load() == 1
	})
	if m := maxRunning.Load(); m != 1 {
		t.Errorf("%d replicas ran the job at once, want 1", m)
	}
}

func TestJobStopsWhenTheLeaseIsLost(t *testing.T) {
	storetest.EachBackend(t, testJobStopsWhenTheLeaseIsLost)
}

func testJobStopsWhenTheLeaseIsLost(t *testing.T, b *storetest.Backend) {
	st := b.Open(t, store.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rec := &recordingStore{Store: st}
	l := &Lease{Store: rec, Name: "poller", Holder: "a", TTL: 300 * time.Millisecond}
	started, stopped := make(chan struct{}), make(chan struct{})
	go l.Run(ctx, func(jctx context.Context) {
		select {
		case <-started:
			return // a second start after the loss; not what this test watches
		default:
		}
		close(started)
		<-jctx.Done()
		close(stopped)
	})
	<-started
	// Another process takes the lease (say this one was paused past its TTL).
	if err := st.DropLease(ctx, "poller", rec.lastHolder()); err != nil {
		t.Fatal(err)
	}
	if ok, err := st.HoldLease(ctx, "poller", "thief", time.Minute); !ok || err != nil {
		t.Fatalf("thief could not take the free lease: %v %v", ok, err)
	}
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("the job kept running after its lease passed to another process")
	}
}

func TestDoSkipsWhileAnotherHoldsTheLease(t *testing.T) {
	storetest.EachBackend(t, testDoSkipsWhileAnotherHoldsTheLease)
}

func testDoSkipsWhileAnotherHoldsTheLease(t *testing.T, b *storetest.Backend) {
	st := b.Open(t, store.Options{})
	ctx := context.Background()
	if ok, _ := st.HoldLease(ctx, "matcher", "other", time.Minute); !ok {
		t.Fatal("could not take a free lease")
	}
	l := &Lease{Store: st, Name: "matcher", Holder: "me"}
	calls := 0
	job := func(context.Context) error { calls++; return nil }
	ran, err := l.Do(ctx, 200*time.Millisecond, job)
	if ran || err != nil || calls != 0 {
		t.Fatalf("Do while another holds the lease: ran=%v err=%v calls=%d", ran, err, calls)
	}
	if err := st.DropLease(ctx, "matcher", "other"); err != nil {
		t.Fatal(err)
	}
	ran, err = l.Do(ctx, 0, job)
	if !ran || err != nil || calls != 1 {
		t.Fatalf("Do on a free lease: ran=%v err=%v calls=%d", ran, err, calls)
	}
	// Done: the lease is handed back at once, not left to expire.
	if ok, _ := st.HoldLease(ctx, "matcher", "other", time.Minute); !ok {
		t.Error("the lease was not dropped after the job")
	}
}

// recordingStore remembers the last holder token a Lease used.
type recordingStore struct {
	Store
	mu   sync.Mutex
	last string
}

func (r *recordingStore) HoldLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	r.mu.Lock()
	r.last = holder
	r.mu.Unlock()
	return r.Store.HoldLease(ctx, name, holder, ttl)
}

func (r *recordingStore) lastHolder() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

// TestDoRecoversAPanickingJob: a job that panics is reported as an error
// and its lease handed back; the process goes on.
func TestDoRecoversAPanickingJob(t *testing.T) {
	storetest.EachBackend(t, testDoRecoversAPanickingJob)
}

func testDoRecoversAPanickingJob(t *testing.T, b *storetest.Backend) {
	st := b.Open(t, store.Options{})
	ctx := context.Background()
	l := &Lease{Store: st, Name: "matcher", Holder: "me"}
	ran, err := l.Do(ctx, 0, func(context.Context) error {
		var m map[string]int
		m["boom"]++ // a nil-map write, as a data-dependent bug would
		return nil
	})
	if !ran || err == nil || !strings.Contains(err.Error(), "panicked") {
		t.Fatalf("Do with a panicking job: ran=%v err=%v", ran, err)
	}
	if ok, _ := st.HoldLease(ctx, "matcher", "other", time.Minute); !ok {
		t.Error("the lease of a job that panicked was not handed back")
	}
}

// TestTwoHoldsInOneProcessAreTwoHolders: one process's holder name does
// not let a second job in while the first holds the lease, and the first
// one's end does not release the lease of the second.
func TestTwoHoldsInOneProcessAreTwoHolders(t *testing.T) {
	storetest.EachBackend(t, testTwoHoldsInOneProcessAreTwoHolders)
}

func testTwoHoldsInOneProcessAreTwoHolders(t *testing.T, b *storetest.Backend) {
	st := b.Open(t, store.Options{})
	ctx := context.Background()
	l := &Lease{Store: st, Name: "matcher", Holder: "same-process"}
	inside, release := make(chan struct{}), make(chan struct{})
	go l.Do(ctx, 0, func(context.Context) error { close(inside); <-release; return nil })
	<-inside
	ran, err := l.Do(ctx, 0, func(context.Context) error { return nil })
	close(release)
	if ran || err != nil {
		t.Fatalf("a second job of the same process ran while the first held the lease: ran=%v err=%v", ran, err)
	}
}

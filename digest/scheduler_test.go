package digest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/store"
	"github.com/digestbot/digestbot/store/storetest"
)

func TestScheduleTableResolve(t *testing.T) {
	defaults := Defaults{Spec: "daily 08:00", TimeZone: "Europe/Paris"}
	all := []*digestbot.ChannelSchedule{
		{GuildID: "g1", Spec: "weekly mon 09:00", TimeZone: "Asia/Shanghai"}, // g1's default
		{GuildID: "g1", ChannelID: "own", Spec: "hourly"},                    // zone from the guild
		{GuildID: "g1", ChannelID: "zone-only", TimeZone: "America/New_York"},
		{GuildID: "g1", ChannelID: "broken", Spec: "* * * * *"}, // stored before a stricter minimum
		{GuildID: "g2", ChannelID: "c", Spec: "daily 18:30", TimeZone: "UTC"},
	}
	tests := []struct {
		name         string
		ref          digestbot.ChannelRef
		want         string
		wantProblems int
	}{
		{"channel's own spec, guild zone", digestbot.ChannelRef{GuildID: "g1", ChannelID: "own"}, "hourly (Asia/Shanghai)", 0},
		{"guild default", digestbot.ChannelRef{GuildID: "g1", ChannelID: "other"}, "weekly mon 09:00 (Asia/Shanghai)", 0},
		{"own zone, guild spec", digestbot.ChannelRef{GuildID: "g1", ChannelID: "zone-only"}, "weekly mon 09:00 (America/New_York)", 0},
		{"invalid stored spec falls back", digestbot.ChannelRef{GuildID: "g1", ChannelID: "broken"}, "weekly mon 09:00 (Asia/Shanghai)", 1},
		{"global default", digestbot.ChannelRef{GuildID: "g3", ChannelID: "c"}, "daily 08:00 (Europe/Paris)", 0},
		{"other guild's own", digestbot.ChannelRef{GuildID: "g2", ChannelID: "c"}, "daily 18:30 (UTC)", 0},
	}
	table := NewScheduleTable(all, defaults)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, problems := table.Resolve(tt.ref)
			if s.String() != tt.want || len(problems) != tt.wantProblems {
				t.Errorf("Resolve = %s, %v; want %s with %d problems", s, problems, tt.want, tt.wantProblems)
			}
		})
	}
}

// schedStore is a store with subscriptions for the scheduler's tests.
func schedStore(t *testing.T, b *storetest.Backend, refs ...digestbot.ChannelRef) *store.Store {
	t.Helper()
	st := b.Open(t, store.Options{})
	for i, ref := range refs {
		sub := &digestbot.Subscription{GuildID: ref.GuildID, ChannelID: ref.ChannelID, Query: fmt.Sprintf("w%d", i), CreatedAt: now}
		sub.ID = digestbot.SubscriptionID(sub.GuildID, sub.ChannelID, sub.Query, "")
		if _, err := st.AddSubscription(context.Background(), sub, 100000); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

func channels(n int) []digestbot.ChannelRef {
	var out []digestbot.ChannelRef
	for i := range n {
		out = append(out, digestbot.ChannelRef{GuildID: fmt.Sprintf("g%d", i%7), ChannelID: fmt.Sprintf("c%d", i)})
	}
	return out
}

// Three replicas share the due digests: each channel's digest goes out
// once, every replica does some of the work, and each channel is then due
// at its schedule's next time, spread within the first half-minute.
func TestReplicasShareDueDigests(t *testing.T) {
	storetest.EachRealBackend(t, testReplicasShareDueDigests)
}

func testReplicasShareDueDigests(t *testing.T, b *storetest.Backend) {
	refs := channels(90)
	st := schedStore(t, b, refs...)
	ctx := context.Background()
	clock := newClock(time.Now().UTC())
	var mu sync.Mutex
	runs := map[digestbot.ChannelRef]int{}
	byReplica := map[int]int{}
	done := make(chan struct{})
	var total atomic.Int32
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for r := range 3 {
		rst := st // each replica with its own connection to the same Redis
		if r > 0 {
			rst = b.Replica(t, st)
		}
		s := &Scheduler{
			Store: rst, Queue: rst.DueQueue("digests"), Clock: clock.Now, Logger: quietLog, Workers: 4,
			Defaults: Defaults{Spec: "daily 08:00", TimeZone: "UTC"},
			Deliver: func(ctx context.Context, ref digestbot.ChannelRef) (Result, error) {
				mu.Lock()
				runs[ref]++
				byReplica[r]++
				mu.Unlock()
				// Posting takes a moment, as it does against Discord: one
				// replica alone would need 5.6 s for the 90, two 2.8 s,
				// longer than the others take to look for due work (1 s,
				// give or take half).
				time.Sleep(250 * time.Millisecond)
				if total.Add(1) == int32(len(refs)) {
					close(done)
				}
				return Result{Items: 1, Posted: 1}, nil
			},
		}
		wg.Add(1)
		go func() { defer wg.Done(); _ = s.Run(runCtx) }()
	}
	// Every replica is running when the digests fall due.
	q0 := st.DueQueue("digests")
	for _, ref := range refs {
		if err := q0.Put(ctx, ref.Key(), clock.Now().Add(-time.Minute), digestbot.PutAlways); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("%d of %d digests went out", total.Load(), len(refs))
	}
	time.Sleep(200 * time.Millisecond)
	stop()
	wg.Wait()
	for _, ref := range refs {
		if runs[ref] != 1 {
			t.Errorf("%v delivered %d times, want once", ref, runs[ref])
		}
	}
	for r := range 3 {
		if byReplica[r] == 0 {
			t.Errorf("replica %d delivered nothing: %v", r, byReplica)
		}
	}
	q := st.DueQueue("digests")
	next := time.Date(clock.Now().Year(), clock.Now().Month(), clock.Now().Day(), 8, 0, 0, 0, time.UTC)
	if !next.After(clock.Now()) {
		next = next.Add(24 * time.Hour)
	}
	distinct := map[time.Time]bool{}
	for _, ref := range refs {
		at, ok, err := q.When(ctx, ref.Key())
		if err != nil || !ok || at.Before(next) || !at.Before(next.Add(DefaultSpread)) {
			t.Fatalf("%v next due %v (%v, %v), want within 30 s after %v", ref, at, ok, err, next)
		}
		distinct[at] = true
	}
	if len(distinct) < len(refs)/2 {
		t.Errorf("%d distinct due times for %d channels: not spread", len(distinct), len(refs))
	}
}

// What a delivery answers decides when the channel is due again.
func TestOutcomes(t *testing.T) {
	storetest.EachRealBackend(t, testOutcomes)
}

func testOutcomes(t *testing.T, b *storetest.Backend) {
	ref := digestbot.ChannelRef{GuildID: "g1", ChannelID: "c1"}
	clock := newClock(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC))
	tests := []struct {
		name       string
		res        Result
		err        error
		failures   int
		wantAfter  time.Duration // due again at least this long after now
		wantBefore time.Duration // and before this
		wantFailed bool
	}{
		{"delivered: next schedule", Result{Items: 3}, nil, 0, 22 * time.Hour, 22*time.Hour + DefaultSpread, false},
		{"busy: soon after the claim can have lapsed", Result{Busy: true}, nil, 0, DefaultClaimTTL, 2 * DefaultClaimTTL, false},
		{"interrupted by a stop: at once", Result{Interrupted: true}, nil, 0, 0, time.Second, false},
		{"token refused: in a minute, not a failure", Result{}, digestbot.Errorf(digestbot.EUNAUTHORIZED, "401"), 0, time.Minute, time.Minute + time.Second, false},
		{"failed: backoff", Result{}, digestbot.Errorf(digestbot.EUNAVAILABLE, "503"), 0, 47 * time.Second, time.Minute + time.Second, true},
		{"failed a fifth time: longer", Result{}, digestbot.Errorf(digestbot.EUNAVAILABLE, "503"), 4, 12*time.Minute + 47*time.Second, 16*time.Minute + time.Second, true},
		{"paused: next schedule", Result{Paused: true}, nil, 0, 22 * time.Hour, 22*time.Hour + DefaultSpread, false},
	}
	st := schedStore(t, b, ref)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Scheduler{
				Store: st, Queue: st.DueQueue("digests"), Clock: clock.Now, Logger: quietLog,
				Defaults: Defaults{Spec: "daily 08:00", TimeZone: "UTC"},
				Deliver:  func(context.Context, digestbot.ChannelRef) (Result, error) { return tt.res, tt.err },
			}
			out := s.handle(context.Background(), digestbot.DueEntry{Member: ref.Key(), Failures: tt.failures})
			wait := out.Next.Sub(clock.Now())
			if wait < tt.wantAfter || wait >= tt.wantBefore || out.Failed != tt.wantFailed {
				t.Errorf("next in %v (failed %v), want in [%v, %v) (failed %v)", wait, out.Failed, tt.wantAfter, tt.wantBefore, tt.wantFailed)
			}
		})
	}
	// A channel with nothing pending and no subscription left leaves the queue.
	s := &Scheduler{
		Store: st, Queue: st.DueQueue("digests"), Clock: clock.Now, Logger: quietLog, Defaults: Defaults{Spec: "daily 08:00"},
		Deliver: func(context.Context, digestbot.ChannelRef) (Result, error) { return Result{}, nil },
	}
	gone := digestbot.ChannelRef{GuildID: "g1", ChannelID: "unsubscribed"}
	if out := s.handle(context.Background(), digestbot.DueEntry{Member: gone.Key()}); !out.Next.IsZero() {
		t.Errorf("a channel without subscriptions is due again at %v", out.Next)
	}
}

// Ensure keeps a due time, Reschedule moves it, Sweep schedules the
// subscribed channels that have none, and a digest missed while every
// replica was down is still due.
func TestEnsureRescheduleSweep(t *testing.T) {
	storetest.EachRealBackend(t, testEnsureRescheduleSweep)
}

func testEnsureRescheduleSweep(t *testing.T, b *storetest.Backend) {
	refs := channels(5)
	st := schedStore(t, b, refs...)
	ctx := context.Background()
	clock := newClock(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC))
	s := &Scheduler{
		Store: st, Queue: st.DueQueue("digests"), Clock: clock.Now, Logger: quietLog,
		Defaults: Defaults{Spec: "daily 08:00", TimeZone: "UTC"},
		Deliver:  func(context.Context, digestbot.ChannelRef) (Result, error) { return Result{}, nil },
	}
	missed := clock.Now().Add(-7 * 24 * time.Hour)
	if err := s.Queue.Put(ctx, refs[0].Key(), missed, digestbot.PutAlways); err != nil {
		t.Fatal(err)
	}
	if err := s.Ensure(ctx, refs[0]); err != nil {
		t.Fatal(err)
	}
	if at, _, _ := s.NextRun(ctx, refs[0]); !at.Equal(missed) {
		t.Errorf("Ensure moved a due time to %v", at)
	}
	added, err := s.Sweep(ctx)
	if err != nil || added != 4 {
		t.Fatalf("Sweep = %d, %v; want the 4 channels without a due time", added, err)
	}
	if err := st.SetSchedule(ctx, &digestbot.ChannelSchedule{GuildID: refs[1].GuildID, ChannelID: refs[1].ChannelID, Spec: "hourly"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Reschedule(ctx, refs[1]); err != nil {
		t.Fatal(err)
	}
	at, _, _ := s.NextRun(ctx, refs[1])
	if at.Before(clock.Now()) || at.After(clock.Now().Add(time.Hour+DefaultSpread)) {
		t.Errorf("after /schedule hourly the channel is due %v", at)
	}
	if loc := s.ChannelInfo(ctx, refs[1]).Location; loc != time.UTC {
		t.Errorf("ChannelInfo location %v", loc)
	}
	es, _ := s.Queue.Take(ctx, 0, clock.Now(), 100, time.Minute)
	for sh := 1; sh < s.Queue.Shards(); sh++ {
		more, _ := s.Queue.Take(ctx, sh, clock.Now(), 100, time.Minute)
		es = append(es, more...)
	}
	if len(es) != 1 || es[0].Member != refs[0].Key() {
		t.Errorf("due now: %+v, want only the missed digest", es)
	}
}

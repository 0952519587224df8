package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/store"
	"github.com/digestbot/digestbot/store/storetest"
)

// TestDueQueue runs the due-queue suite on every backend.
func TestDueQueue(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, sb *storetest.Backend) {
		b := backend{sb}
		t.Run("put modes", func(t *testing.T) { testDuePutModes(t, b) })
		t.Run("take, finish and a lapsed take", func(t *testing.T) { testDueTakeFinish(t, b) })
		t.Run("concurrent takers take each member once", func(t *testing.T) { testDueConcurrentTakers(t, b) })
	})
}

func takeAll(t *testing.T, q digestbot.DueQueue, now time.Time, hold time.Duration) []digestbot.DueEntry {
	t.Helper()
	var out []digestbot.DueEntry
	for sh := range q.Shards() {
		es, err := q.Take(context.Background(), sh, now, 1000, hold)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, es...)
	}
	return out
}

func testDuePutModes(t *testing.T, b backend) {
	ctx := context.Background()
	q := b.open(t, store.Options{}).DueQueue("digests")
	base := time.UnixMilli(time.Now().UnixMilli())
	mustPut := func(m string, at time.Time, mode digestbot.PutMode) {
		t.Helper()
		if err := q.Put(ctx, m, at, mode); err != nil {
			t.Fatal(err)
		}
	}
	when := func(m string) time.Time {
		t.Helper()
		at, ok, err := q.When(ctx, m)
		if err != nil || !ok {
			t.Fatalf("When(%s) = %v, %v, %v", m, at, ok, err)
		}
		return at
	}
	mustPut("g/c", base.Add(time.Hour), digestbot.PutAlways)
	mustPut("g/c", base.Add(2*time.Hour), digestbot.PutIfEarlier)
	if got := when("g/c"); !got.Equal(base.Add(time.Hour)) {
		t.Errorf("a later PutIfEarlier moved the due time to %v", got)
	}
	mustPut("g/c", base.Add(time.Minute), digestbot.PutIfEarlier)
	if got := when("g/c"); !got.Equal(base.Add(time.Minute)) {
		t.Errorf("an earlier PutIfEarlier left %v", got)
	}
	mustPut("g/c", base.Add(time.Second), digestbot.PutIfAbsent)
	if got := when("g/c"); !got.Equal(base.Add(time.Minute)) {
		t.Errorf("PutIfAbsent changed a queued member to %v", got)
	}
	mustPut("g/c", base.Add(3*time.Hour), digestbot.PutAlways)
	if got := when("g/c"); !got.Equal(base.Add(3 * time.Hour)) {
		t.Errorf("PutAlways left %v", got)
	}
	if err := q.Remove(ctx, "g/c"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := q.When(ctx, "g/c"); ok {
		t.Error("a removed member is still queued")
	}
	if err := q.Put(ctx, "", base, digestbot.PutAlways); digestbot.ErrorCode(err) != digestbot.EINVALID {
		t.Errorf("an empty member: %v, want EINVALID", err)
	}
}

func testDueTakeFinish(t *testing.T, b backend) {
	ctx := context.Background()
	st := b.open(t, store.Options{})
	q := st.DueQueue("digests")
	now := time.UnixMilli(time.Now().UnixMilli())
	for i := range 40 {
		if err := q.Put(ctx, fmt.Sprintf("g/%d", i), now.Add(-time.Duration(i)*time.Second), digestbot.PutAlways); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Put(ctx, "g/later", now.Add(time.Hour), digestbot.PutAlways); err != nil {
		t.Fatal(err)
	}
	got := takeAll(t, q, now, time.Minute)
	if len(got) != 40 {
		t.Fatalf("took %d members, want the 40 that are due", len(got))
	}
	shards := map[int]bool{}
	for _, e := range got {
		var i int
		fmt.Sscanf(e.Member, "g/%d", &i)
		if !e.Due.Equal(now.Add(-time.Duration(i) * time.Second)) {
			t.Errorf("%s: Due = %v, want its queued time", e.Member, e.Due)
		}
	}
	for sh := range q.Shards() {
		es, _ := q.Take(ctx, sh, now, 10, time.Minute)
		if len(es) > 0 {
			shards[sh] = true
		}
	}
	if len(shards) != 0 {
		t.Errorf("members still due right after a take: shards %v", shards)
	}

	// Finish with a next time: due then, not before.
	e := got[0]
	if ok, err := q.Finish(ctx, e, now.Add(10*time.Minute), false); err != nil || !ok {
		t.Fatalf("Finish = %v, %v", ok, err)
	}
	if at, _, _ := q.When(ctx, e.Member); !at.Equal(now.Add(10 * time.Minute)) {
		t.Errorf("after Finish the member is due %v", at)
	}
	if ok, _ := q.Finish(ctx, e, now, false); ok {
		t.Error("a second Finish of the same take succeeded")
	}

	// A failed run counts; the next take sees the count; a success resets it.
	f := got[1]
	if ok, _ := q.Finish(ctx, f, now.Add(-time.Second), true); !ok {
		t.Fatal("Finish(failed) refused")
	}
	again := takeAll(t, q, now, time.Minute)
	if len(again) != 1 || again[0].Member != f.Member || again[0].Failures != 1 {
		t.Fatalf("retake after a failure = %+v, want %s with 1 failure", again, f.Member)
	}
	if ok, _ := q.Finish(ctx, again[0], now.Add(-time.Second), false); !ok {
		t.Fatal("Finish refused")
	}
	if again = takeAll(t, q, now, time.Minute); len(again) != 1 || again[0].Failures != 0 {
		t.Fatalf("after a success the failure count is %+v, want 0", again)
	}

	// A take that lapsed: another worker takes the member; the first
	// worker's Finish and Extend change nothing.
	g := got[2]
	later := now.Add(2 * time.Minute)
	re := takeAll(t, q, later, time.Minute)
	var taken *digestbot.DueEntry
	for i := range re {
		if re[i].Member == g.Member {
			taken = &re[i]
		}
	}
	if taken == nil {
		t.Fatalf("a lapsed take was not taken again: %+v", re)
	}
	if ok, _ := q.Finish(ctx, g, now.Add(time.Hour), false); ok {
		t.Error("Finish of a lapsed take succeeded")
	}
	if ok, _ := q.Extend(ctx, &g, now.Add(time.Hour)); ok {
		t.Error("Extend of a lapsed take succeeded")
	}
	if ok, _ := q.Extend(ctx, taken, later.Add(5*time.Minute)); !ok {
		t.Error("Extend of the current take failed")
	}
	if ok, _ := q.Finish(ctx, *taken, time.Time{}, false); !ok {
		t.Error("Finish(remove) of the extended take failed")
	}
	if _, ok, _ := q.When(ctx, g.Member); ok {
		t.Error("Finish with a zero time left the member queued")
	}

	// A Put while taken wins over the take's Finish (a schedule changed,
	// or an instant item arrived, during the run).
	h := got[3]
	if err := q.Put(ctx, h.Member, now.Add(time.Second), digestbot.PutIfEarlier); err != nil {
		t.Fatal(err)
	}
	if ok, _ := q.Finish(ctx, h, now.Add(time.Hour), false); ok {
		t.Error("Finish overwrote a due time set while the member was taken")
	}
}

func testDueConcurrentTakers(t *testing.T, b backend) {
	ctx := context.Background()
	st := b.open(t, store.Options{})
	q := st.DueQueue("feeds")
	now := time.UnixMilli(time.Now().UnixMilli())
	const n = 300
	for i := range n {
		if err := q.Put(ctx, fmt.Sprintf("feed-%d", i), now.Add(-time.Second), digestbot.PutAlways); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := range 3 * q.Shards() {
				es, err := q.Take(ctx, (w+round)%q.Shards(), now, 7, time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, e := range es {
					seen[e.Member]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	rest := takeAll(t, q, now, time.Minute)
	for _, e := range rest {
		seen[e.Member]++
	}
	if len(seen) != n {
		t.Errorf("%d members taken, want %d", len(seen), n)
	}
	for m, c := range seen {
		if c != 1 {
			t.Errorf("%s taken %d times", m, c)
		}
	}
}

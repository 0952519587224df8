package store_test

import (
	"testing"
	"time"

	"github.com/digestbot/digestbot/store"
	"github.com/digestbot/digestbot/store/storetest"
)

// TestSharedRateLimits: the global budget hands out slots one interval
// apart and waits out a global block; a route's bucket lets one probe
// through, then follows what Discord reported. Every wait here is computed
// from the time given, not measured.
func TestSharedRateLimits(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, b *storetest.Backend) {
		st := b.Open(t, store.Options{})
		c := ctx(t)
		now := time.Now()
		for i, want := range []time.Duration{0, 100 * time.Millisecond, 200 * time.Millisecond} {
			if got, err := st.TakeGlobal(c, now, 10); err != nil || got != want {
				t.Fatalf("take %d of the global budget: wait %v, %v; want %v", i+1, got, err, want)
			}
		}
		if err := st.BlockGlobal(c, now.Add(5*time.Second)); err != nil {
			t.Fatal(err)
		}
		if got, err := st.TakeGlobal(c, now, 10); err != nil || got != 5*time.Second {
			t.Fatalf("take during a global block: wait %v, %v; want the 5 s of the block", got, err)
		}
		// For a minute after a block, slots are a quarter further apart.
		if got, err := st.TakeGlobal(c, now, 10); err != nil || got != 5*time.Second+125*time.Millisecond {
			t.Fatalf("take after a global block: wait %v, %v; want 125 ms after the last slot", got, err)
		}

		const route = "POST channels/c1/messages"
		take := func(route string, now time.Time) (time.Duration, time.Time) {
			t.Helper()
			wait, sendBy, err := st.TakeRoute(c, route, now)
			if err != nil {
				t.Fatal(err)
			}
			return wait, sendBy
		}
		if got, sendBy := take(route, now); got != 0 || !sendBy.IsZero() {
			t.Fatalf("the probe of an unknown bucket: wait %v, send by %v; want neither", got, sendBy)
		}
		if got, _ := take(route, now); got <= 0 {
			t.Fatalf("a take while the probe is out: wait %v; want to wait for its answer", got)
		}
		reset := now.Add(time.Second)
		if err := st.SetRoute(c, route, 2, reset); err != nil {
			t.Fatal(err)
		}
		for i := range 2 {
			got, sendBy := take(route, now)
			if got != 0 || !sendBy.Equal(reset.Add(-store.RouteMargin).Truncate(time.Microsecond)) {
				t.Fatalf("take %d of the 2 left: wait %v, send by %v; want at once, by %v before the reset", i+1, got, sendBy, store.RouteMargin)
			}
		}
		if got, _ := take(route, now); got != time.Second+store.RouteMargin {
			t.Fatalf("take of an empty bucket: wait %v; want until its reset and the margin, 1.05 s", got)
		}
		if got, _ := take("POST channels/c2/messages", now); got != 0 {
			t.Fatalf("another channel's bucket: wait %v; want none", got)
		}

		// Near the end of a window, a request left would reach Discord in
		// the next one: it waits for that window instead.
		const r3 = "POST channels/c3/messages"
		take(r3, now)
		if err := st.SetRoute(c, r3, 4, now.Add(30*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		if got, _ := take(r3, now); got != 30*time.Millisecond+store.RouteMargin {
			t.Fatalf("a take %v before its window ends: wait %v; want the end and the margin", 30*time.Millisecond, got)
		}
		if got, sendBy := take(r3, now.Add(80*time.Millisecond)); got != 0 || !sendBy.IsZero() {
			t.Fatalf("a take after that: wait %v, send by %v; want the probe of the next window", got, sendBy)
		}
	})
}

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
		if got, err := st.TakeRoute(c, route, now); err != nil || got != 0 {
			t.Fatalf("the probe of an unknown bucket: wait %v, %v; want none", got, err)
		}
		if got, err := st.TakeRoute(c, route, now); err != nil || got <= 0 {
			t.Fatalf("a take while the probe is out: wait %v, %v; want to wait for its answer", got, err)
		}
		if err := st.SetRoute(c, route, 2, now.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		for i := range 2 {
			if got, err := st.TakeRoute(c, route, now); err != nil || got != 0 {
				t.Fatalf("take %d of the 2 left: wait %v, %v", i+1, got, err)
			}
		}
		if got, err := st.TakeRoute(c, route, now); err != nil || got != time.Second {
			t.Fatalf("take of an empty bucket: wait %v, %v; want until its reset, 1 s", got, err)
		}
		if got, err := st.TakeRoute(c, "POST channels/c2/messages", now); err != nil || got != 0 {
			t.Fatalf("another channel's bucket: wait %v, %v; want none", got, err)
		}
	})
}

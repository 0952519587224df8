package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/store"
	"github.com/digestbot/digestbot/store/storetest"
)

// TestSpikeCounts checks the counting of spike rules: distinct outlets
// within the window, the names at the threshold, a story before the
// window left out, the alert mark, and keys that expire by themselves.
func TestSpikeCounts(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, b *storetest.Backend) {
		ctx := context.Background()
		st := b.Open(t, store.Options{})
		now := time.Now()
		note := func(outlet string, ago time.Duration) digestbot.SpikeNote {
			return digestbot.SpikeNote{GuildID: "g1", SubscriptionID: "s1", Outlets: []string{outlet}, At: now.Add(-ago), Window: 2 * time.Hour, Threshold: 3}
		}
		counts, err := st.NoteSpikes(ctx, now, []digestbot.SpikeNote{
			note("Harbour Wire", time.Hour), note("Harbour Wire", time.Minute), note("Old Outlet", 3*time.Hour),
			note("Coastal Ledger", time.Minute), note("Rendal Post", 0),
		})
		if err != nil {
			t.Fatal(err)
		}
		var n []int
		for _, c := range counts {
			n = append(n, c.Outlets)
		}
		if want := []int{1, 1, 1, 2, 3}; !slices.Equal(n, want) {
			t.Errorf("distinct outlets after each note %v, want %v", n, want)
		}
		if c := counts[4]; len(c.Names) != 3 || c.Alerted {
			t.Errorf("at the threshold: %+v, want three names and no alert yet", c)
		}
		if err := st.MarkSpikeAlerted(ctx, "g1", "s1", 2*time.Hour); err != nil {
			t.Fatal(err)
		}
		counts, err = st.NoteSpikes(ctx, now, []digestbot.SpikeNote{note("Bayline Review", 0)})
		if err != nil || !counts[0].Alerted || counts[0].Outlets != 4 {
			t.Errorf("after the mark: %+v, %v; want alerted, 4 outlets", counts, err)
		}
		// Another guild's subscription of the same id counts on its own.
		other := note("Harbour Wire", 0)
		other.GuildID = "g2"
		if counts, _ := st.NoteSpikes(ctx, now, []digestbot.SpikeNote{other}); counts[0].Outlets != 1 || counts[0].Alerted {
			t.Errorf("another guild's count: %+v", counts[0])
		}
		keys, err := storetest.Keys(ctx, st)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			ttl, err := st.Client().PTTL(ctx, k).Result()
			if err != nil {
				t.Fatal(err)
			}
			if ttl <= 0 || ttl > 2*time.Hour {
				t.Errorf("key %s expires in %v, want within the window", k, ttl)
			}
		}
	})
}

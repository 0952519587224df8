package digestbot

import (
	"testing"
	"time"
)

func TestFeedHoldsBackItsFirstPollsBacklog(t *testing.T) {
	added := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	fresh := &Feed{DeliverSince: added}
	polled := &Feed{DeliverSince: added, FirstPolled: "1764590400000-3"}
	backfilled := &Feed{DeliverSince: added.Add(-3 * 24 * time.Hour), FirstPolled: "1764590400000-3"}
	tests := []struct {
		name      string
		f         *Feed
		seq       string
		published time.Time
		want      bool
	}{
		{"first poll, published before the feed was added", fresh, "1764590400000-1", added.Add(-time.Hour), true},
		{"first poll, published after", fresh, "1764590400000-1", added.Add(time.Minute), false},
		{"first poll, undated", fresh, "1764590400000-1", time.Time{}, true},
		{"logged by the first poll, which has ended", polled, "1764590400000-3", added.Add(-time.Hour), true},
		{"logged after the first poll, an old date", polled, "1764590400000-4", added.Add(-time.Hour), false},
		{"logged after the first poll, undated", polled, "1764590500000-0", time.Time{}, false},
		{"within the backfill", backfilled, "1764590400000-2", added.Add(-2 * 24 * time.Hour), false},
		{"before the backfill", backfilled, "1764590400000-2", added.Add(-4 * 24 * time.Hour), true},
		{"a feed added before feeds started from now", &Feed{}, "1764590400000-1", time.Time{}, false},
		{"no feed entry", nil, "1764590400000-1", time.Time{}, false},
	}
	for _, tt := range tests {
		if got := tt.f.HoldsBack(tt.seq, tt.published); got != tt.want {
			t.Errorf("%s: HoldsBack = %v, want %v", tt.name, got, tt.want)
		}
	}
}

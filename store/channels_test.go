package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/store"
	"github.com/digestbot/digestbot/store/storetest"
)

// TestChannels runs the paused-channel and channel-removal suite on every
// backend.
func TestChannels(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, sb *storetest.Backend) {
		b := backend{sb}
		t.Run("a paused channel keeps a bounded backlog", func(t *testing.T) { testPausedBacklog(t, b) })
		t.Run("a gone channel is listed and deleted", func(t *testing.T) { testGoneChannel(t, b) })
	})
}

func testPausedBacklog(t *testing.T, b backend) {
	st := b.open(t, store.Options{PausedBacklog: 3})
	c := ctx(t)
	enqueue := func(ids ...string) {
		t.Helper()
		var items []digestbot.PendingItem
		for _, id := range ids {
			items = append(items, item("g1", "c1", id, "s1"))
		}
		if err := st.EnqueuePending(c, items); err != nil {
			t.Fatal(err)
		}
	}
	enqueue("a1", "a2")
	if err := st.SetChannelState(c, &digestbot.ChannelState{GuildID: "g1", ChannelID: "c1",
		PausedReason: "the bot may not post here", PausedBy: digestbot.PauseForbidden, PausedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	enqueue("a3", "a4", "a5")
	enqueue("a1") // already pending: merged, not dropped
	p, _ := st.Pending(c, "g1", "c1")
	if len(p) != 3 {
		t.Fatalf("%d items pending in a paused channel with a backlog of 3, want 3", len(p))
	}
	cs, err := st.ChannelState(c, "g1", "c1")
	if err != nil || cs.Dropped != 2 || cs.PausedBy != digestbot.PauseForbidden {
		t.Fatalf("state = %+v, %v; want 2 dropped", cs, err)
	}
	// Another channel is not affected.
	if err := st.EnqueuePending(c, []digestbot.PendingItem{item("g1", "c2", "a1", "s1"), item("g1", "c2", "a2", "s1"),
		item("g1", "c2", "a3", "s1"), item("g1", "c2", "a4", "s1")}); err != nil {
		t.Fatal(err)
	}
	if p, _ := st.Pending(c, "g1", "c2"); len(p) != 4 {
		t.Errorf("a channel that is not paused got %d of 4 items", len(p))
	}
	cs.PausedReason, cs.PausedBy = "", ""
	if err := st.SetChannelState(c, cs); err != nil {
		t.Fatal(err)
	}
	enqueue("a6", "a7")
	if p, _ := st.Pending(c, "g1", "c1"); len(p) != 5 {
		t.Errorf("after the pause was lifted %d items pending, want 5", len(p))
	}
}

func testGoneChannel(t *testing.T, b backend) {
	st := b.open(t, store.Options{})
	c := ctx(t)
	for i, ch := range []string{"c1", "c1", "c2"} {
		sub := &digestbot.Subscription{GuildID: "g1", ChannelID: ch, Query: fmt.Sprintf("word%d", i), CreatedAt: time.Now()}
		sub.ID = digestbot.SubscriptionID(sub.GuildID, sub.ChannelID, sub.Query, "")
		if _, err := st.AddSubscription(c, sub, 100); err != nil {
			t.Fatal(err)
		}
	}
	must(t, func() error {
		return st.SetSchedule(c, &digestbot.ChannelSchedule{GuildID: "g1", ChannelID: "c1", Spec: "hourly"})
	})
	must(t, func() error { return st.EnqueuePending(c, []digestbot.PendingItem{item("g1", "c1", "a1", "s1")}) })
	q := st.DueQueue("digests")
	must(t, func() error { return q.Put(c, "g1/c1", time.Now(), digestbot.PutAlways) })
	pausedAt := time.Now().Add(-8 * 24 * time.Hour)
	must(t, func() error {
		return st.SetChannelState(c, &digestbot.ChannelState{GuildID: "g1", ChannelID: "c1",
			PausedReason: "the channel no longer exists", PausedBy: digestbot.PauseUnknownChannel, PausedAt: pausedAt})
	})
	gone, err := st.GoneChannels(c, time.Now().Add(-7*24*time.Hour))
	if err != nil || len(gone) != 1 || gone[0] != (digestbot.ChannelRef{GuildID: "g1", ChannelID: "c1"}) {
		t.Fatalf("gone channels = %v, %v", gone, err)
	}
	if gone, _ := st.GoneChannels(c, pausedAt); len(gone) != 0 {
		t.Errorf("a channel gone for less than the grace is listed: %v", gone)
	}
	must(t, func() error { return st.DeleteChannel(c, "g1", "c1") })
	if subs, _ := st.Subscriptions(c, "g1", ""); len(subs) != 1 || subs[0].ChannelID != "c2" {
		t.Errorf("after deleting c1 the guild has %+v, want only c2's subscription", subs)
	}
	if p, _ := st.Pending(c, "g1", "c1"); len(p) != 0 {
		t.Errorf("pending items of a deleted channel: %v", p)
	}
	if sc, _ := st.Schedule(c, "g1", "c1"); sc != nil {
		t.Errorf("schedule of a deleted channel: %+v", sc)
	}
	if _, ok, _ := q.When(c, "g1/c1"); ok {
		t.Error("a deleted channel is still due")
	}
	if gone, _ := st.GoneChannels(c, time.Now()); len(gone) != 0 {
		t.Errorf("a deleted channel is still listed as gone: %v", gone)
	}
	if cs, _ := st.ChannelState(c, "g1", "c1"); cs.PausedReason != "" {
		t.Errorf("a deleted channel keeps its state: %+v", cs)
	}
	// A pause lifted (the channel came back) unlists it.
	must(t, func() error {
		return st.SetChannelState(c, &digestbot.ChannelState{GuildID: "g1", ChannelID: "c2",
			PausedReason: "gone", PausedBy: digestbot.PauseUnknownChannel, PausedAt: pausedAt})
	})
	must(t, func() error { return st.SetChannelState(c, &digestbot.ChannelState{GuildID: "g1", ChannelID: "c2"}) })
	if gone, _ := st.GoneChannels(c, time.Now()); len(gone) != 0 {
		t.Errorf("a resumed channel is still listed as gone: %v", gone)
	}
}

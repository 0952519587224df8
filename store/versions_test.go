package store_test

import (
	"testing"

	"github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/store"
	"github.com/digestbot/digestbot/store/storetest"
)

// TestChangeVersions: every change of a guild's subscriptions and topics
// carries the guild's counter before and after it, the counters chain,
// a snapshot carries the counter of the last change it holds, and the
// counter still grows after the guild is deleted.
func TestChangeVersions(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, sb *storetest.Backend) {
		{
			b := backend{sb}
			st := b.open(t, store.Options{})
			c := ctx(t)
			s1, s2 := sub("g1", "c1", "alpha"), sub("g1", "c2", "beta")
			must(t, func() error { _, err := st.AddSubscription(c, s1, 10); return err })
			must(t, func() error { _, err := st.AddSubscription(c, sub("g2", "c1", "other"), 10); return err })
			must(t, func() error { _, err := st.AddSubscription(c, s2, 10); return err })
			must(t, func() error { return st.PutTopic(c, &digestbot.Topic{GuildID: "g1", Name: "t", Query: "x"}, 10) })
			must(t, func() error { _, err := st.AddSubscription(c, s1, 10); return err }) // no change
			snap, err := st.GuildSnapshot(c, "g1")
			if err != nil {
				t.Fatal(err)
			}
			must(t, func() error { _, err := st.RemoveSubscription(c, "g1", s1.ID); return err })
			must(t, func() error { return st.DeleteTopic(c, "g1", "t") })
			must(t, func() error { return st.DeleteGuild(c, "g1") })
			must(t, func() error { _, err := st.AddSubscription(c, s2, 10); return err })

			chs, err := st.SubscriptionChanges(c, "", 100)
			if err != nil {
				t.Fatal(err)
			}
			var ops []string
			var prev int64
			for _, ch := range chs {
				if ch.GuildID != "g1" {
					continue
				}
				ops = append(ops, ch.Op)
				if ch.Version <= ch.PrevVersion || ch.Version <= prev {
					t.Errorf("%s: version %d after %d (previous change %d): versions must grow", ch.Op, ch.Version, ch.PrevVersion, prev)
				}
				if ch.Op != "add_sub" || prev == 0 || ops[len(ops)-2] != "delete_guild" {
					if ch.PrevVersion != prev {
						t.Errorf("%s: previous version %d, want the last change's %d", ch.Op, ch.PrevVersion, prev)
					}
				} else if ch.PrevVersion != 0 {
					t.Errorf("first change after delete_guild: previous version %d, want 0 (counter deleted)", ch.PrevVersion)
				}
				if len(ops) == 3 && snap.Version != ch.Version {
					t.Errorf("snapshot version %d, want the put_topic's %d", snap.Version, ch.Version)
				}
				prev = ch.Version
			}
			want := []string{"add_sub", "add_sub", "put_topic", "remove_sub", "delete_topic", "delete_guild", "add_sub"}
			if len(ops) != len(want) {
				t.Fatalf("changes %v, want %v", ops, want)
			}
			if len(snap.Subscriptions) != 2 || len(snap.Topics) != 1 {
				t.Errorf("snapshot %+v: want 2 subscriptions and a topic", snap)
			}
		}
	})
}

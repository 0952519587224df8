package store_test

import (
	"slices"
	"testing"
	"time"

	"github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/store"
	"github.com/digestbot/digestbot/store/storetest"
)

// TestAlertsAndWatches runs on every backend: alerts freeze only what
// instant subscriptions matched, delivery settings change in place, and
// members' watches stay theirs.
func TestAlertsAndWatches(t *testing.T) {
	cases := []struct {
		name string
		run  func(t *testing.T, b backend)
	}{
		{"an alert freezes only instant items", testBeginAlert},
		{"delivery settings change in place", testSetDelivery},
		{"watches: limits, owners, listings", testWatches},
		{"a gone DM channel takes its watches", testDeleteWatchChannel},
	}
	storetest.EachBackend(t, func(t *testing.T, sb *storetest.Backend) {
		b := backend{sb}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) { c.run(t, b) })
		}
	})
}

func instantItem(guild, channel, articleID, sub string) digestbot.PendingItem {
	it := item(guild, channel, articleID, sub)
	it.Hits[0].Instant = true
	return it
}

func testBeginAlert(t *testing.T, b backend) {
	st := b.open(t, store.Options{})
	c := ctx(t)
	tok, _, err := st.ClaimChannel(c, "g1", "c1", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.EnqueuePending(c, []digestbot.PendingItem{item("g1", "c1", "a1", "s1")}); err != nil {
		t.Fatal(err)
	}
	if d, err := st.BeginAlert(c, "g1", "c1", tok, time.Now()); err != nil || d != nil {
		t.Fatalf("alert with only digest items pending = %+v, %v; want none", d, err)
	}
	// a2 is instant; a1 gains an instant hit by merging, and keeps it.
	if err := st.EnqueuePending(c, []digestbot.PendingItem{instantItem("g1", "c1", "a2", "s2"), instantItem("g1", "c1", "a1", "s2"),
		item("g1", "c1", "a3", "s1")}); err != nil {
		t.Fatal(err)
	}
	d, err := st.BeginAlert(c, "g1", "c1", tok, time.Now())
	if err != nil || d == nil || !d.Instant {
		t.Fatalf("begin alert = %+v, %v", d, err)
	}
	var ids []string
	for _, it := range d.Items {
		ids = append(ids, it.ArticleID)
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"a1", "a2"}) {
		t.Fatalf("the alert froze %v, want the two items an instant subscription matched", ids)
	}
	// A digest that begins meanwhile (it waited for the claim) finishes
	// the alert first: it is the channel's unfinished delivery.
	again, err := st.BeginDelivery(c, "g1", "c1", tok, time.Now())
	if err != nil || again.WindowID != d.WindowID || !again.Instant {
		t.Fatalf("begin digest with an unfinished alert = %+v, %v; want the alert", again, err)
	}
	if err := st.AckDelivery(c, d, tok); err != nil {
		t.Fatal(err)
	}
	p, err := st.Pending(c, "g1", "c1")
	if err != nil || len(p) != 1 || p[0].ArticleID != "a3" {
		t.Fatalf("pending after the alert = %+v, %v; want the digest's item only", p, err)
	}
	// What the alert delivered is never queued again.
	if err := st.EnqueuePending(c, []digestbot.PendingItem{instantItem("g1", "c1", "a2", "s2")}); err != nil {
		t.Fatal(err)
	}
	if d, err := st.BeginAlert(c, "g1", "c1", tok, time.Now()); err != nil || d != nil {
		t.Fatalf("alert after its items were delivered = %+v, %v; want none", d, err)
	}
}

func testSetDelivery(t *testing.T, b backend) {
	st := b.open(t, store.Options{})
	c := ctx(t)
	s := sub("g1", "c1", "harbour")
	if _, err := st.AddSubscription(c, s, 0); err != nil {
		t.Fatal(err)
	}
	before, err := st.Subscriptions(c, "g1", "c1")
	if err != nil {
		t.Fatal(err)
	}
	changes, err := st.SubscriptionChanges(c, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	got, err := st.SetDelivery(c, "g1", s.ID, digestbot.ModeInstant, "555")
	if err != nil || !got.Instant() || got.Mention != "555" {
		t.Fatalf("set delivery = %+v, %v", got, err)
	}
	after, err := st.Subscriptions(c, "g1", "c1")
	if err != nil || len(after) != 1 || !after[0].Instant() || after[0].Mention != "555" || !after[0].CreatedAt.Equal(before[0].CreatedAt) {
		t.Fatalf("stored = %+v, %v; want instant, mention 555, the same creation time", after[0], err)
	}
	more, err := st.SubscriptionChanges(c, changes[len(changes)-1].Seq, 100)
	if err != nil || len(more) != 1 || more[0].Op != "add_sub" || !more[0].Subscription.Instant() || more[0].PrevVersion != changes[len(changes)-1].Version {
		t.Fatalf("change feed after set delivery = %+v, %v; want one add_sub that follows the last change", more, err)
	}
	if _, err := st.SetDelivery(c, "g1", s.ID, digestbot.ModeInstant, "555"); err != nil {
		t.Fatal(err)
	}
	if again, _ := st.SubscriptionChanges(c, more[0].Seq, 100); len(again) != 0 {
		t.Errorf("setting the same settings again appended %d changes", len(again))
	}
	_, err = st.SetDelivery(c, "g2", s.ID, digestbot.ModeDigest, "")
	wantCode(t, err, digestbot.ENOTFOUND) // another guild cannot touch it
	_, err = st.SetDelivery(c, "g1", s.ID, "loud", "")
	wantCode(t, err, digestbot.EINVALID)
}

func watch(guild, owner, dm, query string) *digestbot.Subscription {
	return &digestbot.Subscription{ID: digestbot.SubscriptionID(guild, dm, query, ""), GuildID: guild, ChannelID: dm, Query: query, Owner: owner}
}

func testWatches(t *testing.T, b backend) {
	st := b.open(t, store.Options{})
	c := ctx(t)
	if _, err := st.AddSubscription(c, sub("g1", "c1", "harbour"), 0); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"ferry", "tide"} {
		if created, err := st.AddWatch(c, watch("g1", "11", "91", q), 2, 3); err != nil || !created {
			t.Fatalf("add watch %q = %v, %v", q, created, err)
		}
	}
	if created, err := st.AddWatch(c, watch("g1", "11", "91", "ferry"), 2, 3); err != nil || created {
		t.Fatalf("adding a watch again = %v, %v; want a no-op", created, err)
	}
	_, err := st.AddWatch(c, watch("g1", "11", "91", "gull"), 2, 3)
	wantCode(t, err, digestbot.ELIMIT) // the member's limit
	if _, err := st.AddWatch(c, watch("g1", "12", "92", "gull"), 2, 3); err != nil {
		t.Fatal(err)
	}
	_, err = st.AddWatch(c, watch("g1", "13", "93", "reef"), 2, 3)
	wantCode(t, err, digestbot.ELIMIT) // the server's limit
	if _, err := st.AddWatch(c, watch("g2", "13", "93", "reef"), 2, 3); err != nil {
		t.Fatalf("another server's limit is its own: %v", err)
	}
	bad := watch("g1", "14", "94", "quay")
	bad.Mode = digestbot.ModeInstant
	_, err = st.AddWatch(c, bad, 2, 10)
	wantCode(t, err, digestbot.EINVALID)

	// The server's listings never show a watch.
	if subs, err := st.Subscriptions(c, "g1", ""); err != nil || len(subs) != 1 || subs[0].Owner != "" {
		t.Fatalf("the guild's subscriptions = %+v, %v; want its one channel subscription", subs, err)
	}
	if subs, err := st.Subscriptions(c, "g1", "91"); err != nil || len(subs) != 0 {
		t.Fatalf("subscriptions of a member's DM channel = %+v, %v; want none", subs, err)
	}
	mine, err := st.Watches(c, "g1", "11")
	if err != nil || len(mine) != 2 || mine[0].Query != "ferry" || mine[1].Query != "tide" {
		t.Fatalf("member 11's watches = %+v, %v", mine, err)
	}
	if to, err := st.ChannelWatches(c, "g1", "92"); err != nil || len(to) != 1 || to[0].Owner != "12" {
		t.Fatalf("watches delivered to 92 = %+v, %v", to, err)
	}
	if m, w, err := st.WatchCounts(c, "g1"); err != nil || m != 2 || w != 3 {
		t.Fatalf("counts = %d members, %d watches, %v; want 2, 3", m, w, err)
	}
	// The matcher sees them all, and so does the digest sweep.
	all, err := st.AllSubscriptions(c)
	if err != nil || len(all) != 5 {
		t.Fatalf("all subscriptions = %d, %v; want 1 subscription and 4 watches", len(all), err)
	}
	snap, err := st.GuildSnapshot(c, "g1")
	if err != nil || len(snap.Subscriptions) != 4 {
		t.Fatalf("snapshot holds %d, %v; want 4", len(snap.Subscriptions), err)
	}
	if refs, err := st.Channels(c); err != nil || !slices.Contains(refs, digestbot.ChannelRef{GuildID: "g1", ChannelID: "91"}) {
		t.Fatalf("channels = %v, %v; want the DM channel of a watch among them", refs, err)
	}

	// Only the owner removes a watch.
	_, err = st.RemoveWatch(c, "g1", "12", mine[0].ID)
	wantCode(t, err, digestbot.ENOTFOUND)
	_, err = st.RemoveSubscription(c, "g1", mine[0].ID)
	wantCode(t, err, digestbot.ENOTFOUND)
	if w, err := st.RemoveWatch(c, "g1", "11", mine[0].ID); err != nil || w.Query != "ferry" {
		t.Fatalf("remove = %+v, %v", w, err)
	}
	if _, err := st.AddWatch(c, watch("g1", "11", "91", "gull"), 2, 3); err != nil {
		t.Fatalf("a removed watch frees its place: %v", err)
	}
	for _, w := range []*digestbot.Subscription{mine[1], watch("g1", "11", "91", "gull")} {
		if _, err := st.RemoveWatch(c, "g1", "11", w.ID); err != nil {
			t.Fatal(err)
		}
	}
	if m, w, err := st.WatchCounts(c, "g1"); err != nil || m != 1 || w != 1 {
		t.Fatalf("counts after member 11 left = %d members, %d watches, %v; want 1, 1", m, w, err)
	}
	if err := st.DeleteGuild(c, "g1"); err != nil {
		t.Fatal(err)
	}
	if m, w, err := st.WatchCounts(c, "g1"); err != nil || m != 0 || w != 0 {
		t.Fatalf("counts after the guild was deleted = %d, %d, %v", m, w, err)
	}
}

func testDeleteWatchChannel(t *testing.T, b backend) {
	st := b.open(t, store.Options{})
	c := ctx(t)
	w := watch("g1", "11", "91", "ferry")
	if _, err := st.AddWatch(c, w, 0, 0); err != nil {
		t.Fatal(err)
	}
	if err := st.EnqueuePending(c, []digestbot.PendingItem{item("g1", "91", "a1", w.ID)}); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteChannel(c, "g1", "91"); err != nil {
		t.Fatal(err)
	}
	if ws, err := st.Watches(c, "g1", "11"); err != nil || len(ws) != 0 {
		t.Fatalf("watches after their channel was deleted = %+v, %v", ws, err)
	}
	if p, err := st.Pending(c, "g1", "91"); err != nil || len(p) != 0 {
		t.Fatalf("pending after the channel was deleted = %+v, %v", p, err)
	}
}

package digest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/due"
	"github.com/digestbot/digestbot/store"
	"github.com/digestbot/digestbot/store/storetest"
)

// queue stores n articles and queues them for ref with one hit each.
func queue(t *testing.T, st *store.Store, ref digestbot.ChannelRef, prefix string, n int, hit digestbot.Hit) []*digestbot.Article {
	t.Helper()
	words := strings.Fields("amber birch cedar dune ember fjord glade heath inlet juniper kestrel lagoon meadow nettle orchard prairie quarry ridge spruce tundra")
	more := strings.Fields("anchor beacon cargo dock estuary flotilla gangway hull isle jetty keel lighthouse mooring navy oar pilot quay rudder sail tugboat")
	var arts []*digestbot.Article
	var items []digestbot.PendingItem
	for i := range n {
		a := &digestbot.Article{Title: fmt.Sprintf("%s %s %s", prefix, words[i%len(words)], more[i%len(more)]), URL: fmt.Sprintf("https://news.example/%s/%d", prefix, i),
			Source: "Example News", Published: day.Add(time.Duration(i) * time.Minute), Text: "A story."}
		a.ID = digestbot.ArticleID(a.URL, "", "", "")
		arts = append(arts, a)
		items = append(items, digestbot.PendingItem{GuildID: ref.GuildID, ChannelID: ref.ChannelID, ArticleID: a.ID, Hits: []digestbot.Hit{hit}, QueuedAt: day})
	}
	if _, err := st.PutArticles(context.Background(), arts); err != nil {
		t.Fatal(err)
	}
	if err := st.EnqueuePending(context.Background(), items); err != nil {
		t.Fatal(err)
	}
	return arts
}

var (
	digestHit  = digestbot.Hit{SubscriptionID: "s1", Label: "harbour", Terms: []string{"harbour"}}
	instantHit = digestbot.Hit{SubscriptionID: "s2", Label: "ferry strike", Terms: []string{"ferry"}, Instant: true, Mention: "777"}
)

// An alert goes out with the guarantees of a digest: interrupted after
// Discord stored a message whose answer was lost, and retried by another
// worker after the nonce is forgotten, every instant story reaches the
// channel once; the digest's stories stay for the digest, which does not
// repeat the alert's. The alert pings its subscription's role, the digest
// pings none.
func TestAlertIsDeliveredOnceAfterACrash(t *testing.T) {
	storetest.EachRealBackend(t, testAlertIsDeliveredOnceAfterACrash)
}

func testAlertIsDeliveredOnceAfterACrash(t *testing.T, b *storetest.Backend) {
	st := b.Open(t, store.Options{})
	ctx := context.Background()
	clock := newClock(now)
	later := queue(t, st, ref, "digest", 3, digestHit)
	alerted := queue(t, st, ref, "alert", 14, instantHit) // 10 in the channel, 4 in a thread
	chat := newFakeChat(clock)
	chat.fail = func(n int, _ Message) (bool, error) {
		if n == 1 {
			return true, digestbot.Errorf(digestbot.EUNAVAILABLE, "connection reset after the request was sent")
		}
		return true, nil
	}
	if _, err := newDeliverer(st, chat, clock).DeliverAlert(ctx, ref); err == nil {
		t.Fatal("the first alert delivery succeeded, want the injected failure")
	}
	clock.Advance(5 * time.Minute) // past the nonce window: found by its marker
	chat.fail = nil
	res, err := newDeliverer(st, chat, clock).DeliverAlert(ctx, ref)
	if err != nil || res.Found != 1 || res.Items != 14 {
		t.Fatalf("retried alert = %+v, %v; want 14 items, the interrupted message found", res, err)
	}
	msgs := chat.messages()
	checkEachOnce(t, msgs, alerted)
	if n := pending(t, st, ref); n != 3 {
		t.Errorf("%d items pending after the alert, want the digest's 3", n)
	}
	first := msgs[0]
	if !strings.HasPrefix(first.Content, "<@&777>\n⚡ **Alert** · **ferry strike** · 14 stories") || !slices.Equal(first.Mentions, []string{"777"}) {
		t.Errorf("alert opens with %q, mentions %v; want the role, then the alert header", first.Content, first.Mentions)
	}
	for _, m := range msgs[1:] {
		if len(m.Mentions) > 0 || strings.Contains(m.Content, "<@&") {
			t.Errorf("a later message of the alert pings again: %q %v", m.Content, m.Mentions)
		}
	}
	if state, _ := st.ChannelState(ctx, ref.GuildID, ref.ChannelID); !state.LastDigestAt.IsZero() {
		t.Errorf("the alert ended the digest's window (%v)", state.LastDigestAt)
	}

	before := len(chat.messages())
	if _, err := newDeliverer(st, chat, clock).Deliver(ctx, ref); err != nil {
		t.Fatal(err)
	}
	digest := chat.messages()[before:]
	checkEachOnce(t, digest, later)
	checkEachOnce(t, chat.messages(), append(later, alerted...))
	if len(digest) != 1 || !strings.HasPrefix(digest[0].Content, "📰 **News digest**") || len(digest[0].Mentions) > 0 {
		t.Errorf("digest = %+v; want one message, headed as a digest, pinging no one", digest)
	}
}

// A digest that falls due while an alert is unfinished (its worker died)
// finishes the alert, then posts the digest, under one claim: nothing
// twice, nothing left behind.
func TestDigestFinishesAnInterruptedAlertFirst(t *testing.T) {
	storetest.EachRealBackend(t, testDigestFinishesAnInterruptedAlertFirst)
}

func testDigestFinishesAnInterruptedAlertFirst(t *testing.T, b *storetest.Backend) {
	st := b.Open(t, store.Options{})
	ctx := context.Background()
	clock := newClock(now)
	later := queue(t, st, ref, "digest", 2, digestHit)
	alerted := queue(t, st, ref, "alert", 2, instantHit)
	chat := newFakeChat(clock)
	chat.fail = func(int, Message) (bool, error) {
		return false, digestbot.Errorf(digestbot.EUNAVAILABLE, "Discord is down")
	}
	if _, err := newDeliverer(st, chat, clock).DeliverAlert(ctx, ref); err == nil {
		t.Fatal("want the alert to fail")
	}
	chat.fail = nil
	res, err := newDeliverer(st, chat, clock).Deliver(ctx, ref)
	if err != nil || res.Items != 2 {
		t.Fatalf("digest = %+v, %v", res, err)
	}
	msgs := chat.messages()
	if len(msgs) != 2 || !strings.Contains(msgs[0].Content, "⚡ **Alert**") || !strings.Contains(msgs[1].Content, "📰 **News digest**") {
		t.Fatalf("messages %q; want the alert, then the digest", []string{msgs[0].Content, msgs[1].Content})
	}
	checkEachOnce(t, msgs, append(later, alerted...))
	if n := pending(t, st, ref); n != 0 {
		t.Errorf("%d items left pending", n)
	}
	if state, _ := st.ChannelState(ctx, ref.GuildID, ref.ChannelID); !state.LastDigestAt.Equal(now) {
		t.Errorf("LastDigestAt = %v, want the digest's %v", state.LastDigestAt, now)
	}
}

// A digest pings the roles of the subscriptions whose stories it holds,
// once, in its first message.
func TestDigestMentionsItsSubscriptionsRoles(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, b *storetest.Backend) {
		st := b.Open(t, store.Options{})
		clock := newClock(now)
		queue(t, st, ref, "a", 2, digestbot.Hit{SubscriptionID: "s1", Label: "harbour", Mention: "501"})
		queue(t, st, ref, "b", 2, digestbot.Hit{SubscriptionID: "s3", Label: "quay", Mention: "502"})
		queue(t, st, ref, "c", 2, digestbot.Hit{SubscriptionID: "s4", Label: "tide"})
		chat := newFakeChat(clock)
		if _, err := newDeliverer(st, chat, clock).Deliver(context.Background(), ref); err != nil {
			t.Fatal(err)
		}
		msgs := chat.messages()
		if len(msgs) != 1 || !slices.Equal(msgs[0].Mentions, []string{"501", "502"}) || !strings.HasPrefix(msgs[0].Content, "<@&501> <@&502>\n📰") {
			t.Fatalf("digest %q mentions %v; want roles 501 and 502 on its first line", msgs[0].Content, msgs[0].Mentions)
		}
	})
}

// The matcher's alert makes the channel due in the alerts queue a moment
// later (an earlier time stands); once posted, the entry leaves the queue
// and the channel's digest keeps its own time.
func TestAlertsQueue(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, b *storetest.Backend) {
		st := schedStore(t, b, ref)
		ctx := context.Background()
		clock := newClock(now)
		var delivered []digestbot.ChannelRef
		s := &Scheduler{Store: st, Queue: st.DueQueue("digests"), Alerts: st.DueQueue("alerts"), AlertDelay: 2 * time.Second,
			Clock: clock.Now, Logger: quietLog, Defaults: Defaults{Spec: "daily 08:00"},
			Deliver: func(context.Context, digestbot.ChannelRef) (Result, error) {
				t.Fatal("no digest is due")
				return Result{}, nil
			},
			DeliverAlert: func(_ context.Context, r digestbot.ChannelRef) (Result, error) {
				delivered = append(delivered, r)
				return Result{Items: 1, Posted: 1}, nil
			}}
		if err := s.Ensure(ctx, ref); err != nil {
			t.Fatal(err)
		}
		digestAt, _, _ := s.NextRun(ctx, ref)
		if err := s.Alert(ctx, []digestbot.ChannelRef{ref}); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Second)
		if err := s.Alert(ctx, []digestbot.ChannelRef{ref}); err != nil {
			t.Fatal(err)
		}
		at, ok, err := s.Alerts.When(ctx, ref.Key())
		if err != nil || !ok || !at.Equal(now.Add(2*time.Second)) {
			t.Fatalf("alert due at %v (%v, %v); want the first alert's time, %v", at, ok, err, now.Add(2*time.Second))
		}
		clock.Advance(time.Second)
		var es []digestbot.DueEntry
		for shard := range s.Alerts.Shards() {
			got, err := s.Alerts.Take(ctx, shard, clock.Now(), 10, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			es = append(es, got...)
		}
		if len(es) != 1 || es[0].Member != ref.Key() {
			t.Fatalf("due alerts = %+v; want the channel's", es)
		}
		if out := s.handleAlert(ctx, es[0]); out != (due.Outcome{}) || len(delivered) != 1 {
			t.Fatalf("alert outcome %+v, delivered %v; want it posted and the entry removed", out, delivered)
		}
		if _, err := s.Alerts.Finish(ctx, es[0], time.Time{}, false); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := s.Alerts.When(ctx, ref.Key()); ok {
			t.Error("the alert is still queued after it was posted")
		}
		if after, _, _ := s.NextRun(ctx, ref); !after.Equal(digestAt) {
			t.Errorf("the digest moved from %v to %v", digestAt, after)
		}
	})
}

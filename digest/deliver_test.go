package digest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/store"
	"github.com/digestbot/digestbot/store/storetest"
)

// fakeChat is a chat service that, like Discord with enforce_nonce, answers
// a repeated nonce with the first message instead of posting again.
type fakeChat struct {
	mu      sync.Mutex
	posted  []Message         // every message that reached the channel, in order
	byNonce map[string]string // nonce -> message id
	calls   int
	// fail decides the outcome of call n (1-based) after the message is
	// recorded or not: return (record, err).
	fail func(n int) (record bool, err error)
	// block, when set, holds every Post until it is closed.
	block chan struct{}
}

func newFakeChat() *fakeChat { return &fakeChat{byNonce: map[string]string{}} }

func (f *fakeChat) Post(ctx context.Context, ch digestbot.ChannelRef, msg Message, nonce string) (string, error) {
	if f.block != nil {
		<-f.block
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	record, err := true, error(nil)
	if f.fail != nil {
		record, err = f.fail(f.calls)
	}
	id, seen := f.byNonce[nonce]
	if record && !seen {
		id = fmt.Sprintf("m%d", len(f.posted)+1)
		f.byNonce[nonce] = id
		f.posted = append(f.posted, msg)
	}
	if err != nil {
		return "", err
	}
	return id, nil
}

func (f *fakeChat) messages() []Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Message(nil), f.posted...)
}

// seed stores n distinct articles and queues them for ref.
func seed(t *testing.T, st *store.Store, ref digestbot.ChannelRef, n int) []*digestbot.Article {
	t.Helper()
	ctx := context.Background()
	words := strings.Fields("amber birch cedar dune ember fjord glade heath inlet juniper kestrel lagoon meadow nettle orchard prairie quarry ridge spruce tundra umber valley willow yarrow zephyr")
	var arts []*digestbot.Article
	var items []digestbot.PendingItem
	for i := range n {
		w1, w2 := words[i%len(words)], words[(i/len(words)+i*7+3)%len(words)]
		a := &digestbot.Article{
			Title: fmt.Sprintf("%s %s report %d", strings.ToUpper(w1[:1])+w1[1:], w2, i), URL: fmt.Sprintf("https://news.example/%s/%d", ref.ChannelID, i),
			Source: "Example News", Published: day.Add(time.Duration(i) * time.Minute), Text: "A harbour story number " + fmt.Sprint(i) + ".",
		}
		a.ID = digestbot.ArticleID(a.URL, "", "", "")
		arts = append(arts, a)
		items = append(items, digestbot.PendingItem{GuildID: ref.GuildID, ChannelID: ref.ChannelID, ArticleID: a.ID,
			Hits: []digestbot.Hit{{SubscriptionID: "s1", Label: "harbour", Terms: []string{"harbour"}}}, QueuedAt: day})
	}
	if _, err := st.PutArticles(ctx, arts); err != nil {
		t.Fatal(err)
	}
	if err := st.EnqueuePending(ctx, items); err != nil {
		t.Fatal(err)
	}
	return arts
}

// checkEachOnce fails unless every article is linked exactly once across msgs.
func checkEachOnce(t *testing.T, msgs []Message, arts []*digestbot.Article) {
	t.Helper()
	seen := map[string]int{}
	for _, m := range msgs {
		for _, e := range m.Embeds {
			seen[e.URL]++
		}
	}
	for _, a := range arts {
		if seen[a.URL] != 1 {
			t.Errorf("article %s shown %d times, want once", a.URL, seen[a.URL])
		}
	}
}

func newDeliverer(st Store, tr Transport) *Deliverer {
	return &Deliverer{
		Store: st, Transport: tr, Clock: func() time.Time { return now },
		Attempts: 1, Sleep: func(context.Context, time.Duration) error { return nil },
		Compose: ComposeOptions{MaxItemsPerSection: 100},
	}
}

func pending(t *testing.T, st *store.Store, ref digestbot.ChannelRef) int {
	t.Helper()
	items, err := st.Pending(context.Background(), ref.GuildID, ref.ChannelID)
	if err != nil {
		t.Fatal(err)
	}
	return len(items)
}

func TestDeliverPostsThenAcknowledges(t *testing.T) {
	storetest.EachRealBackend(t, testDeliverPostsThenAcknowledges)
}

func testDeliverPostsThenAcknowledges(t *testing.T, b *storetest.Backend) {
	st := b.Open(t, store.Options{})
	ctx := context.Background()
	arts := seed(t, st, ref, 25) // 25 stories: 3 messages of at most 10 embeds
	chat := newFakeChat()
	res, err := newDeliverer(st, chat).Deliver(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if res.Parts != 3 || res.Posted != 3 || res.Items != 25 {
		t.Errorf("result %+v, want 25 items in 3 parts, all posted", res)
	}
	checkEachOnce(t, chat.messages(), arts)
	if n := pending(t, st, ref); n != 0 {
		t.Errorf("%d items still pending after delivery", n)
	}
	state, _ := st.ChannelState(ctx, ref.GuildID, ref.ChannelID)
	if !state.LastDigestAt.Equal(now) {
		t.Errorf("LastDigestAt = %v, want %v", state.LastDigestAt, now)
	}
	// Nothing pending: nothing posted.
	res, err = newDeliverer(st, chat).Deliver(ctx, ref)
	if err != nil || res.Posted != 0 || len(chat.messages()) != 3 {
		t.Errorf("second delivery: %+v, %v, %d messages; want nothing posted", res, err, len(chat.messages()))
	}
}

func TestCrashBetweenPostAndAcknowledge(t *testing.T) {
	storetest.EachRealBackend(t, testCrashBetweenPostAndAcknowledge)
}

func testCrashBetweenPostAndAcknowledge(t *testing.T, b *storetest.Backend) {
	tests := []struct {
		name string
		fail func(n int) (bool, error)
	}{
		{"chat confirms nothing after posting part 1", func(n int) (bool, error) {
			if n == 1 {
				return true, digestbot.Errorf(digestbot.EUNAVAILABLE, "connection reset after the request was sent")
			}
			return true, nil
		}},
		{"chat fails after posting part 2", func(n int) (bool, error) {
			if n == 2 {
				return true, digestbot.Errorf(digestbot.EUNAVAILABLE, "502 bad gateway")
			}
			return true, nil
		}},
		{"rate limited before posting part 3", func(n int) (bool, error) {
			if n == 3 {
				return false, digestbot.Errorf(digestbot.ELIMIT, "429 too many requests")
			}
			return true, nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := b.Open(t, store.Options{})
			ctx := context.Background()
			arts := seed(t, st, ref, 25)
			chat := newFakeChat()
			chat.fail = tt.fail
			if _, err := newDeliverer(st, chat).Deliver(ctx, ref); err == nil {
				t.Fatal("first delivery succeeded, want the injected failure")
			}
			if n := pending(t, st, ref); n != 25 {
				t.Fatalf("%d items pending after the failure, want all 25 kept", n)
			}
			// A new worker (a restarted process) finishes the delivery.
			res, err := newDeliverer(st, chat).Deliver(ctx, ref)
			if err != nil {
				t.Fatal(err)
			}
			if got := len(chat.messages()); got != 3 {
				t.Errorf("%d messages reached the channel, want exactly 3", got)
			}
			checkEachOnce(t, chat.messages(), arts)
			if n := pending(t, st, ref); n != 0 || res.Parts != 3 {
				t.Errorf("%d pending, %d parts; want 0 pending, 3 parts", n, res.Parts)
			}
		})
	}
}

func TestTwoWorkersRaceForOneChannel(t *testing.T) {
	storetest.EachRealBackend(t, testTwoWorkersRaceForOneChannel)
}

func testTwoWorkersRaceForOneChannel(t *testing.T, b *storetest.Backend) {
	st := b.Open(t, store.Options{})
	ctx := context.Background()
	arts := seed(t, st, ref, 5)
	chat := newFakeChat()
	chat.block = make(chan struct{})
	// Two replicas, each with its own connection to the same Redis and keys.
	other := b.Replica(t, st)
	results := make(chan Result, 2)
	for _, replica := range []*store.Store{st, other} {
		go func() {
			res, err := newDeliverer(replica, chat).Deliver(ctx, ref)
			if err != nil {
				t.Error(err)
			}
			results <- res
		}()
	}
	first := <-results // the loser returns at once; the winner is blocked posting
	close(chat.block)
	second := <-results
	if !first.Busy || second.Busy || second.Posted != 1 {
		t.Errorf("results %+v and %+v; want one busy and one that posted", first, second)
	}
	if got := len(chat.messages()); got != 1 {
		t.Errorf("%d messages, want 1", got)
	}
	checkEachOnce(t, chat.messages(), arts)
}

func TestGoneOrForbiddenChannelPauses(t *testing.T) {
	storetest.EachRealBackend(t, testGoneOrForbiddenChannelPauses)
}

func testGoneOrForbiddenChannelPauses(t *testing.T, b *storetest.Backend) {
	tests := []struct {
		name, code, want string
	}{
		{"forbidden", digestbot.EFORBIDDEN, "may not post"},
		{"gone", digestbot.ENOTFOUND, "no longer exists"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := b.Open(t, store.Options{})
			ctx := context.Background()
			seed(t, st, ref, 3)
			chat := newFakeChat()
			chat.fail = func(int) (bool, error) { return false, digestbot.Errorf(tt.code, "Missing Access") }
			res, err := newDeliverer(st, chat).Deliver(ctx, ref)
			if err != nil || !res.Paused {
				t.Fatalf("Deliver = %+v, %v; want paused", res, err)
			}
			state, _ := st.ChannelState(ctx, ref.GuildID, ref.ChannelID)
			if !strings.Contains(state.PausedReason, tt.want) || state.PausedAt.IsZero() {
				t.Errorf("state %+v, want paused with a reason containing %q", state, tt.want)
			}
			if n := pending(t, st, ref); n != 3 {
				t.Errorf("%d pending, want the 3 items kept", n)
			}
			calls := chat.calls
			if res, _ := newDeliverer(st, chat).Deliver(ctx, ref); !res.Paused || chat.calls != calls {
				t.Errorf("a paused channel was posted to again")
			}
			// Someone acts in the channel again: resume, and the kept items arrive.
			chat.fail = nil
			if ok, err := newDeliverer(st, chat).Resume(ctx, ref); !ok || err != nil {
				t.Fatalf("Resume = %v, %v; want resumed", ok, err)
			}
			if res, err := newDeliverer(st, chat).Deliver(ctx, ref); err != nil || res.Paused || len(chat.messages()) != 1 {
				t.Errorf("after Resume: %+v, %v, %d messages; want the kept items posted", res, err, len(chat.messages()))
			}
			if ok, _ := newDeliverer(st, chat).Resume(ctx, ref); ok {
				t.Errorf("Resume of a channel that is not paused reported a change")
			}
		})
	}
}

func TestRetryWithBackoff(t *testing.T) { storetest.EachRealBackend(t, testRetryWithBackoff) }

func testRetryWithBackoff(t *testing.T, b *storetest.Backend) {
	st := b.Open(t, store.Options{})
	ctx := context.Background()
	arts := seed(t, st, ref, 2)
	chat := newFakeChat()
	chat.fail = func(n int) (bool, error) {
		if n < 3 {
			return false, digestbot.Errorf(digestbot.EUNAVAILABLE, "503")
		}
		return true, nil
	}
	var waits []time.Duration
	d := newDeliverer(st, chat)
	d.Attempts, d.Backoff = 4, time.Second
	d.Sleep = func(_ context.Context, w time.Duration) error { waits = append(waits, w); return nil }
	if _, err := d.Deliver(ctx, ref); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(waits) != "[1s 2s]" {
		t.Errorf("waits %v, want [1s 2s]", waits)
	}
	checkEachOnce(t, chat.messages(), arts)
}

func TestRedisRestartMidRun(t *testing.T) {
	srv := storetest.RealRedis(t)
	st := storetest.OpenOn(t, store.Options{URL: srv.URL})
	ctx := context.Background()
	arts := seed(t, st, ref, 25)
	chat := newFakeChat()
	// Redis dies right after the chat service took part 1.
	chat.fail = func(n int) (bool, error) {
		if n == 1 {
			srv.Stop()
		}
		return true, nil
	}
	// A short lease: the crashed worker cannot release it, so it must expire.
	d := newDeliverer(st, chat)
	d.LeaseTTL = time.Second
	if _, err := d.Deliver(ctx, ref); digestbot.ErrorCode(err) != digestbot.EUNAVAILABLE {
		t.Fatalf("Deliver with Redis down: %v, want EUNAVAILABLE", err)
	}
	srv.Start()
	chat.fail = nil
	var err error
	for range 100 { // the client reconnects on its own; the old lease is held until it expires
		var res Result
		if res, err = newDeliverer(st, chat).Deliver(ctx, ref); err == nil && !res.Busy {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	if n := pending(t, st, ref); n != 0 {
		t.Errorf("%d items pending after the restart and delivery", n)
	}
	if got := len(chat.messages()); got != 3 {
		t.Errorf("%d messages, want 3", got)
	}
	checkEachOnce(t, chat.messages(), arts)
}

func TestPreviewPostsNothing(t *testing.T) { storetest.EachRealBackend(t, testPreviewPostsNothing) }

func testPreviewPostsNothing(t *testing.T, b *storetest.Backend) {
	st := b.Open(t, store.Options{})
	ctx := context.Background()
	seed(t, st, ref, 4)
	chat := newFakeChat()
	dg, msgs, err := newDeliverer(st, chat).Preview(ctx, ref)
	if err != nil || dg == nil || len(msgs) != 1 || len(msgs[0].Embeds) != 4 {
		t.Fatalf("Preview = %v, %d messages, %v", dg, len(msgs), err)
	}
	if len(chat.messages()) != 0 || pending(t, st, ref) != 4 {
		t.Errorf("preview posted or acknowledged")
	}
}

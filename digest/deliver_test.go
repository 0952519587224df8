package digest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/backoff"
	"github.com/digestbot/digestbot/store"
	"github.com/digestbot/digestbot/store/storetest"
)

var quietLog = slog.New(slog.DiscardHandler)

// testClock is a clock tests move by hand.
type testClock struct{ ms atomic.Int64 }

func newClock(t time.Time) *testClock { c := &testClock{}; c.ms.Store(t.UnixMilli()); return c }
func (c *testClock) Now() time.Time   { return time.UnixMilli(c.ms.Load()).UTC() }
func (c *testClock) Advance(d time.Duration) {
	c.ms.Add(d.Milliseconds())
}

// fakeChat is a chat service that behaves like Discord where delivery
// depends on it: a repeated nonce returns the first message only while the
// nonce is remembered (nonceTTL), and the channel's history lists what was
// posted, with the time it was stored.
type fakeChat struct {
	mu       sync.Mutex
	clock    *testClock
	nonceTTL time.Duration
	posted   []Posted             // every message that reached the channel or its threads, in order
	at       []time.Time          // when each was stored
	where    []string             // the channel (or thread) of each
	kind     string               // what ChannelKind answers; "" = KindText
	threads  map[string]string    // message id -> thread started on it
	forum    map[string]string    // forum post name -> thread id
	buttons  map[string]string    // message id -> custom id of its button
	noThread error                // what StartThread answers, when set
	byNonce  map[string]nonceSeen // nonce -> message
	calls    int
	recent   int // Recent calls
	// fail decides the outcome of call n (1-based): whether the message is
	// stored, and the error answered.
	fail func(n int, msg Message) (record bool, err error)
	// recentErr, when set, is what Recent answers.
	recentErr error
	// block, when set, holds every Post until it is closed.
	block chan struct{}
	// started is told of each Post as it begins.
	started chan struct{}
	// hold, when set, is how long a rate limit holds call n back before
	// it is sent (the clock advances by it); a call that would leave
	// after the deliverer's SendBy is not sent, as the bot's transport
	// does.
	hold func(n int) time.Duration
}

type nonceSeen struct {
	id string
	at time.Time
}

func newFakeChat(c *testClock) *fakeChat {
	return &fakeChat{clock: c, nonceTTL: 2 * time.Minute, byNonce: map[string]nonceSeen{},
		threads: map[string]string{}, forum: map[string]string{}, buttons: map[string]string{}}
}

func (f *fakeChat) ChannelKind(context.Context, digestbot.ChannelRef) (string, error) {
	if f.kind == "" {
		return KindText, nil
	}
	return f.kind, nil
}

func (f *fakeChat) StartThread(_ context.Context, ch digestbot.ChannelRef, messageID, name string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.noThread != nil {
		return "", f.noThread
	}
	f.threads[messageID] = messageID
	return messageID, nil
}

func (f *fakeChat) PostForum(_ context.Context, ch digestbot.ChannelRef, name string, msg Message) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := fmt.Sprintf("m%d", len(f.posted)+1)
	f.posted = append(f.posted, Posted{ID: id, Msg: msg})
	f.at = append(f.at, f.clock.Now())
	f.where = append(f.where, id)
	f.forum[name] = id
	return id, nil
}

func (f *fakeChat) FindForumPost(_ context.Context, ch digestbot.ChannelRef, name string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.forum[name], nil
}

func (f *fakeChat) AddButton(_ context.Context, ch digestbot.ChannelRef, messageID string, msg Message, label, customID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.buttons[messageID] = customID
	return nil
}

// in returns the messages posted in one channel or thread.
func (f *fakeChat) in(channelID string) []Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Message
	for i, p := range f.posted {
		if f.where[i] == channelID {
			out = append(out, p.Msg)
		}
	}
	return out
}

func (f *fakeChat) Post(ctx context.Context, ch digestbot.ChannelRef, msg Message, nonce string) (string, error) {
	if f.started != nil {
		f.started <- struct{}{}
	}
	if f.block != nil {
		select {
		case <-f.block:
		case <-ctx.Done():
			return "", digestbot.WrapError(digestbot.EUNAVAILABLE, ctx.Err(), "gave up")
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.hold != nil {
		if w := f.hold(f.calls); w > 0 {
			f.clock.Advance(w)
			if sendBy, ok := SendBy(ctx); ok && w > time.Until(sendBy) {
				return "", ErrSendWindowPassed
			}
		}
	}
	record, err := true, error(nil)
	if f.fail != nil {
		record, err = f.fail(f.calls, msg)
	}
	now := f.clock.Now()
	seen, dup := f.byNonce[nonce]
	if dup && now.Sub(seen.at) >= f.nonceTTL {
		dup = false // forgotten: a repeated nonce posts a copy
	}
	id := seen.id
	if record && !dup {
		id = fmt.Sprintf("m%d", len(f.posted)+1)
		f.byNonce[nonce] = nonceSeen{id, now}
		f.posted = append(f.posted, Posted{ID: id, Msg: msg})
		f.at = append(f.at, now)
		f.where = append(f.where, ch.ChannelID)
	}
	if err != nil {
		return "", err
	}
	return id, nil
}

func (f *fakeChat) Recent(ctx context.Context, ch digestbot.ChannelRef, from, to time.Time) ([]Posted, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.recent++
	if f.recentErr != nil {
		return nil, f.recentErr
	}
	var out []Posted
	for i, p := range f.posted {
		if f.where[i] == ch.ChannelID && !f.at[i].Before(from) && !f.at[i].After(to) {
			out = append(out, p)
		}
	}
	return out, nil
}

func (f *fakeChat) messages() []Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Message, len(f.posted))
	for i, p := range f.posted {
		out[i] = p.Msg
	}
	return out
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

func newDeliverer(st Store, tr Transport, c *testClock) *Deliverer {
	return &Deliverer{
		Store: st, Transport: tr, Clock: c.Now, Logger: quietLog,
		Attempts: 1, Retry: backoff.Policy{First: time.Millisecond, Max: time.Millisecond},
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
	clock := newClock(now)
	// 25 stories: 10 in the channel, 15 in a thread of 2 messages.
	arts := seed(t, st, ref, 25)
	chat := newFakeChat(clock)
	res, err := newDeliverer(st, chat, clock).Deliver(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if res.Parts != 4 || res.Posted != 3 || res.Items != 25 {
		t.Errorf("result %+v, want 25 items in 3 messages and a thread, all posted", res)
	}
	first := "m1"
	if n := len(chat.in(ref.ChannelID)); n != 1 || len(chat.in(first)) != 2 || chat.threads[first] == "" {
		t.Errorf("%d messages in the channel, %d in the thread on its first message; want 1 and 2", n, len(chat.in(first)))
	}
	checkEachOnce(t, chat.messages(), arts)
	for i, m := range chat.messages() {
		if MarkerOf(m) == "" || TextLen(m.Content) > DiscordLimits.Content {
			t.Errorf("message %d carries no marker or is too long: %q", i, m.Content)
		}
	}
	if n := pending(t, st, ref); n != 0 {
		t.Errorf("%d items still pending after delivery", n)
	}
	state, _ := st.ChannelState(ctx, ref.GuildID, ref.ChannelID)
	if !state.LastDigestAt.Equal(now) {
		t.Errorf("LastDigestAt = %v, want %v", state.LastDigestAt, now)
	}
	// Nothing pending: nothing posted.
	res, err = newDeliverer(st, chat, clock).Deliver(ctx, ref)
	if err != nil || res.Posted != 0 || len(chat.messages()) != 3 {
		t.Errorf("second delivery: %+v, %v, %d messages; want nothing posted", res, err, len(chat.messages()))
	}
}

// A delivery interrupted after the chat service stored a part but before
// its answer arrived is finished by the next attempt with every part
// exactly once: within the nonce window the nonce answers; after it (a
// restart a minute, an hour or a week later) the channel is read for the
// parts' markers. The gap does not change how much is read.
func TestInterruptedDeliveryIsFinishedOnce(t *testing.T) {
	storetest.EachRealBackend(t, testInterruptedDeliveryIsFinishedOnce)
}

func testInterruptedDeliveryIsFinishedOnce(t *testing.T, b *storetest.Backend) {
	lostAnswer := func(part int) func(n int, _ Message) (bool, error) {
		return func(n int, _ Message) (bool, error) {
			if n == part {
				return true, digestbot.Errorf(digestbot.EUNAVAILABLE, "connection reset after the request was sent")
			}
			return true, nil
		}
	}
	tests := []struct {
		name       string
		fail       func(n int, _ Message) (bool, error)
		gap        time.Duration
		wantSearch bool
		wantFound  int
	}{
		{"answer to part 1 lost, retried at once", lostAnswer(1), 0, false, 0},
		{"answer to part 2 lost, retried a minute later", lostAnswer(2), time.Minute, false, 0},
		{"answer to part 1 lost, retried three minutes later", lostAnswer(1), 3 * time.Minute, true, 1},
		{"answer to part 2 lost, retried a week later", lostAnswer(2), 7 * 24 * time.Hour, true, 1},
		// Not stored, but the bot cannot know that: it looks, finds
		// nothing, and posts.
		{"rate limited before part 3 was stored, retried a day later", func(n int, _ Message) (bool, error) {
			if n == 3 {
				return false, digestbot.Errorf(digestbot.ELIMIT, "429 too many requests")
			}
			return true, nil
		}, 24 * time.Hour, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := b.Open(t, store.Options{})
			ctx := context.Background()
			clock := newClock(now)
			arts := seed(t, st, ref, 25)
			chat := newFakeChat(clock)
			chat.fail = tt.fail
			if _, err := newDeliverer(st, chat, clock).Deliver(ctx, ref); err == nil {
				t.Fatal("first delivery succeeded, want the injected failure")
			}
			if n := pending(t, st, ref); n != 25 {
				t.Fatalf("%d items pending after the failure, want all 25 kept", n)
			}
			clock.Advance(tt.gap)
			chat.fail = nil
			// A new worker (a restarted process, another replica) finishes.
			res, err := newDeliverer(st, chat, clock).Deliver(ctx, ref)
			if err != nil {
				t.Fatal(err)
			}
			if got := len(chat.messages()); got != 3 {
				t.Errorf("%d messages reached the channel, want exactly 3", got)
			}
			checkEachOnce(t, chat.messages(), arts)
			if n := pending(t, st, ref); n != 0 || res.Parts != 4 {
				t.Errorf("%d pending, %d parts; want 0 pending, 4 parts", n, res.Parts)
			}
			if (chat.recent > 0) != tt.wantSearch {
				t.Errorf("read the channel %d times; want a search %v", chat.recent, tt.wantSearch)
			}
			if res.Found != tt.wantFound {
				t.Errorf("found %d parts in the channel, want %d", res.Found, tt.wantFound)
			}
		})
	}
}

// The claim of a replica that died lapses within the claim time; another
// replica finishes its delivery.
func TestAnotherReplicaFinishesAfterTheClaimLapses(t *testing.T) {
	storetest.EachRealBackend(t, testAnotherReplicaFinishesAfterTheClaimLapses)
}

func testAnotherReplicaFinishesAfterTheClaimLapses(t *testing.T, b *storetest.Backend) {
	st := b.Open(t, store.Options{})
	ctx := context.Background()
	clock := newClock(now)
	arts := seed(t, st, ref, 25)
	chat := newFakeChat(clock)
	// The "dead" replica: claimed, began, posted part 0, never released.
	tok, _, err := st.ClaimChannel(ctx, ref.GuildID, ref.ChannelID, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	dead := newDeliverer(st, chat, clock)
	del, err := st.BeginDelivery(ctx, ref.GuildID, ref.ChannelID, tok, now)
	if err != nil {
		t.Fatal(err)
	}
	l, _, err := dead.lay(ctx, ref, del.Items, del.StartedAt, time.Time{}, false)
	if err != nil {
		t.Fatal(err)
	}
	parts := buildParts(l, KindText)
	if err := st.SetDeliveryParts(ctx, del, tok, parts); err != nil {
		t.Fatal(err)
	}
	if err := st.RecordAttempt(ctx, del, tok, "0", clock.Now()); err != nil {
		t.Fatal(err)
	}
	b0, _ := decodeBody(parts[0].Body)
	if _, err := chat.Post(ctx, ref, WithMarker(b0.Message, Marker(Nonce(ref, del.WindowID, "0")), DiscordLimits), Nonce(ref, del.WindowID, "0")); err != nil {
		t.Fatal(err)
	}
	other := b.Replica(t, st)
	live := newDeliverer(other, chat, clock)
	res, err := live.Deliver(ctx, ref)
	if err != nil || !res.Busy {
		t.Fatalf("while the claim holds: %+v, %v; want busy", res, err)
	}
	time.Sleep(400 * time.Millisecond)
	clock.Advance(10 * time.Minute) // a slow takeover: the nonce is forgotten
	res, err = live.Deliver(ctx, ref)
	if err != nil || res.Busy || res.Found != 1 || res.Posted != 2 {
		t.Fatalf("after the claim lapsed: %+v, %v; want part 0 found, 2 posted", res, err)
	}
	checkEachOnce(t, chat.messages(), arts)
}

func TestTwoWorkersRaceForOneChannel(t *testing.T) {
	storetest.EachRealBackend(t, testTwoWorkersRaceForOneChannel)
}

func testTwoWorkersRaceForOneChannel(t *testing.T, b *storetest.Backend) {
	st := b.Open(t, store.Options{})
	ctx := context.Background()
	clock := newClock(now)
	arts := seed(t, st, ref, 5)
	chat := newFakeChat(clock)
	chat.block = make(chan struct{})
	// Two replicas, each with its own connection to the same Redis and keys.
	other := b.Replica(t, st)
	results := make(chan Result, 2)
	for _, replica := range []*store.Store{st, other} {
		go func() {
			res, err := newDeliverer(replica, chat, clock).Deliver(ctx, ref)
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

// A stop while a part is being posted lets that post finish (within the
// grace), records it, releases the claim, and says the delivery was
// interrupted: the next attempt posts only the rest.
func TestStopLetsThePostInFlightFinish(t *testing.T) {
	storetest.EachRealBackend(t, testStopLetsThePostInFlightFinish)
}

func testStopLetsThePostInFlightFinish(t *testing.T, b *storetest.Backend) {
	st := b.Open(t, store.Options{})
	clock := newClock(now)
	arts := seed(t, st, ref, 25)
	chat := newFakeChat(clock)
	chat.block = make(chan struct{})
	chat.started = make(chan struct{}, 10)
	ctx, stop := context.WithCancel(context.Background())
	d := newDeliverer(st, chat, clock)
	d.StopGrace = 5 * time.Second
	done := make(chan Result, 1)
	go func() {
		res, err := d.Deliver(ctx, ref)
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	<-chat.started
	stop() // SIGTERM while part 0 is in flight
	time.Sleep(50 * time.Millisecond)
	close(chat.block) // Discord answers within the grace
	res := <-done
	if !res.Interrupted || res.Posted != 1 {
		t.Fatalf("stopped delivery: %+v; want interrupted after posting 1", res)
	}
	chat.started = nil
	// The claim was released: another worker goes on at once.
	res, err := newDeliverer(st, chat, clock).Deliver(context.Background(), ref)
	if err != nil || res.Busy || res.Posted != 2 {
		t.Fatalf("next attempt: %+v, %v; want the 2 other parts", res, err)
	}
	checkEachOnce(t, chat.messages(), arts)
}

// A part the chat service refuses is split into single stories; a story
// still refused is posted as its title and link; one refused even so is
// set aside with a record; the rest of the digest arrives.
func TestRefusedPartsAreSplitShrunkOrSetAside(t *testing.T) {
	storetest.EachRealBackend(t, testRefusedPartsAreSplitShrunkOrSetAside)
}

func testRefusedPartsAreSplitShrunkOrSetAside(t *testing.T, b *storetest.Backend) {
	st := b.Open(t, store.Options{})
	ctx := context.Background()
	clock := newClock(now)
	arts := seed(t, st, ref, 25)
	poison, big := arts[3].URL, arts[7].URL
	chat := newFakeChat(clock)
	chat.fail = func(n int, m Message) (bool, error) {
		for _, e := range m.Embeds {
			if e.URL == poison || (e.URL == big && e.Description != "") {
				return false, digestbot.Errorf(digestbot.EINVALID, "Invalid Form Body")
			}
		}
		return true, nil
	}
	var events sync.Map
	d := newDeliverer(st, chat, clock)
	d.Event = func(kind string) { v, _ := events.LoadOrStore(kind, new(atomic.Int32)); v.(*atomic.Int32).Add(1) }
	res, err := d.Deliver(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if res.SetAside != 1 || pending(t, st, ref) != 0 {
		t.Errorf("result %+v, %d pending; want one part set aside, nothing pending", res, pending(t, st, ref))
	}
	var rest []*digestbot.Article
	for _, a := range arts {
		if a.URL != poison {
			rest = append(rest, a)
		}
	}
	checkEachOnce(t, chat.messages(), rest)
	for _, m := range chat.messages() {
		for _, e := range m.Embeds {
			if e.URL == big && e.Description != "" {
				t.Errorf("the refused story was posted in full")
			}
		}
	}
	cs, _ := st.ChannelState(ctx, ref.GuildID, ref.ChannelID)
	if cs.SetAside != 1 || !strings.Contains(cs.LastSetAside, "refused") {
		t.Errorf("channel state %+v, want the part set aside recorded", cs)
	}
	// Stories 7 and 3 are in two different messages: each message refused
	// (2), each one's refused story alone (2), story 3 as title and link (1).
	for kind, want := range map[string]int32{EventSetAside: 1, EventRefused: 5} {
		v, _ := events.Load(kind)
		if v == nil || v.(*atomic.Int32).Load() != want {
			t.Errorf("%s events: %v, want %d", kind, v, want)
		}
	}
}

// A part that keeps failing while the chat service takes other posts is
// poison: after MaxPartFailures such failures it is set aside and the rest
// goes on. In an outage (nothing gets through) nothing is set aside.
func TestPoisonPartIsSetAsideButAnOutageIsNot(t *testing.T) {
	storetest.EachRealBackend(t, testPoisonPartIsSetAsideButAnOutageIsNot)
}

func testPoisonPartIsSetAsideButAnOutageIsNot(t *testing.T, b *storetest.Backend) {
	st := b.Open(t, store.Options{})
	ctx := context.Background()
	clock := newClock(now)
	arts := seed(t, st, ref, 25)
	chat := newFakeChat(clock)
	var outage atomic.Bool
	outage.Store(true)
	chat.fail = func(n int, m Message) (bool, error) {
		if outage.Load() {
			return false, digestbot.Errorf(digestbot.EUNAVAILABLE, "503")
		}
		for _, e := range m.Embeds {
			if strings.HasSuffix(e.Title, " report 15") {
				return false, digestbot.Errorf(digestbot.EUNAVAILABLE, "500")
			}
		}
		return true, nil
	}
	d := newDeliverer(st, chat, clock)
	d.MaxPartFailures = 3
	for range 6 {
		clock.Advance(time.Minute)
		if res, err := d.Deliver(ctx, ref); err == nil || res.SetAside != 0 {
			t.Fatalf("during an outage: %+v, %v; want a failure and nothing set aside", res, err)
		}
	}
	// Discord is back for everything but the part with story 15; other
	// channels' digests get through between the retries.
	outage.Store(false)
	other := digestbot.ChannelRef{GuildID: "g1", ChannelID: "c2"}
	var res Result
	var err error
	for i := range 6 {
		clock.Advance(time.Minute)
		a := seed(t, st, digestbot.ChannelRef{GuildID: "g1", ChannelID: fmt.Sprintf("c2-%d", i)}, 1)[0]
		if err := st.EnqueuePending(ctx, []digestbot.PendingItem{{GuildID: other.GuildID, ChannelID: other.ChannelID, ArticleID: a.ID,
			Hits: []digestbot.Hit{{SubscriptionID: "s9", Label: "x"}}, QueuedAt: clock.Now()}}); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Deliver(ctx, other); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Second)
		if res, err = d.Deliver(ctx, ref); err == nil {
			break
		}
	}
	if err != nil || res.SetAside != 1 {
		t.Fatalf("with other posts getting through: %+v, %v; want the part set aside", res, err)
	}
	if pending(t, st, ref) != 0 {
		t.Errorf("items left pending")
	}
	var kept []*digestbot.Article
	shown := map[string]bool{}
	for _, m := range chat.messages() {
		for _, e := range m.Embeds {
			shown[e.URL] = true
		}
	}
	for _, a := range arts {
		if shown[a.URL] {
			kept = append(kept, a)
		}
	}
	if len(kept) < 15 {
		t.Errorf("%d of 25 stories arrived; only the poison part's should be missing", len(kept))
	}
}

func TestGoneOrForbiddenChannelPauses(t *testing.T) {
	storetest.EachRealBackend(t, testGoneOrForbiddenChannelPauses)
}

func testGoneOrForbiddenChannelPauses(t *testing.T, b *storetest.Backend) {
	tests := []struct {
		name, code, want, kind string
	}{
		{"forbidden", digestbot.EFORBIDDEN, "may not post", digestbot.PauseForbidden},
		{"gone", digestbot.ENOTFOUND, "no longer exists", digestbot.PauseUnknownChannel},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := b.Open(t, store.Options{})
			ctx := context.Background()
			clock := newClock(now)
			seed(t, st, ref, 3)
			chat := newFakeChat(clock)
			chat.fail = func(int, Message) (bool, error) { return false, digestbot.Errorf(tt.code, "Missing Access") }
			res, err := newDeliverer(st, chat, clock).Deliver(ctx, ref)
			if err != nil || !res.Paused {
				t.Fatalf("Deliver = %+v, %v; want paused", res, err)
			}
			state, _ := st.ChannelState(ctx, ref.GuildID, ref.ChannelID)
			if !strings.Contains(state.PausedReason, tt.want) || state.PausedAt.IsZero() || state.PausedBy != tt.kind {
				t.Errorf("state %+v, want paused (%s) with a reason containing %q", state, tt.kind, tt.want)
			}
			if n := pending(t, st, ref); n != 3 {
				t.Errorf("%d pending, want the 3 items kept", n)
			}
			calls := chat.calls
			if res, _ := newDeliverer(st, chat, clock).Deliver(ctx, ref); !res.Paused || chat.calls != calls {
				t.Errorf("a paused channel was posted to again")
			}
			// Someone acts in the channel again: resume, and the kept items arrive.
			chat.fail = nil
			if ok, err := newDeliverer(st, chat, clock).Resume(ctx, ref); !ok || err != nil {
				t.Fatalf("Resume = %v, %v; want resumed", ok, err)
			}
			if res, err := newDeliverer(st, chat, clock).Deliver(ctx, ref); err != nil || res.Paused || len(chat.messages()) != 1 {
				t.Errorf("after Resume: %+v, %v, %d messages; want the kept items posted", res, err, len(chat.messages()))
			}
			if ok, _ := newDeliverer(st, chat, clock).Resume(ctx, ref); ok {
				t.Errorf("Resume of a channel that is not paused reported a change")
			}
		})
	}
}

// A refused token holds the delivery without pausing anything; a channel
// whose history cannot be read (to check for a half-posted digest) is
// paused with a reason that says what permission it needs.
func TestTokenRefusedPausesNothing(t *testing.T) {
	storetest.EachRealBackend(t, testTokenRefusedPausesNothing)
}

func testTokenRefusedPausesNothing(t *testing.T, b *storetest.Backend) {
	st := b.Open(t, store.Options{})
	ctx := context.Background()
	clock := newClock(now)
	seed(t, st, ref, 3)
	chat := newFakeChat(clock)
	chat.fail = func(int, Message) (bool, error) { return false, digestbot.Errorf(digestbot.EUNAUTHORIZED, "401") }
	_, err := newDeliverer(st, chat, clock).Deliver(ctx, ref)
	if digestbot.ErrorCode(err) != digestbot.EUNAUTHORIZED {
		t.Fatalf("Deliver = %v, want EUNAUTHORIZED", err)
	}
	if cs, _ := st.ChannelState(ctx, ref.GuildID, ref.ChannelID); cs.PausedReason != "" || pending(t, st, ref) != 3 {
		t.Fatalf("after a 401: state %+v, %d pending; want nothing paused, all kept", cs, pending(t, st, ref))
	}
	clock.Advance(time.Hour)
	chat.fail = nil
	chat.recentErr = digestbot.Errorf(digestbot.EFORBIDDEN, "the bot may not read the message history")
	res, err := newDeliverer(st, chat, clock).Deliver(ctx, ref)
	if err != nil || !res.Paused || !strings.Contains(res.PausedReason, "message history") || len(chat.messages()) != 0 {
		t.Fatalf("history unreadable: %+v, %v, %d messages; want paused, nothing posted", res, err, len(chat.messages()))
	}
}

func TestRetryWithBackoff(t *testing.T) {
	storetest.EachRealBackend(t, testRetryWithBackoff)
}

func testRetryWithBackoff(t *testing.T, b *storetest.Backend) {
	st := b.Open(t, store.Options{})
	ctx := context.Background()
	clock := newClock(now)
	arts := seed(t, st, ref, 2)
	chat := newFakeChat(clock)
	chat.fail = func(n int, _ Message) (bool, error) {
		if n < 3 {
			return false, digestbot.Errorf(digestbot.EUNAVAILABLE, "503")
		}
		return true, nil
	}
	d := newDeliverer(st, chat, clock)
	d.Attempts = 4
	if _, err := d.Deliver(ctx, ref); err != nil {
		t.Fatal(err)
	}
	if chat.calls != 3 {
		t.Errorf("%d calls, want 3 (two failures, then success)", chat.calls)
	}
	checkEachOnce(t, chat.messages(), arts)
}

// A retry that relies on the nonce but is held back by a rate limit past
// the nonce window is not sent: the deliverer reads the channel, finds the
// first attempt's message, and posts no copy.
func TestRateLimitedRetryPastTheNonceWindowPostsNoCopy(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, b *storetest.Backend) {
		st := b.Open(t, store.Options{})
		clock := newClock(now)
		arts := seed(t, st, ref, 2)
		chat := newFakeChat(clock)
		chat.fail = func(n int, _ Message) (bool, error) {
			if n == 1 { // stored, but the answer is lost
				return true, digestbot.Errorf(digestbot.EUNAVAILABLE, "connection reset")
			}
			return true, nil
		}
		chat.hold = func(n int) time.Duration {
			if n == 2 {
				return 3 * time.Minute // longer than Discord remembers the nonce
			}
			return 0
		}
		d := newDeliverer(st, chat, clock)
		d.Attempts = 3
		if _, err := d.Deliver(context.Background(), ref); err != nil {
			t.Fatal(err)
		}
		checkEachOnce(t, chat.messages(), arts)
		if chat.recent == 0 {
			t.Errorf("the channel was not read before posting past the nonce window")
		}
		if p := pending(t, st, ref); p != 0 {
			t.Errorf("%d items still pending", p)
		}
	})
}

// A part a rate limit keeps holding past the nonce window is not poison:
// however often it happens while other posts go through, it is never set
// aside, and it is posted once when the limit lets it.
func TestPostHeldByRateLimitsIsNeverSetAside(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, b *storetest.Backend) {
		st := b.Open(t, store.Options{})
		ctx := context.Background()
		clock := newClock(now)
		arts := seed(t, st, ref, 2)
		chat := newFakeChat(clock)
		d := newDeliverer(st, chat, clock)
		for i := range 2 * DefaultMaxPartFailures {
			// Another channel's post goes through, then this one is held.
			chat.hold = nil
			other := digestbot.ChannelRef{GuildID: ref.GuildID, ChannelID: fmt.Sprint("other", i)}
			seed(t, st, other, 1)
			if _, err := d.Deliver(ctx, other); err != nil {
				t.Fatal(err)
			}
			chat.hold = func(int) time.Duration { return 3 * time.Minute }
			if _, err := d.Deliver(ctx, ref); !errors.Is(err, ErrSendWindowPassed) {
				t.Fatalf("a post held past its window: %v", err)
			}
		}
		chat.hold = nil
		res, err := d.Deliver(ctx, ref)
		if err != nil || res.SetAside != 0 {
			t.Fatalf("after the limit lifted: %+v, %v; want posted, nothing set aside", res, err)
		}
		checkEachOnce(t, chat.in(ref.ChannelID), arts)
	})
}

func TestRedisRestartMidRun(t *testing.T) {
	srv := storetest.RealRedis(t)
	st := storetest.OpenOn(t, store.Options{URL: srv.URL})
	ctx := context.Background()
	clock := newClock(now)
	arts := seed(t, st, ref, 25)
	chat := newFakeChat(clock)
	// Redis dies right after the chat service took part 1.
	chat.fail = func(n int, _ Message) (bool, error) {
		if n == 1 {
			srv.Stop()
		}
		return true, nil
	}
	// A short claim: the crashed worker cannot release it, so it must lapse.
	d := newDeliverer(st, chat, clock)
	d.ClaimTTL = time.Second
	if _, err := d.Deliver(ctx, ref); digestbot.ErrorCode(err) != digestbot.EUNAVAILABLE {
		t.Fatalf("Deliver with Redis down: %v, want EUNAVAILABLE", err)
	}
	srv.Start()
	chat.fail = nil
	var err error
	for range 100 { // the client reconnects on its own; the old claim is held until it lapses
		var res Result
		if res, err = newDeliverer(st, chat, clock).Deliver(ctx, ref); err == nil && !res.Busy {
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

func TestPreviewPostsNothing(t *testing.T) {
	storetest.EachRealBackend(t, testPreviewPostsNothing)
}

func testPreviewPostsNothing(t *testing.T, b *storetest.Backend) {
	st := b.Open(t, store.Options{})
	ctx := context.Background()
	clock := newClock(now)
	seed(t, st, ref, 4)
	chat := newFakeChat(clock)
	dg, msgs, err := newDeliverer(st, chat, clock).Preview(ctx, ref)
	if err != nil || dg == nil || len(msgs) != 1 || len(msgs[0].Embeds) != 4 {
		t.Fatalf("Preview = %v, %d messages, %v", dg, len(msgs), err)
	}
	if len(chat.messages()) != 0 || pending(t, st, ref) != 4 {
		t.Errorf("preview posted or acknowledged")
	}
}

func TestSearchSpansMergeNearbyAttempts(t *testing.T) {
	t0 := now
	got := searchSpans([]time.Time{t0.Add(time.Hour), t0, t0.Add(30 * time.Second)}, time.Minute)
	if len(got) != 2 || !got[0][0].Equal(t0.Add(-time.Minute)) || !got[0][1].Equal(t0.Add(90*time.Second)) ||
		!got[1][0].Equal(t0.Add(59*time.Minute)) {
		t.Errorf("spans %v", got)
	}
}

// In a forum the digest is a post: its first message opens it and the
// rest follow inside. A post whose answer was lost is found by its name,
// not opened twice.
func TestForumDigestIsAPost(t *testing.T) {
	st := storetest.Open(t)
	ctx := context.Background()
	clock := newClock(now)
	arts := seed(t, st, ref, 25)
	chat := newFakeChat(clock)
	chat.kind = KindForum
	lost := true
	d := newDeliverer(st, chat, clock)
	// The post is opened, but the answer is lost (the process dies).
	d.Transport = &loseForumAnswer{fakeChat: chat, lose: &lost}
	if _, err := d.Deliver(ctx, ref); err == nil {
		t.Fatal("want the lost answer to fail the first delivery")
	}
	lost = false
	res, err := newDeliverer(st, chat, clock).Deliver(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if len(chat.forum) != 1 || res.Found != 1 {
		t.Fatalf("%d forum posts (found %d after the lost answer), want 1 found", len(chat.forum), res.Found)
	}
	var post string
	for _, id := range chat.forum {
		post = id
	}
	if n := len(chat.in(post)); n != 3 {
		t.Errorf("%d messages in the post, want 3 (25 stories: 10, 10 and 5)", n)
	}
	checkEachOnce(t, chat.messages(), arts)
}

type loseForumAnswer struct {
	*fakeChat
	lose *bool
}

func (l *loseForumAnswer) PostForum(ctx context.Context, ch digestbot.ChannelRef, name string, msg Message) (string, error) {
	id, err := l.fakeChat.PostForum(ctx, ch, name, msg)
	if *l.lose {
		return "", digestbot.Errorf(digestbot.EUNAVAILABLE, "connection reset")
	}
	return id, err
}

// Where the bot may not start a thread, the rest of the digest is kept in
// the store behind a "More" button on the last channel message; where
// even that fails, it is posted in the channel.
func TestNoThreadsMeansAMoreButton(t *testing.T) {
	st := storetest.Open(t)
	ctx := context.Background()
	clock := newClock(now)
	arts := seed(t, st, ref, 25)
	chat := newFakeChat(clock)
	chat.noThread = digestbot.Errorf(digestbot.EFORBIDDEN, "Missing Permissions")
	res, err := newDeliverer(st, chat, clock).Deliver(ctx, ref)
	if err != nil || res.Paused {
		t.Fatalf("Deliver = %+v, %v", res, err)
	}
	if len(chat.messages()) != 1 || len(chat.buttons) != 1 {
		t.Fatalf("%d messages and %d buttons, want 1 and 1", len(chat.messages()), len(chat.buttons))
	}
	var custom string
	for _, c := range chat.buttons {
		custom = c
	}
	if custom != GuildMoreButtonID(ref.GuildID, MoreStateID(res.WindowID), 0) {
		t.Errorf("button %q", custom)
	}
	state, err := st.LoadLookup(ctx, ref.GuildID, MoreStateID(res.WindowID))
	if err != nil {
		t.Fatal(err)
	}
	var more MoreState
	if err := json.Unmarshal(state, &more); err != nil || more.Channel != ref.ChannelID {
		t.Fatalf("state %s: %v; want the pages and the channel", state, err)
	}
	checkEachOnce(t, append(chat.messages(), more.Pages...), arts)
	if pending(t, st, ref) != 0 {
		t.Errorf("items left pending")
	}
}

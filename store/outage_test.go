package store_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/store"
	"github.com/digestbot/digestbot/store/storetest"
)

// hangGuard is how long a call may take before the test calls it a hang.
// It is far above the store's own bounds (a few seconds); it only turns a
// hang into a failure instead of a stuck test binary.
const hangGuard = 30 * time.Second

// within runs f and fails the test if it does not return within hangGuard.
func within(t *testing.T, what string, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(hangGuard):
		t.Fatalf("%s hung for %v", what, hangGuard)
		return nil
	}
}

func TestRedisStoppedMidTest(t *testing.T) {
	srv := storetest.RealRedis(t)
	t.Logf("store outage test: %s", srv.Describe())
	st := storetest.OpenOn(t, store.Options{URL: srv.URL})
	c := context.Background() // no deadline: the store must bound the calls itself
	s := sub("g1", "c1", "energy")
	if _, err := st.AddSubscription(c, s, 10); err != nil {
		t.Fatal(err)
	}

	srv.Stop()
	calls := []struct {
		name string
		call func() error
	}{
		{"Ping", func() error { return st.Ping(c) }},
		{"AddSubscription", func() error { _, err := st.AddSubscription(c, sub("g1", "c1", "solar"), 10); return err }},
		{"Subscriptions", func() error { _, err := st.Subscriptions(c, "g1", ""); return err }},
		{"PutArticles", func() error { _, err := st.PutArticles(c, []*digestbot.Article{article(1)}); return err }},
		{"EnqueuePending", func() error { return st.EnqueuePending(c, []digestbot.PendingItem{item("g1", "c1", "a1", s.ID)}) }},
		{"ClaimChannel", func() error { _, _, err := st.ClaimChannel(c, "g1", "c1", time.Minute); return err }},
	}
	for _, tc := range calls {
		t.Run(tc.name, func(t *testing.T) {
			err := within(t, tc.name, tc.call)
			wantCode(t, err, digestbot.EUNAVAILABLE)
			if msg := digestbot.ErrorMessage(err); msg == "" || msg == "internal error" {
				t.Fatalf("user message %q does not say the store is unreachable", msg)
			}
		})
	}

	srv.Start()
	// The same client reconnects once Redis is back; the data survived.
	subs, err := st.Subscriptions(c, "g1", "")
	if err != nil || len(subs) != 1 || subs[0].ID != s.ID {
		t.Fatalf("after restart: %v, %v; want the subscription added before the outage", subs, err)
	}
}

func TestRestartKeepsPending(t *testing.T) {
	srv := storetest.RealRedis(t)
	t.Logf("store restart test: %s", srv.Describe())
	st := storetest.OpenOn(t, store.Options{URL: srv.URL})
	c := ctx(t)
	var items []digestbot.PendingItem
	for ch := range 10 {
		for a := range 20 {
			items = append(items, item("g1", fmt.Sprintf("c%d", ch), fmt.Sprintf("a%d", a), "s1"))
		}
	}
	if err := st.EnqueuePending(c, items); err != nil {
		t.Fatal(err)
	}
	tok, _, err := st.ClaimChannel(c, "g1", "c0", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	d, err := st.BeginDelivery(c, "g1", "c0", tok, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetDeliveryParts(c, d, tok, []digestbot.DeliveryPart{{Key: "0", Body: "b0"}, {Key: "1", Body: "b1"}}); err != nil {
		t.Fatal(err)
	}
	if err := st.MarkPartPosted(c, d, tok, "0", "m0"); err != nil {
		t.Fatal(err)
	}

	srv.Stop() // SIGKILL: a crash, not a clean shutdown
	srv.Start()

	total := 0
	for ch := range 10 {
		p, err := st.Pending(c, "g1", fmt.Sprintf("c%d", ch))
		if err != nil {
			t.Fatal(err)
		}
		total += len(p)
	}
	if total != len(items) {
		t.Fatalf("%d pending items after the restart, want all %d", total, len(items))
	}
	again, err := st.BeginDelivery(c, "g1", "c0", tok, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if again.WindowID != d.WindowID || len(again.Parts) != 2 || again.Parts[0].Posted != "m0" || len(again.Items) != 20 {
		t.Fatalf("delivery after the restart = window %s parts %+v items %d; want window %s with part 0 posted and 20 items",
			again.WindowID, again.Parts, len(again.Items), d.WindowID)
	}
}

func TestOpenErrors(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := l.Addr().String()
	l.Close()

	tests := []struct {
		name, url, code string
	}{
		{"not a URL", "notaurl", digestbot.EINVALID},
		{"wrong scheme", "http://127.0.0.1:6379", digestbot.EINVALID},
		{"bad cluster seed", "127.0.0.1:7000,:x", digestbot.EINVALID},
		{"nothing listening", "redis://" + closedPort, digestbot.EUNAVAILABLE},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := within(t, "Open", func() error {
				st, err := store.Open(context.Background(), store.Options{URL: tc.url})
				if err == nil {
					st.Close()
				}
				return err
			})
			wantCode(t, err, tc.code)
		})
	}
}

func TestOpenRetryWaitsForRedis(t *testing.T) {
	srv := storetest.RealRedis(t)
	srv.Stop()
	type result struct {
		st  *store.Store
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, cancel := context.WithTimeout(context.Background(), hangGuard)
		defer cancel()
		st, err := store.OpenRetry(c, store.Options{URL: srv.URL, Prefix: storetest.UniquePrefix(), Logger: quietLogger(t)})
		done <- result{st, err}
	}()
	time.Sleep(700 * time.Millisecond) // let at least one attempt fail
	srv.Start()
	r := <-done
	if r.err != nil {
		t.Fatalf("OpenRetry after Redis came back: %v", r.err)
	}
	defer r.st.Close()
	if err := r.st.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}

	t.Run("gives up when the context ends", func(t *testing.T) {
		srv.Stop()
		c, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		err := within(t, "OpenRetry", func() error {
			_, err := store.OpenRetry(c, store.Options{URL: srv.URL, Logger: quietLogger(t)})
			return err
		})
		wantCode(t, err, digestbot.EUNAVAILABLE)
	})
}

func quietLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, nil))
}

// tWriter sends log lines to the test log.
type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

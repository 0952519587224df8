package store_test

import (
	"context"
	"testing"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/store"
)

// buttonState is one kind of state kept for a reply's buttons.
type buttonState struct {
	save func(ctx context.Context, guildID, id string, state []byte, ttl time.Duration) error
	load func(ctx context.Context, guildID, id string) ([]byte, error)
	max  int
}

// testLookupState: a lookup's button state is readable by any client of the
// store, only under its own guild, and gone after its lifetime.
func testLookupState(t *testing.T, b backend) {
	st := b.open(t, store.Options{})
	testButtonState(t, b, st, buttonState{st.SaveLookup, st.LoadLookup, store.MaxLookupState}, buttonState{st.SaveReply, st.LoadReply, store.MaxReplyState})
}

// testReplyState: the pages of a reply are kept as a lookup's state is,
// with room for more than a lookup may keep, and apart from lookups.
func testReplyState(t *testing.T, b backend) {
	st := b.open(t, store.Options{})
	c := ctx(t)
	ttl := time.Minute
	pages := make([]byte, store.MaxLookupState+1)
	if err := st.SaveReply(c, "g1", "r1", pages, ttl); err != nil {
		t.Fatal(err)
	}
	if got, err := st.LoadReply(c, "g1", "r1"); err != nil || len(got) != len(pages) {
		t.Fatalf("LoadReply = %d bytes, %v; want %d", len(got), err, len(pages))
	}
	testButtonState(t, b, st, buttonState{st.SaveReply, st.LoadReply, store.MaxReplyState}, buttonState{st.SaveLookup, st.LoadLookup, store.MaxLookupState})
}

// testButtonState checks one kind of button state; other is another kind,
// which must not read it.
func testButtonState(t *testing.T, b backend, st *store.Store, kind, other buttonState) {
	c := ctx(t)
	ttl := time.Second
	if b.Embedded() {
		ttl = 15 * time.Minute
	}
	if err := kind.save(c, "g1", "abc123", []byte(`{"query":"x"}`), ttl); err != nil {
		t.Fatal(err)
	}
	got, err := kind.load(c, "g1", "abc123")
	if err != nil || string(got) != `{"query":"x"}` {
		t.Fatalf("load = %q, %v", got, err)
	}
	if _, err := kind.load(c, "g2", "abc123"); digestbot.ErrorCode(err) != digestbot.ENOTFOUND {
		t.Errorf("another guild loaded the state: %v", err)
	}
	if _, err := other.load(c, "g1", "abc123"); digestbot.ErrorCode(err) != digestbot.ENOTFOUND {
		t.Errorf("another kind of state read it: %v", err)
	}
	if _, err := kind.load(c, "g1", "x}:y"); digestbot.ErrorCode(err) != digestbot.ENOTFOUND {
		t.Errorf("a malformed id: %v, want ENOTFOUND", err)
	}
	if err := kind.save(c, "g1", "big", make([]byte, kind.max+1), ttl); digestbot.ErrorCode(err) != digestbot.ELIMIT {
		t.Errorf("oversized state: %v, want ELIMIT", err)
	}
	b.age(t, st, ttl+time.Second)
	if _, err := kind.load(c, "g1", "abc123"); digestbot.ErrorCode(err) != digestbot.ENOTFOUND {
		t.Errorf("state outlived its lifetime: %v", err)
	}
}

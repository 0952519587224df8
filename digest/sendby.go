package digest

import (
	"context"
	"time"

	digestbot "github.com/digestbot/digestbot"
)

// A nonce de-duplicates a post only while the chat service remembers it,
// so a retry relying on it must reach the service within the nonce window
// of the first attempt it answers for. A rate limit can hold a request
// back longer than that (Discord's retry_after, the shared budget of the
// replicas): the deliverer gives the transport a time to send by, and the
// transport sends nothing after it. The deliverer then reads the channel
// first, as for any attempt older than the window.

type sendByKey struct{}

// WithSendBy returns ctx saying that a post must leave before t.
func WithSendBy(ctx context.Context, t time.Time) context.Context {
	return context.WithValue(ctx, sendByKey{}, t)
}

// SendBy is the time a post must leave before, if ctx says one.
func SendBy(ctx context.Context) (time.Time, bool) {
	t, ok := ctx.Value(sendByKey{}).(time.Time)
	return t, ok
}

// PastSendBy reports whether a post that waits d before it leaves would
// leave after the time ctx gives it (SendBy); false when ctx gives none.
func PastSendBy(ctx context.Context, d time.Duration) bool {
	t, ok := SendBy(ctx)
	return ok && time.Now().Add(d).After(t)
}

// ErrSendWindowPassed is a transport's answer to a post it did not send
// because it could not leave before SendBy.
var ErrSendWindowPassed = digestbot.Errorf(digestbot.EUNAVAILABLE, "the post was not sent: a rate limit held it past the nonce window")

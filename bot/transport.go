package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/digestbot/digestbot/backoff"
	"github.com/digestbot/digestbot/digest"
)

// RateStore keeps the bot's Discord rate limits where every replica sees
// them (package store implements it over Redis). Discord counts the
// global limit and each route's bucket per bot, so replicas that each
// paced themselves would together exceed them.
type RateStore interface {
	// TakeGlobal reserves one request of a budget of perSecond a second
	// and returns how long to wait before sending it.
	TakeGlobal(ctx context.Context, now time.Time, perSecond int) (time.Duration, error)
	// BlockGlobal records a global 429: nothing is sent until `until`.
	BlockGlobal(ctx context.Context, until time.Time) error
	// TakeRoute takes one request from a route's bucket; the wait is
	// non-zero while Discord said the bucket is empty.
	// It says by when the request must be sent (zero: no limit), else it
	// is counted in a window it does not reach Discord in.
	TakeRoute(ctx context.Context, route string, now time.Time) (wait time.Duration, sendBy time.Time, err error)
	// SetRoute records the bucket a response reported.
	SetRoute(ctx context.Context, route string, remaining int, reset time.Time) error
}

// DefaultRequestsPerSecond is the bot's share of Discord's global limit
// (50 requests a second per bot, interactions excepted) that all replicas
// together spend: a little under it, so that network jitter between the
// reservation and Discord's count does not tip a second over.
const DefaultRequestsPerSecond = 48

// botTransport carries every REST call of the bot: it sets the token and
// the User-Agent, paces calls by the limits shared through RateStore,
// records the limits Discord reports, and notices a refused token.
//
// The token lives here rather than in discordgo's Session, because a token
// replaced while the bot runs (see watchToken) must not race discordgo's
// unlocked reads of Session.Token.
type botTransport struct {
	next      http.RoundTripper
	token     *atomic.Pointer[string]
	userAgent string
	limits    RateStore // nil: only discordgo's in-process buckets
	perSecond int
	log       *slog.Logger
	// unauthorized is told of every 401.
	unauthorized func()
	// warned limits the log when the rate store cannot be reached.
	warned atomic.Int64
}

// RoundTrip implements http.RoundTripper.
func (t *botTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bot "+*t.token.Load())
	r.Header.Set("User-Agent", t.userAgent)
	route, global := routeOf(r)
	if err := t.pace(r.Context(), route, global); err != nil {
		return nil, err
	}
	if digest.PastSendBy(r.Context(), 0) {
		// The wait for the limits carried a digest post past its nonce
		// window: the deliverer reads the channel before posting it.
		return nil, digest.ErrSendWindowPassed
	}
	resp, err := t.next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusUnauthorized && t.unauthorized != nil {
		t.unauthorized()
	}
	t.record(r.Context(), route, resp)
	return resp, nil
}

// routeOf names the shared bucket of a request ("" for none) and whether
// it counts against the global limit. Only the routes several replicas
// write to are shared: a channel's messages. Interaction callbacks and
// webhooks are exempt from the global limit (Discord's rule).
func routeOf(r *http.Request) (route string, global bool) {
	p := r.URL.Path
	if strings.Contains(p, "/interactions/") || strings.Contains(p, "/webhooks/") {
		return "", false
	}
	parts := strings.Split(strings.Trim(p, "/"), "/")
	// api, v9, channels, ID, messages
	for i := 0; i+2 < len(parts); i++ {
		if parts[i] == "channels" && parts[i+2] == "messages" && (i+3 == len(parts)) {
			return r.Method + " channels/" + parts[i+1] + "/messages", true
		}
	}
	return "", true
}

// pace waits until the shared limits allow the request. A digest post
// that must leave by a time (digest.SendBy) is refused with
// digest.ErrSendWindowPassed as soon as the limits say it cannot, rather
// than after waiting them out.
func (t *botTransport) pace(ctx context.Context, route string, global bool) error {
	if t.limits == nil {
		return nil
	}
	for range 1000 {
		if digest.PastSendBy(ctx, 0) {
			return digest.ErrSendWindowPassed
		}
		wait := time.Duration(0)
		var sendBy time.Time
		var err error
		if route != "" {
			wait, sendBy, err = t.limits.TakeRoute(ctx, route, time.Now())
		}
		if err == nil && wait == 0 {
			if !global {
				return nil
			}
			if err = t.takeGlobal(ctx); errors.Is(err, digest.ErrSendWindowPassed) {
				return err
			}
			if err == nil {
				if !sendBy.IsZero() && time.Now().After(sendBy) {
					// The wait for the global budget carried the request
					// to the end of the route's window: Discord would
					// count it in the next one. Take the route again.
					continue
				}
				return nil
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
		if err != nil {
			// The store is away: Discord's own answers still pace the
			// bot (discordgo's buckets, 429s); do not stop delivering.
			if last := t.warned.Load(); time.Since(time.UnixMilli(last)) > time.Minute && t.warned.CompareAndSwap(last, time.Now().UnixMilli()) {
				t.log.Warn("discord: shared rate limits cannot be read; pacing by Discord's answers only", "err", err)
			}
			return nil
		}
		// Poll a bucket that is held for a probe's answer; sleep out one
		// that Discord said is empty.
		if digest.PastSendBy(ctx, wait) {
			return digest.ErrSendWindowPassed
		}
		if err := backoff.Wait(ctx, min(wait, 100*time.Millisecond)); err != nil {
			return err
		}
	}
	return nil
}

// maxLate is how late a request may leave after its reserved slot of the
// global budget. Later, it would land among the slots of other requests
// (a process stalled by the scheduler or a GC pause), and Discord would
// count more than the budget in one second: it takes a new slot instead.
const maxLate = 25 * time.Millisecond

// takeGlobal waits for a slot of the global budget, unless the wait would
// carry a digest post past the time it must leave by (digest.SendBy).
func (t *botTransport) takeGlobal(ctx context.Context) error {
	for try := 0; ; try++ {
		at := time.Now()
		wait, err := t.limits.TakeGlobal(ctx, at, t.perSecond)
		if err != nil {
			return err
		}
		if digest.PastSendBy(ctx, wait) {
			return digest.ErrSendWindowPassed
		}
		if err := backoff.Wait(ctx, wait); err != nil {
			return err
		}
		if time.Since(at.Add(wait)) <= maxLate || try >= 3 {
			return nil
		}
	}
}

// record stores what Discord said of the limits.
func (t *botTransport) record(ctx context.Context, route string, resp *http.Response) {
	if t.limits == nil {
		return
	}
	h := resp.Header
	if resp.StatusCode == http.StatusTooManyRequests && h.Get("X-RateLimit-Global") == "true" {
		if wait := retryAfter(resp); wait > 0 {
			_ = t.limits.BlockGlobal(ctx, time.Now().Add(wait))
		}
		return
	}
	if route == "" || h.Get("X-RateLimit-Remaining") == "" {
		return
	}
	rem, err := strconv.Atoi(h.Get("X-RateLimit-Remaining"))
	if err != nil {
		return
	}
	// The absolute reset names the window, so that answers of one window
	// agree; Reset-After is the fallback.
	var reset time.Time
	if v, err := strconv.ParseFloat(h.Get("X-RateLimit-Reset"), 64); err == nil && v > 0 {
		reset = time.UnixMicro(int64(v * 1e6))
	} else if v, err := strconv.ParseFloat(h.Get("X-RateLimit-Reset-After"), 64); err == nil && v > 0 {
		reset = time.Now().Add(time.Duration(v * float64(time.Second)))
	} else {
		return
	}
	_ = t.limits.SetRoute(ctx, route, rem, reset)
}

// retryAfter reads a 429's wait from its body (retry_after, seconds) or
// the Retry-After header, leaving the body readable.
func retryAfter(resp *http.Response) time.Duration {
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err == nil {
		var v struct {
			RetryAfter float64 `json:"retry_after"`
		}
		if json.Unmarshal(body, &v) == nil && v.RetryAfter > 0 {
			return time.Duration(v.RetryAfter * float64(time.Second))
		}
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	return 0
}

package ingest

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// hostLimiter keeps one process polite to each host it fetches from: at
// most perHost fetches at once, and at least delay between the starts of
// two (golang.org/x/time/rate, burst 1). The limits are per process, so N
// replicas reach a host at most N times as often.
type hostLimiter struct {
	perHost int
	delay   time.Duration
	// onStart, when set (tests), is told the start time each fetch was
	// given by the host's rate limiter.
	onStart func(host string, at time.Time)

	mu      sync.Mutex
	hosts   map[string]*hostState
	sweepAt int // sweep idle hosts when the map grows to this size
}

type hostState struct {
	slots chan struct{} // a token per fetch running
	start *rate.Limiter // paces the starts
	users int           // callers between acquire and release, waiting or fetching; guarded by hostLimiter.mu
}

// maxWaiting is how many fetches of one host a process lets wait for it,
// per slot, beyond those running: more would only hold workers that other
// hosts' feeds could use.
const maxWaiting = 1

func newHostLimiter(perHost int, delay time.Duration) *hostLimiter {
	return &hostLimiter{perHost: perHost, delay: delay, hosts: map[string]*hostState{}, sweepAt: 256}
}

// limitHost is the part of a feed URL that the limits count by: the host as
// written, with its port when it has one ("example.org", "example.org:8080").
func limitHost(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Host)
}

// acquire waits until a fetch from host may start, at most maxWait.
// ok=false when it may not now: too many fetches of the host already wait
// here, the wait would be longer than maxWait, or ctx ended. On ok, call
// release when the fetch is over.
func (l *hostLimiter) acquire(ctx context.Context, host string, maxWait time.Duration) (release func(), ok bool) {
	if ctx.Err() != nil {
		return nil, false
	}
	l.mu.Lock()
	h := l.hosts[host]
	if h == nil {
		if len(l.hosts) >= l.sweepAt {
			l.sweepLocked()
		}
		lim := rate.NewLimiter(rate.Inf, 1)
		if l.delay > 0 {
			lim = rate.NewLimiter(rate.Every(l.delay), 1)
		}
		h = &hostState{slots: make(chan struct{}, l.perHost), start: lim}
		l.hosts[host] = h
	}
	if h.users >= l.perHost*(1+maxWaiting) {
		l.mu.Unlock()
		return nil, false
	}
	h.users++
	l.mu.Unlock()
	done := func() {
		l.mu.Lock()
		h.users--
		l.mu.Unlock()
	}

	deadline := time.NewTimer(maxWait)
	defer deadline.Stop()
	select {
	case h.slots <- struct{}{}:
	case <-deadline.C:
		done()
		return nil, false
	case <-ctx.Done():
		done()
		return nil, false
	}
	give := func() { <-h.slots; done() }
	now := time.Now()
	r := h.start.ReserveN(now, 1)
	wait := r.DelayFrom(now)
	if !r.OK() || wait > maxWait {
		r.CancelAt(now)
		give()
		return nil, false
	}
	if l.onStart != nil {
		l.onStart(host, now.Add(wait))
	}
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			r.Cancel()
			give()
			return nil, false
		}
	}
	return give, true
}

// sweepLocked forgets the hosts that nothing uses and whose limiter would
// let a fetch start at once: a fresh state is the same. l.mu is held.
func (l *hostLimiter) sweepLocked() {
	now := time.Now()
	for k, h := range l.hosts {
		if h.users == 0 && h.start.TokensAt(now) >= 1 {
			delete(l.hosts, k)
		}
	}
	l.sweepAt = max(256, 2*len(l.hosts))
}

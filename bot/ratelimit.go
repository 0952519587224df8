package bot

import (
	"math"
	"sync"
	"time"
)

// limiter is a per-user token bucket: each user may run up to burst
// commands at once and gets n back per window. The burst is larger than
// n so that setting a server up (twenty /subscribe in a row, a few
// /topics and /feeds, a look at the lists) is never refused, while a
// flood is held to n a window.
type limiter struct {
	n, burst int
	window   time.Duration

	mu        sync.Mutex
	users     map[string]*tokens
	lastSweep time.Time
}

type tokens struct {
	left float64
	at   time.Time
}

// newLimiter returns a limiter of n commands per window after a first
// burst (at least n); n < 0 disables it.
func newLimiter(n int, window time.Duration, burst int) *limiter {
	return &limiter{n: n, burst: max(burst, n), window: window, users: map[string]*tokens{}}
}

// allow takes one token for user; when none is left it says how long
// until one is.
func (l *limiter) allow(user string, now time.Time) (bool, time.Duration) {
	if l.n < 0 {
		return true, 0
	}
	rate := float64(l.n) / float64(l.window) // tokens per nanosecond
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	t := l.users[user]
	if t == nil {
		t = &tokens{left: float64(l.burst), at: now}
		l.users[user] = t
	}
	if el := now.Sub(t.at); el > 0 {
		t.left = min(float64(l.burst), t.left+float64(el)*rate)
	}
	t.at = now
	if t.left >= 1 {
		t.left--
		return true, 0
	}
	if l.n == 0 {
		return false, l.window
	}
	wait := time.Duration(math.Ceil((1-t.left)/rate/float64(time.Second))) * time.Second
	return false, wait
}

// sweep forgets users whose bucket has refilled, once per window, so the
// map holds only recently active users.
func (l *limiter) sweep(now time.Time) {
	if now.Sub(l.lastSweep) < l.window {
		return
	}
	l.lastSweep = now
	full := l.window * time.Duration(l.burst) / time.Duration(max(l.n, 1))
	for u, t := range l.users {
		if now.Sub(t.at) >= full {
			delete(l.users, u)
		}
	}
}

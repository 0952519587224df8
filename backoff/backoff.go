// Package backoff is the one place that decides how long to wait before
// trying again: exponential from a first delay up to a cap, with random
// jitter so that many processes (or many channels, or many feeds) that
// failed together do not all come back in the same instant.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Policy is a retry schedule. The zero value waits 1 s doubling to 1 min,
// minus up to 20 % jitter.
type Policy struct {
	First  time.Duration // delay after the first failure; default 1 s
	Max    time.Duration // cap; default 1 min
	Jitter float64       // fraction of the delay taken off at random, in [0, 1]; default 0.2; negative: none
	// Rand returns a number in [0, 1); nil means math/rand/v2. Tests fix it.
	Rand func() float64
}

// Delay is the wait after the n-th consecutive failure (n from 1): First
// doubled n-1 times, at most Max, less a random part of up to Jitter of
// it. The jitter only shortens the wait, so Max is a true cap.
func (p Policy) Delay(n int) time.Duration {
	first, maxd := p.First, p.Max
	if first <= 0 {
		first = time.Second
	}
	if maxd <= 0 {
		maxd = time.Minute
	}
	if maxd < first {
		maxd = first
	}
	d := first
	for i := 1; i < n && d < maxd; i++ {
		d *= 2
	}
	d = min(d, maxd)
	j := p.Jitter
	switch {
	case j == 0:
		j = 0.2
	case j < 0:
		j = 0
	case j > 1:
		j = 1
	}
	r := rand.Float64
	if p.Rand != nil {
		r = p.Rand
	}
	return d - time.Duration(float64(d)*j*r())
}

// Sleep waits Delay(n), or until ctx is done (then it returns ctx.Err()).
func (p Policy) Sleep(ctx context.Context, n int) error {
	return Wait(ctx, p.Delay(n))
}

// Wait waits d, or until ctx is done (then it returns ctx.Err()).
func Wait(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

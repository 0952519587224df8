package backoff

import (
	"context"
	"testing"
	"time"
)

func TestDelayDoublesToTheCap(t *testing.T) {
	p := Policy{First: time.Second, Max: 10 * time.Second, Jitter: -1}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}
	for i, w := range want {
		if got := p.Delay(i + 1); got != w {
			t.Errorf("Delay(%d) = %v, want %v", i+1, got, w)
		}
	}
	// A huge failure count must not overflow into a negative or zero wait.
	if got := p.Delay(1 << 20); got != 10*time.Second {
		t.Errorf("Delay(1<<20) = %v, want the cap", got)
	}
}

func TestJitterOnlyShortens(t *testing.T) {
	lo := Policy{First: time.Second, Max: time.Minute, Rand: func() float64 { return 0.999999 }}
	hi := Policy{First: time.Second, Max: time.Minute, Rand: func() float64 { return 0 }}
	for n := 1; n < 12; n++ {
		l, h := lo.Delay(n), hi.Delay(n)
		if h > time.Minute || l < h*79/100 || l > h {
			t.Errorf("Delay(%d): jittered %v outside [80%%, 100%%] of %v", n, l, h)
		}
	}
}

func TestZeroPolicyHasSaneDefaults(t *testing.T) {
	var p Policy
	if d := p.Delay(1); d <= 0 || d > time.Second {
		t.Errorf("zero policy first delay %v, want (0, 1s]", d)
	}
	if d := p.Delay(100); d > time.Minute || d < 48*time.Second {
		t.Errorf("zero policy capped delay %v, want about 1 min", d)
	}
}

func TestWaitEndsWithTheContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Wait(ctx, time.Hour); err == nil {
		t.Fatal("Wait on a cancelled context returned nil")
	}
	if err := Wait(context.Background(), 0); err != nil {
		t.Fatalf("Wait(0) = %v", err)
	}
}

package ingest

import (
	"context"
	"testing"
	"time"
)

func (l *hostLimiter) usersOf(host string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if h := l.hosts[host]; h != nil {
		return h.users
	}
	return 0
}

// TestHostLimiterSlots: per host, perHost fetches run, as many more wait,
// and further ones are refused at once; other hosts are not affected.
func TestHostLimiterSlots(t *testing.T) {
	l := newHostLimiter(2, -1)
	ctx := context.Background()
	var running []func()
	for range 2 {
		rel, ok := l.acquire(ctx, "a.example", time.Minute)
		if !ok {
			t.Fatal("a free host refused a fetch")
		}
		running = append(running, rel)
	}
	got := make(chan bool, 2)
	for range 2 {
		go func() {
			rel, ok := l.acquire(ctx, "a.example", time.Minute)
			if ok {
				rel()
			}
			got <- ok
		}()
	}
	for l.usersOf("a.example") < 4 {
		time.Sleep(time.Millisecond)
	}
	if _, ok := l.acquire(ctx, "a.example", time.Minute); ok {
		t.Fatal("a fifth fetch of a host with 2 running and 2 waiting was let in")
	}
	if rel, ok := l.acquire(ctx, "b.example", time.Minute); !ok {
		t.Fatal("a busy host held up another")
	} else {
		rel()
	}
	for _, rel := range running {
		rel()
	}
	for range 2 {
		if !<-got {
			t.Error("a waiting fetch was refused once the host was free")
		}
	}
	if n := l.usersOf("a.example"); n != 0 {
		t.Errorf("%d users left after every release", n)
	}
}

// TestHostLimiterWaitBound: a fetch that would wait longer than allowed for
// its host is refused at once, and gives its turn back.
func TestHostLimiterWaitBound(t *testing.T) {
	l := newHostLimiter(2, time.Hour)
	var starts []time.Time
	l.onStart = func(_ string, at time.Time) { starts = append(starts, at) }
	ctx := context.Background()
	rel, ok := l.acquire(ctx, "a.example", time.Second)
	if !ok {
		t.Fatal("the first fetch of a host was refused")
	}
	rel()
	if _, ok := l.acquire(ctx, "a.example", time.Second); ok {
		t.Fatal("a fetch started less than the host delay after the previous one")
	}
	if len(starts) != 1 {
		t.Fatalf("%d starts granted, want 1", len(starts))
	}
	ctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, ok := l.acquire(ctx, "c.example", time.Second); ok {
		t.Error("acquired with the context ended")
	}
}

// Package lease runs the background jobs that one process should run at a
// time — the matcher — under a lease in Redis, so that
// several replicas of the bot can share one Redis: one does the work, and
// when it stops (or loses Redis) another takes over within a lease time.
//
// The jobs are safe to run twice (articles are put-if-absent, pending items
// merge), so the lease is about not doing the work twice, not about
// correctness; a lease that outlives a crashed holder only delays the work
// by at most its TTL.
package lease

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"time"
)

// Store keeps the leases (store.Store implements it).
type Store interface {
	HoldLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	DropLease(ctx context.Context, name, holder string) error
}

// DefaultTTL is how long a lease lasts without renewal; the holder renews
// it every third of that.
const DefaultTTL = 30 * time.Second

// Lease is one named lease as seen by this process.
type Lease struct {
	Store  Store
	Name   string
	Holder string        // this process; NewHolder gives a readable unique one
	TTL    time.Duration // DefaultTTL when zero
	Log    *slog.Logger
}

// NewHolder names this process for its leases: host, pid and a random
// part, so an operator reading the lease key in Redis sees who holds it.
func NewHolder() string {
	host, _ := os.Hostname()
	var b [4]byte
	rand.Read(b[:])
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

func (l *Lease) ttl() time.Duration {
	if l.TTL > 0 {
		return l.TTL
	}
	return DefaultTTL
}

func (l *Lease) log() *slog.Logger {
	if l.Log != nil {
		return l.Log
	}
	return slog.New(slog.DiscardHandler)
}

// Run calls job whenever this process holds the lease, until ctx ends.
// job's context ends when the lease is lost or cannot be renewed (Redis
// unreachable: the lease may pass to another process once it expires), and
// Run waits for job to return before it tries to take the lease again.
func (l *Lease) Run(ctx context.Context, job func(context.Context)) {
	every := l.ttl() / 3
	for {
		token := l.token()
		ok, err := l.Store.HoldLease(ctx, l.Name, token, l.ttl())
		if err != nil && ctx.Err() == nil {
			l.log().Warn("could not take a lease; trying again", "lease", l.Name, "err", err)
		}
		if ok {
			l.log().Info("this process now runs the job", "lease", l.Name)
			if err := l.hold(ctx, token, func(ctx context.Context) error { job(ctx); return nil }); err != nil {
				l.log().Error("job failed", "lease", l.Name, "err", err)
			}
			if ctx.Err() == nil {
				l.log().Warn("lost the lease; another process may run the job", "lease", l.Name)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

// Do runs job once while holding the lease. When another process holds
// it, Do tries again for up to wait and then gives up with ran=false.
func (l *Lease) Do(ctx context.Context, wait time.Duration, job func(context.Context) error) (ran bool, err error) {
	deadline := time.Now().Add(wait)
	token := l.token()
	for {
		ok, err := l.Store.HoldLease(ctx, l.Name, token, l.ttl())
		if err != nil {
			return false, err
		}
		if ok {
			return true, l.hold(ctx, token, job)
		}
		if !time.Now().Before(deadline) {
			return false, nil
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(min(100*time.Millisecond, time.Until(deadline))):
		}
	}
}

// token names one acquisition: the process's holder name, so an operator
// reading the key sees who holds it, and a random part, so two holds in
// one process are two holders — one finishing never drops the other's.
func (l *Lease) token() string {
	var b [4]byte
	rand.Read(b[:])
	return l.Holder + "#" + hex.EncodeToString(b[:])
}

// hold runs job with the lease just taken as token: renews it every third
// of the TTL, cancels job's context when a renewal fails, and drops the
// lease when job returns. A panic in job is recovered and returned as an
// error: the job runs in a goroutine of its own, out of reach of the
// caller's recovery (cron's Recover, the interaction handler's), and one
// bad article must not take the process down.
func (l *Lease) hold(ctx context.Context, token string, job func(context.Context) error) error {
	jobCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("%s job panicked: %v\n%s", l.Name, r, debug.Stack())
			}
		}()
		done <- job(jobCtx)
	}()
	t := time.NewTicker(l.ttl() / 3)
	defer t.Stop()
	for {
		select {
		case err := <-done:
			l.drop(ctx, token)
			return err
		case <-t.C:
			ok, err := l.Store.HoldLease(jobCtx, l.Name, token, l.ttl())
			if ctx.Err() != nil { // shutting down: the job is ending anyway
				err := <-done
				l.drop(ctx, token)
				return err
			}
			if !ok || err != nil {
				cancel()
				// Wait for the job, but do not drop: the lease is not ours.
				return <-done
			}
		}
	}
}

// drop hands the lease on at once rather than at expiry; with a fresh
// context, because ctx may be what ended the job.
func (l *Lease) drop(ctx context.Context, token string) {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := l.Store.DropLease(dctx, l.Name, token); err != nil {
		l.log().Warn("could not drop a lease; it expires by itself", "lease", l.Name, "err", err)
	}
}

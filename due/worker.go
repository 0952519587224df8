// Package due runs work that falls due at a time — digests on their
// schedules, feeds on their polling intervals — from a due queue in Redis
// (digestbot.DueQueue), so that any number of replicas share it: each takes
// what is due when it has a free worker, nothing is held in process memory,
// and a replica that dies gives its taken entries back when their take
// lapses. Adding a replica adds workers.
package due

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"sync"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/backoff"
)

// Defaults of Worker.
const (
	DefaultWorkers = 8
	// DefaultHold is how long a take lasts unless renewed: a run in flight
	// renews it every third of that, so an entry of a replica that died is
	// due again within this time.
	DefaultHold = 15 * time.Second
	DefaultPoll = time.Second
)

// Outcome is what a handler says of one run.
type Outcome struct {
	// Next is when the entry is due again; zero removes it from the queue.
	Next time.Time
	// Failed counts the run as a failure (DueEntry.Failures grows), so the
	// handler can back off on the next one.
	Failed bool
}

// Handler runs one due entry. ctx ends when the worker stops; a handler
// that wants to finish a step in flight after that uses its own bounded
// context. A panic is recovered and counted as a failure, retried after
// a backoff.
type Handler func(ctx context.Context, e digestbot.DueEntry) Outcome

// Worker takes due entries from a queue and runs them.
type Worker struct {
	Name    string // for the log: "digests", "feeds"
	Queue   digestbot.DueQueue
	Handle  Handler
	Workers int           // runs at once in this process; default DefaultWorkers
	Hold    time.Duration // how long a take lasts; renewed while the run goes on; default DefaultHold
	Poll    time.Duration // wait when nothing is due, jittered; default DefaultPoll
	// Gate, when set and false, stops taking new entries (the token was
	// refused, say); running ones go on.
	Gate   func() bool
	Clock  func() time.Time // default time.Now
	Logger *slog.Logger     // default slog.Default()
	// Retry paces an entry whose handler panicked; default 1 min doubling
	// to 30 min.
	Retry backoff.Policy
}

func (w *Worker) now() time.Time {
	if w.Clock != nil {
		return w.Clock()
	}
	return time.Now()
}

func (w *Worker) log() *slog.Logger {
	if w.Logger != nil {
		return w.Logger
	}
	return slog.Default()
}

// Run takes and runs due entries until ctx ends, then waits for the runs in
// flight to return.
func (w *Worker) Run(ctx context.Context) {
	workers := w.Workers
	if workers <= 0 {
		workers = DefaultWorkers
	}
	hold := w.Hold
	if hold <= 0 {
		hold = DefaultHold
	}
	poll := w.Poll
	if poll <= 0 {
		poll = DefaultPoll
	}
	slots := make(chan struct{}, workers)
	var wg sync.WaitGroup
	defer wg.Wait()
	shards := w.Queue.Shards()
	failing := 0
	for ctx.Err() == nil {
		// Wait for a free worker.
		select {
		case slots <- struct{}{}:
			<-slots
		case <-ctx.Done():
			return
		}
		took := 0
		if w.Gate == nil || w.Gate() {
			start := rand.IntN(shards)
			for i := 0; i < shards && ctx.Err() == nil; i++ {
				free := cap(slots) - len(slots)
				if free == 0 {
					break
				}
				es, err := w.Queue.Take(ctx, (start+i)%shards, w.now(), free, hold)
				if err != nil {
					if ctx.Err() == nil {
						failing++
						w.log().Warn("due: cannot take due work; retrying", "queue", w.Name, "err", err)
					}
					break
				}
				failing = 0
				for _, e := range es {
					slots <- struct{}{}
					wg.Add(1)
					took++
					go func() {
						defer wg.Done()
						defer func() { <-slots }()
						w.run(ctx, e, hold)
					}()
				}
			}
		}
		if took > 0 {
			continue
		}
		wait := poll/2 + rand.N(poll)
		if failing > 0 {
			wait = backoff.Policy{First: poll, Max: 30 * time.Second}.Delay(failing)
		}
		if backoff.Wait(ctx, wait) != nil {
			return
		}
	}
}

// run runs one entry, renewing its take while it runs, and finishes it.
func (w *Worker) run(ctx context.Context, e digestbot.DueEntry, hold time.Duration) {
	take := e // the handler gets e; the renewals move take.Held, then Finish uses it
	renewed := make(chan struct{})
	stop := make(chan struct{})
	go func() {
		defer close(renewed)
		t := time.NewTicker(hold / 3)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), hold/3)
				ok, err := w.Queue.Extend(rctx, &take, w.now().Add(hold))
				cancel()
				if err == nil && !ok {
					return // rescheduled meanwhile, or lapsed: its new time stands
				}
			}
		}
	}()
	out := w.safeHandle(ctx, e)
	close(stop)
	<-renewed
	// Finishing is bookkeeping of work already done: do it even when the
	// worker is stopping, within a short time of its own.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, err := w.Queue.Finish(fctx, take, out.Next, out.Failed); err != nil {
		// The take lapses by itself and the entry runs again then.
		w.log().Warn("due: cannot record a finished run; it will run again when its take lapses",
			"queue", w.Name, "member", e.Member, "err", err)
	}
}

func (w *Worker) safeHandle(ctx context.Context, e digestbot.DueEntry) (out Outcome) {
	defer func() {
		if r := recover(); r != nil {
			w.log().Error("due: a run panicked; it will be retried", "queue", w.Name, "member", e.Member,
				"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			retry := w.Retry
			if retry.First == 0 {
				retry = backoff.Policy{First: time.Minute, Max: 30 * time.Minute}
			}
			out = Outcome{Next: w.now().Add(retry.Delay(e.Failures + 1)), Failed: true}
		}
	}()
	return w.Handle(ctx, e)
}

package archive

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/digestbot/digestbot/backoff"
)

// DefaultEvery is how often an Indexer looks at the log when nobody wakes it.
const DefaultEvery = 5 * time.Second

// Indexer keeps the live generation of an Index up with the store's ingest
// log: it calls CatchUp when woken (the bot wakes it after every store)
// and every Every, and after a failure again with backoff, so the index
// catches up on its own once Redis answers again. Run it in one process at
// a time (the bot runs it under a lease): two would index the same entries
// twice, which is harmless but wasted.
type Indexer struct {
	Index *Index
	Log   LogReader
	Every time.Duration // DefaultEvery when zero
	// Pass indexes the log to its end; default Index.CatchUp. The bot
	// wraps it in its lease.
	Pass  func(ctx context.Context) (int, error)
	Retry backoff.Policy
	// OnPass is told after every pass how many articles it indexed and
	// how far the index is still behind the log (see Index.Lag).
	OnPass func(indexed int, lag time.Duration)
	Logger *slog.Logger

	once sync.Once
	wake chan struct{}
}

func (ix *Indexer) init() { ix.once.Do(func() { ix.wake = make(chan struct{}, 1) }) }

// Wake asks for a pass soon; it never blocks.
func (ix *Indexer) Wake() {
	ix.init()
	select {
	case ix.wake <- struct{}{}:
	default:
	}
}

// Run indexes until ctx ends.
func (ix *Indexer) Run(ctx context.Context) {
	ix.init()
	log := ix.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	every := ix.Every
	if every <= 0 {
		every = DefaultEvery
	}
	if n, err := ix.Index.DropOldLayout(ctx); err != nil {
		log.Warn("lookup index: deleting the keys of the index's earlier layout failed; they expire with the retention", "err", err)
	} else if n > 0 {
		log.Info("lookup index: deleted the keys of the index's earlier layout", "keys", n)
	}
	failures := 0
	for {
		pass := ix.Pass
		if pass == nil {
			pass = func(ctx context.Context) (int, error) { return ix.Index.CatchUp(ctx, ix.Log) }
		}
		n, err := pass(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			failures++
			d := ix.Retry.Delay(failures)
			log.Warn("lookup index: indexing the ingest log failed; retrying", "attempt", failures, "in", d, "err", err)
			if backoff.Wait(ctx, d) != nil {
				return
			}
			continue
		}
		failures = 0
		if ix.OnPass != nil {
			lag, err := ix.Index.Lag(ctx, ix.Log)
			if err == nil {
				ix.OnPass(n, lag)
			}
		}
		t := time.NewTimer(every)
		select {
		case <-ctx.Done():
			return
		case <-ix.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

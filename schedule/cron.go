package schedule

import (
	"log/slog"

	"github.com/robfig/cron/v3"
)

// NewCron returns a cron runner for the bot's jobs: a job still running at
// its next tick skips that tick, and a job that panics is logged and
// recovered. SkipIfStillRunning comes before Recover: the other order
// leaves a job that panicked marked as running, never to run again.
func NewCron(log *slog.Logger, opts ...cron.Option) *cron.Cron {
	l := cronLogger{log}
	chain := cron.WithChain(cron.SkipIfStillRunning(l), cron.Recover(l))
	return cron.New(append([]cron.Option{chain, cron.WithLogger(l)}, opts...)...)
}

// cronLogger adapts slog to robfig/cron; its chatter goes to debug.
type cronLogger struct{ l *slog.Logger }

func (c cronLogger) Info(msg string, kv ...any) { c.l.Debug("cron: "+msg, kv...) }
func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Error("cron: "+msg, append(kv, "err", err)...)
}

package digest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/schedule"
)

// SchedulerStore is what the scheduler reads (package store implements it).
type SchedulerStore interface {
	AllSchedules(ctx context.Context) ([]*digestbot.ChannelSchedule, error)
	Channels(ctx context.Context) ([]digestbot.ChannelRef, error)
	ChannelState(ctx context.Context, guildID, channelID string) (*digestbot.ChannelState, error)
	Pending(ctx context.Context, guildID, channelID string) ([]digestbot.PendingItem, error)
}

// Defaults is the global schedule from the configuration.
type Defaults struct {
	Spec        string        // e.g. "daily 08:00"
	TimeZone    string        // IANA; "" = UTC
	MinInterval time.Duration // 0 = schedule.DefaultMinInterval
}

// Scheduler runs every channel's digest on the channel's schedule: its own,
// else its guild's default, else the global default. Schedules live in the
// store; Reload (called by the bot after a /schedule change, and every
// Refresh by itself) applies changes without a restart. At Start it sends
// once every digest that fell due while the bot was down.
type Scheduler struct {
	Store    SchedulerStore
	Deliver  func(ctx context.Context, ref digestbot.ChannelRef) (Result, error) // usually (*Deliverer).Deliver
	Defaults Defaults
	Refresh  time.Duration    // re-read schedules this often; default 1m
	Workers  int              // deliveries at once; default 8
	Retry    time.Duration    // first retry after a failed delivery, doubling; default 1m
	RetryMax time.Duration    // longest wait between retries; default 30m
	Clock    func() time.Time // default time.Now
	Logger   *slog.Logger     // default slog.Default()

	mu      sync.Mutex
	cron    *cron.Cron
	ctx     context.Context
	cancel  context.CancelFunc
	entries map[digestbot.ChannelRef]*entry
	slots   chan struct{}
	done    sync.WaitGroup
}

type entry struct {
	id     cron.EntryID
	key    string // spec and zone, to notice changes
	sched  *schedule.Schedule
	failed int         // consecutive failed deliveries
	retry  *time.Timer // pending retry, if any
}

func (s *Scheduler) now() time.Time {
	if s.Clock != nil {
		return s.Clock()
	}
	return time.Now()
}

func (s *Scheduler) log() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// Start loads the schedules, starts the timers, and in the background
// sends the digests that fell due while the bot was down. It returns an
// error when the store cannot be read.
func (s *Scheduler) Start(ctx context.Context) error {
	if s.Deliver == nil || s.Store == nil {
		return errors.New("digest scheduler: Store and Deliver are required")
	}
	if _, err := schedule.Parse(s.Defaults.Spec, s.Defaults.TimeZone, s.Defaults.MinInterval); err != nil {
		return fmt.Errorf("digest scheduler: default schedule: %w", err)
	}
	s.mu.Lock()
	s.ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	s.cron = schedule.NewCron(s.log(), cron.WithLocation(time.UTC))
	s.entries = map[digestbot.ChannelRef]*entry{}
	workers := s.Workers
	if workers <= 0 {
		workers = 8
	}
	s.slots = make(chan struct{}, workers)
	s.mu.Unlock()
	if err := s.Reload(ctx); err != nil {
		s.cancel()
		return err
	}
	s.cron.Start()
	refresh := s.Refresh
	if refresh <= 0 {
		refresh = time.Minute
	}
	s.done.Add(2)
	go func() {
		defer s.done.Done()
		s.catchUp(s.ctx)
	}()
	go func() {
		defer s.done.Done()
		t := time.NewTicker(refresh)
		defer t.Stop()
		for {
			select {
			case <-s.ctx.Done():
				return
			case <-t.C:
				if err := s.Reload(s.ctx); err != nil {
					s.log().Warn("digest scheduler: cannot reload schedules", "err", err)
				}
			}
		}
	}()
	return nil
}

// Stop stops the timers and waits, at most until ctx is done, for running
// deliveries to finish.
func (s *Scheduler) Stop(ctx context.Context) error {
	s.mu.Lock()
	if s.cron == nil {
		s.mu.Unlock()
		return nil
	}
	stopped := s.cron.Stop()
	for _, e := range s.entries {
		if e.retry != nil {
			e.retry.Stop()
		}
	}
	s.mu.Unlock()
	bg := make(chan struct{})
	go func() {
		<-stopped.Done()
		s.cancel()
		s.done.Wait()
		close(bg)
	}()
	select {
	case <-bg:
		return nil
	case <-ctx.Done():
		s.cancel() // interrupt deliveries still running; their items stay pending
		return fmt.Errorf("digest scheduler: stop: %w", ctx.Err())
	}
}

// Reload reads every channel and schedule from the store and updates the
// timers whose schedule changed, adds new channels and drops channels that
// no longer have subscriptions.
func (s *Scheduler) Reload(ctx context.Context) error {
	refs, err := s.Store.Channels(ctx)
	if err != nil {
		return fmt.Errorf("digest scheduler: list channels: %w", err)
	}
	all, err := s.Store.AllSchedules(ctx)
	if err != nil {
		return fmt.Errorf("digest scheduler: list schedules: %w", err)
	}
	table := NewScheduleTable(all, s.Defaults)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cron == nil {
		return errors.New("digest scheduler: Reload before Start")
	}
	live := make(map[digestbot.ChannelRef]bool, len(refs))
	for _, ref := range refs {
		live[ref] = true
		sched, problems := table.Resolve(ref)
		for _, p := range problems {
			s.log().Warn("digest scheduler: stored schedule ignored", "guild", ref.GuildID, "channel", ref.ChannelID, "err", p)
		}
		key := sched.Spec() + "\x00" + sched.TimeZone()
		if e := s.entries[ref]; e != nil {
			if e.key == key {
				continue
			}
			s.cron.Remove(e.id)
		}
		e := &entry{key: key, sched: sched}
		e.id = s.cron.Schedule(sched.CronSchedule(), cron.FuncJob(func() { s.run(ref) }))
		if old := s.entries[ref]; old != nil {
			e.failed, e.retry = old.failed, old.retry
		}
		s.entries[ref] = e
	}
	for ref, e := range s.entries {
		if !live[ref] {
			s.cron.Remove(e.id)
			if e.retry != nil {
				e.retry.Stop()
			}
			delete(s.entries, ref)
		}
	}
	return nil
}

// NextRun returns when the channel's next digest is due, as scheduled now.
func (s *Scheduler) NextRun(ref digestbot.ChannelRef) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.entries[ref]
	if e == nil {
		return time.Time{}, false
	}
	return e.sched.Next(s.now()), true
}

// ChannelInfo returns the channel's time zone as scheduled (UTC for a
// channel it does not know). Set it as Deliverer.Channel so that digests
// show dates in the zone the channel's schedule is written in.
func (s *Scheduler) ChannelInfo(ctx context.Context, ref digestbot.ChannelRef) ChannelInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	info := ChannelInfo{Ref: ref, Location: time.UTC}
	if e := s.entries[ref]; e != nil {
		info.Location = e.sched.Location()
	}
	return info
}

// run delivers one channel's digest (called by cron, through its chain, and
// by retries).
func (s *Scheduler) run(ref digestbot.ChannelRef) {
	ctx := s.ctx
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return
	}
	defer func() { <-s.slots }()
	s.mu.Lock()
	e := s.entries[ref]
	s.mu.Unlock()
	if e == nil {
		return
	}
	// Every replica runs every schedule; the lease lets one deliver at a
	// time, and this check keeps a replica that comes a moment later from
	// sending the items that arrived since as a second digest of the window.
	if due, err := Missed(ctx, s.Store, ref, e.sched, s.now()); err == nil && !due {
		return
	}
	res, err := s.Deliver(ctx, ref)
	s.mu.Lock()
	defer s.mu.Unlock()
	if e = s.entries[ref]; e == nil {
		return
	}
	if err == nil {
		e.failed = 0
		return
	}
	if ctx.Err() != nil {
		return
	}
	e.failed++
	wait := s.Retry
	if wait <= 0 {
		wait = time.Minute
	}
	maxWait := s.RetryMax
	if maxWait <= 0 {
		maxWait = 30 * time.Minute
	}
	for i := 1; i < e.failed && wait < maxWait; i++ {
		wait *= 2
	}
	wait = min(wait, maxWait)
	s.log().Warn("digest scheduler: delivery failed; will retry", "guild", ref.GuildID, "channel", ref.ChannelID,
		"window", res.WindowID, "attempt", e.failed, "retry_in", wait, "err", err)
	if e.retry != nil {
		e.retry.Stop()
	}
	id := e.id
	e.retry = time.AfterFunc(wait, func() {
		s.mu.Lock()
		job := s.cron.Entry(id).WrappedJob // shares skip-if-still-running with the schedule
		s.mu.Unlock()
		if job != nil && s.ctx.Err() == nil {
			job.Run()
		}
	})
}

// catchUp sends, once, each digest that fell due while the bot was down: a
// channel whose schedule had a due time after its last digest (or, never
// delivered, after its oldest pending item) and before now.
func (s *Scheduler) catchUp(ctx context.Context) {
	s.mu.Lock()
	type due struct {
		ref digestbot.ChannelRef
		id  cron.EntryID
		s   *schedule.Schedule
	}
	var list []due
	for ref, e := range s.entries {
		list = append(list, due{ref, e.id, e.sched})
	}
	s.mu.Unlock()
	now := s.now()
	jobs := make(chan cron.Job)
	var wg sync.WaitGroup
	n := 0
	for range cap(s.slots) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for job := range jobs {
				job.Run()
			}
		}()
	}
	for _, d := range list {
		if ctx.Err() != nil {
			break
		}
		missed, err := Missed(ctx, s.Store, d.ref, d.s, now)
		if err != nil {
			s.log().Warn("digest scheduler: cannot check for a missed digest", "guild", d.ref.GuildID, "channel", d.ref.ChannelID, "err", err)
			continue
		}
		if !missed {
			continue
		}
		s.mu.Lock()
		job := s.cron.Entry(d.id).WrappedJob
		s.mu.Unlock()
		if job != nil {
			n++
			jobs <- job
		}
	}
	close(jobs)
	wg.Wait()
	if n > 0 {
		s.log().Info("digest scheduler: sent digests that fell due while the bot was down", "channels", n)
	}
}

// Missed reports whether a digest of the channel fell due before now and
// was not sent: the schedule's first time after the last digest (or, when
// none was ever sent, after the oldest pending item was queued) is not
// after now. A paused channel has missed nothing.
func Missed(ctx context.Context, st SchedulerStore, ref digestbot.ChannelRef, sched *schedule.Schedule, now time.Time) (bool, error) {
	state, err := st.ChannelState(ctx, ref.GuildID, ref.ChannelID)
	if err != nil {
		return false, err
	}
	if state.PausedReason != "" {
		return false, nil
	}
	since := state.LastDigestAt
	if since.IsZero() {
		items, err := st.Pending(ctx, ref.GuildID, ref.ChannelID)
		if err != nil {
			return false, err
		}
		if len(items) == 0 {
			return false, nil
		}
		since = items[0].QueuedAt
		for _, it := range items {
			if it.QueuedAt.Before(since) {
				since = it.QueuedAt
			}
		}
	}
	next := sched.Next(since)
	return !next.IsZero() && !next.After(now), nil
}

// ScheduleTable resolves channel schedules from the stored ones and the
// global default. It remembers what it parsed, so it is not safe for
// concurrent use; make one per use.
type ScheduleTable struct {
	own      map[digestbot.ChannelRef]*digestbot.ChannelSchedule
	guild    map[string]*digestbot.ChannelSchedule
	defaults Defaults
	parsed   map[[2]string]parsed // (spec, zone): most channels share a few
}

type parsed struct {
	s   *schedule.Schedule
	err error
}

// parse is schedule.Parse, remembered per table.
func (t *ScheduleTable) parse(spec, tz string) (*schedule.Schedule, error) {
	k := [2]string{spec, tz}
	if p, ok := t.parsed[k]; ok {
		return p.s, p.err
	}
	s, err := schedule.Parse(spec, tz, t.defaults.MinInterval)
	t.parsed[k] = parsed{s, err}
	return s, err
}

// NewScheduleTable indexes stored schedules (ChannelID "" = a guild default).
func NewScheduleTable(all []*digestbot.ChannelSchedule, d Defaults) *ScheduleTable {
	t := &ScheduleTable{own: map[digestbot.ChannelRef]*digestbot.ChannelSchedule{}, guild: map[string]*digestbot.ChannelSchedule{}, defaults: d, parsed: map[[2]string]parsed{}}
	for _, cs := range all {
		if cs.ChannelID == "" {
			t.guild[cs.GuildID] = cs
		} else {
			t.own[digestbot.ChannelRef{GuildID: cs.GuildID, ChannelID: cs.ChannelID}] = cs
		}
	}
	return t
}

// Resolve returns the channel's schedule: the spec of the channel, else of
// its guild, else the global default; the zone likewise. A stored schedule
// that no longer parses (say, the minimum interval was raised) is skipped
// and reported in problems. The global default must parse (Start checks).
func (t *ScheduleTable) Resolve(ref digestbot.ChannelRef) (*schedule.Schedule, []error) {
	var problems []error
	var levels []*digestbot.ChannelSchedule
	if cs := t.own[ref]; cs != nil {
		levels = append(levels, cs)
	}
	if cs := t.guild[ref.GuildID]; cs != nil {
		levels = append(levels, cs)
	}
	tz := t.defaults.TimeZone
	for i := len(levels) - 1; i >= 0; i-- {
		if levels[i].TimeZone != "" {
			tz = levels[i].TimeZone
		}
	}
	for _, cs := range levels {
		if cs.Spec == "" {
			continue
		}
		s, err := t.parse(cs.Spec, tz)
		if err != nil && tz != t.defaults.TimeZone {
			s, err = t.parse(cs.Spec, t.defaults.TimeZone)
		}
		if err == nil {
			return s, problems
		}
		problems = append(problems, err)
	}
	s, err := t.parse(t.defaults.Spec, tz)
	if err != nil {
		problems = append(problems, err)
		s, err = t.parse(t.defaults.Spec, t.defaults.TimeZone)
		if err != nil {
			s, _ = schedule.Parse("daily 08:00", "UTC", 0)
		}
	}
	return s, problems
}

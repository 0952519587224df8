package digest

import (
	"context"
	"errors"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/backoff"
	"github.com/digestbot/digestbot/due"
	"github.com/digestbot/digestbot/schedule"
)

// SchedulerStore is what the scheduler reads (package store implements it).
type SchedulerStore interface {
	// ChannelSchedules returns a channel's own schedule and its guild's
	// default, each nil when not set.
	ChannelSchedules(ctx context.Context, guildID, channelID string) (own, guild *digestbot.ChannelSchedule, err error)
	// Channels lists the channels that have subscriptions.
	Channels(ctx context.Context) ([]digestbot.ChannelRef, error)
	// Subscriptions lists a channel's subscriptions.
	Subscriptions(ctx context.Context, guildID, channelID string) ([]*digestbot.Subscription, error)
	// ChannelWatches lists the personal watches delivered to a channel (a
	// member's direct-message channel).
	ChannelWatches(ctx context.Context, guildID, channelID string) ([]*digestbot.Subscription, error)
}

// Defaults is the global schedule from the configuration.
type Defaults struct {
	Spec        string        // e.g. "daily 08:00"
	TimeZone    string        // IANA; "" = UTC
	MinInterval time.Duration // 0 = schedule.DefaultMinInterval
}

// Defaults of Scheduler.
const (
	// DefaultSpread spreads channels that share a due minute over its first
	// half, so a default "daily 08:00" does not fire every channel in the
	// same instant, and each still arrives within the minute when Discord's
	// limits allow.
	DefaultSpread = 30 * time.Second
)

// Scheduler posts each channel's digest when it falls due. The due times
// live in Redis, in the "digests" due queue (one entry per channel, spread
// over hash slots), and whichever replica has a free worker takes what is
// due: no replica holds a timer per channel, adding a replica adds
// workers, and a digest that fell due while every replica was down is due
// still, so it goes out once when one comes back. robfig/cron (through
// package schedule) parses the schedules and computes the next times.
//
// Instant alerts have a queue of their own ("alerts"): a channel is in it
// only while it has an alert to post, due a moment (AlertDelay) after the
// matcher queued its first story, and leaves it once the alert is posted.
// The channel's digest keeps its own due time meanwhile. A digest and an
// alert of one channel never run at once: each takes the channel's
// delivery claim, and the one that finds it taken comes back after the
// claim time.
type Scheduler struct {
	Store    SchedulerStore
	Queue    digestbot.DueQueue                                                  // the "digests" queue
	Deliver  func(ctx context.Context, ref digestbot.ChannelRef) (Result, error) // usually (*Deliverer).Deliver
	Defaults Defaults
	Spread   time.Duration // default DefaultSpread
	Workers  int           // deliveries at once in this process; default 8
	// Retry paces a channel whose delivery failed; default 1 min doubling
	// to 30 min.
	Retry backoff.Policy
	// Busy is the wait before a channel found busy (claimed by a replica
	// that may have died) is tried again: the claim time. Default 15 s.
	Busy time.Duration
	// Gate, when set and false, holds deliveries back (the bot's token was
	// refused); they are not failures and nothing is paused.
	Gate   func() bool
	Clock  func() time.Time // default time.Now
	Logger *slog.Logger     // default slog.Default()

	// Alerts is the "alerts" queue, DeliverAlert usually
	// (*Deliverer).DeliverAlert; without them no alert is posted (instant
	// items then wait for the digest).
	Alerts       digestbot.DueQueue
	DeliverAlert func(ctx context.Context, ref digestbot.ChannelRef) (Result, error)
	AlertDelay   time.Duration // default DefaultAlertDelay; negative: none

	mu     sync.Mutex
	parsed map[[2]string]parsed // (spec, zone) -> schedule, shared by most channels
}

type parsed struct {
	s   *schedule.Schedule
	err error
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

// Check validates the default schedule.
func (s *Scheduler) Check() error {
	if s.Deliver == nil || s.Store == nil || s.Queue == nil {
		return errors.New("digest scheduler: Store, Queue and Deliver are required")
	}
	if _, err := schedule.Parse(s.Defaults.Spec, s.Defaults.TimeZone, s.Defaults.MinInterval); err != nil {
		return errors.New("digest scheduler: default schedule: " + err.Error())
	}
	return nil
}

// Run takes due digests and delivers them until ctx ends, then waits for
// the deliveries in flight (each bounded by the deliverer's stop grace).
func (s *Scheduler) Run(ctx context.Context) error {
	if err := s.Check(); err != nil {
		return err
	}
	// A take lasts as long as a delivery claim: when a replica dies, its
	// due channels and its channels' claims come back together.
	w := &due.Worker{
		Name: "digests", Queue: s.Queue, Workers: s.Workers, Gate: s.Gate, Hold: s.Busy,
		Clock: s.Clock, Logger: s.Logger, Handle: s.handle,
	}
	if s.Alerts == nil || s.DeliverAlert == nil {
		w.Run(ctx)
		return nil
	}
	// Alerts have workers of their own, so that a busy digest hour does
	// not hold them back behind thousands of digests.
	a := &due.Worker{
		Name: "alerts", Queue: s.Alerts, Workers: s.Workers, Gate: s.Gate, Hold: s.Busy,
		Clock: s.Clock, Logger: s.Logger, Handle: s.handleAlert,
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.Run(ctx)
	}()
	w.Run(ctx)
	<-done
	return nil
}

// handle delivers one due channel and says when it is due next.
func (s *Scheduler) handle(ctx context.Context, e digestbot.DueEntry) due.Outcome {
	ref, ok := digestbot.ChannelRefFromKey(e.Member)
	if !ok {
		s.log().Warn("digest scheduler: dropping a malformed due entry", "member", e.Member)
		return due.Outcome{}
	}
	res, err := s.Deliver(ctx, ref)
	if out, again := s.retry(ctx, ref, e, res, err); again {
		return out
	}
	now := s.now()
	if res.Items == 0 && !res.Paused && !s.followed(ctx, ref) {
		return due.Outcome{} // nothing left to deliver, nobody subscribed
	}
	sched, err := s.Resolve(ctx, ref)
	if err != nil {
		return due.Outcome{Next: now.Add(time.Minute), Failed: true}
	}
	return due.Outcome{Next: s.nextDue(ref, sched, now)}
}

// retry says when a delivery that did not go through runs again: again is
// false when it went through (or the channel is paused).
func (s *Scheduler) retry(ctx context.Context, ref digestbot.ChannelRef, e digestbot.DueEntry, res Result, err error) (out due.Outcome, again bool) {
	now := s.now()
	switch {
	case err == nil && res.Busy:
		busy := s.Busy
		if busy <= 0 {
			busy = DefaultClaimTTL
		}
		// The holder may have died: its claim lapses within the claim
		// time, then this channel's delivery is finished here.
		return due.Outcome{Next: now.Add(busy + busy/4)}, true
	case err == nil && res.Interrupted, err != nil && ctx.Err() != nil:
		return due.Outcome{Next: now}, true // stopping: another replica takes it at once
	case digestbot.ErrorCode(err) == digestbot.EUNAUTHORIZED:
		return due.Outcome{Next: now.Add(time.Minute)}, true
	case err != nil:
		retry := s.Retry
		if retry.First == 0 {
			retry = backoff.Policy{First: time.Minute, Max: 30 * time.Minute}
		}
		wait := retry.Delay(e.Failures + 1)
		s.log().Warn("digest scheduler: delivery failed; will retry", "guild", ref.GuildID, "channel", ref.ChannelID,
			"window", res.WindowID, "attempt", e.Failures+1, "retry_in", wait.Round(time.Second), "err", err)
		return due.Outcome{Next: now.Add(wait), Failed: true}, true
	}
	return due.Outcome{}, false
}

// followed reports whether anything is still delivered to the channel: a
// subscription, or a personal watch when it is a member's direct-message
// channel. On a store error it says yes: the channel stays scheduled.
func (s *Scheduler) followed(ctx context.Context, ref digestbot.ChannelRef) bool {
	subs, err := s.Store.Subscriptions(ctx, ref.GuildID, ref.ChannelID)
	if err != nil || len(subs) > 0 {
		return true
	}
	watches, err := s.Store.ChannelWatches(ctx, ref.GuildID, ref.ChannelID)
	return err != nil || len(watches) > 0
}

// spread is the channel's fixed offset within its due minute.
func (s *Scheduler) spread(ref digestbot.ChannelRef) time.Duration {
	w := s.Spread
	if w <= 0 {
		w = DefaultSpread
	}
	h := fnv.New64a()
	h.Write([]byte(ref.Key()))
	return time.Duration(h.Sum64() % uint64(w/time.Millisecond) * uint64(time.Millisecond))
}

// nextDue is the channel's next due time after now: the schedule's next
// time plus the channel's spread.
func (s *Scheduler) nextDue(ref digestbot.ChannelRef, sched *schedule.Schedule, now time.Time) time.Time {
	off := s.spread(ref)
	return sched.Next(now.Add(-off)).Add(off)
}

// Resolve returns the channel's schedule: its own, else its guild's
// default, else the global default (the zone likewise). A stored schedule
// that no longer parses (say, the minimum interval was raised) is skipped
// with a warning.
func (s *Scheduler) Resolve(ctx context.Context, ref digestbot.ChannelRef) (*schedule.Schedule, error) {
	own, guild, err := s.Store.ChannelSchedules(ctx, ref.GuildID, ref.ChannelID)
	if err != nil {
		return nil, err
	}
	var all []*digestbot.ChannelSchedule
	if own != nil {
		own.GuildID, own.ChannelID = ref.GuildID, ref.ChannelID
		all = append(all, own)
	}
	if guild != nil {
		guild.GuildID, guild.ChannelID = ref.GuildID, ""
		all = append(all, guild)
	}
	t := NewScheduleTable(all, s.Defaults)
	t.parse = s.parse
	sched, problems := t.Resolve(ref)
	for _, p := range problems {
		s.log().Warn("digest scheduler: stored schedule ignored", "guild", ref.GuildID, "channel", ref.ChannelID, "err", p)
	}
	return sched, nil
}

// parse is schedule.Parse, remembered: most channels share a few schedules.
func (s *Scheduler) parse(spec, tz string) (*schedule.Schedule, error) {
	k := [2]string{spec, tz}
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.parsed[k]; ok {
		return p.s, p.err
	}
	if s.parsed == nil || len(s.parsed) > 10000 {
		s.parsed = map[[2]string]parsed{} // bounded: specs come from users
	}
	sc, err := schedule.Parse(spec, tz, s.Defaults.MinInterval)
	s.parsed[k] = parsed{sc, err}
	return sc, err
}

// Reschedule sets the channel's next digest from its schedule as it is now
// (after /schedule changed it).
func (s *Scheduler) Reschedule(ctx context.Context, ref digestbot.ChannelRef) error {
	sched, err := s.Resolve(ctx, ref)
	if err != nil {
		return err
	}
	return s.Queue.Put(ctx, ref.Key(), s.nextDue(ref, sched, s.now()), digestbot.PutAlways)
}

// Ensure gives a channel a next digest if it has none (a new
// subscription); a channel already scheduled keeps its time.
func (s *Scheduler) Ensure(ctx context.Context, ref digestbot.ChannelRef) error {
	sched, err := s.Resolve(ctx, ref)
	if err != nil {
		return err
	}
	return s.Queue.Put(ctx, ref.Key(), s.nextDue(ref, sched, s.now()), digestbot.PutIfAbsent)
}

// Soon makes the channel due at `at` unless it is due earlier already (an
// interrupted /digest now, an instant alert).
func (s *Scheduler) Soon(ctx context.Context, ref digestbot.ChannelRef, at time.Time) error {
	return s.Queue.Put(ctx, ref.Key(), at, digestbot.PutIfEarlier)
}

// NextRun returns when the channel's next digest is due; ok=false when it
// has none.
func (s *Scheduler) NextRun(ctx context.Context, ref digestbot.ChannelRef) (time.Time, bool, error) {
	return s.Queue.When(ctx, ref.Key())
}

// Sweep gives every channel with subscriptions a next digest if it has
// none: channels subscribed before this version, or whose entry was lost.
// Idempotent; one replica runs it now and then.
func (s *Scheduler) Sweep(ctx context.Context) (added int, err error) {
	refs, err := s.Store.Channels(ctx)
	if err != nil {
		return 0, err
	}
	for _, ref := range refs {
		if _, ok, err := s.Queue.When(ctx, ref.Key()); err != nil {
			return added, err
		} else if ok {
			continue
		}
		if err := s.Ensure(ctx, ref); err != nil {
			return added, err
		}
		added++
	}
	return added, nil
}

// ChannelInfo returns the channel's time zone as scheduled (UTC when its
// schedule cannot be read). Set it as Deliverer.Channel so that digests
// show dates in the zone the channel's schedule is written in.
func (s *Scheduler) ChannelInfo(ctx context.Context, ref digestbot.ChannelRef) ChannelInfo {
	info := ChannelInfo{Ref: ref, Location: time.UTC}
	if sched, err := s.Resolve(ctx, ref); err == nil {
		info.Location = sched.Location()
	}
	return info
}

// ScheduleTable resolves channel schedules from the stored ones and the
// global default. It remembers what it parsed, so it is not safe for
// concurrent use; make one per use.
type ScheduleTable struct {
	own      map[digestbot.ChannelRef]*digestbot.ChannelSchedule
	guild    map[string]*digestbot.ChannelSchedule
	defaults Defaults
	parse    func(spec, tz string) (*schedule.Schedule, error)
}

// NewScheduleTable indexes stored schedules (ChannelID "" = a guild default).
func NewScheduleTable(all []*digestbot.ChannelSchedule, d Defaults) *ScheduleTable {
	t := &ScheduleTable{own: map[digestbot.ChannelRef]*digestbot.ChannelSchedule{}, guild: map[string]*digestbot.ChannelSchedule{}, defaults: d}
	memo := map[[2]string]parsed{}
	t.parse = func(spec, tz string) (*schedule.Schedule, error) {
		k := [2]string{spec, tz}
		if p, ok := memo[k]; ok {
			return p.s, p.err
		}
		s, err := schedule.Parse(spec, tz, d.MinInterval)
		memo[k] = parsed{s, err}
		return s, err
	}
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
// and reported in problems. The global default must parse (Check checks).
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

package digest

import (
	"context"
	"sync"
	"testing"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/schedule"
	"github.com/digestbot/digestbot/store"
	"github.com/digestbot/digestbot/store/storetest"
)

func TestScheduleTableResolve(t *testing.T) {
	defaults := Defaults{Spec: "daily 08:00", TimeZone: "Europe/Paris"}
	all := []*digestbot.ChannelSchedule{
		{GuildID: "g1", Spec: "weekly mon 09:00", TimeZone: "Asia/Shanghai"}, // g1's default
		{GuildID: "g1", ChannelID: "own", Spec: "hourly"},                    // zone from the guild
		{GuildID: "g1", ChannelID: "zone-only", TimeZone: "America/New_York"},
		{GuildID: "g1", ChannelID: "broken", Spec: "* * * * *"}, // stored before a stricter minimum
		{GuildID: "g2", ChannelID: "c", Spec: "daily 18:30", TimeZone: "UTC"},
	}
	tests := []struct {
		name         string
		ref          digestbot.ChannelRef
		want         string
		wantProblems int
	}{
		{"channel's own spec, guild zone", digestbot.ChannelRef{GuildID: "g1", ChannelID: "own"}, "hourly (Asia/Shanghai)", 0},
		{"guild default", digestbot.ChannelRef{GuildID: "g1", ChannelID: "other"}, "weekly mon 09:00 (Asia/Shanghai)", 0},
		{"own zone, guild spec", digestbot.ChannelRef{GuildID: "g1", ChannelID: "zone-only"}, "weekly mon 09:00 (America/New_York)", 0},
		{"invalid stored spec falls back", digestbot.ChannelRef{GuildID: "g1", ChannelID: "broken"}, "weekly mon 09:00 (Asia/Shanghai)", 1},
		{"global default", digestbot.ChannelRef{GuildID: "g3", ChannelID: "c"}, "daily 08:00 (Europe/Paris)", 0},
		{"other guild's own", digestbot.ChannelRef{GuildID: "g2", ChannelID: "c"}, "daily 18:30 (UTC)", 0},
	}
	table := NewScheduleTable(all, defaults)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, problems := table.Resolve(tt.ref)
			if s.String() != tt.want || len(problems) != tt.wantProblems {
				t.Errorf("Resolve = %s, %v; want %s with %d problems", s, problems, tt.want, tt.wantProblems)
			}
		})
	}
}

// stateStore is a SchedulerStore of one channel.
type stateStore struct {
	state   digestbot.ChannelState
	pending []digestbot.PendingItem
}

func (s *stateStore) AllSchedules(context.Context) ([]*digestbot.ChannelSchedule, error) {
	return nil, nil
}
func (s *stateStore) Channels(context.Context) ([]digestbot.ChannelRef, error) { return nil, nil }
func (s *stateStore) ChannelState(context.Context, string, string) (*digestbot.ChannelState, error) {
	st := s.state
	return &st, nil
}
func (s *stateStore) Pending(context.Context, string, string) ([]digestbot.PendingItem, error) {
	return s.pending, nil
}

func TestMissed(t *testing.T) {
	daily, err := schedule.Parse("daily 08:00", "UTC", 0)
	if err != nil {
		t.Fatal(err)
	}
	at := func(d, h int) time.Time { return time.Date(2026, 11, d, h, 0, 0, 0, time.UTC) }
	now := at(27, 10) // 10:00, two hours after today's digest was due
	tests := []struct {
		name  string
		store stateStore
		want  bool
	}{
		{"sent today at 08:00", stateStore{state: digestbot.ChannelState{LastDigestAt: at(27, 8)}}, false},
		{"last sent yesterday: today's was missed", stateStore{state: digestbot.ChannelState{LastDigestAt: at(26, 8)}}, true},
		{"last sent days ago: sent once", stateStore{state: digestbot.ChannelState{LastDigestAt: at(20, 8)}}, true},
		{"never sent, items waiting since yesterday", stateStore{pending: []digestbot.PendingItem{{QueuedAt: at(26, 12)}, {QueuedAt: at(26, 9)}}}, true},
		{"never sent, items queued after the due time", stateStore{pending: []digestbot.PendingItem{{QueuedAt: at(27, 9)}}}, false},
		{"never sent, nothing pending", stateStore{}, false},
		{"paused", stateStore{state: digestbot.ChannelState{LastDigestAt: at(20, 8), PausedReason: "forbidden"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Missed(context.Background(), &tt.store, ref, daily, now)
			if err != nil || got != tt.want {
				t.Errorf("Missed = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

// calls records deliveries.
type calls struct {
	mu   sync.Mutex
	refs []digestbot.ChannelRef
	ch   chan digestbot.ChannelRef
}

func (c *calls) deliver(ctx context.Context, ref digestbot.ChannelRef) (Result, error) {
	c.mu.Lock()
	c.refs = append(c.refs, ref)
	c.mu.Unlock()
	select {
	case c.ch <- ref:
	default:
	}
	return Result{}, nil
}

func subscribe(t *testing.T, st *store.Store, refs ...digestbot.ChannelRef) {
	t.Helper()
	for _, r := range refs {
		s := &digestbot.Subscription{GuildID: r.GuildID, ChannelID: r.ChannelID, Query: "harbour", CreatedAt: day}
		s.ID = digestbot.SubscriptionID(s.GuildID, s.ChannelID, s.Query, "")
		if _, err := st.AddSubscription(context.Background(), s, 100); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSchedulerCatchesUpAndReloads(t *testing.T) {
	storetest.EachRealBackend(t, testSchedulerCatchesUpAndReloads)
}

func testSchedulerCatchesUpAndReloads(t *testing.T, b *storetest.Backend) {
	st := b.Open(t, store.Options{})
	ctx := context.Background()
	late := digestbot.ChannelRef{GuildID: "g1", ChannelID: "late"}
	fresh := digestbot.ChannelRef{GuildID: "g1", ChannelID: "fresh"}
	subscribe(t, st, late, fresh)
	wall := time.Now()
	for ref, last := range map[digestbot.ChannelRef]time.Time{late: wall.Add(-72 * time.Hour), fresh: wall} {
		if err := st.SetChannelState(ctx, &digestbot.ChannelState{GuildID: ref.GuildID, ChannelID: ref.ChannelID, LastDigestAt: last}); err != nil {
			t.Fatal(err)
		}
	}
	c := &calls{ch: make(chan digestbot.ChannelRef, 10)}
	s := &Scheduler{Store: st, Deliver: c.deliver, Defaults: Defaults{Spec: "daily 08:00", TimeZone: "UTC"}, Refresh: time.Hour}
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if got := <-c.ch; got != late {
		t.Errorf("caught up %v, want %v", got, late)
	}
	// A schedule change applies on Reload, without a restart.
	if err := st.SetSchedule(ctx, &digestbot.ChannelSchedule{GuildID: "g1", ChannelID: "fresh", Spec: "weekly mon 09:00", TimeZone: "Asia/Tokyo"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	want, _ := schedule.Parse("weekly mon 09:00", "Asia/Tokyo", 0)
	if next, ok := s.NextRun(fresh); !ok || !next.Equal(want.Next(time.Now())) {
		t.Errorf("NextRun after the change = %v, want %v", next, want.Next(time.Now()))
	}
	if info := s.ChannelInfo(ctx, fresh); info.Location.String() != "Asia/Tokyo" {
		t.Errorf("ChannelInfo zone = %v, want the schedule's Asia/Tokyo", info.Location)
	}
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.refs) != 1 {
		t.Errorf("deliveries at start: %v, want only the late channel, once", c.refs)
	}
}

func TestSchedulerSurvivesAPanickingDelivery(t *testing.T) {
	storetest.EachRealBackend(t, testSchedulerSurvivesAPanickingDelivery)
}

func testSchedulerSurvivesAPanickingDelivery(t *testing.T, b *storetest.Backend) {
	st := b.Open(t, store.Options{})
	ctx := context.Background()
	subscribe(t, st, ref)
	if err := st.SetChannelState(ctx, &digestbot.ChannelState{GuildID: ref.GuildID, ChannelID: ref.ChannelID, LastDigestAt: day}); err != nil {
		t.Fatal(err)
	}
	c := &calls{ch: make(chan digestbot.ChannelRef, 10)}
	var mu sync.Mutex
	n := 0
	deliver := func(ctx context.Context, r digestbot.ChannelRef) (Result, error) {
		mu.Lock()
		n++
		first := n == 1
		mu.Unlock()
		if first {
			panic("delivery bug")
		}
		return c.deliver(ctx, r)
	}
	s := &Scheduler{Store: st, Deliver: deliver, Defaults: Defaults{Spec: "@every 1s", MinInterval: time.Second}, Refresh: time.Hour}
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer s.Stop(ctx)
	// The first run panics; the schedule must still run the job again.
	select {
	case got := <-c.ch:
		if got != ref {
			t.Errorf("delivered %v, want %v", got, ref)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the schedule never ran again after a panic")
	}
}

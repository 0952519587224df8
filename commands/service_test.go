package commands

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/config"
	"github.com/digestbot/digestbot/schedule"
	"github.com/digestbot/digestbot/store"
	"github.com/digestbot/digestbot/store/storetest"
)

var testNow = time.Date(2026, 3, 20, 9, 30, 0, 0, time.UTC)

func newService(t *testing.T, b *storetest.Backend) *Service {
	t.Helper()
	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	return &Service{
		Store:        b.Open(t, store.Options{}),
		Config:       cfg,
		GlobalTopics: []*digestbot.Topic{{Name: "surveillance", Query: `"facial recognition" OR surveillance`}},
		Now:          func() time.Time { return testNow },
	}
}

// req builds a request from guild g1, channel c1, by a manager.
func req(name string, opts ...string) *Request {
	r := &Request{Name: name, Options: map[string]string{}, GuildID: "100", ChannelID: "200", UserID: "300", CanManage: true,
		ChannelInGuild: func(_ context.Context, id string) (bool, error) { return id == "201" || id == "200", nil }}
	for i := 0; i+1 < len(opts); i += 2 {
		r.Options[opts[i]] = opts[i+1]
	}
	return r
}

func mustHandle(t *testing.T, s *Service, r *Request) *Response {
	t.Helper()
	resp, err := s.Handle(context.Background(), r)
	if err != nil {
		t.Fatalf("/%s %v: %v", r.Name, r.Options, err)
	}
	return resp
}

func TestSubscribeReportsQueryMatchesAndNextDigest(t *testing.T) {
	storetest.EachBackend(t, testSubscribeReportsQueryMatchesAndNextDigest)
}

func testSubscribeReportsQueryMatchesAndNextDigest(t *testing.T, b *storetest.Backend) {
	s := newService(t, b)
	ctx := context.Background()
	add, now := withArchive(t, s)
	// Two archived articles of the last week, one matching.
	old := now.Add(-48 * time.Hour)
	add(
		&digestbot.Article{ID: "a1", Title: "Norway closes its last Confucius Institute", URL: "https://example.org/a1", Source: "Example Post", Text: "The university ended the agreement.", Ingested: old},
		&digestbot.Article{ID: "a2", Title: "Harbour traffic recovers", URL: "https://example.org/a2", Source: "Example Post", Text: "Ships are back.", Ingested: old},
		// Another server's own feed brought this one in: not ours to see.
		&digestbot.Article{ID: "a3", Title: "Confucius Institute leaves Oslo", URL: "https://example.org/a3", Source: "Private Wire", Text: "Gone.", Ingested: old, Guilds: []string{"999"}},
	)
	resp := mustHandle(t, s, req("subscribe", "query", "confucius   institute"))
	for _, want := range []string{"Subscribed <#200> to `confucius institute`", "in the last 7 days, 1 matches", "https://example.org/a1", "Next digest: <t:"} {
		if !strings.Contains(resp.Content, want) {
			t.Errorf("reply lacks %q:\n%s", want, resp.Content)
		}
	}
	if strings.Contains(resp.Content, "example.org/a3") {
		t.Errorf("the reply shows another server's private article:\n%s", resp.Content)
	}
	again := mustHandle(t, s, req("subscribe", "query", "confucius institute"))
	if !strings.Contains(again.Content, "already subscribed") {
		t.Errorf("second subscribe: %s", again.Content)
	}
	subs, _ := s.Store.Subscriptions(ctx, "100", "200")
	if len(subs) != 1 {
		t.Errorf("%d subscriptions after subscribing twice, want 1", len(subs))
	}
}

func TestCommandsRefuseBadInputAndChangeNothing(t *testing.T) {
	storetest.EachBackend(t, testCommandsRefuseBadInputAndChangeNothing)
}

func testCommandsRefuseBadInputAndChangeNothing(t *testing.T, b *storetest.Backend) {
	s := newService(t, b)
	ctx := context.Background()
	tests := []struct {
		name string
		r    *Request
		code string
		msg  string
	}{
		{"bad query", req("subscribe", "query", `"facial recognition`), digestbot.EINVALID, "unclosed quote"},
		{"query and topic", req("subscribe", "query", "a", "topic", "surveillance"), digestbot.EINVALID, "either query or topic"},
		{"unknown topic", req("subscribe", "topic", "nope"), digestbot.ENOTFOUND, "no topic"},
		{"bad schedule", req("subscribe", "query", "drones", "schedule", "every tuesday-ish"), digestbot.EINVALID, ""},
		{"too frequent", req("schedule", "when", "* * * * *"), digestbot.EINVALID, ""},
		{"unknown zone", req("schedule", "when", "hourly", "timezone", "Mars/Olympus"), digestbot.EINVALID, "Mars/Olympus"},
		{"foreign channel", req("subscribe", "query", "drones", "channel", "999"), digestbot.ENOTFOUND, "not a channel of this server"},
		{"unknown option", req("subscribe", "query", "drones", "colour", "red"), digestbot.EINVALID, "no option"},
		{"missing required", req("lookup"), digestbot.EINVALID, "needs the option query"},
		{"schedule without when or timezone", req("schedule"), digestbot.EINVALID, "needs when, timezone or both"},
		{"unknown zone alone", req("schedule", "timezone", "Mars/Olympus"), digestbot.EINVALID, "Mars/Olympus"},
		{"operator topic name", req("topics create", "name", "Surveillance", "query", "BMW"), digestbot.ECONFLICT, "surveillance is one of the bot's own topics; choose another name"},
		{"bad since", req("lookup", "query", "x", "since", "yesterday"), digestbot.EINVALID, "since"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Handle(ctx, tt.r)
			if digestbot.ErrorCode(err) != tt.code {
				t.Fatalf("err = %v (code %q), want code %q", err, digestbot.ErrorCode(err), tt.code)
			}
			if !strings.Contains(digestbot.ErrorMessage(err), tt.msg) {
				t.Errorf("message %q lacks %q", digestbot.ErrorMessage(err), tt.msg)
			}
		})
	}
	subs, _ := s.Store.Subscriptions(ctx, "100", "")
	sc, _ := s.Store.Schedule(ctx, "100", "200")
	if len(subs) != 0 || sc != nil {
		t.Errorf("refused commands changed state: %d subscriptions, schedule %+v", len(subs), sc)
	}
}

func TestManageCommandsNeedPermission(t *testing.T) {
	storetest.EachBackend(t, testManageCommandsNeedPermission)
}

func testManageCommandsNeedPermission(t *testing.T, b *storetest.Backend) {
	s := newService(t, b)
	for _, name := range []string{"subscribe", "unsubscribe", "schedule", "digest now", "feeds add", "feeds remove", "topics create", "topics delete"} {
		r := req(name, "query", "x", "subscription", "x", "when", "hourly", "url", "https://example.org/f", "name", "t")
		// Drop options the command does not have; permission is checked first anyway.
		def, _ := definition(name)
		for k := range r.Options {
			keep := false
			for _, o := range def.Options {
				keep = keep || o.Name == k
			}
			if !keep {
				delete(r.Options, k)
			}
		}
		r.CanManage = false
		_, err := s.Handle(context.Background(), r)
		if digestbot.ErrorCode(err) != digestbot.EFORBIDDEN {
			t.Errorf("/%s by a member without Manage Channels: %v, want forbidden", name, err)
		}
	}
	member := req("subscriptions")
	member.CanManage = false
	if _, err := s.Handle(context.Background(), member); err != nil {
		t.Errorf("/subscriptions is open to members: %v", err)
	}
}

func TestGuildIsolation(t *testing.T) {
	storetest.EachBackend(t, testGuildIsolation)
}

func testGuildIsolation(t *testing.T, b *storetest.Backend) {
	s := newService(t, b)
	mustHandle(t, s, req("subscribe", "query", "drones"))
	subs, _ := s.Store.Subscriptions(context.Background(), "100", "200")
	other := req("unsubscribe", "subscription", subs[0].ID)
	other.GuildID, other.ChannelID = "555", "556"
	if _, err := s.Handle(context.Background(), other); digestbot.ErrorCode(err) != digestbot.ENOTFOUND {
		t.Errorf("another server removed our subscription: %v", err)
	}
	list := req("subscriptions")
	list.GuildID, list.ChannelID = "555", "200"
	resp := mustHandle(t, s, list)
	if strings.Contains(resp.Content, "drones") {
		t.Errorf("another server sees our subscription: %s", resp.Content)
	}
	mustHandle(t, s, req("unsubscribe", "subscription", "drones"))
	if subs, _ := s.Store.Subscriptions(context.Background(), "100", ""); len(subs) != 0 {
		t.Errorf("unsubscribe by label left %d subscriptions", len(subs))
	}
}

func TestTopics(t *testing.T) {
	storetest.EachBackend(t, testTopics)
}

func testTopics(t *testing.T, b *storetest.Backend) {
	s := newService(t, b)
	resp := mustHandle(t, s, req("topics create", "name", "Drones", "query", "drone OR UAV"))
	if !strings.Contains(resp.Content, "**drones**") || !strings.Contains(resp.Content, " OR ") {
		t.Errorf("create: %s", resp.Content)
	}
	mustHandle(t, s, req("subscribe", "topic", "drones"))
	if _, err := s.Handle(context.Background(), req("topics delete", "name", "drones")); digestbot.ErrorCode(err) != digestbot.ECONFLICT {
		t.Errorf("deleting a topic in use: %v, want conflict", err)
	}
	list := mustHandle(t, s, req("topics list"))
	if !strings.Contains(list.Content, "drones") || !strings.Contains(list.Content, "surveillance") {
		t.Errorf("list lacks the guild or the operator topic: %s", list.Content)
	}
	choices, err := s.Autocomplete(context.Background(), &Request{GuildID: "100", Focused: "topic", Options: map[string]string{"topic": "sur"}})
	if err != nil || len(choices) != 1 || choices[0].Value != "surveillance" {
		t.Errorf("autocomplete topic 'sur' = %v, %v", choices, err)
	}
}

func TestAutocompleteTimezoneAtMost25(t *testing.T) {
	storetest.EachBackend(t, testAutocompleteTimezoneAtMost25)
}

func testAutocompleteTimezoneAtMost25(t *testing.T, b *storetest.Backend) {
	s := newService(t, b)
	all, _ := s.Autocomplete(context.Background(), &Request{GuildID: "100", Focused: "timezone", Options: map[string]string{}})
	if len(all) != 25 {
		t.Errorf("%d choices, Discord allows at most 25", len(all))
	}
	eu, _ := s.Autocomplete(context.Background(), &Request{GuildID: "100", Focused: "timezone", Options: map[string]string{"timezone": "paris"}})
	if len(eu) != 1 || eu[0].Value != "Europe/Paris" {
		t.Errorf("'paris' = %v", eu)
	}
}

func TestSubscribeResumesAPausedChannel(t *testing.T) {
	storetest.EachBackend(t, testSubscribeResumesAPausedChannel)
}

func testSubscribeResumesAPausedChannel(t *testing.T, b *storetest.Backend) {
	s := newService(t, b)
	ctx := context.Background()
	if err := s.Store.SetChannelState(ctx, &digestbot.ChannelState{GuildID: "100", ChannelID: "200", PausedReason: "channel not found", PausedAt: testNow}); err != nil {
		t.Fatal(err)
	}
	s.ResumeChannel = func(ctx context.Context, ref digestbot.ChannelRef) (bool, error) {
		st, _ := s.Store.ChannelState(ctx, ref.GuildID, ref.ChannelID)
		was := st.PausedReason != ""
		st.PausedReason = ""
		return was, s.Store.SetChannelState(ctx, st)
	}
	list := mustHandle(t, s, req("subscriptions"))
	if !strings.Contains(list.Content, "paused") || !strings.Contains(list.Content, "channel not found") {
		t.Errorf("/subscriptions does not show the pause and its reason:\n%s", list.Content)
	}
	resp := mustHandle(t, s, req("subscribe", "query", "drones"))
	if !strings.Contains(resp.Content, "resumed") {
		t.Errorf("subscribe did not say the channel was resumed:\n%s", resp.Content)
	}
	if st, _ := s.Store.ChannelState(ctx, "100", "200"); st.PausedReason != "" {
		t.Errorf("channel still paused: %+v", st)
	}
}

func TestFeedsAddRefusesNonHTTP(t *testing.T) {
	storetest.EachBackend(t, testFeedsAddRefusesNonHTTP)
}

func testFeedsAddRefusesNonHTTP(t *testing.T, b *storetest.Backend) {
	s := newService(t, b)
	checked := 0
	s.CheckFeed = func(context.Context, string) (FeedCheck, error) {
		checked++
		return FeedCheck{Title: "Harbour Wire", Articles: 1}, nil
	}
	for _, u := range []string{"/etc/hostname", "file:///etc/passwd", "ftp://example.org/feed", "http://", "https://user:pw@example.org/feed"} {
		if _, err := s.Handle(context.Background(), req("feeds add", "url", u)); digestbot.ErrorCode(err) != digestbot.EINVALID {
			t.Errorf("/feeds add url:%s: %v, want invalid", u, err)
		}
	}
	if checked != 0 {
		t.Errorf("a refused URL was fetched %d times", checked)
	}
	var resumed []string
	s.ResumeFeed = func(_ context.Context, url string) error { resumed = append(resumed, url); return nil }
	if _, err := s.Handle(context.Background(), req("feeds add", "url", "https://example.org/feed.xml")); err != nil || checked != 1 {
		t.Errorf("a good URL: %v (fetched %d times)", err, checked)
	}
	again := mustHandle(t, s, req("feeds add", "url", "https://example.org/feed.xml"))
	if !strings.Contains(again.Content, "polled again") || len(resumed) != 2 {
		t.Errorf("adding a known (maybe paused) feed again: %q, resumed %v", again.Content, resumed)
	}
}

func TestTopicDeleteRefusesWhileReferenced(t *testing.T) {
	storetest.EachBackend(t, testTopicDeleteRefusesWhileReferenced)
}

func testTopicDeleteRefusesWhileReferenced(t *testing.T, b *storetest.Backend) {
	s := newService(t, b)
	mustHandle(t, s, req("topics create", "name", "t1", "query", "port"))
	mustHandle(t, s, req("topics create", "name", "t2", "query", "topic:t1 OR ferry"))
	if _, err := s.Handle(context.Background(), req("topics delete", "name", "t1")); digestbot.ErrorCode(err) != digestbot.ECONFLICT {
		t.Errorf("deleting a topic another topic uses: %v, want conflict", err)
	}
	mustHandle(t, s, req("subscribe", "query", "topic:t2 OR harbour"))
	if _, err := s.Handle(context.Background(), req("topics delete", "name", "t2")); digestbot.ErrorCode(err) != digestbot.ECONFLICT {
		t.Errorf("deleting a topic a subscription's query uses: %v, want conflict", err)
	}
}

func TestTopicsLeaveOperatorTopicsAlone(t *testing.T) {
	storetest.EachBackend(t, testTopicsLeaveOperatorTopicsAlone)
}

func testTopicsLeaveOperatorTopicsAlone(t *testing.T, b *storetest.Backend) {
	s := newService(t, b)
	ctx := context.Background()
	mustHandle(t, s, req("subscribe", "topic", "surveillance"))

	_, err := s.Handle(ctx, req("topics create", "name", "surveillance", "query", "BMW"))
	if digestbot.ErrorCode(err) != digestbot.ECONFLICT || digestbot.ErrorMessage(err) != "surveillance is one of the bot's own topics; choose another name" {
		t.Errorf("/topics create of an operator topic's name: %v", err)
	}
	_, err = s.Handle(ctx, req("topics delete", "name", "surveillance"))
	if digestbot.ErrorCode(err) != digestbot.EFORBIDDEN || digestbot.ErrorMessage(err) != "surveillance is one of the bot's own topics; only the operator can change it" {
		t.Errorf("/topics delete of an operator topic: %v", err)
	}
	if own, _ := s.Store.Topics(ctx, "100"); len(own) != 0 {
		t.Errorf("the server got topics %+v", own)
	}
	list := mustHandle(t, s, req("topics list"))
	if !strings.Contains(list.Content, "**surveillance** — `\"facial recognition\" OR surveillance` (operator)") || strings.Contains(list.Content, "BMW") {
		t.Errorf("/topics list no longer shows the operator topic as it is:\n%s", list.Content)
	}
	subs := mustHandle(t, s, req("subscribe", "topic", "surveillance"))
	if !strings.Contains(subs.Content, "Topic query: `\"facial recognition\" OR surveillance`") {
		t.Errorf("topic:surveillance no longer follows the operator's query:\n%s", subs.Content)
	}

	// A server that got a topic of that name before the check keeps it
	// its own: it may change and delete it (which brings back the operator's).
	legacy := newService(t, b)
	if err := legacy.Store.PutTopic(ctx, &digestbot.Topic{GuildID: "100", Name: "surveillance", Query: "BMW"}, 10); err != nil {
		t.Fatal(err)
	}
	mustHandle(t, legacy, req("topics create", "name", "surveillance", "query", "Audi"))
	mustHandle(t, legacy, req("topics delete", "name", "surveillance"))
	if own, _ := legacy.Store.Topics(ctx, "100"); len(own) != 0 {
		t.Errorf("the server's own surveillance topic was not deleted: %+v", own)
	}
}

func TestScheduleRepliesSayTheChannelChanges(t *testing.T) {
	storetest.EachBackend(t, testScheduleRepliesSayTheChannelChanges)
}

func testScheduleRepliesSayTheChannelChanges(t *testing.T, b *storetest.Backend) {
	s := newService(t, b)
	const whole = "this applies to every subscription of the channel"
	mustHandle(t, s, req("subscribe", "query", "drones"))
	sub := mustHandle(t, s, req("subscribe", "query", "ferries", "schedule", "hourly"))
	if want := "<#200> now gets its digest every hour; " + whole + "."; !strings.Contains(sub.Content, want) {
		t.Errorf("/subscribe schedule:hourly does not say it changes the channel's schedule (want %q):\n%s", want, sub.Content)
	}
	plain := mustHandle(t, s, req("subscribe", "query", "harbour"))
	if strings.Contains(plain.Content, whole) {
		t.Errorf("/subscribe without a schedule claims to change it:\n%s", plain.Content)
	}
	sched := mustHandle(t, s, req("schedule", "when", "daily 08:00"))
	if want := "<#200> now gets its digest every day at 08:00, UTC; " + whole + ". Next: <t:"; !strings.HasPrefix(sched.Content, want) {
		t.Errorf("/schedule reply = %q, want it to start %q", sched.Content, want)
	}
}

func TestScheduleTimezoneAloneKeepsTheSchedule(t *testing.T) {
	storetest.EachBackend(t, testScheduleTimezoneAloneKeepsTheSchedule)
}

func testScheduleTimezoneAloneKeepsTheSchedule(t *testing.T, b *storetest.Backend) {
	s := newService(t, b)
	ctx := context.Background()
	var changed int
	s.ScheduleChanged = func(context.Context, digestbot.ChannelRef) { changed++ }
	stamp := func(tm time.Time) string { return fmt.Sprintf("<t:%d:f>", tm.Unix()) }

	// No schedule of its own: the channel keeps the configured default spec.
	paris, _ := time.LoadLocation("Europe/Paris")
	resp := mustHandle(t, s, req("schedule", "timezone", "Europe/Paris"))
	def := s.Config.Schedule.Default
	defSched, _ := schedule.Parse(def, "Europe/Paris", 0)
	if want := "now gets its digest " + defSched.Words(); !strings.Contains(resp.Content, want) {
		t.Errorf("/schedule timezone:Europe/Paris = %q, want %q", resp.Content, want)
	}
	if def == "daily 08:00" {
		// 09:30 UTC is 10:30 in Paris: the next 08:00 there is tomorrow's.
		if want := stamp(time.Date(2026, 3, 21, 8, 0, 0, 0, paris)); !strings.Contains(resp.Content, want) {
			t.Errorf("/schedule timezone:Europe/Paris = %q, want next digest %s", resp.Content, want)
		}
	}
	if sc, _ := s.Store.Schedule(ctx, "100", "200"); sc == nil || sc.Spec != def || sc.TimeZone != "Europe/Paris" {
		t.Errorf("stored schedule %+v, want %q in Europe/Paris", sc, def)
	}
	if !strings.Contains(resp.Content, "later changes to the default do not reach it") {
		t.Errorf("the reply does not say the channel now holds the default as its own: %q", resp.Content)
	}

	// Its own schedule: the spec stays, the zone changes.
	mustHandle(t, s, req("schedule", "when", "weekly mon 08:00"))
	resp = mustHandle(t, s, req("schedule", "timezone", "Asia/Tokyo"))
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	if want := "now gets its digest every Monday at 08:00, Asia/Tokyo"; !strings.Contains(resp.Content, want) {
		t.Errorf("/schedule timezone:Asia/Tokyo = %q, want %q", resp.Content, want)
	}
	if strings.Contains(resp.Content, "default") {
		t.Errorf("a channel with its own schedule is told about the default: %q", resp.Content)
	}
	if want := stamp(time.Date(2026, 3, 23, 8, 0, 0, 0, tokyo)); !strings.Contains(resp.Content, want) {
		t.Errorf("/schedule timezone:Asia/Tokyo = %q, want next digest %s", resp.Content, want)
	}
	if sc, _ := s.Store.Schedule(ctx, "100", "200"); sc == nil || sc.Spec != "weekly mon 08:00" || sc.TimeZone != "Asia/Tokyo" {
		t.Errorf("stored schedule %+v, want weekly mon 08:00 in Asia/Tokyo", sc)
	}
	if changed != 3 {
		t.Errorf("the scheduler was told of %d changes, want 3", changed)
	}
}

func TestRepliesCountRight(t *testing.T) {
	storetest.EachBackend(t, testRepliesCountRight)
}

func testRepliesCountRight(t *testing.T, b *storetest.Backend) {
	ctx := context.Background()
	t.Run("lookup", func(t *testing.T) {
		for total, want := range map[int]string{1: "1 article matches `x`:", 2: "2 articles match `x`:"} {
			s := newService(t, b)
			s.Search = func(context.Context, LookupQuery) (*LookupPage, error) {
				p := &LookupPage{Total: total}
				for i := 0; i < total; i++ {
					p.Results = append(p.Results, LookupResult{ID: fmt.Sprint(i), Title: "T", URL: "https://example.org/t", Source: "S"})
				}
				return p, nil
			}
			if got := mustHandle(t, s, req("lookup", "query", "x")).Content; got != want {
				t.Errorf("lookup of %d: %q, want %q", total, got, want)
			}
		}
	})
	t.Run("recent matches", func(t *testing.T) {
		for n, want := range map[int]string{0: "in the last 7 days, none match", 1: "in the last 7 days, 1 matches", 2: "in the last 7 days, 2 match"} {
			s := newService(t, b)
			add, now := withArchive(t, s)
			for i := 0; i < n; i++ {
				add(&digestbot.Article{ID: fmt.Sprintf("k%d", i), Title: "Kelp farm opens", URL: fmt.Sprintf("https://example.org/k%d", i), Source: "S", Ingested: now.Add(-time.Hour)})
			}
			if got := mustHandle(t, s, req("subscribe", "query", "kelp")).Content; !strings.Contains(got, want) {
				t.Errorf("%d matching articles: %q lacks %q", n, got, want)
			}
		}
	})
	t.Run("limits of one", func(t *testing.T) {
		s := newService(t, b)
		s.Config.Limits.SubscriptionsPerGuild, s.Config.Limits.TopicsPerGuild, s.Config.Limits.FeedsPerGuild = 1, 1, 1
		s.CheckFeed = func(context.Context, string) (FeedCheck, error) {
			return FeedCheck{Title: "Harbour Wire", Articles: 1}, nil
		}
		mustHandle(t, s, req("subscribe", "query", "drones"))
		mustHandle(t, s, req("topics create", "name", "t1", "query", "port"))
		feed := mustHandle(t, s, req("feeds add", "url", "https://example.org/a.xml"))
		if !strings.Contains(feed.Content, "It holds 1 article now, for /lookup.") {
			t.Errorf("/feeds add of a feed with one article: %q", feed.Content)
		}
		for _, tt := range []struct {
			r    *Request
			want string
		}{
			{req("subscribe", "query", "ferries"), "this server has reached its limit of 1 subscription; remove one with /unsubscribe first"},
			{req("topics create", "name", "t2", "query", "ship"), "this server has reached its limit of 1 topic; delete one first"},
			{req("feeds add", "url", "https://example.org/b.xml"), "this server has reached its limit of 1 feed; remove one with /feeds remove first"},
		} {
			_, err := s.Handle(ctx, tt.r)
			if digestbot.ErrorCode(err) != digestbot.ELIMIT || digestbot.ErrorMessage(err) != tt.want {
				t.Errorf("/%s over the limit: %v, want %q", tt.r.Name, err, tt.want)
			}
		}
	})
	t.Run("one of a kind", func(t *testing.T) {
		s := newService(t, b)
		mustHandle(t, s, req("topics create", "name", "t1", "query", "port"))
		mustHandle(t, s, req("subscribe", "topic", "t1"))
		if got := mustHandle(t, s, req("subscriptions")).Content; !strings.Contains(got, "<#200> — 1 subscription:") {
			t.Errorf("/subscriptions with one: %q", got)
		}
		_, err := s.Handle(ctx, req("topics delete", "name", "t1"))
		if want := "topic t1 is used by 1 subscription; unsubscribe it first"; digestbot.ErrorMessage(err) != want {
			t.Errorf("/topics delete of a topic one subscription uses: %v, want %q", err, want)
		}
		if err := s.Store.SetFeedHealth(ctx, &digestbot.FeedHealth{URL: "https://example.org/f.xml", Failures: 1, LastError: "timeout"}); err != nil {
			t.Fatal(err)
		}
		s.CheckFeed = func(context.Context, string) (FeedCheck, error) {
			return FeedCheck{Title: "Harbour Wire", Articles: 0}, nil
		}
		mustHandle(t, s, req("feeds add", "url", "https://example.org/f.xml"))
		if got := mustHandle(t, s, req("feeds list")).Content; !strings.Contains(got, "⚠ 1 failure in a row, last: timeout") {
			t.Errorf("/feeds list of a feed that failed once: %q", got)
		}
	})
}

// TestQueryOfOneTopicIsTheTopic: /subscribe query:topic:NAME and
// /subscribe topic:NAME are the same subscription.
func TestQueryOfOneTopicIsTheTopic(t *testing.T) {
	storetest.EachBackend(t, testQueryOfOneTopicIsTheTopic)
}

func testQueryOfOneTopicIsTheTopic(t *testing.T, b *storetest.Backend) {
	s := newService(t, b)
	mustHandle(t, s, req("subscribe", "topic", "surveillance"))
	again := mustHandle(t, s, req("subscribe", "query", "topic:surveillance"))
	if !strings.Contains(again.Content, "already subscribed") {
		t.Errorf("query:topic:surveillance after topic:surveillance: %s", again.Content)
	}
	if subs, _ := s.Store.Subscriptions(context.Background(), "100", "200"); len(subs) != 1 || subs[0].Topic != "surveillance" {
		t.Errorf("subscriptions = %+v, want one topic subscription", subs)
	}
}

// TestHelpListsEveryCommand: /help names every command there is, within
// one message.
func TestHelpListsEveryCommand(t *testing.T) {
	s := newEmbeddedService(t)
	r := mustHandle(t, s, req("help"))
	for _, d := range Definitions() {
		if d.Name != "help" && !strings.Contains(r.Content, "`/"+d.Name+"`") {
			t.Errorf("/help does not list /%s:\n%s", d.Name, r.Content)
		}
	}
	if n := utf8.RuneCountInString(r.Content); n > maxReplyContent {
		t.Errorf("/help has %d characters", n)
	}
	if strings.Contains(r.Content, "DIGESTBOT_") || strings.Contains(r.Content, "Redis") {
		t.Errorf("/help speaks to the operator:\n%s", r.Content)
	}
}

// TestFeedsAddNamesTheFeedByItsTitle: a feed added without a name is
// called by the title its fetch gave, in the reply and in the list; a
// name given wins.
func TestFeedsAddNamesTheFeedByItsTitle(t *testing.T) {
	s := newEmbeddedService(t)
	s.CheckFeed = func(context.Context, string) (FeedCheck, error) {
		return FeedCheck{Title: "Harbour Wire", Articles: 12}, nil
	}
	r := mustHandle(t, s, req("feeds add", "url", "https://harbourwire.example/feed.xml"))
	if want := "Added the feed **Harbour Wire** (https://harbourwire.example/feed.xml); it is polled every 15 minutes. It holds 12 articles now, for /lookup."; !strings.HasPrefix(r.Content, want) {
		t.Errorf("/feeds add: %q\nwant %q", r.Content, want)
	}
	r = mustHandle(t, s, req("feeds add", "url", "https://other.example/rss", "name", "Other Desk"))
	if !strings.Contains(r.Content, "**Other Desk**") || strings.Contains(r.Content, "Harbour Wire") {
		t.Errorf("/feeds add with a name: %q", r.Content)
	}
	list := mustHandle(t, s, req("feeds list"))
	if !strings.Contains(list.Content, "• **Harbour Wire** (https://harbourwire.example/feed.xml): not polled yet") || !strings.Contains(list.Content, "• **Other Desk** (") {
		t.Errorf("/feeds list:\n%s", list.Content)
	}
}

// newEmbeddedService is newService on the embedded store, for tests of the
// replies' words and layout rather than of the store.
func newEmbeddedService(t *testing.T) *Service {
	return newService(t, &storetest.Backend{Name: storetest.Embedded})
}

package commands

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/digest"
	"github.com/digestbot/digestbot/store/storetest"
)

// /subscribe's mode and mention: an instant subscription that pings a
// role, changed in place when subscribed again, shown by /subscriptions;
// @everyone and unknown modes are refused and change nothing.
func TestSubscribeModeAndMention(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, b *storetest.Backend) {
		s := newService(t, b)
		ctx := context.Background()
		for _, bad := range []*Request{
			req("subscribe", "query", "ferry", "mode", "loud"),
			req("subscribe", "query", "ferry", "mention", "100"), // the server's id: @everyone
			req("subscribe", "query", "ferry", "mention", "@here"),
		} {
			if _, err := s.Handle(ctx, bad); digestbot.ErrorCode(err) != digestbot.EINVALID {
				t.Errorf("%v: %v, want refused", bad.Options, err)
			}
		}
		if subs, _ := s.Store.Subscriptions(ctx, "100", ""); len(subs) != 0 {
			t.Fatalf("refused subscribes stored %d subscriptions", len(subs))
		}
		r := mustHandle(t, s, req("subscribe", "query", "ferry", "mode", "instant", "mention", "<@&4242>"))
		if !strings.Contains(r.Content, "Subscribed <#200> to `ferry`: instant: each story within a minute, mentions <@&4242>") {
			t.Errorf("reply: %s", r.Content)
		}
		subs, _ := s.Store.Subscriptions(ctx, "100", "200")
		if len(subs) != 1 || !subs[0].Instant() || subs[0].Mention != "4242" {
			t.Fatalf("stored %+v", subs)
		}
		// Again with mode only: the mode changes, the mention stays.
		r = mustHandle(t, s, req("subscribe", "query", "ferry", "mode", "digest"))
		if !strings.Contains(r.Content, "from now on its stories come in the channel's digest, mentioning <@&4242>") {
			t.Errorf("reply to the change: %s", r.Content)
		}
		subs, _ = s.Store.Subscriptions(ctx, "100", "200")
		if len(subs) != 1 || subs[0].Instant() || subs[0].Mention != "4242" {
			t.Fatalf("after the change %+v", subs)
		}
		if r := mustHandle(t, s, req("subscribe", "query", "ferry")); !strings.Contains(r.Content, "nothing changed") {
			t.Errorf("subscribing again without options: %s", r.Content)
		}
		mustHandle(t, s, req("subscribe", "query", "quay", "mode", "instant"))
		list := mustHandle(t, s, req("subscriptions"))
		for _, want := range []string{"`ferry` — since", "mentions <@&4242>", "`quay` — since", "instant: each story within a minute"} {
			if !strings.Contains(list.Content, want) {
				t.Errorf("/subscriptions lacks %q:\n%s", want, list.Content)
			}
		}
	})
}

// watchService is a service whose members' direct-message channels are
// "9" + their id, with small watch limits.
func watchService(t *testing.T, b *storetest.Backend) (*Service, *[]string) {
	s := newService(t, b)
	s.Config.Limits.WatchesPerMember, s.Config.Limits.WatchesPerGuild = 2, 3
	var opened []string
	s.DirectChannel = func(_ context.Context, user string) (string, error) {
		opened = append(opened, user)
		return "9" + user, nil
	}
	return s, &opened
}

// member builds a request of a member without Manage Channels.
func member(user, name string, opts ...string) *Request {
	r := req(name, opts...)
	r.UserID, r.CanManage = user, false
	return r
}

// Any member watches queries of their own: replies only they see, a
// direct-message channel opened for the digests, limits per member and per
// server, and nobody else (not the server's admins) sees or removes them.
func TestWatches(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, b *storetest.Backend) {
		s, opened := watchService(t, b)
		ctx := context.Background()
		r := mustHandle(t, s, member("301", "watch add", "query", "Lanternhall  institute", "schedule", "daily 07:00", "timezone", "Europe/Oslo"))
		if !r.Ephemeral || !strings.Contains(r.Content, "You now watch `Lanternhall institute`") || !strings.Contains(r.Content, "daily 07:00 (Europe/Oslo)") {
			t.Errorf("watch add: %+v", r)
		}
		if len(*opened) != 1 || (*opened)[0] != "301" {
			t.Errorf("DM channels opened for %v, want member 301", *opened)
		}
		if sc, _ := s.Store.Schedule(ctx, "100", "9301"); sc == nil || sc.Spec != "daily 07:00" || sc.TimeZone != "Europe/Oslo" {
			t.Errorf("the member's schedule = %+v", sc)
		}
		mustHandle(t, s, member("301", "watch add", "query", "ferry"))
		_, err := s.Handle(ctx, member("301", "watch add", "query", "tide"))
		if digestbot.ErrorCode(err) != digestbot.ELIMIT || !strings.Contains(digestbot.ErrorMessage(err), "the limit is 2") {
			t.Errorf("third watch of a member: %v", err)
		}
		mustHandle(t, s, member("302", "watch add", "query", "gull"))
		_, err = s.Handle(ctx, member("303", "watch add", "query", "gull"))
		if digestbot.ErrorCode(err) != digestbot.ELIMIT || !strings.Contains(digestbot.ErrorMessage(err), "server's limit is 3") {
			t.Errorf("a watch past the server's limit: %v", err)
		}
		before := len(*opened)
		_, err = s.Handle(ctx, member("303", "watch add", "query", "reef", "schedule", "every tuesday-ish"))
		if digestbot.ErrorCode(err) != digestbot.EINVALID || len(*opened) != before {
			t.Errorf("bad schedule: %v, %d DM channels opened; want refused before opening one", err, len(*opened))
		}

		list := mustHandle(t, s, member("301", "watch list"))
		if !list.Ephemeral || !strings.Contains(list.Content, "(2 of 2)") || !strings.Contains(list.Content, "`Lanternhall institute`") || strings.Contains(list.Content, "gull") {
			t.Errorf("member 301's list: %s", list.Content)
		}
		// The server sees how many, never what.
		admin := mustHandle(t, s, req("subscriptions"))
		if !strings.Contains(admin.Content, "2 members have personal watches in this server (3 in all") ||
			strings.Contains(admin.Content, "Lanternhall") || strings.Contains(admin.Content, "gull") {
			t.Errorf("/subscriptions: %s", admin.Content)
		}
		choices, err := s.Autocomplete(ctx, &Request{Name: "watch remove", GuildID: "100", UserID: "302", Focused: "watch", Options: map[string]string{"watch": ""}})
		if err != nil || len(choices) != 1 || choices[0].Name != "gull" {
			t.Errorf("member 302's choices = %+v, %v", choices, err)
		}
		// Another member cannot remove it, by id or by query.
		mine, _ := s.Store.Watches(ctx, "100", "301")
		for _, w := range []string{mine[0].ID, "ferry"} {
			if _, err := s.Handle(ctx, member("302", "watch remove", "watch", w)); digestbot.ErrorCode(err) != digestbot.ENOTFOUND {
				t.Errorf("member 302 removing %q of 301: %v", w, err)
			}
		}
		r = mustHandle(t, s, member("301", "watch remove", "watch", "ferry"))
		if !r.Ephemeral || !strings.Contains(r.Content, "You no longer watch `ferry`") {
			t.Errorf("remove: %+v", r)
		}
		if ws, _ := s.Store.Watches(ctx, "100", "301"); len(ws) != 1 {
			t.Errorf("member 301 has %d watches after removing one of 2", len(ws))
		}
		// In another server the member starts afresh.
		other := member("301", "watch list")
		other.GuildID = "555"
		if r := mustHandle(t, s, other); !strings.Contains(r.Content, "no personal watches in this server") {
			t.Errorf("another server's list: %s", r.Content)
		}
	})
}

// A member who does not accept the bot's direct messages finds the watches
// paused in /watch list, with why and what to do; /watch add resumes them.
func TestWatchPausedWhenDirectMessagesAreRefused(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, b *storetest.Backend) {
		s, _ := watchService(t, b)
		ctx := context.Background()
		var resumed []digestbot.ChannelRef
		s.ResumeChannel = func(_ context.Context, ref digestbot.ChannelRef) (bool, error) {
			resumed = append(resumed, ref)
			st, _ := s.Store.ChannelState(ctx, ref.GuildID, ref.ChannelID)
			was := st.PausedReason != ""
			st.PausedReason, st.PausedBy, st.PausedAt = "", "", time.Time{}
			return was, s.Store.SetChannelState(ctx, st)
		}
		mustHandle(t, s, member("301", "watch add", "query", "ferry"))
		st := &digestbot.ChannelState{GuildID: "100", ChannelID: "9301", PausedBy: digestbot.PauseForbidden, PausedAt: testNow,
			PausedReason: "the bot may not post in this channel: the member does not accept direct messages from the bot"}
		if err := s.Store.SetChannelState(ctx, st); err != nil {
			t.Fatal(err)
		}
		list := mustHandle(t, s, member("301", "watch list"))
		for _, want := range []string{"⚠ Paused since", "Discord refuses the bot's direct messages to you", "does not accept direct messages", "run `/watch add`"} {
			if !strings.Contains(list.Content, want) {
				t.Errorf("list lacks %q:\n%s", want, list.Content)
			}
		}
		r := mustHandle(t, s, member("301", "watch add", "query", "ferry"))
		if !strings.Contains(r.Content, "they are resumed") || !strings.Contains(r.Content, "You already watch `ferry`") {
			t.Errorf("watch add of a paused member: %s", r.Content)
		}
		if list := mustHandle(t, s, member("301", "watch list")); strings.Contains(list.Content, "Paused") {
			t.Errorf("still paused after the resume:\n%s", list.Content)
		}
	})
}

// A watch's digest in a direct message carries a "More" button that names
// its server: pressed there (no server in the interaction) it pages, for
// the DM channel it was posted to only.
func TestMoreButtonInADirectMessage(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, b *storetest.Backend) {
		s := newService(t, b)
		ctx := context.Background()
		state, _ := json.Marshal(digest.MoreState{Channel: "9301", Pages: []digest.Message{{Embeds: []digest.Embed{{Title: "story 11"}}}}})
		if err := s.Store.SaveLookup(ctx, "100", "more-w1", state, time.Hour); err != nil {
			t.Fatal(err)
		}
		press := func(guild, channel, id string) (*Response, error) {
			return s.Handle(ctx, &Request{Name: "button", GuildID: guild, ChannelID: channel, UserID: "301", Options: map[string]string{"id": id}})
		}
		r, err := press("", "9301", digest.GuildMoreButtonID("100", "more-w1", 0))
		if err != nil || !r.Ephemeral || len(r.Embeds) != 1 || r.Embeds[0].Title != "story 11" {
			t.Fatalf("press in the DM: %+v, %v", r, err)
		}
		for name, p := range map[string][3]string{
			"another member's DM":          {"", "9302", digest.GuildMoreButtonID("100", "more-w1", 0)},
			"a button that names no guild": {"", "9301", digest.MoreButtonID("more-w1", 0)},
			"another server":               {"555", "556", digest.GuildMoreButtonID("100", "more-w1", 0)},
		} {
			if _, err := press(p[0], p[1], p[2]); digestbot.ErrorCode(err) != digestbot.ENOTFOUND {
				t.Errorf("%s: %v, want not found", name, err)
			}
		}
		// Any other command in a DM is still refused.
		if _, err := s.Handle(ctx, &Request{Name: "watch list", ChannelID: "9301", UserID: "301"}); digestbot.ErrorCode(err) != digestbot.EINVALID {
			t.Errorf("a command in a DM: %v", err)
		}
	})
}

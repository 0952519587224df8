package bot

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/commands"
	"github.com/digestbot/digestbot/config"
	"github.com/digestbot/digestbot/digest"
	"github.com/digestbot/digestbot/discordtest"
	"github.com/digestbot/digestbot/store/storetest"
)

// coreService is the real command service on an embedded store, for tests
// that drive it through Discord.
func coreService(t *testing.T) *commands.Service {
	t.Helper()
	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 20, 9, 30, 0, 0, time.UTC)
	return &commands.Service{Store: storetest.OpenEmbedded(t), Config: cfg, Now: func() time.Time { return now }}
}

// TestListOf44SubscriptionsPagesInPlace: /subscriptions of a channel with
// 44 subscriptions answers within Discord's limits with a Next button;
// pressing it replaces the message with the next page (type 6 and an
// edit), and a button whose pages are gone says so without touching the
// page on screen.
func TestListOf44SubscriptionsPagesInPlace(t *testing.T) {
	t.Parallel()
	svc := coreService(t)
	hs := start(t, func(o *Options) { o.Handler = svc })
	for i := range 44 {
		_, err := svc.Handle(context.Background(), &commands.Request{Name: "subscribe", GuildID: hs.srv.GuildID, ChannelID: hs.srv.ChannelID,
			UserID: "1", CanManage: true, Options: map[string]string{"query": fmt.Sprintf(`"harbour authority %d" OR (ferry%d terminal) -"press release"`, i, i)}})
		if err != nil {
			t.Fatal(err)
		}
	}
	first := hs.srv.WaitReply(hs.srv.SendInteraction(discordtest.Interaction{Command: "subscriptions"}))
	if n := utf8.RuneCountInString(first.Content); n > 2000 || !first.Ephemeral() {
		t.Fatalf("first page: %d characters, ephemeral %v", n, first.Ephemeral())
	}
	buttons := first.Buttons()
	if len(buttons) != 1 || !strings.HasPrefix(buttons[0], "page-next:") || !strings.Contains(first.Content, " more_") {
		t.Fatalf("first page buttons %q:\n%s", buttons, first.Content)
	}
	press := hs.srv.SendInteraction(discordtest.Interaction{Type: discordtest.TypeComponent, CustomID: buttons[0]})
	if cb := hs.srv.WaitCallback(press); cb.Type != discordtest.CallbackDeferUpdate {
		t.Errorf("Next answered with callback type %d, want 6 (update the message)", cb.Type)
	}
	second := hs.srv.WaitReply(press)
	if second.Via != "edit" || second.Content == first.Content || !strings.Contains(second.Content, "_Showing ") {
		t.Errorf("second page via %s:\n%s", second.Via, second.Content)
	}
	if b := second.Buttons(); len(b) == 0 || !strings.HasPrefix(b[0], "page-prev:") {
		t.Errorf("second page buttons %q, want Previous first", b)
	}
	for _, line := range strings.Split(first.Content+"\n"+second.Content, "\n") {
		if strings.HasPrefix(line, "• ") && !strings.HasSuffix(line, "— since 20 Mar 2026") {
			t.Errorf("an item is cut: %q", line)
		}
	}

	gone := hs.srv.SendInteraction(discordtest.Interaction{Type: discordtest.TypeComponent, CustomID: "page-next:0123456789abcdef01:1"})
	if rep := hs.srv.WaitReply(gone); rep.Via != "followup" || !rep.Ephemeral() || !strings.Contains(rep.Content, "expired") {
		t.Errorf("a button of expired pages: %+v", rep)
	}
}

// TestPublicRepliesDoNotUnfurlLinks: the public reply to /subscribe names
// recent articles with their links, written so that Discord shows no
// preview cards under it.
func TestPublicRepliesDoNotUnfurlLinks(t *testing.T) {
	t.Parallel()
	svc := coreService(t)
	hs := start(t, func(o *Options) { o.Handler = svc })
	// The preview's recent articles come from the lookup's search.
	svc.Search = func(context.Context, commands.LookupQuery) (*commands.LookupPage, error) {
		return &commands.LookupPage{Total: 1, Results: []commands.LookupResult{{ID: "a1", Title: "Ferry strike ends",
			URL: "https://harbour.example/ferry-strike", Source: "Harbour Wire", Published: svc.Now().Add(-time.Hour)}}}, nil
	}
	rep := hs.srv.WaitReply(hs.srv.SendInteraction(discordtest.Interaction{Command: "subscribe", Permissions: discordtest.PermManageChannels,
		Options: []discordtest.Option{discordtest.Str("query", "ferry")}}))
	if rep.Ephemeral() || !strings.Contains(rep.Content, "[Ferry strike ends](<https://harbour.example/ferry-strike>)") || strings.Contains(rep.Content, "](https://") {
		t.Errorf("/subscribe reply (ephemeral %v):\n%s", rep.Ephemeral(), rep.Content)
	}
}

// TestSettingUpAServerIsNotRateLimited: one member setting a server up —
// three feeds, two topics, twenty subscriptions, a schedule, the list and
// its next page, all in the same instant — is never refused under the
// default limit of 20 commands a minute; a flood still is, once the burst
// of 60 is spent.
func TestSettingUpAServerIsNotRateLimited(t *testing.T) {
	t.Parallel()
	svc := coreService(t)
	now := svc.Now()
	hs := start(t, func(o *Options) { o.Handler = svc; o.Now = func() time.Time { return now } })
	const user = "1300000000000000077"
	send := func(in discordtest.Interaction) discordtest.Reply {
		t.Helper()
		in.UserID, in.Permissions = user, discordtest.PermManageChannels
		return hs.srv.WaitReply(hs.srv.SendInteraction(in))
	}
	cmd := func(name string, opts ...string) discordtest.Interaction {
		in := discordtest.Interaction{Command: name}
		for i := 0; i+1 < len(opts); i += 2 {
			in.Options = append(in.Options, discordtest.Str(opts[i], opts[i+1]))
		}
		return in
	}
	var setup []discordtest.Interaction
	for i := range 3 {
		setup = append(setup, cmd("feeds add", "url", fmt.Sprintf("https://news%d.example/feed.xml", i)))
	}
	setup = append(setup, cmd("topics create", "name", "ports", "query", "harbour OR ferry"), cmd("topics create", "name", "energy", "query", "wind OR solar"))
	for i := range 20 {
		setup = append(setup, cmd("subscribe", "query", fmt.Sprintf(`"harbour authority %d" OR (ferry%d terminal) OR "port of call %d" -"press release"`, i, i, i)))
	}
	setup = append(setup, cmd("schedule", "when", "daily 07:30", "timezone", "Europe/Oslo"), cmd("subscriptions"))
	used := 0
	var list discordtest.Reply
	for _, in := range setup {
		rep := send(in)
		used++
		if strings.Contains(rep.Content, "Easy there") {
			t.Fatalf("command %d of the setup (/%s) was refused: %s", used, in.Command, rep.Content)
		}
		list = rep
	}
	if b := list.Buttons(); len(b) == 1 {
		if rep := send(discordtest.Interaction{Type: discordtest.TypeComponent, CustomID: b[0]}); strings.Contains(rep.Content, "Easy there") {
			t.Fatalf("turning the page was refused: %s", rep.Content)
		}
		used++
	}
	for ; used < 60; used++ {
		if rep := send(cmd("help")); strings.Contains(rep.Content, "Easy there") {
			t.Fatalf("command %d refused; the burst is 60", used+1)
		}
	}
	if rep := send(cmd("help")); !strings.Contains(rep.Content, "Easy there") || !rep.Ephemeral() {
		t.Errorf("command 61 at once: %q, want a refusal", rep.Content)
	}
}

// TestDigestPreviewPagesThroughEveryMessage: /digest preview of a digest
// of three messages shows the first with its embeds, and Next replaces it
// with the second, embeds included, in the same message.
func TestDigestPreviewPagesThroughEveryMessage(t *testing.T) {
	t.Parallel()
	svc := coreService(t)
	svc.Preview = func(context.Context, digestbot.ChannelRef) ([]digest.Message, error) {
		var msgs []digest.Message
		for i := range 3 {
			msgs = append(msgs, digest.Message{Content: fmt.Sprintf("**ferry** part %d", i+1),
				Embeds: []digest.Embed{{Title: fmt.Sprintf("Story %d", i+1), URL: fmt.Sprintf("https://example.org/%d", i+1)}}})
		}
		return msgs, nil
	}
	hs := start(t, func(o *Options) { o.Handler = svc })
	first := hs.srv.WaitReply(hs.srv.SendInteraction(discordtest.Interaction{Command: "digest preview"}))
	if len(first.Embeds) != 1 || first.Embeds[0].Title != "Story 1" || !strings.Contains(first.Content, "message 1 of 3") {
		t.Fatalf("first page: %+v", first)
	}
	press := hs.srv.SendInteraction(discordtest.Interaction{Type: discordtest.TypeComponent, CustomID: first.Buttons()[0]})
	second := hs.srv.WaitReply(press)
	if second.Via != "edit" || len(second.Embeds) != 1 || second.Embeds[0].Title != "Story 2" || !strings.Contains(second.Content, "message 2 of 3") {
		t.Errorf("second page: %+v", second)
	}
}

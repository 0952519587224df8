package bot

// End-to-end tests: the real discordgo client inside Bot, against the
// Discord-compatible server of package discordtest on loopback.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/commands"
	"github.com/digestbot/digestbot/digest"
	"github.com/digestbot/digestbot/discordtest"
)

// fakeHandler records requests and answers with what the test sets.
type fakeHandler struct {
	mu       sync.Mutex
	reqs     []*commands.Request
	handle   func(ctx context.Context, req *commands.Request) (*commands.Response, error)
	complete func(ctx context.Context, req *commands.Request) ([]commands.Choice, error)
	called   chan *commands.Request
}

func newFakeHandler() *fakeHandler { return &fakeHandler{called: make(chan *commands.Request, 64)} }

// Handle answers with the test's function; the request is reported on
// called after that function returns, so what it stored is visible.
func (h *fakeHandler) Handle(ctx context.Context, req *commands.Request) (*commands.Response, error) {
	h.mu.Lock()
	h.reqs = append(h.reqs, req)
	f := h.handle
	h.mu.Unlock()
	defer func() { h.called <- req }()
	if f == nil {
		return &commands.Response{Content: "ok " + req.Name, Ephemeral: !manages(req.Name)}, nil
	}
	return f(ctx, req)
}

func (h *fakeHandler) Autocomplete(ctx context.Context, req *commands.Request) ([]commands.Choice, error) {
	h.mu.Lock()
	h.reqs = append(h.reqs, req)
	f := h.complete
	h.mu.Unlock()
	defer func() { h.called <- req }()
	if f == nil {
		return nil, nil
	}
	return f(ctx, req)
}

func (h *fakeHandler) set(f func(ctx context.Context, req *commands.Request) (*commands.Response, error)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.handle = f
}

func manages(name string) bool {
	for _, d := range commands.Definitions() {
		if d.Name == name {
			return d.Manage
		}
	}
	return false
}

// syncBuffer is a log sink tests can read while the bot writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type harness struct {
	srv  *discordtest.Server
	bot  *Bot
	h    *fakeHandler
	logs *syncBuffer
}

// start connects a Bot to a fresh server; opt may change the options.
func start(t *testing.T, opt func(*Options)) *harness {
	t.Helper()
	return startOn(t, discordtest.New(t), opt)
}

// startOn connects a Bot to a server the test has prepared.
func startOn(t *testing.T, srv *discordtest.Server, opt func(*Options)) *harness {
	t.Helper()
	hs := &harness{srv: srv, h: newFakeHandler(), logs: &syncBuffer{}}
	opts := Options{
		Token:      discordtest.DefaultToken,
		APIBaseURL: srv.URL(),
		GuildID:    srv.GuildID,
		Handler:    hs.h,
		Logger:     slog.New(slog.NewTextHandler(hs.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if opt != nil {
		opt(&opts)
	}
	b, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	hs.bot = b
	if os.Getenv("DEBUG_DG") != "" {
		b.s.LogLevel = discordgo.LogInformational
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.Open(ctx); err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if t.Failed() {
			t.Logf("bot log:\n%s", hs.logs.String())
		}
	})
	return hs
}

// noCall fails if the handler is called within a short while; the
// interaction was already answered, so any call would have come first.
func (hs *harness) noCall(t *testing.T) {
	t.Helper()
	select {
	case req := <-hs.h.called:
		t.Errorf("handler called with %q, want no call", req.Name)
	default:
	}
}

func TestConnectIdentifiesWithGuildsIntentOnly(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name            string
		shardID, shards int
		wantShard       [2]int
	}{
		{name: "unsharded", wantShard: [2]int{0, 1}},
		{name: "shard 1 of 2", shardID: 1, shards: 2, wantShard: [2]int{1, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			hs := start(t, func(o *Options) { o.ShardID, o.ShardCount = tt.shardID, tt.shards })
			id := hs.srv.WaitIdentify(1)[0]
			if id.Intents != int(discordgo.IntentsGuilds) {
				t.Errorf("intents = %d, want guilds only (%d)", id.Intents, discordgo.IntentsGuilds)
			}
			if id.Token != "Bot "+discordtest.DefaultToken {
				t.Errorf("token = %q", id.Token)
			}
			if id.Shard != tt.wantShard {
				t.Errorf("shard = %v, want %v", id.Shard, tt.wantShard)
			}
			if hs.bot.ApplicationID() != hs.srv.AppID {
				t.Errorf("application id = %q, want %q", hs.bot.ApplicationID(), hs.srv.AppID)
			}
			for i := 0; !hs.bot.Connected(); i++ {
				if i == 500 {
					t.Fatal("Connected() stays false after Open")
				}
				time.Sleep(10 * time.Millisecond)
			}
			// Shard 0 registers the commands for all shards.
			if n := len(hs.srv.CommandSets()); (n == 1) != (tt.shardID == 0) {
				t.Errorf("shard %d registered commands %d times", tt.shardID, n)
			}
		})
	}
}

// wantCommands is the slash command table of DESIGN.md: command ->
// options, or for a command with subcommands, subcommand -> options.
var wantCommands = map[string]map[string][]string{
	"subscribe":     {"": {"query", "topic", "channel", "schedule", "mode", "mention", "spike"}},
	"unsubscribe":   {"": {"subscription", "channel"}},
	"subscriptions": {"": {"channel"}},
	"schedule":      {"": {"when", "timezone", "channel"}},
	"digest":        {"preview": {"channel"}, "now": {"channel"}, "why": {"url"}},
	"lookup":        {"": {"query", "since", "source"}},
	"trend":         {"": {"query", "since"}},
	"feeds":         {"add": {"url", "name", "backfill"}, "remove": {"url"}, "list": nil, "import": {"file"}, "export": nil},
	"topics":        {"list": nil, "create": {"name", "query"}, "delete": {"name"}},
	"help":          {"": nil},
	"watch":         {"add": {"query", "schedule", "timezone"}, "list": nil, "remove": {"watch"}},
}

func TestCommandsRegisteredAsDesigned(t *testing.T) {
	t.Parallel()
	for _, global := range []bool{false, true} {
		t.Run(fmt.Sprintf("global=%v", global), func(t *testing.T) {
			t.Parallel()
			hs := start(t, func(o *Options) {
				if global {
					o.GuildID = ""
				}
			})
			scope := hs.srv.GuildID
			if global {
				scope = ""
			}
			raw := hs.srv.WaitCommands(scope)
			got := map[string]map[string][]string{}
			perms := map[string]string{}
			autocomplete := map[string]bool{}
			for _, r := range raw {
				var c struct {
					Name        string  `json:"name"`
					Description string  `json:"description"`
					DefaultPerm *string `json:"default_member_permissions"`
					Options     []struct {
						Name         string `json:"name"`
						Type         int    `json:"type"`
						Autocomplete bool   `json:"autocomplete"`
						Options      []struct {
							Name         string `json:"name"`
							Autocomplete bool   `json:"autocomplete"`
						} `json:"options"`
					} `json:"options"`
				}
				if err := json.Unmarshal(r, &c); err != nil {
					t.Fatal(err)
				}
				if c.Description == "" {
					t.Errorf("/%s has no description; Discord refuses that", c.Name)
				}
				if c.DefaultPerm != nil {
					perms[c.Name] = *c.DefaultPerm
				}
				subs := map[string][]string{}
				for _, o := range c.Options {
					if o.Type == 1 {
						var names []string
						for _, so := range o.Options {
							names = append(names, so.Name)
							autocomplete[c.Name+" "+o.Name+" "+so.Name] = so.Autocomplete
						}
						subs[o.Name] = names
						continue
					}
					subs[""] = append(subs[""], o.Name)
					autocomplete[c.Name+" "+o.Name] = o.Autocomplete
				}
				if len(subs) == 0 {
					subs[""] = nil
				}
				got[c.Name] = subs
			}
			if fmt.Sprint(got) != fmt.Sprint(wantCommands) {
				t.Errorf("registered commands:\n got %v\nwant %v", got, wantCommands)
			}
			for _, k := range []string{"subscribe topic", "unsubscribe subscription", "schedule timezone", "topics delete name", "feeds remove url", "watch remove watch", "watch add timezone"} {
				if !autocomplete[k] {
					t.Errorf("%s: no autocomplete", k)
				}
			}
			wantPerms := map[string]string{"subscribe": "16", "unsubscribe": "16", "schedule": "16"}
			if fmt.Sprint(perms) != fmt.Sprint(wantPerms) {
				t.Errorf("default member permissions = %v, want %v", perms, wantPerms)
			}
		})
	}
}

// TestEveryCommandIsAnsweredAfterDeferral drives each command of the core
// with an INTERACTION_CREATE and checks the deferral and the edit.
func TestEveryCommandIsAnsweredAfterDeferral(t *testing.T) {
	t.Parallel()
	hs := start(t, nil)
	for _, def := range commands.Definitions() {
		t.Run(def.Name, func(t *testing.T) {
			var opts []discordtest.Option
			for _, o := range def.Options {
				switch o.Type {
				case commands.Channel:
					opts = append(opts, discordtest.Chan(o.Name, hs.srv.ChannelID))
				case commands.AttachmentOption:
					opts = append(opts, discordtest.Attach(o.Name, discordtest.Upload{Filename: "v-" + o.Name, Data: []byte("x")}))
				default:
					opts = append(opts, discordtest.Str(o.Name, "v-"+o.Name))
				}
			}
			sent := hs.srv.SendInteraction(discordtest.Interaction{
				Command: def.Name, Options: opts, Permissions: discordtest.PermManageChannels, UserID: "1300000000000000042",
			})
			cb := hs.srv.WaitCallback(sent)
			if cb.Type != discordtest.CallbackDeferred {
				t.Fatalf("callback type %d, want deferred (5)", cb.Type)
			}
			if cb.Data.Ephemeral() == def.Manage {
				t.Errorf("deferral ephemeral = %v for Manage=%v", cb.Data.Ephemeral(), def.Manage)
			}
			rep := hs.srv.WaitReply(sent)
			if rep.Content != "ok "+def.Name || rep.Via != "edit" {
				t.Errorf("reply %q via %s, want %q via edit", rep.Content, rep.Via, "ok "+def.Name)
			}
			req := <-hs.h.called
			if req.Name != def.Name || req.GuildID != hs.srv.GuildID || req.ChannelID != hs.srv.ChannelID ||
				req.UserID != "1300000000000000042" || !req.CanManage {
				t.Errorf("request = %+v", req)
			}
			for _, o := range def.Options {
				want := "v-" + o.Name
				if o.Type == commands.Channel {
					want = hs.srv.ChannelID
				}
				if req.Options[o.Name] != want {
					t.Errorf("option %s = %q, want %q", o.Name, req.Options[o.Name], want)
				}
			}
		})
	}
}

func TestResponseRendering(t *testing.T) {
	t.Parallel()
	hs := start(t, nil)
	ts := time.Date(2021, 3, 20, 8, 0, 0, 0, time.UTC)
	hs.h.set(func(ctx context.Context, req *commands.Request) (*commands.Response, error) {
		return &commands.Response{
			Content:   "3 articles",
			Ephemeral: true,
			Embeds:    []digest.Embed{{Title: "Norway", URL: "https://example.org/n", Description: "sum", Footer: "Example · 20 Mar 2021", Timestamp: ts, Color: 0x3366cc}},
			Buttons:   []commands.Button{{Label: "Next", CustomID: "lookup:2"}, {Label: "Open", URL: "https://example.org"}},
		}, nil
	})
	sent := hs.srv.SendInteraction(discordtest.Interaction{Command: "lookup", Options: []discordtest.Option{discordtest.Str("query", "norway")}})
	rep := hs.srv.WaitReply(sent)
	if !rep.Ephemeral() || rep.Content != "3 articles" || len(rep.Embeds) != 1 {
		t.Fatalf("reply = %+v", rep)
	}
	e := rep.Embeds[0]
	if e.Title != "Norway" || e.URL != "https://example.org/n" || e.Footer == nil || e.Footer.Text != "Example · 20 Mar 2021" ||
		e.Timestamp != "2021-03-20T08:00:00Z" || e.Color != 0x3366cc {
		t.Errorf("embed = %+v", e)
	}
	if got := rep.Buttons(); !slices.Equal(got, []string{"lookup:2", "https://example.org"}) {
		t.Errorf("buttons = %v", got)
	}
}

func TestChannelOptionMustBelongToTheGuild(t *testing.T) {
	t.Parallel()
	hs := start(t, nil)
	other := hs.srv.AddGuild("Other")
	foreign := hs.srv.AddChannel(other, "theirs")
	mine := hs.srv.AddChannel(hs.srv.GuildID, "news")
	tests := []struct {
		name    string
		channel string
		want    bool
	}{
		{"this channel", hs.srv.ChannelID, true},
		{"another channel of this guild", mine, true},
		{"a channel of another guild", foreign, false},
		{"an unknown channel", "1999999999999999999", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got bool
			var gotErr error
			hs.h.set(func(ctx context.Context, req *commands.Request) (*commands.Response, error) {
				got, gotErr = req.ChannelInGuild(ctx, req.Options["channel"])
				return &commands.Response{Content: "checked"}, nil
			})
			sent := hs.srv.SendInteraction(discordtest.Interaction{
				Command: "subscriptions", Options: []discordtest.Option{discordtest.Chan("channel", tt.channel)},
			})
			hs.srv.WaitReply(sent)
			<-hs.h.called
			if got != tt.want || gotErr != nil {
				t.Errorf("ChannelInGuild = %v, %v; want %v", got, gotErr, tt.want)
			}
		})
	}
}

func TestManageCommandsNeedPermission(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		managerRole string // Options.ManagerRole: "", "name" or "id"
		perms       int64
		withRole    bool
		allowed     bool
	}{
		{name: "member without rights", perms: discordtest.PermSendMessages, allowed: false},
		{name: "manage channels", perms: discordtest.PermManageChannels, allowed: true},
		{name: "administrator", perms: discordtest.PermAdministrator, allowed: true},
		{name: "manager role by name", managerRole: "name", withRole: true, allowed: true},
		{name: "manager role by id", managerRole: "id", withRole: true, allowed: true},
		{name: "manager role configured, member lacks it", managerRole: "name", allowed: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := discordtest.New(t)
			srvRole := srv.RoleID(srv.GuildID, "digest-admins")
			hs := startOn(t, srv, func(o *Options) {
				switch tt.managerRole {
				case "name":
					o.ManagerRole = "Digest-Admins" // names match case-insensitively
				case "id":
					o.ManagerRole = srvRole
				}
			})
			in := discordtest.Interaction{Command: "digest now", Permissions: tt.perms}
			if tt.withRole {
				in.Roles = []string{srvRole}
			}
			sent := hs.srv.SendInteraction(in)
			rep := hs.srv.WaitReply(sent)
			if !tt.allowed {
				cb := hs.srv.WaitCallback(sent)
				if cb.Type != discordtest.CallbackMessage || !rep.Ephemeral() || !strings.Contains(rep.Content, "Manage Channels") {
					t.Errorf("refusal = type %d %+v", cb.Type, rep)
				}
				hs.noCall(t)
				return
			}
			if rep.Content != "ok digest now" {
				t.Errorf("reply = %+v", rep)
			}
		})
	}
}

func TestAutocompleteAnswersAtMost25Choices(t *testing.T) {
	t.Parallel()
	hs := start(t, nil)
	hs.h.complete = func(ctx context.Context, req *commands.Request) ([]commands.Choice, error) {
		var cs []commands.Choice
		for i := range 30 {
			cs = append(cs, commands.Choice{Name: fmt.Sprintf("topic %d", i), Value: fmt.Sprintf("t%d", i)})
		}
		return cs, nil
	}
	sent := hs.srv.SendInteraction(discordtest.Interaction{
		Type: discordtest.TypeAutocomplete, Command: "subscribe",
		Options: []discordtest.Option{discordtest.Focus("topic", "sur"), discordtest.Str("query", "")},
	})
	cb := hs.srv.WaitCallback(sent)
	if cb.Type != discordtest.CallbackAutocomplete || len(cb.Data.Choices) != 25 || cb.Data.Choices[0].Value != "t0" {
		t.Fatalf("callback = type %d, %d choices", cb.Type, len(cb.Data.Choices))
	}
	req := <-hs.h.called
	if req.Focused != "topic" || req.Options["topic"] != "sur" || req.Name != "subscribe" {
		t.Errorf("request = %+v", req)
	}
}

func TestButtons(t *testing.T) {
	t.Parallel()
	hs := start(t, nil)
	tests := []struct {
		name      string
		ephemeral bool
		wantVia   string
	}{
		{"next page stays with the caller", true, "edit"},
		{"share posts in the channel", false, "followup"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs.h.set(func(ctx context.Context, req *commands.Request) (*commands.Response, error) {
				return &commands.Response{Content: "page 2", Ephemeral: tt.ephemeral}, nil
			})
			sent := hs.srv.SendInteraction(discordtest.Interaction{Type: discordtest.TypeComponent, CustomID: "lookup:next:abc"})
			rep := hs.srv.WaitReply(sent)
			if rep.Content != "page 2" || rep.Ephemeral() != tt.ephemeral || rep.Via != tt.wantVia {
				t.Errorf("reply = %+v", rep)
			}
			req := <-hs.h.called
			if req.Name != "button" || req.Options["id"] != "lookup:next:abc" {
				t.Errorf("request = %+v", req)
			}
		})
	}
}

func TestErrorsBecomeReplies(t *testing.T) {
	t.Parallel()
	hs := start(t, nil)
	tests := []struct {
		name    string
		fail    func() (*commands.Response, error)
		want    string
		wantRef bool
	}{
		{name: "user error", fail: func() (*commands.Response, error) {
			return nil, digestbot.Errorf(digestbot.EINVALID, "query: unbalanced quote at 7")
		}, want: "query: unbalanced quote at 7"},
		{name: "internal error", fail: func() (*commands.Response, error) {
			return nil, errors.New("redis: connection reset by peer")
		}, want: "something went wrong (ref ", wantRef: true},
		{name: "panic", fail: func() (*commands.Response, error) {
			var m map[string]int
			m["boom"]++
			return nil, nil
		}, want: "something went wrong (ref ", wantRef: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs.h.set(func(ctx context.Context, req *commands.Request) (*commands.Response, error) { return tt.fail() })
			// subscribe defers publicly: the error must still be private.
			sent := hs.srv.SendInteraction(discordtest.Interaction{
				Command: "subscribe", Permissions: discordtest.PermManageChannels,
				Options: []discordtest.Option{discordtest.Str("query", "x")},
			})
			rep := hs.srv.WaitReply(sent)
			<-hs.h.called
			if !strings.HasPrefix(rep.Content, tt.want) || !rep.Ephemeral() {
				t.Fatalf("reply = %+v, want ephemeral %q", rep, tt.want)
			}
			if strings.Contains(rep.Content, "redis") {
				t.Errorf("internal detail shown to the user: %q", rep.Content)
			}
			if tt.wantRef {
				ref := strings.TrimSuffix(strings.TrimPrefix(rep.Content, tt.want), ")")
				if !strings.Contains(hs.logs.String(), "ref="+ref) {
					t.Errorf("ref %s not in the log", ref)
				}
			}
		})
	}
}

func TestPerUserCommandRateLimit(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	hs := start(t, func(o *Options) {
		o.CommandsPerMinute, o.CommandBurst = 2, 2
		o.Now = func() time.Time { return now }
	})
	send := func(user string) discordtest.Reply {
		return hs.srv.WaitReply(hs.srv.SendInteraction(discordtest.Interaction{Command: "help", UserID: user}))
	}
	for i := range 2 {
		if rep := send("1300000000000000007"); rep.Content != "ok help" {
			t.Fatalf("command %d: %+v", i+1, rep)
		}
		<-hs.h.called
	}
	rep := send("1300000000000000007")
	if !strings.Contains(rep.Content, "Try again in") || !rep.Ephemeral() {
		t.Errorf("third command: %+v, want a friendly refusal", rep)
	}
	hs.noCall(t)
	if rep := send("1300000000000000008"); rep.Content != "ok help" {
		t.Errorf("another user was limited too: %+v", rep)
	}
}

func TestPostDigestWithNonce(t *testing.T) {
	t.Parallel()
	hs := start(t, nil)
	ref := digestbot.ChannelRef{GuildID: hs.srv.GuildID, ChannelID: hs.srv.ChannelID}
	msg := digest.Message{Content: "Digest for #general", Embeds: []digest.Embed{{
		Title: "Norway bans facial recognition", URL: "https://example.org/norway", Description: "Summary.",
		Footer: "Example News · 20 Mar 2021", Timestamp: time.Date(2021, 3, 20, 6, 0, 0, 0, time.UTC), Color: 0xaa3300,
	}}}
	ctx := context.Background()
	id1, err := hs.bot.Post(ctx, ref, msg, "w1-part0")
	if err != nil {
		t.Fatal(err)
	}
	// A retry after a crash sends the same nonce: still one message.
	id2, err := hs.bot.Post(ctx, ref, msg, "w1-part0")
	if err != nil || id2 != id1 {
		t.Errorf("retry = %q, %v; want the first message %q", id2, err, id1)
	}
	got := hs.srv.Messages(hs.srv.ChannelID)
	if len(got) != 1 {
		t.Fatalf("%d messages, want 1", len(got))
	}
	m := got[0]
	if m.Nonce != "w1-part0" || !m.EnforceNonce || m.Content != "Digest for #general" || len(m.Embeds) != 1 {
		t.Errorf("message = %+v", m)
	}
	if e := m.Embeds[0]; e.Title != "Norway bans facial recognition" || e.URL != "https://example.org/norway" ||
		e.Footer == nil || e.Footer.Text != "Example News · 20 Mar 2021" || e.Timestamp != "2021-03-20T06:00:00Z" || e.Color != 0xaa3300 {
		t.Errorf("embed = %+v", e)
	}
	if !bytes.Contains(m.Raw, []byte(`"allowed_mentions":{"parse":[]`)) {
		t.Errorf("digest may ping: %s", m.Raw)
	}
}

func TestPostHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	var limited int
	var mu sync.Mutex
	hs := start(t, func(o *Options) {
		o.MaxRateLimitWait = 2 * time.Second
		o.OnRateLimited = func(string) { mu.Lock(); limited++; mu.Unlock() }
	})
	ref := digestbot.ChannelRef{GuildID: hs.srv.GuildID, ChannelID: hs.srv.ChannelID}
	msg := digest.Message{Content: "digest"}

	hs.srv.FailMessages(1, discordtest.Fault{Status: 429, RetryAfter: 200 * time.Millisecond})
	start := time.Now()
	if _, err := hs.bot.Post(context.Background(), ref, msg, "n-429"); err != nil {
		t.Fatalf("Post after a 429: %v", err)
	}
	if waited := time.Since(start); waited < 200*time.Millisecond {
		t.Errorf("retried after %v, before retry_after", waited)
	}
	if n, a := len(hs.srv.Messages(hs.srv.ChannelID)), hs.srv.MessageAttempts(); n != 1 || a != 2 {
		t.Errorf("%d messages after %d attempts, want 1 after 2", n, a)
	}
	mu.Lock()
	if limited != 1 {
		t.Errorf("rate-limit hook called %d times, want 1", limited)
	}
	mu.Unlock()

	// Longer than the bot will wait: ELIMIT, nothing posted, the items stay pending.
	hs.srv.FailMessages(1, discordtest.Fault{Status: 429, RetryAfter: time.Hour})
	_, err := hs.bot.Post(context.Background(), ref, msg, "n-long")
	if digestbot.ErrorCode(err) != digestbot.ELIMIT {
		t.Errorf("err = %v, want ELIMIT", err)
	}
	if n := len(hs.srv.Messages(hs.srv.ChannelID)); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}

	// The bucket stays exhausted for the hour: the next post is refused at
	// once instead of sleeping inside discordgo.
	done := make(chan error, 1)
	go func() {
		_, err := hs.bot.Post(context.Background(), ref, msg, "n-next")
		done <- err
	}()
	if err := recvWithin(t, done); digestbot.ErrorCode(err) != digestbot.ELIMIT {
		t.Errorf("post into an exhausted bucket: %v, want ELIMIT", err)
	}
}

// A digest post that relies on its nonce must reach Discord while Discord
// remembers it (digest.SendBy): one that a 429 would hold back past that
// is not sent, and says so, so the deliverer reads the channel first.
func TestPostHeldPastItsSendByIsNotSent(t *testing.T) {
	t.Parallel()
	hs := start(t, nil)
	ref := digestbot.ChannelRef{GuildID: hs.srv.GuildID, ChannelID: hs.srv.ChannelID}
	msg := digest.Message{Content: "digest"}

	hs.srv.FailMessages(1, discordtest.Fault{Status: 429, RetryAfter: 2 * time.Second})
	ctx := digest.WithSendBy(context.Background(), time.Now().Add(500*time.Millisecond))
	if _, err := hs.bot.Post(ctx, ref, msg, "n-late"); !errors.Is(err, digest.ErrSendWindowPassed) {
		t.Errorf("a post a 429 holds past its send-by: %v, want ErrSendWindowPassed", err)
	}
	if n, a := len(hs.srv.Messages(hs.srv.ChannelID)), hs.srv.MessageAttempts(); n != 0 || a != 1 {
		t.Errorf("%d messages after %d attempts, want none after the one refused", n, a)
	}
	past := digest.WithSendBy(context.Background(), time.Now().Add(-time.Second))
	if _, err := hs.bot.Post(past, ref, msg, "n-late"); !errors.Is(err, digest.ErrSendWindowPassed) || hs.srv.MessageAttempts() != 1 {
		t.Errorf("a post whose send-by has passed: %v after %d attempts, want ErrSendWindowPassed and nothing sent", err, hs.srv.MessageAttempts())
	}
	if _, err := hs.bot.Post(digest.WithSendBy(context.Background(), time.Now().Add(time.Minute)), ref, msg, "n-late"); err != nil {
		t.Errorf("a post in time: %v", err)
	}
}

// emptyBuckets is a shared rate-limit store in which every channel's
// bucket is empty for another second, however long one waits.
type emptyBuckets struct{}

func (emptyBuckets) TakeGlobal(context.Context, time.Time, int) (time.Duration, error) { return 0, nil }
func (emptyBuckets) BlockGlobal(context.Context, time.Time) error                      { return nil }
func (emptyBuckets) SetRoute(context.Context, string, int, time.Time) error            { return nil }
func (emptyBuckets) TakeRoute(context.Context, string, time.Time) (time.Duration, time.Time, error) {
	return time.Second, time.Time{}, nil
}

// The replicas' shared limits that would hold a digest post past its
// send-by refuse it at once: nothing is sent, and the wait is not slept
// out first.
func TestSharedLimitsRefuseAPostThatWouldBeLate(t *testing.T) {
	t.Parallel()
	hs := start(t, func(o *Options) { o.RateLimits = emptyBuckets{} })
	ref := digestbot.ChannelRef{GuildID: hs.srv.GuildID, ChannelID: hs.srv.ChannelID}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := hs.bot.Post(digest.WithSendBy(ctx, time.Now().Add(300*time.Millisecond)), ref, digest.Message{Content: "digest"}, "n-held")
	if !errors.Is(err, digest.ErrSendWindowPassed) || ctx.Err() != nil {
		t.Errorf("a post the shared limits hold past its send-by: %v (context: %v), want ErrSendWindowPassed at once", err, ctx.Err())
	}
	if a := hs.srv.MessageAttempts(); a != 0 {
		t.Errorf("%d posts reached Discord, want none", a)
	}
}

func TestPostErrors(t *testing.T) {
	t.Parallel()
	hs := start(t, nil)
	tests := []struct {
		name    string
		fault   *discordtest.Fault
		channel string
		want    string
	}{
		{name: "500", fault: &discordtest.Fault{Status: 500}, want: digestbot.EUNAVAILABLE},
		{name: "503", fault: &discordtest.Fault{Status: 503}, want: digestbot.EUNAVAILABLE},
		{name: "403 missing access", fault: &discordtest.Fault{Status: 403}, want: digestbot.EFORBIDDEN},
		{name: "404 channel deleted", fault: &discordtest.Fault{Status: 404}, want: digestbot.ENOTFOUND},
		{name: "unknown channel", channel: "1999999999999999999", want: digestbot.ENOTFOUND},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch := tt.channel
			if ch == "" {
				ch = hs.srv.ChannelID
			}
			if tt.fault != nil {
				hs.srv.FailMessages(1, *tt.fault)
			}
			before := len(hs.srv.Messages(ch))
			_, err := hs.bot.Post(context.Background(), digestbot.ChannelRef{GuildID: hs.srv.GuildID, ChannelID: ch}, digest.Message{Content: "d"}, fmt.Sprintf("e%d", i))
			if code := digestbot.ErrorCode(err); code != tt.want {
				t.Errorf("code %q (%v), want %q", code, err, tt.want)
			}
			if n := len(hs.srv.Messages(ch)); n != before {
				t.Errorf("a message was created despite the error")
			}
		})
	}

	// A 500 after Discord created the message: the retry on the next tick
	// sends the same nonce and gets the first message, not a copy.
	hs.srv.FailMessages(1, discordtest.Fault{Status: 500, Commit: true})
	ref := digestbot.ChannelRef{GuildID: hs.srv.GuildID, ChannelID: hs.srv.ChannelID}
	before := len(hs.srv.Messages(hs.srv.ChannelID))
	if _, err := hs.bot.Post(context.Background(), ref, digest.Message{Content: "d"}, "crash"); digestbot.ErrorCode(err) != digestbot.EUNAVAILABLE {
		t.Fatalf("err = %v, want EUNAVAILABLE", err)
	}
	if _, err := hs.bot.Post(context.Background(), ref, digest.Message{Content: "d"}, "crash"); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if n := len(hs.srv.Messages(hs.srv.ChannelID)) - before; n != 1 {
		t.Errorf("%d messages for one digest part, want 1", n)
	}
}

func TestGatewayDisconnect(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		rejectResume bool
	}{
		{"resume", false},
		{"re-identify when the session is gone", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			hs := start(t, nil)
			hs.srv.WaitConnections(1)
			hs.srv.WaitHeartbeats(1)
			if tt.rejectResume {
				hs.srv.RejectNextResume()
			}
			hs.srv.DropConnection()
			res := hs.srv.WaitResume(1)
			if res[0].Accepted == tt.rejectResume {
				t.Errorf("resume accepted = %v", res[0].Accepted)
			}
			if tt.rejectResume {
				hs.srv.WaitIdentify(2)
			}
			hs.srv.WaitConnections(1)
			rep := hs.srv.WaitReply(hs.srv.SendInteraction(discordtest.Interaction{Command: "help"}))
			if rep.Content != "ok help" {
				t.Errorf("after reconnect: %+v", rep)
			}
		})
	}
}

func TestGuildJoinAndLeave(t *testing.T) {
	t.Parallel()
	joined := make(chan string, 8)
	left := make(chan string, 8)
	hs := start(t, func(o *Options) {
		o.OnGuildJoined = func(id string) { joined <- id }
		o.OnGuildLeft = func(id string) { left <- id }
	})
	other := hs.srv.AddGuild("Newsroom")
	// discordgo runs each handler on its own goroutine: any order.
	got := map[string]bool{recvWithin(t, joined): true, recvWithin(t, joined): true}
	if !got[hs.srv.GuildID] || !got[other] {
		t.Errorf("joined %v, want the guild at connect %s and the new %s", got, hs.srv.GuildID, other)
	}
	hs.srv.GuildOutage(other) // not a leave
	hs.srv.RemoveGuild(other)
	if g := recvWithin(t, left); g != other {
		t.Errorf("left %s, want %s", g, other)
	}
	select {
	case g := <-left:
		t.Errorf("outage taken for a leave of %s", g)
	default:
	}
}

func recvWithin[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatal("timed out")
		var zero T
		return zero
	}
}

func TestCloseStopsTakingInteractions(t *testing.T) {
	t.Parallel()
	hs := start(t, nil)
	started, release := make(chan struct{}), make(chan struct{})
	hs.h.set(func(ctx context.Context, req *commands.Request) (*commands.Response, error) {
		close(started)
		<-release
		return &commands.Response{Content: "finished"}, nil
	})
	slow := hs.srv.SendInteraction(discordtest.Interaction{Command: "help"})
	recvWithin(t, started)
	closed := make(chan error, 1)
	go func() { closed <- hs.bot.Close() }()
	// Close waits for the command in flight (a wrong Close returns early
	// and fails here; a right one can only pass).
	select {
	case <-closed:
		t.Error("Close returned while a command was being answered")
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	if err := recvWithin(t, closed); err != nil {
		t.Fatal(err)
	}
	if rep := hs.srv.WaitReply(slow); rep.Content != "finished" {
		t.Errorf("in-flight command: %+v", rep)
	}
}

// BenchmarkInteractionRoundTrip measures one slash command from
// INTERACTION_CREATE to the edited reply, over loopback.
func BenchmarkInteractionRoundTrip(b *testing.B) {
	srv := discordtest.New(b)
	h := newFakeHandler()
	bt, err := New(Options{Token: discordtest.DefaultToken, APIBaseURL: srv.URL(), GuildID: srv.GuildID, Handler: h,
		Logger: slog.New(slog.DiscardHandler), CommandsPerMinute: -1})
	if err != nil {
		b.Fatal(err)
	}
	if err := bt.Open(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer bt.Close()
	b.ResetTimer()
	for b.Loop() {
		rep := srv.WaitReply(srv.SendInteraction(discordtest.Interaction{Command: "help"}))
		if rep.Content != "ok help" {
			b.Fatalf("reply %+v", rep)
		}
		<-h.called
	}
}

// BenchmarkPost measures posting one digest message with a nonce.
func BenchmarkPost(b *testing.B) {
	srv := discordtest.New(b)
	bt, err := New(Options{Token: discordtest.DefaultToken, APIBaseURL: srv.URL(), Handler: newFakeHandler(),
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	ref := digestbot.ChannelRef{GuildID: srv.GuildID, ChannelID: srv.ChannelID}
	msg := digest.Message{Embeds: []digest.Embed{{Title: "Story", URL: "https://example.org/s", Description: strings.Repeat("word ", 80), Footer: "Example · 20 Mar 2021"}}}
	i := 0
	for b.Loop() {
		i++
		if _, err := bt.Post(context.Background(), ref, msg, fmt.Sprintf("bench-%d", i)); err != nil {
			b.Fatal(err)
		}
	}
}

// TestShardsAnswerTheirOwnGuilds runs two shards against one server: an
// interaction from a guild reaches the shard Discord's formula assigns.
func TestShardsAnswerTheirOwnGuilds(t *testing.T) {
	t.Parallel()
	srv := discordtest.New(t)
	// Guild ids whose shard is known: (id >> 22) % 2.
	g0 := srv.AddGuildWithID(strconv.FormatInt(1200000000000000000+(2<<22), 10), "even")
	g1 := srv.AddGuildWithID(strconv.FormatInt(1200000000000000000+(3<<22), 10), "odd")
	if discordtest.ShardOf(g0, 2) == discordtest.ShardOf(g1, 2) {
		t.Fatal("test guilds on the same shard")
	}
	c0, c1 := srv.AddChannel(g0, "a"), srv.AddChannel(g1, "b")
	shards := map[int]*harness{}
	for id := range 2 {
		shards[id] = startOn(t, srv, func(o *Options) { o.ShardID, o.ShardCount, o.GuildID = id, 2, "" })
	}
	for _, c := range []struct{ guild, channel string }{{g0, c0}, {g1, c1}} {
		want := discordtest.ShardOf(c.guild, 2)
		rep := srv.WaitReply(srv.SendInteraction(discordtest.Interaction{GuildID: c.guild, ChannelID: c.channel, Command: "help"}))
		if rep.Content != "ok help" {
			t.Fatalf("guild %s: %+v", c.guild, rep)
		}
		req := recvWithin(t, shards[want].h.called)
		if req.GuildID != c.guild {
			t.Errorf("shard %d got guild %s, want %s", want, req.GuildID, c.guild)
		}
		shards[1-want].noCall(t)
	}
}

func TestOpenFailures(t *testing.T) {
	t.Parallel()
	srv := discordtest.New(t)
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"token refused", Options{Token: "wrong-token", APIBaseURL: srv.URL()}, digestbot.EUNAUTHORIZED},
		{"guild the bot is not in", Options{Token: discordtest.DefaultToken, APIBaseURL: srv.URL(), GuildID: "1999999999999999999"}, digestbot.EFORBIDDEN},
		{"API unreachable", Options{Token: discordtest.DefaultToken, APIBaseURL: "http://127.0.0.1:1"}, digestbot.EUNAVAILABLE},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.opts.Handler = newFakeHandler()
			tt.opts.Logger = slog.New(slog.DiscardHandler)
			b, err := New(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err = b.Open(ctx)
			if code := digestbot.ErrorCode(err); code != tt.want {
				t.Errorf("Open: %v (%s), want %s", err, code, tt.want)
			}
		})
	}
}

func TestRateLimitedCallbackIsRetried(t *testing.T) {
	t.Parallel()
	var limited sync.WaitGroup
	limited.Add(1)
	hs := start(t, func(o *Options) { o.OnRateLimited = func(string) { limited.Done() } })
	hs.srv.FailCallbacks(1, discordtest.Fault{Status: 429, RetryAfter: 50 * time.Millisecond})
	rep := hs.srv.WaitReply(hs.srv.SendInteraction(discordtest.Interaction{Command: "help"}))
	if rep.Content != "ok help" {
		t.Errorf("reply after a 429 on the callback: %+v", rep)
	}
	limited.Wait()
}

// Discord computes member.permissions for the channel a command is typed
// in; Manage Channels there says nothing about the channel named by the
// `channel` option, so the bot computes the member's rights in that one.
func TestManagePermissionIsCheckedOnTheTargetChannel(t *testing.T) {
	t.Parallel()
	srv := discordtest.New(t)
	other := srv.AddChannel(srv.GuildID, "newsroom")
	hs := startOn(t, srv, nil)
	sent := hs.srv.SendInteraction(discordtest.Interaction{Command: "digest now", Permissions: discordtest.PermManageChannels,
		Options: []discordtest.Option{discordtest.Chan("channel", other)}})
	if rep := hs.srv.WaitReply(sent); !rep.Ephemeral() || !strings.Contains(rep.Content, "Manage Channels") {
		t.Errorf("managing another channel with rights only here: %+v", rep)
	}
	hs.noCall(t)
	admin := hs.srv.SendInteraction(discordtest.Interaction{Command: "digest now", Permissions: discordtest.PermAdministrator,
		Options: []discordtest.Option{discordtest.Chan("channel", other)}})
	if rep := hs.srv.WaitReply(admin); rep.Content != "ok digest now" {
		t.Errorf("an administrator targeting another channel: %+v", rep)
	}
}

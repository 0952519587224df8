package bot

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/commands"
	"github.com/digestbot/digestbot/digest"
)

func TestReadCommand(t *testing.T) {
	opt := func(name string, typ discordgo.ApplicationCommandOptionType, v any, sub ...*discordgo.ApplicationCommandInteractionDataOption) *discordgo.ApplicationCommandInteractionDataOption {
		return &discordgo.ApplicationCommandInteractionDataOption{Name: name, Type: typ, Value: v, Options: sub}
	}
	tests := []struct {
		name    string
		data    discordgo.ApplicationCommandInteractionData
		want    string
		wantOpt map[string]string
		focused string
	}{
		{"plain", discordgo.ApplicationCommandInteractionData{Name: "lookup", Options: []*discordgo.ApplicationCommandInteractionDataOption{
			opt("query", discordgo.ApplicationCommandOptionString, "uyghur"), opt("since", discordgo.ApplicationCommandOptionString, "7d")}},
			"lookup", map[string]string{"query": "uyghur", "since": "7d"}, ""},
		{"subcommand", discordgo.ApplicationCommandInteractionData{Name: "digest", Options: []*discordgo.ApplicationCommandInteractionDataOption{
			opt("now", discordgo.ApplicationCommandOptionSubCommand, nil, opt("channel", discordgo.ApplicationCommandOptionChannel, "42"))}},
			"digest now", map[string]string{"channel": "42"}, ""},
		{"subcommand without options", discordgo.ApplicationCommandInteractionData{Name: "feeds", Options: []*discordgo.ApplicationCommandInteractionDataOption{
			opt("list", discordgo.ApplicationCommandOptionSubCommand, nil)}},
			"feeds list", map[string]string{}, ""},
		{"numbers and booleans as text", discordgo.ApplicationCommandInteractionData{Name: "x", Options: []*discordgo.ApplicationCommandInteractionDataOption{
			opt("n", discordgo.ApplicationCommandOptionInteger, 1e6), opt("b", discordgo.ApplicationCommandOptionBoolean, true), opt("f", discordgo.ApplicationCommandOptionNumber, 0.5)}},
			"x", map[string]string{"n": "1000000", "b": "true", "f": "0.5"}, ""},
		{"a value of the wrong type does not panic", discordgo.ApplicationCommandInteractionData{Name: "x", Options: []*discordgo.ApplicationCommandInteractionDataOption{
			opt("channel", discordgo.ApplicationCommandOptionChannel, 12.0), nil}},
			"x", map[string]string{"channel": "12"}, ""},
		{"focused", discordgo.ApplicationCommandInteractionData{Name: "topics", Options: []*discordgo.ApplicationCommandInteractionDataOption{
			opt("delete", discordgo.ApplicationCommandOptionSubCommand, nil, &discordgo.ApplicationCommandInteractionDataOption{Name: "name", Type: discordgo.ApplicationCommandOptionString, Value: "sur", Focused: true})}},
			"topics delete", map[string]string{"name": "sur"}, "name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv := readCommand(tt.data)
			if inv.name != tt.want || fmt.Sprint(inv.options) != fmt.Sprint(tt.wantOpt) || inv.focused != tt.focused {
				t.Errorf("got %q %v focused %q; want %q %v focused %q", inv.name, inv.options, inv.focused, tt.want, tt.wantOpt, tt.focused)
			}
		})
	}
}

func TestMemberCanManage(t *testing.T) {
	names := func() map[string]string { return map[string]string{"r1": "Digest Admins", "r2": "Readers"} }
	tests := []struct {
		name  string
		perms int64
		roles []string
		role  string
		want  bool
	}{
		{"no rights", discordgo.PermissionSendMessages, nil, "", false},
		{"manage channels", discordgo.PermissionManageChannels, nil, "", true},
		{"administrator", discordgo.PermissionAdministrator, nil, "", true},
		{"manage server alone is not enough", discordgo.PermissionManageServer, nil, "", false},
		{"role by id", 0, []string{"r2", "r1"}, "r1", true},
		{"role by name, any case", 0, []string{"r1"}, "digest admins", true},
		{"other role", 0, []string{"r2"}, "Digest Admins", false},
		{"role configured, member has none", 0, nil, "r1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := memberCanManage(tt.perms, tt.roles, tt.role, names); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestLimiter(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLimiter(3, time.Minute, 3)
	steps := []struct {
		user string
		at   time.Duration
		want bool
	}{
		{"a", 0, true}, {"a", time.Second, true}, {"a", 2 * time.Second, true},
		{"a", 3 * time.Second, false}, // burst spent
		{"b", 3 * time.Second, true},  // per user
		{"a", 23 * time.Second, true}, // one token back after 20 s
		{"a", 24 * time.Second, false},
		{"a", 10 * time.Minute, true}, // long idle: full again
	}
	for _, s := range steps {
		t.Run(fmt.Sprintf("%s@%v", s.user, s.at), func(t *testing.T) {
			ok, wait := l.allow(s.user, t0.Add(s.at))
			if ok != s.want {
				t.Fatalf("allow = %v, want %v", ok, s.want)
			}
			if !ok && (wait <= 0 || wait > 21*time.Second) {
				t.Errorf("retry in %v, want within the refill time of one token", wait)
			}
		})
	}
	if off := newLimiter(-1, time.Minute, 0); !func() bool { ok, _ := off.allow("a", t0); return ok }() {
		t.Error("a negative budget should disable the limit")
	}
	// Idle users are forgotten.
	l.allow("c", t0.Add(20*time.Minute))
	if _, ok := l.users["b"]; ok {
		t.Error("idle user b still tracked")
	}
	// A burst larger than the rate: that many at once, then the rate.
	b := newLimiter(3, time.Minute, 9)
	for i := range 9 {
		if ok, _ := b.allow("a", t0); !ok {
			t.Fatalf("command %d of a burst of 9 refused", i+1)
		}
	}
	if ok, _ := b.allow("a", t0); ok {
		t.Error("a tenth command at once allowed")
	}
	if ok, _ := b.allow("a", t0.Add(20*time.Second)); !ok {
		t.Error("no token back after 20 s at 3 a minute")
	}
}

func TestClip(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly", 7, "exactly"},
		{"too long", 5, "too …"},
		{"北京上海广州", 4, "北京上…"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := clip(tt.in, tt.n)
			if got != tt.want || utf8.RuneCountInString(got) > tt.n {
				t.Errorf("clip(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
			}
		})
	}
}

// TestFitContentCutsAfterALine: a reply over the limit (which the core
// avoids) loses whole lines, never half of one.
func TestFitContentCutsAfterALine(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"a\nb", 10, "a\nb"},
		{"• one\n• two\n• three", 14, "• one\n• two\n…"},
		{"no lines at all here", 8, "no line…"},
	}
	for _, tt := range tests {
		if got := fitContent(tt.in, tt.n); got != tt.want || utf8.RuneCountInString(got) > tt.n {
			t.Errorf("fitContent(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

// TestQuietLinks: links in a reply are written so Discord shows no
// preview for them, the masked ones included; code spans stay as typed.
func TestQuietLinks(t *testing.T) {
	tests := []struct{ in, want string }{
		{"• [Ferry news](https://a.example/x?y=1) — Wire", "• [Ferry news](<https://a.example/x?y=1>) — Wire"},
		{"Added the feed https://b.example/feed.xml; it is polled every 15 minutes.", "Added the feed <https://b.example/feed.xml>; it is polled every 15 minutes."},
		{"see https://c.example/a.", "see <https://c.example/a>."},
		{"already <https://d.example/>", "already <https://d.example/>"},
		{"`\"https://e.example/\"` stays", "`\"https://e.example/\"` stays"},
		{"no links", "no links"},
	}
	for _, tt := range tests {
		if got := quietLinks(tt.in); got != tt.want {
			t.Errorf("quietLinks(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestDigestEmbedsLimits(t *testing.T) {
	long := strings.Repeat("x", 5000)
	tests := []struct {
		name    string
		msg     digest.Message
		wantErr bool
	}{
		{"fits", digest.Message{Embeds: []digest.Embed{{Title: "t", Description: "d"}}}, false},
		{"eleven embeds", digest.Message{Embeds: make([]digest.Embed, 11)}, true},
		{"over 6000 characters", digest.Message{Embeds: []digest.Embed{{Description: long[:4000]}, {Description: long[:2500]}}}, true},
		{"one long description is clipped, not refused", digest.Message{Embeds: []digest.Embed{{Description: long}}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			es, err := digestEmbeds(tt.msg)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err != nil && digestbot.ErrorCode(err) != digestbot.EINVALID {
				t.Errorf("code %s, want EINVALID", digestbot.ErrorCode(err))
			}
			for _, e := range es {
				if utf8.RuneCountInString(e.Description) > maxDescription {
					t.Errorf("description of %d characters", utf8.RuneCountInString(e.Description))
				}
			}
		})
	}
}

func TestComponentsAndChoices(t *testing.T) {
	var bs []commands.Button
	for i := range 12 {
		bs = append(bs, commands.Button{Label: fmt.Sprint(i), CustomID: fmt.Sprint("b", i)})
	}
	bs = append(bs, commands.Button{Label: "bad", CustomID: strings.Repeat("x", 101)})
	rows := components(bs)
	if len(rows) != 3 || len(rows[2].(discordgo.ActionsRow).Components) != 2 {
		t.Errorf("12 buttons (and one with an oversized id) laid out as %d rows", len(rows))
	}

	var cs []commands.Choice
	cs = append(cs, commands.Choice{Name: "long value", Value: strings.Repeat("v", 101)})
	for i := range 30 {
		cs = append(cs, commands.Choice{Name: strings.Repeat("n", 150), Value: fmt.Sprint(i)})
	}
	got := choices(cs)
	if len(got) != 25 || got[0].Value != "0" || utf8.RuneCountInString(got[0].Name) != 100 {
		t.Errorf("choices: %d, first %v", len(got), got[0])
	}
}

func TestUserMessage(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{digestbot.Errorf(digestbot.ENOTFOUND, "no subscription abc here"), "no subscription abc here"},
		{digestbot.WrapError(digestbot.EUNAVAILABLE, errors.New("dial tcp: refused"), "Redis is down; try again"), "Redis is down; try again"},
		{errors.New("nil pointer"), "something went wrong (ref r1)"},
		{digestbot.Errorf(digestbot.EINTERNAL, "secret detail"), "something went wrong (ref r1)"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := userMessage(tt.err, "r1"); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDiscordNonce(t *testing.T) {
	short := "w1-0"
	long := "digest:1029384756102938475:1029384756102938500:2021-03-20:part-3"
	if discordNonce(short) != short {
		t.Error("short nonce changed")
	}
	n := discordNonce(long)
	if len(n) != maxNonce || n != discordNonce(long) || n == discordNonce(long+"x") {
		t.Errorf("long nonce -> %q: must be 25 characters, stable and distinct", n)
	}
}

func TestClassify(t *testing.T) {
	rest := func(status int) error {
		return &discordgo.RESTError{Response: &http.Response{StatusCode: status, Status: http.StatusText(status)}}
	}
	tests := []struct {
		err  error
		want string
	}{
		{rest(403), digestbot.EFORBIDDEN},
		{rest(401), digestbot.EUNAUTHORIZED},
		{rest(404), digestbot.ENOTFOUND},
		{rest(400), digestbot.EINVALID},
		{rest(500), digestbot.EUNAVAILABLE},
		{rest(503), digestbot.EUNAVAILABLE},
		{&discordgo.RateLimitError{RateLimit: &discordgo.RateLimit{TooManyRequests: &discordgo.TooManyRequests{}}}, digestbot.ELIMIT},
		{errors.New("dial tcp 127.0.0.1:1: connection refused"), digestbot.EUNAVAILABLE},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			if got := classify(tt.err); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestRESTBaseURLRewrite(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Host+r.URL.Path)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	tests := []struct {
		base, call, want string
	}{
		{srv.URL, "https://discord.com/api/v9/gateway", host + "/api/v9/gateway"},
		{srv.URL + "/proxy/", "https://discord.com/api/v9/channels/1/messages", host + "/proxy/api/v9/channels/1/messages"},
	}
	for _, tt := range tests {
		t.Run(tt.base, func(t *testing.T) {
			c, err := restClient(tt.base, nil)
			if err != nil {
				t.Fatal(err)
			}
			got = nil
			resp, err := c.Get(tt.call)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if len(got) != 1 || got[0] != tt.want {
				t.Errorf("request reached %v, want %s", got, tt.want)
			}
		})
	}
	for _, bad := range []string{"discord.example", "ftp://x", "http://"} {
		if _, err := restClient(bad, nil); digestbot.ErrorCode(err) != digestbot.EINVALID {
			t.Errorf("restClient(%q) err = %v, want EINVALID", bad, err)
		}
	}
}

func TestNewValidatesOptions(t *testing.T) {
	h := newFakeHandler()
	tests := []struct {
		name string
		opts Options
	}{
		{"no token", Options{Handler: h}},
		{"no handler", Options{Token: "t"}},
		{"shard out of range", Options{Token: "t", Handler: h, ShardID: 2, ShardCount: 2}},
		{"bad API URL", Options{Token: "t", Handler: h, APIBaseURL: "localhost:9000"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.opts); digestbot.ErrorCode(err) != digestbot.EINVALID {
				t.Errorf("err = %v, want EINVALID", err)
			}
		})
	}
}

// TestWhoSeesWhichCommand: commands that only change things are hidden
// from members without Manage Channels; lookups and listings (including
// the mixed groups /digest, /feeds, /topics) stay visible to members; with
// a manager role nothing is hidden.
func TestWhoSeesWhichCommand(t *testing.T) {
	for _, role := range []string{"", "digest-admins"} {
		var hidden []string
		for _, c := range ApplicationCommands(commands.Definitions(), role) {
			if c.DefaultMemberPermissions != nil {
				hidden = append(hidden, c.Name)
				if *c.DefaultMemberPermissions != discordgo.PermissionManageChannels {
					t.Errorf("/%s default permissions %d", c.Name, *c.DefaultMemberPermissions)
				}
			}
		}
		want := []string{"subscribe", "unsubscribe", "schedule"}
		if role != "" {
			want = nil
		}
		slices.Sort(hidden)
		slices.Sort(want)
		if !slices.Equal(hidden, want) {
			t.Errorf("manager role %q: hidden from members %v, want %v", role, hidden, want)
		}
	}
}

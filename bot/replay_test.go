package bot

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"

	"github.com/digestbot/digestbot/commands"
	"github.com/digestbot/digestbot/discordtest"
)

// The fixtures in testdata are INTERACTION_CREATE payloads shaped like the
// ones Discord sends today (every field a current client gets, including
// ones discordgo ignores), for one guild with these ids.
const (
	fixtureGuild   = "1029384756102938475"
	fixtureChannel = "1029384756102938500"
	fixtureOther   = "1029384756102938511"
)

func TestReplayedInteractionPayloads(t *testing.T) {
	t.Parallel()
	srv := discordtest.New(t)
	hs := startOn(t, srv, nil)
	srv.AddGuildWithID(fixtureGuild, "Fixture Newsroom")
	srv.AddChannelWithID(fixtureGuild, fixtureChannel, "newsroom")
	srv.AddChannelWithID(fixtureGuild, fixtureOther, "china-watch")

	hs.h.complete = func(ctx context.Context, req *commands.Request) ([]commands.Choice, error) {
		return []commands.Choice{{Name: "Europe/Oslo (UTC+1)", Value: "Europe/Oslo"}}, nil
	}
	inGuild := make(chan bool, 1)
	hs.h.set(func(ctx context.Context, req *commands.Request) (*commands.Response, error) {
		if ch := req.Options["channel"]; ch != "" {
			ok, err := req.ChannelInGuild(ctx, ch)
			inGuild <- ok && err == nil
		}
		return &commands.Response{Content: "ok " + req.Name, Ephemeral: req.Name == "button"}, nil
	})

	tests := []struct {
		file         string
		wantCallback int
		wantCall     *commands.Request // nil: the handler must not be called
		wantReply    string            // prefix of the reply text
		wantPrivate  bool
		wantChoices  []string
	}{
		{
			file: "slash_subscribe.json", wantCallback: discordtest.CallbackDeferred, wantReply: "ok subscribe",
			wantCall: &commands.Request{Name: "subscribe", GuildID: fixtureGuild, ChannelID: fixtureChannel, UserID: "1029384756102938999", CanManage: true,
				Options: map[string]string{"query": `"facial recognition" OR surveillance -sports`, "channel": fixtureOther, "schedule": "weekly mon 08:00"}},
		},
		{
			file: "slash_digest_now_member.json", wantCallback: discordtest.CallbackMessage,
			wantReply: "/digest now changes this server's digests", wantPrivate: true,
		},
		{
			file: "autocomplete_timezone.json", wantCallback: discordtest.CallbackAutocomplete, wantChoices: []string{"Europe/Oslo"},
			wantCall: &commands.Request{Name: "schedule", GuildID: fixtureGuild, ChannelID: fixtureChannel, UserID: "1029384756102938999", CanManage: true,
				Focused: "timezone", Options: map[string]string{"when": "daily 07:30", "timezone": "Europe/O"}},
		},
		{
			file: "button_lookup_next.json", wantCallback: discordtest.CallbackDeferred, wantReply: "ok button", wantPrivate: true,
			wantCall: &commands.Request{Name: "button", GuildID: fixtureGuild, ChannelID: fixtureChannel, UserID: "1029384756102938777",
				Options: map[string]string{"id": "lookup:p2:9f86d081"}},
		},
		{
			file: "dm_help.json", wantCallback: discordtest.CallbackMessage, wantReply: "Use the digest bot's commands in a server channel", wantPrivate: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			sent := srv.DispatchInteraction(raw)
			cb := srv.WaitCallback(sent)
			if cb.Type != tt.wantCallback {
				t.Fatalf("callback type %d, want %d", cb.Type, tt.wantCallback)
			}
			if tt.wantChoices != nil {
				var got []string
				for _, c := range cb.Data.Choices {
					got = append(got, c.Value.(string))
				}
				if strings.Join(got, ",") != strings.Join(tt.wantChoices, ",") {
					t.Errorf("choices %v, want %v", got, tt.wantChoices)
				}
			} else {
				rep := srv.WaitReply(sent)
				if !strings.HasPrefix(rep.Content, tt.wantReply) || rep.Ephemeral() != tt.wantPrivate {
					t.Errorf("reply %q (ephemeral %v), want %q (ephemeral %v)", rep.Content, rep.Ephemeral(), tt.wantReply, tt.wantPrivate)
				}
			}
			if tt.wantCall == nil {
				hs.noCall(t)
				return
			}
			got := recvWithin(t, hs.h.called)
			w := tt.wantCall
			if got.Name != w.Name || got.GuildID != w.GuildID || got.ChannelID != w.ChannelID || got.UserID != w.UserID ||
				got.CanManage != w.CanManage || got.Focused != w.Focused || !equalOptions(got.Options, w.Options) {
				t.Errorf("request = %+v\nwant      %+v", got, w)
			}
			if w.Options["channel"] != "" && !recvWithin(t, inGuild) {
				t.Errorf("channel %s not seen as the guild's", w.Options["channel"])
			}
		})
	}
}

func equalOptions(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// FuzzInteractionPayload feeds arbitrary INTERACTION_CREATE payloads
// through the code that reads them: it must never panic, and a command's
// name must start with the top-level name Discord sent.
func FuzzInteractionPayload(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, file := range files {
		if raw, err := os.ReadFile(file); err == nil {
			f.Add(raw)
		}
	}
	f.Add([]byte(`{"type":2,"data":{"name":"digest","options":[{"type":1,"name":"now","options":[{"type":7,"name":"channel","value":12}]}]}}`))
	f.Add([]byte(`{"type":4,"data":{"name":"x","options":[{"type":3,"name":"q","value":{"a":[1]},"focused":true},null]}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var i discordgo.Interaction
		if json.Unmarshal(raw, &i) != nil {
			return
		}
		if d, ok := i.Data.(discordgo.ApplicationCommandInteractionData); ok {
			inv := readCommand(d)
			if !strings.HasPrefix(inv.name, d.Name) {
				t.Errorf("name %q does not start with %q", inv.name, d.Name)
			}
			if inv.focused != "" {
				if _, ok := inv.options[inv.focused]; !ok {
					t.Errorf("focused option %q has no value", inv.focused)
				}
			}
		}
		if i.Member != nil {
			memberCanManage(i.Member.Permissions, i.Member.Roles, "digest-admins", func() map[string]string { return nil })
		}
	})
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/discordtest"
	"github.com/digestbot/digestbot/store"
	"github.com/digestbot/digestbot/store/storetest"
)

const testIngestToken = "push-token-0123456789"

// running is a `digestbot run` started by a test against discordtest.
type running struct {
	dc   *discordtest.Server
	st   *store.Store // the same Redis and prefix as the bot's
	addr string       // of the HTTP endpoint
	logs *syncBuffer
}

// startRun runs `digestbot run` on backend b with the configuration file
// extended by yaml, until the test ends.
func startRun(t testing.TB, b *storetest.Backend, dc *discordtest.Server, yaml string) *running {
	t.Helper()
	envv, st := cliEnv(t, b)
	cfg, err := os.ReadFile(envv["DIGESTBOT_CONFIG"])
	if err == nil {
		err = os.WriteFile(envv["DIGESTBOT_CONFIG"], append(cfg, yaml...), 0o600)
	}
	if err != nil {
		t.Fatal(err)
	}
	maps.Copy(envv, map[string]string{
		"DISCORD_TOKEN":             dc.Token,
		"DIGESTBOT_DISCORD_API_URL": dc.URL(),
		"DIGESTBOT_GUILD_ID":        dc.GuildID,
		"DIGESTBOT_HTTP_ADDR":       "127.0.0.1:0",
		"DIGESTBOT_INGEST_TOKEN":    testIngestToken,
	})
	r := &running{dc: dc, st: st, logs: &syncBuffer{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"run"}, &env{getenv: func(k string) string { return envv[k] }, stdin: strings.NewReader(""), stdout: r.logs, stderr: r.logs})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run returned %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("run did not stop within 15 s of SIGTERM")
		}
		if t.Failed() {
			t.Logf("bot log:\n%s", r.logs.String())
		}
	})
	listening := regexp.MustCompile(`http endpoint listening" addr=(\S+)`)
	for end := time.Now().Add(20 * time.Second); r.addr == ""; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("the HTTP endpoint did not start")
		}
		if m := listening.FindStringSubmatch(r.logs.String()); m != nil {
			r.addr = m[1]
		}
	}
	dc.WaitCommands(dc.GuildID)
	return r
}

// push sends articles to the push API.
func (r *running) push(t testing.TB, arts ...map[string]any) {
	t.Helper()
	body, _ := json.Marshal(arts)
	req, _ := http.NewRequest(http.MethodPost, "http://"+r.addr+"/v1/articles", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testIngestToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("push answered %d", resp.StatusCode)
	}
}

// digestNow makes the digest of a channel (or a member's DM channel) due now.
func (r *running) digestNow(t testing.TB, ref digestbot.ChannelRef) {
	t.Helper()
	if err := r.st.DueQueue("digests").Put(context.Background(), ref.Key(), time.Now(), digestbot.PutAlways); err != nil {
		t.Fatal(err)
	}
}

// TestRunAlertsAndWatchesEndToEnd runs `digestbot run` with a matcher tick
// of a second: a story pushed through the HTTP API reaches an instant
// subscription's channel within a minute (the server waits no longer),
// pinging exactly the subscription's role; a member's watch, added with a
// slash command, opens the member's DM channel and its digest arrives
// there; when the member stops accepting the bot's DMs, the watch is
// paused and /watch list says why.
func TestRunAlertsAndWatchesEndToEnd(t *testing.T) {
	storetest.EachRealBackend(t, testRunAlertsAndWatchesEndToEnd)
}

func testRunAlertsAndWatchesEndToEnd(t *testing.T, b *storetest.Backend) {
	dc := discordtest.New(t)
	dc.Timeout = time.Minute // the promise: an alert within a minute of its ingest
	r := startRun(t, b, dc, "schedule:\n  match: \"@every 1s\"\n")
	role := dc.AddRole(dc.GuildID, "ferry-watchers")
	const manageChannels, user = 16, "1300000000000000042"

	sub := dc.SendInteraction(discordtest.Interaction{Command: "subscribe", Permissions: manageChannels, Options: []discordtest.Option{
		discordtest.Str("query", "ferry"), discordtest.Str("mode", "instant"), discordtest.Role("mention", role)}})
	if reply := dc.WaitReply(sub); !strings.Contains(reply.Content, "instant: each story within a minute, mentions <@&"+role+">") {
		t.Fatalf("/subscribe answered %q", reply.Content)
	}
	watch := dc.SendInteraction(discordtest.Interaction{Command: "watch add", UserID: user, Options: []discordtest.Option{discordtest.Str("query", "ferry")}})
	if reply := dc.WaitReply(watch); !reply.Ephemeral() || !strings.Contains(reply.Content, "You now watch `ferry`") {
		t.Fatalf("/watch add answered %q (ephemeral %v)", reply.Content, reply.Ephemeral())
	}
	dm := dc.DMChannel(user)
	if dm == "" || !strings.Contains(strings.Join(dc.Requests(), "\n"), "POST /api/v9/users/@me/channels") {
		t.Fatalf("the bot opened no DM channel for the member: %v", dc.Requests())
	}

	pushed := time.Now()
	r.push(t, map[string]any{"title": "Ferry crews strike at dawn", "url": "https://harbour.example/ferry-strike", "source": "Harbour Wire",
		"text": "Ferry crews walked out at dawn; @everyone on the quay was told to wait."})
	msgs := dc.WaitMessages(dc.ChannelID, 1)
	t.Logf("alert posted %v after the push", msgs[0].CreatedAt.Sub(pushed).Round(time.Millisecond))
	if !strings.HasPrefix(msgs[0].Content, "<@&"+role+">\n⚡ **Alert** · **ferry**") || !linksTo(msgs[0], "https://harbour.example/ferry-strike") {
		t.Errorf("alert = %q", msgs[0].Content)
	}
	var body struct {
		AllowedMentions map[string]any `json:"allowed_mentions"`
	}
	json.Unmarshal(msgs[0].Raw, &body)
	if want := map[string]any{"parse": []any{}, "roles": []any{role}}; !reflect.DeepEqual(body.AllowedMentions, want) {
		t.Errorf("allowed_mentions = %v, want exactly %v", body.AllowedMentions, want)
	}

	ref := digestbot.ChannelRef{GuildID: dc.GuildID, ChannelID: dm}
	r.digestNow(t, ref)
	got := dc.WaitMessages(dm, 1)
	if !linksTo(got[0], "https://harbour.example/ferry-strike") || strings.Contains(got[0].Content, "<@&") {
		t.Errorf("the watch's digest = %+v", got[0])
	}

	dc.BlockDMs(user, true)
	r.push(t, map[string]any{"title": "Ferry service resumes", "url": "https://harbour.example/ferry-back", "source": "Harbour Wire", "text": "The ferry sails again."})
	dc.WaitMessages(dc.ChannelID, 2) // the alert: matched by now
	r.digestNow(t, ref)
	waitUntil(t, "the watch is paused", func() bool {
		st, err := r.st.ChannelState(context.Background(), ref.GuildID, ref.ChannelID)
		return err == nil && st.PausedReason != ""
	})
	list := dc.SendInteraction(discordtest.Interaction{Command: "watch list", UserID: user})
	if reply := dc.WaitReply(list); !reply.Ephemeral() || !strings.Contains(reply.Content, "⚠ Paused since") ||
		!strings.Contains(reply.Content, "does not accept direct messages from the bot") {
		t.Errorf("/watch list answered %q", reply.Content)
	}
	if n := len(dc.Messages(dm)); n != 1 {
		t.Errorf("%d messages in the DM of a member who refuses them, want the first only", n)
	}
}

func linksTo(m discordtest.Message, url string) bool {
	for _, e := range m.Embeds {
		if e.URL == url {
			return true
		}
	}
	return false
}

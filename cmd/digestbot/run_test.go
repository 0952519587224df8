package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/digestbot/digestbot/discordtest"
	"github.com/digestbot/digestbot/store/storetest"
)

// syncBuffer is a bytes.Buffer safe for the logger and the test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRunEndToEnd runs `digestbot run` as a user would: the real discordgo
// client against a Discord-compatible server on loopback, and a real
// redis-server, then a real Redis Cluster given as the address of one of
// its nodes. It registers the commands, answers /subscribe, and after a
// newsletter is ingested /digest now posts a digest whose embeds link the story.
func TestRunEndToEnd(t *testing.T) { storetest.EachRealBackend(t, testRunEndToEnd) }

func testRunEndToEnd(t *testing.T, b *storetest.Backend) {
	envv, _ := cliEnv(t, b)
	dc := discordtest.New(t)
	maps.Copy(envv, map[string]string{
		"DISCORD_TOKEN":             dc.Token,
		"DIGESTBOT_DISCORD_API_URL": dc.URL(),
		"DIGESTBOT_GUILD_ID":        dc.GuildID,
		"DIGESTBOT_HTTP_ADDR":       "127.0.0.1:0",
	})
	getenv := func(k string) string { return envv[k] }
	logs, stop := startRunEnv(t, envv)

	// Commands registered on the guild, names as in DESIGN.md.
	cmds := dc.WaitCommands(dc.GuildID)
	var names []string
	for _, raw := range cmds {
		var c struct{ Name string }
		json.Unmarshal(raw, &c)
		names = append(names, c.Name)
	}
	for _, want := range []string{"subscribe", "unsubscribe", "subscriptions", "schedule", "digest", "lookup", "feeds", "topics", "help"} {
		if !strings.Contains(" "+strings.Join(names, " ")+" ", " "+want+" ") {
			t.Errorf("command /%s not registered (got %v)", want, names)
		}
	}

	const manageChannels = 16
	sub := dc.SendInteraction(discordtest.Interaction{Command: "subscribe", Permissions: manageChannels, Options: []discordtest.Option{discordtest.Str("query", "Lanternhall")}})
	reply := dc.WaitReply(sub)
	if !strings.Contains(reply.Content, "Subscribed") || !strings.Contains(reply.Content, "`Lanternhall`") {
		t.Fatalf("/subscribe answered %q", reply.Content)
	}

	// Ingest the sample newsletter with the CLI into the same Redis, as the
	// README's walkthrough does: two of its stories name the institute.
	wantLinks := []string{
		"https://vellmar-courier.example/campus/2026/11/12/lanternhall-closes",
		"https://haigang-evening.example/culture/vellmar-library-classes",
	}
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"ingest", sampleBrief}, &env{getenv: getenv, stdin: strings.NewReader(""), stdout: &out, stderr: &errOut}); err != nil {
		t.Fatalf("ingest: %v\n%s", err, errOut.String())
	}

	// /lookup finds the stories once they are indexed from the ingest log
	// (by the ingest command, or by the bot's indexer when it held the
	// lease just then).
	for deadline := time.Now().Add(30 * time.Second); ; {
		r := dc.WaitReply(dc.SendInteraction(discordtest.Interaction{Command: "lookup", Options: []discordtest.Option{discordtest.Str("query", "Lanternhall")}}))
		if strings.Contains(r.Content, "2 articles match") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/lookup Lanternhall never found the ingested story: %q", r.Content)
		}
		time.Sleep(200 * time.Millisecond)
	}

	now := dc.SendInteraction(discordtest.Interaction{Command: "digest now", Permissions: manageChannels})
	if r := dc.WaitReply(now); !strings.Contains(r.Content, fmt.Sprintf("Posted a digest of %s", stories(len(wantLinks)))) {
		t.Errorf("/digest now answered %q", r.Content)
	}
	msgs := dc.WaitMessages(dc.ChannelID, 1)
	linked := map[string]bool{}
	for _, m := range msgs {
		if m.Nonce == "" || !m.EnforceNonce {
			t.Errorf("digest message sent without nonce/enforce_nonce: %+v", m)
		}
		for _, e := range m.Embeds {
			linked[e.URL] = true
			if strings.Contains(e.URL, "harbourwire") || strings.Contains(e.URL, "bayline-review") {
				t.Errorf("the digest carries a story the subscription does not match: %+v", e)
			}
		}
	}
	for _, u := range wantLinks {
		if !linked[u] {
			t.Errorf("no embed links %s; linked: %v", u, linked)
		}
	}
	// The Lanternhall story's second outlet is listed with its link, as
	// the outlets of a merged story are.
	const second = "— [Northsound Radio](https://northsound-radio.example/news/vellmar-institute-vote) · 11 Nov 2026"
	if n := strings.Count(fmt.Sprint(msgs), second); n != 1 {
		t.Errorf("the digest lists the second outlet %d times, want once (%q)", n, second)
	}

	// A member without Manage Channels is refused, server-side.
	denied := dc.SendInteraction(discordtest.Interaction{Command: "unsubscribe", Options: []discordtest.Option{discordtest.Str("subscription", "lanternhall")}})
	if r := dc.WaitReply(denied); !r.Ephemeral() || !strings.Contains(r.Content, "Manage Channels") {
		t.Errorf("unprivileged /unsubscribe answered %q (ephemeral %v)", r.Content, r.Ephemeral())
	}

	stop()
	if !strings.Contains(logs.String(), "stopped") {
		t.Errorf("no clean shutdown in the log")
	}
	if b.Name == storetest.RedisCluster && !strings.Contains(logs.String(), "a node of a Redis Cluster; using a cluster client") {
		t.Errorf("given one node's address, the bot did not say it found the cluster:\n%s", logs.String())
	}
}

func TestRunRefusesMissingToken(t *testing.T) {
	_, errOut, code := runCLI(t, nil, "run")
	if code == 0 || !strings.Contains(errOut, "DISCORD_TOKEN") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}

func stories(n int) string {
	if n == 1 {
		return "1 story"
	}
	return fmt.Sprintf("%d stories", n)
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestRunShowsWhatItWaitsFor: while Redis or the Discord gateway cannot be
// reached at start, the bot keeps retrying, /healthz answers, /readyz says
// which part it waits for, the push API says it is starting, and a stop
// ends it promptly.
func TestRunShowsWhatItWaitsFor(t *testing.T) {
	for _, tc := range []struct {
		name      string
		redis     bool // an unreachable Redis (else the embedded store)
		wantReady map[string]string
		wantLog   string
	}{
		{"redis unreachable", true, map[string]string{"redis": "connecting"}, "retrying"},
		{"gateway unreachable", false, map[string]string{"gateway": "not connected"}, "cannot reach Discord yet"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			envv := map[string]string{
				"DISCORD_TOKEN":             "test-token",
				"DIGESTBOT_DISCORD_API_URL": "http://" + closedPort(t),
				"DIGESTBOT_HTTP_ADDR":       "127.0.0.1:0",
			}
			if tc.redis {
				envv["DIGESTBOT_REDIS_URL"] = "redis://" + closedPort(t)
			}
			logs := &syncBuffer{}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				done <- run(ctx, []string{"run"}, &env{getenv: func(k string) string { return envv[k] }, stdin: strings.NewReader(""), stdout: logs, stderr: logs})
			}()
			defer func() {
				cancel()
				select {
				case err := <-done:
					if err != nil {
						t.Errorf("a stop while waiting: run returned %v, want a clean stop", err)
					}
				case <-time.After(15 * time.Second):
					t.Error("run did not stop within 15 s")
				}
				if t.Failed() {
					t.Logf("bot log:\n%s", logs.String())
				}
			}()
			var addr string
			waitUntil(t, "the http endpoint listens and the bot says it retries", func() bool {
				if m := regexp.MustCompile(`http endpoint listening" addr=(\S+)`).FindStringSubmatch(logs.String()); m != nil {
					addr = m[1]
				}
				return addr != "" && strings.Contains(logs.String(), tc.wantLog)
			})
			if resp, err := http.Get("http://" + addr + "/healthz"); err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("/healthz while starting: %v %v", resp, err)
			}
			resp, err := http.Get("http://" + addr + "/readyz")
			if err != nil {
				t.Fatal(err)
			}
			var body map[string]any
			json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusServiceUnavailable {
				t.Errorf("/readyz while waiting = %d, want 503", resp.StatusCode)
			}
			for part, want := range tc.wantReady {
				if got := fmt.Sprint(body); !strings.Contains(got, part) || !strings.Contains(got, want) {
					t.Errorf("/readyz = %v, want %s: %s", body, part, want)
				}
			}
			// The container health check says which part it waits for.
			for part, want := range tc.wantReady {
				if _, errOut, code := runCLI(t, map[string]string{"DIGESTBOT_HTTP_ADDR": addr}, "healthcheck"); code == 0 || !strings.Contains(errOut, part) || !strings.Contains(errOut, want) {
					t.Errorf("healthcheck while waiting: exit %d, %q; want it to name %s: %s", code, errOut, part, want)
				}
			}
			if !tc.redis && strings.Contains(logs.String(), "https://discord.com") {
				t.Errorf("the gateway error names discord.com, not the configured API URL:\n%s", logs.String())
			}
			if tc.redis {
				resp, err := http.Post("http://"+addr+"/v1/articles", "application/json", strings.NewReader("[]"))
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusServiceUnavailable {
					t.Errorf("push while the store connects = %d, want 503", resp.StatusCode)
				}
			}
		})
	}
}

// waitUntil polls cond for up to 20 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(20 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting until %s", what)
}

package main

import (
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/discordtest"
	"github.com/digestbot/digestbot/store/storetest"
	"github.com/digestbot/digestbot/why"
)

// startRunEnv runs `digestbot run` in-process with envv until the test ends
// (or stop is called), and returns its log.
func startRunEnv(t *testing.T, envv map[string]string) (logs *syncBuffer, stop func()) {
	t.Helper()
	logs = &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"run"}, &env{getenv: func(k string) string { return envv[k] }, stdin: strings.NewReader(""), stdout: logs, stderr: logs})
	}()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run returned %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("run did not stop within 15 s of SIGTERM")
		}
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("bot log:\n%s", logs.String())
		}
	})
	return logs, stop
}

// A story of the test's own that the subscription matches, ingested
// after the first digest so that it waits for the next.
const laterStory = `Harbour Board Tests Facial Recognition at the Ferry Gates

The harbour board said on Monday that it will test facial recognition at two ferry gates for a month, and publish what the cameras record.

Source: Island Post, November 16, 2026
https://island-post.example/harbour/gates-trial
`

// TestWhyEndToEnd asks /digest why, as a member of a server would, about
// an article its subscription matched and that was delivered, one its
// exclusion left out, one waiting for the next digest, one only another
// server's own feed brought in, and one the bot never saw; then
// `digestbot why` for the same server answers the same.
func TestWhyEndToEnd(t *testing.T) { storetest.EachRealBackend(t, testWhyEndToEnd) }

func testWhyEndToEnd(t *testing.T, b *storetest.Backend) {
	envv, st := cliEnv(t, b)
	dc := discordtest.New(t)
	maps.Copy(envv, map[string]string{
		"DISCORD_TOKEN":             dc.Token,
		"DIGESTBOT_DISCORD_API_URL": dc.URL(),
		"DIGESTBOT_GUILD_ID":        dc.GuildID,
	})
	startRunEnv(t, envv)
	dc.WaitCommands(dc.GuildID)
	ctx := context.Background()

	const manageChannels = 16
	sub := dc.SendInteraction(discordtest.Interaction{Command: "subscribe", Permissions: manageChannels,
		Options: []discordtest.Option{discordtest.Str("query", `"facial recognition" -Calloway`)}})
	if r := dc.WaitReply(sub); !strings.Contains(r.Content, "Subscribed") {
		t.Fatalf("/subscribe answered %q", r.Content)
	}
	// Another server, with a subscription and a feed of its own: none of
	// it may show in this server's answers.
	other := dc.AddGuild("Other Guild")
	otherCh := dc.AddChannel(other, "news")
	if _, err := st.AddSubscription(ctx, &digestbot.Subscription{ID: digestbot.SubscriptionID(other, otherCh, "secretword", ""),
		GuildID: other, ChannelID: otherCh, Query: "secretword", CreatedAt: time.Now()}, 10); err != nil {
		t.Fatal(err)
	}
	private := &digestbot.Article{ID: digestbot.ArticleID("https://other.example/private-story", "", "", ""),
		Title: "Facial recognition secretword story", URL: "https://other.example/private-story",
		Source: "Hidden Desk Name", Feed: "https://other.example/hidden-feed.xml", Guilds: []string{other},
		Text: "Facial recognition at the secretword depot.", Ingested: time.Now()}
	if _, err := st.PutArticles(ctx, []*digestbot.Article{private}); err != nil {
		t.Fatal(err)
	}

	ingestFile := func(path string) {
		t.Helper()
		if _, errOut, code := runCLI(t, envv, "ingest", path); code != 0 {
			t.Fatalf("ingest %s: %s", path, errOut)
		}
	}
	ingestFile(sampleBrief)
	now := dc.SendInteraction(discordtest.Interaction{Command: "digest now", Permissions: manageChannels})
	if r := dc.WaitReply(now); !strings.Contains(r.Content, "Posted a digest") {
		t.Fatalf("/digest now answered %q", r.Content)
	}
	var digestMsg string
	for _, m := range dc.WaitMessages(dc.ChannelID, 1) {
		for _, e := range m.Embeds {
			if e.URL == "https://harbourwire.example/2026/11/10/rendal-gates" {
				digestMsg = m.ID
			}
		}
	}
	if digestMsg == "" {
		t.Fatal("the digest does not carry the Rendal gates story")
	}

	// A story waits for the next digest: ingested and matched (the
	// preview matches what is new) after the first digest.
	later := filepath.Join(t.TempDir(), "later.txt")
	if err := os.WriteFile(later, []byte(laterStory), 0o600); err != nil {
		t.Fatal(err)
	}
	ingestFile(later)
	dc.WaitReply(dc.SendInteraction(discordtest.Interaction{Command: "digest preview"}))

	ask := func(url string) discordtest.Reply {
		t.Helper()
		// A member without Manage Channels.
		r := dc.WaitReply(dc.SendInteraction(discordtest.Interaction{Command: "digest why", Options: []discordtest.Option{discordtest.Str("url", url)}}))
		if !r.Ephemeral() {
			t.Errorf("/digest why %s: the reply is not ephemeral", url)
		}
		for _, secret := range []string{"secretword", "Hidden Desk", "hidden-feed", otherCh} {
			if strings.Contains(r.Content, secret) {
				t.Errorf("/digest why %s reveals another server's %q:\n%s", url, secret, r.Content)
			}
		}
		return r
	}
	link := "https://discord.com/channels/" + dc.GuildID + "/" + dc.ChannelID + "/" + digestMsg
	for _, tc := range []struct {
		name, url string
		want      []string
	}{
		{"matched and delivered", "https://harbourwire.example/2026/11/10/rendal-gates#comments",
			[]string{"Rendal Station Pauses Facial Recognition Gates", "Harbour Wire, from the bot's operator", "language en",
				"matched **facial recognition**; delivered", "in <" + link + ">"}},
		{"excluded", "https://bayline-review.example/retail/facial-recognition-shops?ref=brief&utm_source=elsewhere",
			[]string{"Facial Recognition Cameras Found in Forty Shops", "left out by -Calloway"}},
		{"waiting for the next digest", "https://island-post.example/harbour/gates-trial",
			[]string{"matched **facial recognition**; waiting for the channel's next digest, due "}},
		{"another server's private article", "https://other.example/private-story",
			[]string{"Not visible to this server"}},
		{"never seen", "https://nowhere.example/story",
			[]string{"Not stored", "has not seen <https://nowhere.example/story>"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ask(tc.url)
			for _, w := range tc.want {
				if !strings.Contains(r.Content, w) {
					t.Errorf("the reply lacks %q:\n%s", w, r.Content)
				}
			}
		})
	}
	if r := ask("ftp://harbourwire.example/x"); !strings.Contains(r.Content, "is not an http or https link") {
		t.Errorf("a bad link: %q", r.Content)
	}

	// The operator's command line says the same for the same server.
	out, errOut, code := runCLI(t, envv, "why", "--guild", dc.GuildID, "https://harbourwire.example/2026/11/10/rendal-gates")
	if code != 0 || !strings.Contains(out, "matched **facial recognition**; delivered") || !strings.Contains(out, link) {
		t.Errorf("digestbot why: exit %d, %q, %q", code, out, errOut)
	}
	out, errOut, code = runCLI(t, envv, "why", "--json", "--guild", dc.GuildID, "https://bayline-review.example/retail/facial-recognition-shops?ref=brief&utm_medium=email")
	var rep why.Report
	if err := json.Unmarshal([]byte(out), &rep); code != 0 || err != nil {
		t.Fatalf("digestbot why --json: exit %d, %v, %q", code, err, errOut)
	}
	if rep.Status != why.StatusStored || rep.Article.Language != "en" || len(rep.Subscriptions) != 1 ||
		rep.Subscriptions[0].Outcome != why.OutcomeExcluded || strings.Join(rep.Subscriptions[0].Excluded, " ") != "-Calloway" {
		t.Errorf("digestbot why --json: %s", out)
	}
	// Asked for the other server, its own article is visible and its own
	// subscription listed; this server's is not.
	out, _, _ = runCLI(t, envv, "why", "--guild", other, "https://other.example/private-story")
	if !strings.Contains(out, "this server's feed") && !strings.Contains(out, "a feed of this server") || !strings.Contains(out, "secretword") || strings.Contains(out, "Calloway") {
		t.Errorf("digestbot why for the other server:\n%s", out)
	}
	if _, errOut, code := runCLI(t, envv, "why", "https://harbourwire.example/x"); code != 2 || !strings.Contains(errOut, "--guild") {
		t.Errorf("why without --guild: exit %d, %q", code, errOut)
	}
}

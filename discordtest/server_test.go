package discordtest_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/digestbot/digestbot/discordtest"
)

// rewrite sends discord.com traffic to the test server.
type rewrite struct{ base *url.URL }

func (r rewrite) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.URL.Scheme, req.URL.Host = r.base.Scheme, r.base.Host
	req.Host = r.base.Host
	return http.DefaultTransport.RoundTrip(req)
}

func session(t *testing.T, srv *discordtest.Server) *discordgo.Session {
	t.Helper()
	s, err := discordgo.New("Bot " + srv.Token)
	if err != nil {
		t.Fatal(err)
	}
	base, _ := url.Parse(srv.URL())
	s.Client = &http.Client{Transport: rewrite{base}, Timeout: 5 * time.Second}
	s.Identify.Intents = discordgo.IntentsGuilds
	s.LogLevel = -1
	return s
}

func TestGatewayIdentifyReadyAndResume(t *testing.T) {
	srv := discordtest.New(t)
	s := session(t, srv)
	ready := make(chan *discordgo.Ready, 1)
	guilds := make(chan string, 4)
	got := make(chan *discordgo.InteractionCreate, 4)
	s.AddHandler(func(_ *discordgo.Session, r *discordgo.Ready) { ready <- r })
	s.AddHandler(func(_ *discordgo.Session, g *discordgo.GuildCreate) { guilds <- g.ID })
	s.AddHandler(func(_ *discordgo.Session, i *discordgo.InteractionCreate) { got <- i })
	if err := s.Open(); err != nil {
		t.Fatalf("open: %v", err)
	}
	defer s.Close()

	ids := srv.WaitIdentify(1)
	if ids[0].Intents != int(discordgo.IntentsGuilds) || ids[0].Token != "Bot "+srv.Token {
		t.Errorf("identify = %+v", ids[0])
	}
	r := recv(t, ready)
	if r.Application == nil || r.Application.ID != srv.AppID {
		t.Errorf("READY application = %+v, want id %s", r.Application, srv.AppID)
	}
	if g := recv(t, guilds); g != srv.GuildID {
		t.Errorf("GUILD_CREATE for %s, want %s", g, srv.GuildID)
	}

	// An interaction dispatched while the connection is down is replayed
	// after the client resumes.
	srv.WaitHeartbeats(1)
	srv.DropConnection()
	srv.WaitConnections(0)
	sent := srv.SendInteraction(discordtest.Interaction{Command: "help"})
	res := srv.WaitResume(1)
	if !res[0].Accepted {
		t.Fatalf("resume refused: %+v", res[0])
	}
	if i := recv(t, got); i.ID != sent.ID {
		t.Errorf("replayed interaction %s, want %s", i.ID, sent.ID)
	}
}

func TestRejectedResumeLeadsToIdentify(t *testing.T) {
	srv := discordtest.New(t)
	s := session(t, srv)
	if err := s.Open(); err != nil {
		t.Fatalf("open: %v", err)
	}
	defer s.Close()
	srv.WaitIdentify(1)
	srv.WaitHeartbeats(1)
	srv.RejectNextResume()
	srv.DropConnection()
	if res := srv.WaitResume(1); res[0].Accepted {
		t.Errorf("resume accepted, want refused")
	}
	srv.WaitIdentify(2)
	srv.WaitConnections(1)
}

func recv[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		var zero T
		t.Fatal("timed out waiting for an event")
		return zero
	}
}

func post(t *testing.T, srv *discordtest.Server, channelID string, body any) (int, map[string]any, http.Header) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", srv.URL()+"/api/v9/channels/"+channelID+"/messages", bytes.NewReader(b))
	req.Header.Set("Authorization", "Bot "+srv.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out, resp.Header
}

func TestMessageCreate(t *testing.T) {
	tests := []struct {
		name       string
		fault      *discordtest.Fault
		channel    string // "" = the server's channel
		wantStatus int
		wantCode   float64
		wantStored int
	}{
		{name: "created", wantStatus: 200, wantStored: 1},
		{name: "unknown channel", channel: "999", wantStatus: 404, wantCode: 10003},
		{name: "rate limited", fault: &discordtest.Fault{Status: 429, RetryAfter: 1500 * time.Millisecond}, wantStatus: 429},
		{name: "server error", fault: &discordtest.Fault{Status: 500}, wantStatus: 500},
		{name: "server error after commit", fault: &discordtest.Fault{Status: 500, Commit: true}, wantStatus: 500, wantStored: 1},
		{name: "missing access", fault: &discordtest.Fault{Status: 403}, wantStatus: 403, wantCode: 50001},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := discordtest.New(t)
			ch := tt.channel
			if ch == "" {
				ch = srv.ChannelID
			}
			if tt.fault != nil {
				srv.FailMessages(1, *tt.fault)
			}
			status, body, h := post(t, srv, ch, map[string]any{"content": "hello"})
			if status != tt.wantStatus {
				t.Fatalf("status %d, want %d (%v)", status, tt.wantStatus, body)
			}
			if tt.wantCode != 0 && body["code"] != tt.wantCode {
				t.Errorf("code %v, want %v", body["code"], tt.wantCode)
			}
			if status == 429 {
				if body["retry_after"] != 1.5 || h.Get("Retry-After") != "2" || h.Get("X-RateLimit-Remaining") != "0" {
					t.Errorf("429 body %v headers %v", body, h)
				}
			}
			if n := len(srv.Messages(ch)); n != tt.wantStored {
				t.Errorf("%d messages stored, want %d", n, tt.wantStored)
			}
		})
	}
}

func TestEnforcedNonceCreatesOneMessage(t *testing.T) {
	srv := discordtest.New(t)
	msg := map[string]any{"content": "digest", "nonce": "d-123", "enforce_nonce": true}
	_, first, _ := post(t, srv, srv.ChannelID, msg)
	_, second, _ := post(t, srv, srv.ChannelID, msg)
	if first["id"] != second["id"] {
		t.Errorf("retried create gave %v, want the first message %v", second["id"], first["id"])
	}
	other := srv.AddChannel(srv.GuildID, "other")
	_, third, _ := post(t, srv, other, msg)
	if third["id"] == first["id"] {
		t.Errorf("same nonce in another channel returned the first channel's message")
	}
	if n := len(srv.Messages(srv.ChannelID)); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
	status, _, _ := post(t, srv, srv.ChannelID, map[string]any{"content": "x", "nonce": "this-nonce-is-longer-than-25-chars"})
	if status != 400 {
		t.Errorf("long nonce: status %d, want 400", status)
	}
}

func TestUnauthorized(t *testing.T) {
	srv := discordtest.New(t)
	s := session(t, srv)
	srv.Token = "rotated"
	_, err := s.Channel(srv.ChannelID)
	var rest *discordgo.RESTError
	if !errors.As(err, &rest) || rest.Response.StatusCode != 401 {
		t.Errorf("err = %v, want HTTP 401", err)
	}
}

func TestControlAPIDrivesAStandaloneServer(t *testing.T) {
	srv, err := discordtest.Listen("127.0.0.1:0", t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	s := session(t, srv)
	s.AddHandler(func(s *discordgo.Session, i *discordgo.InteractionCreate) {
		d := i.ApplicationCommandData()
		_ = s.InteractionRespond(i.Interaction, &discordgo.InteractionResponse{
			Type: discordgo.InteractionResponseChannelMessageWithSource,
			Data: &discordgo.InteractionResponseData{Content: "got " + d.Name + " " + d.Options[0].StringValue()},
		})
	})
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	srv.WaitConnections(1)

	resp, err := http.Post(srv.URL()+"/_discordtest/interactions", "application/json",
		bytes.NewReader([]byte(`{"command":"/subscribe","options":{"query":"Confucius"},"permissions":16}`)))
	if err != nil {
		t.Fatal(err)
	}
	var sent struct{ ID string }
	_ = json.NewDecoder(resp.Body).Decode(&sent)
	resp.Body.Close()
	if resp.StatusCode != 200 || sent.ID == "" {
		t.Fatalf("send: status %d", resp.StatusCode)
	}
	rep := srv.WaitReply(discordtest.Sent{ID: sent.ID})
	if rep.Content != "got subscribe Confucius" {
		t.Errorf("reply %q", rep.Content)
	}
	resp, err = http.Get(srv.URL() + "/_discordtest/interactions/" + sent.ID)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("reply lookup: status %d", resp.StatusCode)
	}

	// ?wait answers with the reply itself.
	resp, err = http.Post(srv.URL()+"/_discordtest/interactions?wait", "application/json",
		bytes.NewReader([]byte(`{"command":"subscribe","options":{"query":"Norway"}}`)))
	if err != nil {
		t.Fatal(err)
	}
	var waited struct{ Reply struct{ Content string } }
	_ = json.NewDecoder(resp.Body).Decode(&waited)
	resp.Body.Close()
	if resp.StatusCode != 200 || waited.Reply.Content != "got subscribe Norway" {
		t.Errorf("?wait: status %d, reply %q", resp.StatusCode, waited.Reply.Content)
	}

	// A short user id (typed by hand) is fine too.
	resp, err = http.Post(srv.URL()+"/_discordtest/interactions?wait", "application/json",
		bytes.NewReader([]byte(`{"command":"subscribe","options":{"query":"x"},"user_id":"7"}`)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("user_id 7: status %d", resp.StatusCode)
	}
}

package discordtest_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/digestbot/digestbot/discordtest"
)

// A nonce de-duplicates only while the server remembers it, as on Discord:
// after NonceTTL the same create posts a second copy.
func TestNonceExpires(t *testing.T) {
	srv := discordtest.New(t)
	srv.SetNonceTTL(200 * time.Millisecond)
	msg := map[string]any{"content": "digest", "nonce": "n-1", "enforce_nonce": true}
	_, first, _ := post(t, srv, srv.ChannelID, msg)
	_, again, _ := post(t, srv, srv.ChannelID, msg)
	if first["id"] != again["id"] {
		t.Fatalf("within the nonce window a retry gave %v, want %v", again["id"], first["id"])
	}
	time.Sleep(300 * time.Millisecond)
	_, late, _ := post(t, srv, srv.ChannelID, msg)
	if late["id"] == first["id"] {
		t.Fatal("after the nonce window a retry still returned the first message")
	}
	if n := len(srv.Messages(srv.ChannelID)); n != 2 {
		t.Errorf("%d messages, want 2 (the late retry is a copy)", n)
	}
}

// The per-channel bucket answers the sixth create within 5 s with a 429
// and the headers that tell a client how long to wait; counted as exceeded.
func TestChannelBucket(t *testing.T) {
	srv := discordtest.New(t)
	srv.SetLimits(discordtest.Limits{PerChannel: 5, PerChannelWindow: time.Second})
	for i := range 5 {
		status, _, h := post(t, srv, srv.ChannelID, map[string]any{"content": "x"})
		if status != 200 {
			t.Fatalf("create %d: status %d", i, status)
		}
		if got, want := h.Get("X-RateLimit-Remaining"), strconv.Itoa(4-i); got != want {
			t.Errorf("create %d: remaining %q, want %q", i, got, want)
		}
		if h.Get("X-RateLimit-Reset-After") == "" || h.Get("X-RateLimit-Bucket") == "" {
			t.Errorf("create %d: rate-limit headers missing: %v", i, h)
		}
	}
	status, body, h := post(t, srv, srv.ChannelID, map[string]any{"content": "x"})
	if status != 429 || body["global"] != false || h.Get("X-RateLimit-Scope") != "user" {
		t.Fatalf("sixth create: %d %v %v, want a user-scope 429", status, body, h)
	}
	other := srv.AddChannel(srv.GuildID, "other")
	if status, _, _ := post(t, srv, other, map[string]any{"content": "x"}); status != 200 {
		t.Errorf("another channel has a bucket of its own, got %d", status)
	}
	if st := srv.Stats(); st.Exceeded429 != 1 || st.Injected429 != 0 {
		t.Errorf("stats %+v, want one exceeded 429", st)
	}
	time.Sleep(1100 * time.Millisecond)
	if status, _, _ := post(t, srv, srv.ChannelID, map[string]any{"content": "x"}); status != 200 {
		t.Errorf("after the window: status %d", status)
	}
}

// The global limit counts every REST call of the bot but interactions.
func TestGlobalLimit(t *testing.T) {
	srv := discordtest.New(t)
	srv.SetLimits(discordtest.Limits{Global: 3})
	codes := []int{}
	for range 4 {
		status, _, _ := post(t, srv, srv.ChannelID, map[string]any{"content": "x"})
		codes = append(codes, status)
	}
	if codes[3] != 429 || codes[2] != 200 {
		t.Fatalf("statuses %v, want the fourth call in a second refused", codes)
	}
	if st := srv.Stats(); st.ExceededGlobal != 1 {
		t.Errorf("stats %+v, want one global 429", st)
	}
}

// "Stored, then the answer hangs": the client gives up, the message is in
// the channel, OnHang names the caller.
func TestHangAfterStoring(t *testing.T) {
	srv := discordtest.New(t)
	hung := make(chan discordtest.HangInfo, 1)
	srv.OnHang(func(h discordtest.HangInfo) { hung <- h })
	srv.FailMessages(1, discordtest.Fault{Hang: time.Minute, Commit: true})
	b, _ := json.Marshal(map[string]any{"content": "x", "nonce": "n-9", "enforce_nonce": true})
	req, _ := http.NewRequest("POST", srv.URL()+"/api/v9/channels/"+srv.ChannelID+"/messages", bytes.NewReader(b))
	req.Header.Set("Authorization", "Bot "+srv.Token)
	req.Header.Set("User-Agent", "DiscordBot (test, 1) replica/42")
	c := &http.Client{Timeout: 300 * time.Millisecond}
	_, err := c.Do(req)
	if err == nil {
		t.Fatal("the hung create answered")
	}
	h := <-hung
	if h.UserAgent != "DiscordBot (test, 1) replica/42" || h.Nonce != "n-9" || h.MessageID == "" {
		t.Errorf("hang info %+v", h)
	}
	if n := len(srv.Messages(srv.ChannelID)); n != 1 {
		t.Errorf("%d messages stored, want 1", n)
	}
}

// A reset closes the connection: the client sees a network error.
func TestReset(t *testing.T) {
	srv := discordtest.New(t)
	srv.FailMessages(1, discordtest.Fault{Reset: true, Commit: true})
	b, _ := json.Marshal(map[string]any{"content": "x"})
	req, _ := http.NewRequest("POST", srv.URL()+"/api/v9/channels/"+srv.ChannelID+"/messages", bytes.NewReader(b))
	req.Header.Set("Authorization", "Bot "+srv.Token)
	if _, err := http.DefaultClient.Do(req); err == nil {
		t.Fatal("a reset connection answered")
	}
	if n := len(srv.Messages(srv.ChannelID)); n != 1 {
		t.Errorf("%d messages stored, want 1 (stored before the reset)", n)
	}
}

// Bodies over Discord's limits are refused with 400 Invalid Form Body.
func TestBodyLimits(t *testing.T) {
	srv := discordtest.New(t)
	embeds := func(n int, desc string) []map[string]any {
		var out []map[string]any
		for range n {
			out = append(out, map[string]any{"title": "t", "description": desc})
		}
		return out
	}
	srv.RejectBodiesContaining("poison")
	for name, body := range map[string]map[string]any{
		"content over 2000": {"content": strings.Repeat("x", 2001)},
		"11 embeds":         {"embeds": embeds(11, "d")},
		"6001 embed chars":  {"embeds": embeds(2, strings.Repeat("é", 3000))},
		"bad embed url":     {"embeds": []map[string]any{{"title": "t", "url": "javascript:alert(1)"}}},
		"empty":             {"content": ""},
		"refused content":   {"content": "a poison pill"},
	} {
		status, resp, _ := post(t, srv, srv.ChannelID, body)
		if status != 400 || (resp["code"] != 50035.0 && resp["code"] != 50006.0) {
			t.Errorf("%s: %d %v, want 400 Invalid Form Body", name, status, resp["code"])
		}
	}
	if status, _, _ := post(t, srv, srv.ChannelID, map[string]any{"embeds": embeds(10, strings.Repeat("x", 590))}); status != 200 {
		t.Errorf("10 embeds within 6000 characters refused: %d", status)
	}
	if n := srv.Stats().InvalidBodies; n != 6 {
		t.Errorf("InvalidBodies = %d, want 6", n)
	}
}

// History reads newest first, pages with before and after, and never
// carries the nonce; ids grow with time.
func TestHistory(t *testing.T) {
	srv := discordtest.New(t)
	s := session(t, srv)
	var ids []string
	for i := range 7 {
		_, m, _ := post(t, srv, srv.ChannelID, map[string]any{"content": "m" + strconv.Itoa(i), "nonce": "n" + strconv.Itoa(i), "enforce_nonce": true})
		ids = append(ids, m["id"].(string))
	}
	got, err := s.ChannelMessages(srv.ChannelID, 3, "", ids[1], "")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Content != "m4" || got[2].Content != "m2" {
		t.Errorf("after m1, limit 3: %v, want m4 m3 m2", contents(got))
	}
	got, _ = s.ChannelMessages(srv.ChannelID, 2, ids[3], "", "")
	if len(got) != 2 || got[0].Content != "m2" || got[1].Content != "m1" {
		t.Errorf("before m3, limit 2: %v", contents(got))
	}
	got, _ = s.ChannelMessages(srv.ChannelID, 100, "", "", "")
	if len(got) != 7 || got[0].Content != "m6" {
		t.Errorf("latest: %v", contents(got))
	}
	first, _ := strconv.ParseInt(ids[0], 10, 64)
	if ms := first>>22 + 1420070400000; time.Since(time.UnixMilli(ms)).Abs() > time.Minute {
		t.Errorf("message id %s does not carry its creation time", ids[0])
	}
	srv.ForbidChannel(srv.ChannelID, true)
	if _, err := s.ChannelMessages(srv.ChannelID, 10, "", "", ""); !isStatus(err, 403) {
		t.Errorf("reading a forbidden channel: %v, want 403", err)
	}
	srv.DeleteChannel(srv.ChannelID)
	if status, _, _ := post(t, srv, srv.ChannelID, map[string]any{"content": "x"}); status != 404 {
		t.Errorf("posting in a deleted channel: %d, want 404", status)
	}
}

func isStatus(err error, code int) bool {
	var rest interface{ Error() string }
	if !errors.As(err, &rest) {
		return false
	}
	return strings.Contains(err.Error(), "HTTP "+strconv.Itoa(code))
}

// Chaos with a seed injects a mix of faults; stored-then-failed creates
// leave messages whose answer was lost.
func TestChaos(t *testing.T) {
	srv := discordtest.New(t)
	srv.SetChaos(&discordtest.Chaos{Seed: 7, Status5xx: 0.3, RateLimit: 0.1, Reset: 0.1})
	ok := 0
	for i := range 60 {
		b, _ := json.Marshal(map[string]any{"content": "x" + strconv.Itoa(i)})
		req, _ := http.NewRequest("POST", srv.URL()+"/api/v9/channels/"+srv.ChannelID+"/messages", bytes.NewReader(b))
		req.Header.Set("Authorization", "Bot "+srv.Token)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			if resp.StatusCode == 200 {
				ok++
			}
			resp.Body.Close()
		}
	}
	st := srv.Stats()
	if st.InjectedFaults < 10 || st.InjectedFaults > 40 || ok+st.InjectedFaults != 60 {
		t.Errorf("%d ok, stats %+v: want about half faults", ok, st)
	}
	if st.Created <= ok {
		t.Errorf("created %d, ok %d: some faults should store the message first", st.Created, ok)
	}
}

func contents(ms []*discordgo.Message) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Content)
	}
	return out
}

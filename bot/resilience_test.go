package bot

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/digest"
	"github.com/digestbot/digestbot/discordtest"
	"github.com/digestbot/digestbot/store"
	"github.com/digestbot/digestbot/store/storetest"
)

// Recent reads back exactly the bot's own messages of a span of time,
// with the marker the digest put in them, however long the channel's
// history is before and after the span.
func TestRecentReadsTheBotsOwnMessagesOfASpan(t *testing.T) {
	t.Parallel()
	hs := start(t, nil)
	ref := digestbot.ChannelRef{GuildID: hs.srv.GuildID, ChannelID: hs.srv.ChannelID}
	ctx := context.Background()
	for i := range 130 { // more than a page of history before the span
		if _, err := hs.bot.Post(ctx, ref, digest.Message{Content: fmt.Sprint("old ", i)}, ""); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(20 * time.Millisecond)
	from := time.Now()
	marked := digest.WithMarker(digest.Message{Content: "Digest part"}, digest.Marker("n-1"), digest.DiscordLimits)
	id, err := hs.bot.Post(ctx, ref, marked, "n-1")
	if err != nil {
		t.Fatal(err)
	}
	to := time.Now()
	time.Sleep(20 * time.Millisecond)
	if _, err := hs.bot.Post(ctx, ref, digest.Message{Content: "after"}, ""); err != nil {
		t.Fatal(err)
	}
	got, err := hs.bot.Recent(ctx, ref, from.Add(-5*time.Millisecond), to.Add(5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != id || digest.MarkerOf(got[0].Msg) != digest.Marker("n-1") {
		t.Fatalf("Recent = %+v, want the one marked message %s", got, id)
	}
	hs.srv.ForbidChannel(ref.ChannelID, true)
	if _, err := hs.bot.Recent(ctx, ref, from, to); digestbot.ErrorCode(err) != digestbot.EFORBIDDEN ||
		!strings.Contains(err.Error(), "Read Message History") {
		t.Errorf("Recent in a channel the bot may not read: %v", err)
	}
}

// A refused token holds delivery (TokenOK false, /readyz says why) and
// pauses nothing; the token file is read again, and once Discord accepts
// the token delivery goes on.
func TestRefusedTokenIsNoticedAndRecovered(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "token")
	if err := os.WriteFile(file, []byte(discordtest.DefaultToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	hs := start(t, func(o *Options) {
		o.TokenSource = func() (string, error) {
			b, err := os.ReadFile(file)
			return string(b), err
		}
	})
	ref := digestbot.ChannelRef{GuildID: hs.srv.GuildID, ChannelID: hs.srv.ChannelID}
	ctx := context.Background()
	hs.srv.SetToken("reset-in-the-portal")
	_, err := hs.bot.Post(ctx, ref, digest.Message{Content: "x"}, "n-401")
	if digestbot.ErrorCode(err) != digestbot.EUNAUTHORIZED {
		t.Fatalf("post with a revoked token: %v, want EUNAUTHORIZED", err)
	}
	if hs.bot.TokenOK() || hs.bot.TokenProblem() == nil || !strings.Contains(hs.bot.TokenProblem().Error(), "401") {
		t.Fatalf("after a 401: TokenOK %v, problem %v", hs.bot.TokenOK(), hs.bot.TokenProblem())
	}
	if err := os.WriteFile(file, []byte("reset-in-the-portal"), 0o600); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !hs.bot.TokenOK() {
		if time.Now().After(deadline) {
			t.Fatalf("the new token was not taken up: %v", hs.bot.TokenProblem())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := hs.bot.Post(ctx, ref, digest.Message{Content: "x"}, "n-after"); err != nil {
		t.Fatalf("post with the new token: %v", err)
	}
	if !strings.Contains(hs.logs.String(), "accepts the bot token again") {
		t.Errorf("the log does not say the token works again:\n%s", hs.logs.String())
	}
}

// Two replicas posting at full speed to channels of one bot share
// Discord's limits through Redis: against a server that enforces the
// global limit and the per-channel buckets, neither gets a 429.
func TestReplicasShareDiscordsLimits(t *testing.T) {
	storetest.EachRealBackend(t, testReplicasShareDiscordsLimits)
}

func testReplicasShareDiscordsLimits(t *testing.T, backend *storetest.Backend) {
	t.Parallel()
	srv := discordtest.New(t)
	srv.SetLimits(discordtest.Limits{Global: 20, PerChannel: 5, PerChannelWindow: time.Second})
	st := backend.Open(t, store.Options{})
	var chans []string
	for i := range 4 {
		chans = append(chans, srv.AddChannel(srv.GuildID, fmt.Sprint("c", i)))
	}
	var bots []*Bot
	for range 2 {
		// 15 a second each: two replicas that did not share the budget
		// would send up to 30 against the 20 allowed; shared, a stall of
		// a loaded test machine (requests sent late, then at once) has a
		// quarter of the limit to spare.
		hs := startOn(t, srv, func(o *Options) { o.RateLimits = st; o.RequestsPerSecond = 15 })
		bots = append(bots, hs.bot)
	}
	start := time.Now()
	var wg sync.WaitGroup
	var errs sync.Map
	for i, b := range bots {
		for j, ch := range chans {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ref := digestbot.ChannelRef{GuildID: srv.GuildID, ChannelID: ch}
				for k := range 6 {
					if _, err := b.Post(context.Background(), ref, digest.Message{Content: "m"}, fmt.Sprintf("r%d-c%d-%d", i, j, k)); err != nil {
						errs.Store(fmt.Sprint(i, j, k), err)
					}
				}
			}()
		}
	}
	wg.Wait()
	errs.Range(func(k, v any) bool { t.Errorf("post %v: %v", k, v); return true })
	st429 := srv.Stats()
	if st429.Exceeded429 != 0 {
		t.Errorf("%d 429s for exceeding a limit (%d global), want none", st429.Exceeded429, st429.ExceededGlobal)
	}
	if n := len(srv.AllMessages()); n != 48 {
		t.Errorf("%d messages, want 48", n)
	}
	// 48 posts at 15 a second and 5 a second per channel: at least 2 s.
	if took := time.Since(start); took < 2*time.Second {
		t.Errorf("48 posts took %v: the limits were not applied", took)
	}
}

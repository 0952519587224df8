package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/commands"
	"github.com/digestbot/digestbot/config"
	"github.com/digestbot/digestbot/digest"
	"github.com/digestbot/digestbot/discordtest"
	"github.com/digestbot/digestbot/store"
)

// embeddedStore opens an embedded store for one test.
func embeddedStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.OpenEmbedded(context.Background(), store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// queueStories stores n articles and queues them for ref with hit.
func queueStories(t *testing.T, st *store.Store, ref digestbot.ChannelRef, prefix string, n int, hit digestbot.Hit) {
	t.Helper()
	ctx := context.Background()
	words := []string{"ferry", "crane", "tide", "quay", "gull", "dune", "reef", "mast", "buoy", "pier", "kelp", "salt", "fog"}
	var items []digestbot.PendingItem
	for i := range n {
		u := fmt.Sprintf("https://example.org/%s/%d", prefix, i)
		a := &digestbot.Article{ID: digestbot.ArticleID(u, "", "", ""), URL: u, Source: "Example News", Published: time.Now().Add(-time.Hour),
			Title: fmt.Sprintf("%s %s %s", words[i%13], words[(i*5+3)%13], words[(i*7+1)%13]),
			// Text quoted from an article may hold anything; none of it may ping.
			Text: "@everyone look: <@&1> and <@1300000000000000001>."}
		if _, err := st.PutArticles(ctx, []*digestbot.Article{a}); err != nil {
			t.Fatal(err)
		}
		items = append(items, digestbot.PendingItem{GuildID: ref.GuildID, ChannelID: ref.ChannelID, ArticleID: a.ID, QueuedAt: time.Now(), Hits: []digestbot.Hit{hit}})
	}
	if err := st.EnqueuePending(ctx, items); err != nil {
		t.Fatal(err)
	}
}

// sentMentions reads the allowed_mentions a message create was sent with.
func sentMentions(t *testing.T, m discordtest.Message) map[string]any {
	t.Helper()
	var body struct {
		AllowedMentions map[string]any `json:"allowed_mentions"`
	}
	if err := json.Unmarshal(m.Raw, &body); err != nil || body.AllowedMentions == nil {
		t.Fatalf("message create without allowed_mentions: %s", m.Raw)
	}
	return body.AllowedMentions
}

// An alert, posted through the real client, pings exactly its
// subscription's role: allowed_mentions names that role and parses
// nothing, so text from the article cannot ping @everyone, a user or
// another role. A digest without a mention allows none at all.
func TestAlertPingsExactlyItsRoleThroughDiscord(t *testing.T) {
	t.Parallel()
	hs := start(t, nil)
	st := embeddedStore(t)
	role := hs.srv.AddRole(hs.srv.GuildID, "harbour-watch")
	ref := digestbot.ChannelRef{GuildID: hs.srv.GuildID, ChannelID: hs.srv.ChannelID}
	d := &digest.Deliverer{Store: st, Transport: hs.bot, Logger: slog.New(slog.DiscardHandler)}
	queueStories(t, st, ref, "alert", 2, digestbot.Hit{SubscriptionID: "s1", Label: "ferry", Instant: true, Mention: role})
	queueStories(t, st, ref, "digest", 1, digestbot.Hit{SubscriptionID: "s2", Label: "quay"})

	if res, err := d.DeliverAlert(context.Background(), ref); err != nil || res.Posted != 1 {
		t.Fatalf("alert: %+v, %v", res, err)
	}
	msgs := hs.srv.Messages(ref.ChannelID)
	if len(msgs) != 1 || !strings.HasPrefix(msgs[0].Content, "<@&"+role+">\n⚡ **Alert** · **ferry**") {
		t.Fatalf("alert messages %+v", msgs)
	}
	want := map[string]any{"parse": []any{}, "roles": []any{role}}
	if got := sentMentions(t, msgs[0]); !reflect.DeepEqual(got, want) {
		t.Errorf("alert allowed_mentions = %v, want exactly %v", got, want)
	}
	if _, err := d.Deliver(context.Background(), ref); err != nil {
		t.Fatal(err)
	}
	msgs = hs.srv.Messages(ref.ChannelID)
	if len(msgs) != 2 || strings.Contains(msgs[1].Content, "<@&") {
		t.Fatalf("digest messages %+v", msgs)
	}
	if got := sentMentions(t, msgs[1]); !reflect.DeepEqual(got, map[string]any{"parse": []any{}}) {
		t.Errorf("digest allowed_mentions = %v, want none allowed", got)
	}
}

// dmService is the real command core over st, as the bot's handler.
func dmService(t *testing.T, st *store.Store) *commands.Service {
	t.Helper()
	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	return &commands.Service{Store: st, Config: cfg}
}

// A member's watch digest goes by direct message: the bot opens the DM
// channel (POST /users/@me/channels), posts there, and where a DM takes no
// thread the rest is behind a "More" button that works when pressed in
// the DM, which carries no server. A member who does not accept the bot's
// DMs (403, code 50007) gets the watch paused with the reason.
func TestWatchDigestByDirectMessage(t *testing.T) {
	t.Parallel()
	st := embeddedStore(t)
	srv := discordtest.New(t)
	hs := startOn(t, srv, func(o *Options) { o.Handler = dmService(t, st) })
	const user = "1300000000000000007"
	ctx := context.Background()
	dm, err := hs.bot.DirectChannel(ctx, user)
	if err != nil || dm == "" || dm != srv.DMChannel(user) {
		t.Fatalf("DM channel %q, %v; the server opened %q", dm, err, srv.DMChannel(user))
	}
	if again, err := hs.bot.DirectChannel(ctx, user); err != nil || again != dm {
		t.Errorf("opening it again gave %q, %v; want the same channel", again, err)
	}
	ref := digestbot.ChannelRef{GuildID: srv.GuildID, ChannelID: dm}
	queueStories(t, st, ref, "watch", 15, digestbot.Hit{SubscriptionID: "w1", Label: "harbour"})
	d := &digest.Deliverer{Store: st, Transport: hs.bot, Logger: slog.New(slog.DiscardHandler)}
	if res, err := d.Deliver(ctx, ref); err != nil || res.Paused || res.Posted != 1 {
		t.Fatalf("deliver to the DM: %+v, %v", res, err)
	}
	msgs := srv.Messages(dm)
	if len(msgs) != 1 || len(msgs[0].Embeds) != 10 || !strings.Contains(string(msgs[0].Components), "More stories (") {
		t.Fatalf("%d DM messages, the first with %d stories and components %s; want 10 stories and a More button", len(msgs), len(msgs[0].Embeds), msgs[0].Components)
	}
	var more int
	fmt.Sscanf(string(msgs[0].Components)[strings.Index(string(msgs[0].Components), "More stories (")+len("More stories ("):], "%d", &more)
	var rows []struct {
		Components []struct {
			CustomID string `json:"custom_id"`
		} `json:"components"`
	}
	if err := json.Unmarshal(msgs[0].Components, &rows); err != nil || len(rows) != 1 || len(rows[0].Components) != 1 {
		t.Fatalf("components %s", msgs[0].Components)
	}
	press := srv.SendInteraction(discordtest.Interaction{Type: discordtest.TypeComponent, DM: true, UserID: user, CustomID: rows[0].Components[0].CustomID})
	if r := srv.WaitReply(press); !r.Ephemeral() || more == 0 || len(r.Embeds) != more || !strings.Contains(r.Content, fmt.Sprintf("1–%d of %d", more, more)) {
		t.Errorf("More pressed in the DM answered %q with %d stories", r.Content, len(r.Embeds))
	}

	srv.BlockDMs(user, true)
	queueStories(t, st, ref, "later", 1, digestbot.Hit{SubscriptionID: "w1", Label: "harbour"})
	res, err := d.Deliver(ctx, ref)
	if err != nil || !res.Paused || !strings.Contains(res.PausedReason, "does not accept direct messages from the bot") {
		t.Fatalf("deliver to a member who refuses DMs: %+v, %v; want paused with the reason", res, err)
	}
	if cs, _ := st.ChannelState(ctx, ref.GuildID, ref.ChannelID); cs.PausedBy != digestbot.PauseForbidden {
		t.Errorf("channel state %+v; want paused as forbidden", cs)
	}
	if n := len(srv.Messages(dm)); n != 1 {
		t.Errorf("%d messages in the DM after the member blocked DMs, want the first only", n)
	}
}

// A member who left the server a watch was made in gets nothing more of
// it: the delivery pauses as for a channel that is gone (the watches go
// after the grace), and nothing reaches the DM.
func TestWatchOfAMemberWhoLeftIsNotDelivered(t *testing.T) {
	t.Parallel()
	st := embeddedStore(t)
	hs := start(t, nil)
	const user = "1300000000000000008"
	ctx := context.Background()
	dm, err := hs.bot.DirectChannel(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	ref := digestbot.ChannelRef{GuildID: hs.srv.GuildID, ChannelID: dm}
	queueStories(t, st, ref, "private", 1, digestbot.Hit{SubscriptionID: "w1", Label: "harbour"})
	hs.srv.RemoveMember(hs.srv.GuildID, user)
	d := &digest.Deliverer{Store: st, Transport: hs.bot, Logger: slog.New(slog.DiscardHandler)}
	res, err := d.Deliver(ctx, ref)
	if err != nil || !res.Paused || !strings.Contains(res.PausedReason, "no longer in the server") {
		t.Fatalf("deliver to a member who left: %+v, %v; want paused", res, err)
	}
	if cs, _ := st.ChannelState(ctx, ref.GuildID, ref.ChannelID); cs.PausedBy != digestbot.PauseUnknownChannel {
		t.Errorf("paused by %q, want as a channel that is gone", cs.PausedBy)
	}
	if n := len(hs.srv.Messages(dm)); n != 0 {
		t.Errorf("%d messages reached a member who left", n)
	}
}

// /subscribe registers mode as a choice of digest and instant, and mention
// as a role option, so Discord offers the server's roles.
func TestSubscribeOptionsRegistered(t *testing.T) {
	t.Parallel()
	hs := start(t, nil)
	for _, raw := range hs.srv.WaitCommands(hs.srv.GuildID) {
		var c struct {
			Name    string `json:"name"`
			Options []struct {
				Name    string `json:"name"`
				Type    int    `json:"type"`
				Choices []struct {
					Value string `json:"value"`
				} `json:"choices"`
			} `json:"options"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			t.Fatal(err)
		}
		if c.Name != "subscribe" {
			continue
		}
		got := map[string]string{}
		for _, o := range c.Options {
			got[o.Name] = fmt.Sprint(o.Type, o.Choices)
		}
		if got["mode"] != "3 [{digest} {instant}]" || got["mention"] != "8 []" {
			t.Errorf("mode %q, mention %q; want a string with choices digest and instant, and a role", got["mode"], got["mention"])
		}
		return
	}
	t.Fatal("/subscribe was not registered")
}

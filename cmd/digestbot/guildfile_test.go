package main

import (
	"cmp"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/guildfile"
	"github.com/digestbot/digestbot/store"
	"github.com/digestbot/digestbot/store/storetest"
)

// TestExportImportRoundTrip: a server's setup exported, imported into an
// empty store and exported again is the same document; importing it
// again changes nothing; into another server id it becomes that server's.
func TestExportImportRoundTrip(t *testing.T) { storetest.EachRealBackend(t, testExportImportRoundTrip) }

func testExportImportRoundTrip(t *testing.T, b *storetest.Backend) {
	ctx := context.Background()
	const guild = "1200000000000000001"
	from, st := cliEnv(t, b)
	fill(t, st, guild)
	dir := t.TempDir()
	first := filepath.Join(dir, "first.json")
	if _, errOut, code := runCLI(t, from, "export", "--guild", guild, "--out", first); code != 0 {
		t.Fatalf("export: exit %d: %s", code, errOut)
	}

	to, empty := cliEnv(t, b)
	out, errOut, code := runCLI(t, to, "import", first)
	if code != 0 {
		t.Fatalf("import: exit %d: %s", code, errOut)
	}
	if want := "created 2 feeds, 1 topic, 3 subscriptions, 2 schedules; skipped 0"; !strings.Contains(out, want) {
		t.Errorf("import said %q, want %q", out, want)
	}
	second, _, code := runCLI(t, to, "export", "--guild", guild)
	if code != 0 {
		t.Fatal("second export failed")
	}
	if a, b := withoutTime(t, readFile(t, first)), withoutTime(t, []byte(second)); a != b {
		t.Errorf("the second export differs from the first:\n%s\n---\n%s", a, b)
	}
	// Each imported channel has its next digest.
	if _, ok, err := empty.DueQueue("digests").When(ctx, guild+"/1300000000000000002"); err != nil || !ok {
		t.Errorf("an imported channel has no next digest (%v)", err)
	}

	// Again: everything is there already.
	out, _, _ = runCLI(t, to, "import", first)
	if !strings.Contains(out, "created 0 feeds, 0 topics, 0 subscriptions, 0 schedules; skipped 8") || !strings.Contains(out, "topic shipping: the server has it already") {
		t.Errorf("a second import said %q, want everything skipped", out)
	}

	// Into another server: the same setup, ids of that server.
	const other = "1200000000000000099"
	if _, errOut, code := runCLI(t, to, "import", "--guild", other, first); code != 0 {
		t.Fatalf("import --guild: %s", errOut)
	}
	third, _, _ := runCLI(t, to, "export", "--guild", other)
	if a, b := withoutTime(t, readFile(t, first)), strings.ReplaceAll(withoutTime(t, []byte(third)), other, guild); a != b {
		t.Errorf("the other server's export differs:\n%s\n---\n%s", a, b)
	}
	subs, _ := empty.Subscriptions(ctx, other, "")
	for _, s := range subs {
		if id := cmp.Or(s.Key, s.Query); s.Topic != "" && s.ID != digestbot.SubscriptionID(other, s.ChannelID, "", s.Topic) ||
			s.Topic == "" && s.ID != digestbot.SubscriptionID(other, s.ChannelID, id, "") {
			t.Errorf("subscription %s kept the id of the other server", s.Label())
		}
	}
}

// fill gives guild two feeds, a topic, three subscriptions (one with a
// spike rule) and two schedules.
func fill(t *testing.T, st *store.Store, guild string) {
	t.Helper()
	ctx := context.Background()
	at := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []string{"https://harbourwire.example/feed.xml", "https://coastal-ledger.example/rss"} {
		_, err := st.AddFeed(ctx, &digestbot.Feed{GuildID: guild, URL: u, Name: "Outlet", Interval: 30 * time.Minute, AddedBy: "1", AddedAt: at}, 0)
		must(err)
	}
	must(st.PutTopic(ctx, &digestbot.Topic{GuildID: guild, Name: "shipping", Query: `ferry OR "port strike"`, CreatedBy: "1", UpdatedAt: at}, 0))
	for _, s := range []*digestbot.Subscription{
		{ChannelID: "1300000000000000002", Query: `"facial recognition" -Calloway`},
		{ChannelID: "1300000000000000002", Topic: "shipping", Spike: &digestbot.Spike{Outlets: 5, Hours: 6}},
		{ChannelID: "1300000000000000003", Query: "lanternhall"},
	} {
		s.GuildID, s.CreatedBy, s.CreatedAt = guild, "1", at
		s.ID = digestbot.SubscriptionID(guild, s.ChannelID, s.Query, s.Topic)
		_, err := st.AddSubscription(ctx, s, 0)
		must(err)
	}
	must(st.SetSchedule(ctx, &digestbot.ChannelSchedule{GuildID: guild, Spec: "daily 08:00", TimeZone: "Europe/Oslo", UpdatedAt: at}))
	must(st.SetSchedule(ctx, &digestbot.ChannelSchedule{GuildID: guild, ChannelID: "1300000000000000003", Spec: "hourly", UpdatedAt: at}))
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// withoutTime is a document as JSON without its export time.
func withoutTime(t *testing.T, data []byte) string {
	t.Helper()
	doc, err := guildfile.Decode(data)
	if err != nil {
		t.Fatalf("%v:\n%s", err, data)
	}
	doc.ExportedAt = time.Time{}
	out, _ := json.MarshalIndent(doc, "", "  ")
	return string(out)
}

// TestImportChecksEverythingFirst: a document with problems names each of
// them and changes nothing.
func TestImportChecksEverythingFirst(t *testing.T) {
	storetest.EachRealBackend(t, testImportChecksEverythingFirst)
}

func testImportChecksEverythingFirst(t *testing.T, b *storetest.Backend) {
	envv, st := cliEnv(t, b)
	doc := `{"format":"digestbot-guild/1","guild_id":"77","exported_at":"2026-11-02T08:00:00Z",
"feeds":[{"url":"https://ok.example/feed"},{"url":"file:///etc/passwd"}],
"topics":[{"name":"Bad Name!","query":"x"}],
"subscriptions":[{"channel_id":"5","query":"\"unclosed"},{"channel_id":"5","topic":"nowhere"},{"channel_id":"5","query":"ok","spike":"1/6"}],
"schedules":[{"channel_id":"5","spec":"* * * * *"}]}`
	path := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := runCLI(t, envv, "import", path)
	if code == 0 {
		t.Fatal("a document with problems was imported")
	}
	for _, want := range []string{"has 6 problems; nothing was imported", "feeds[1] (file:///etc/passwd)", "topics[0] (Bad Name!)",
		"subscriptions[0] (channel 5): unclosed quote", "subscriptions[1] (channel 5): topic nowhere", "subscriptions[2] (channel 5): spike", "schedules[0] (channel 5)"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("error lacks %q:\n%s", want, errOut)
		}
	}
	ctx := context.Background()
	feeds, _ := st.Feeds(ctx, "77")
	subs, _ := st.Subscriptions(ctx, "77", "")
	if len(feeds)+len(subs) != 0 {
		t.Errorf("a refused import stored %d feeds and %d subscriptions", len(feeds), len(subs))
	}
	// An unknown field is refused rather than dropped.
	if err := os.WriteFile(path, []byte(`{"format":"digestbot-guild/1","guild_id":"77","feds":[]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errOut, _ := runCLI(t, envv, "import", path); !strings.Contains(errOut, `unknown field "feds"`) {
		t.Errorf("a misspelled field: %q", errOut)
	}
}

// A document written by hand may name the default mode, as the README
// does; an unknown mode is refused by name.
func TestImportTakesTheModeByName(t *testing.T) {
	storetest.EachRealBackend(t, func(t *testing.T, b *storetest.Backend) {
		envv, st := cliEnv(t, b)
		path := filepath.Join(t.TempDir(), "modes.json")
		write := func(doc string) {
			t.Helper()
			if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		write(`{"format":"digestbot-guild/1","guild_id":"78","subscriptions":[{"channel_id":"5","query":"ferry","mode":"bogus"}]}`)
		if _, errOut, code := runCLI(t, envv, "import", path); code == 0 || !strings.Contains(errOut, `mode "bogus" is not one of digest, instant`) {
			t.Errorf("an unknown mode: exit %d, %q", code, errOut)
		}
		write(`{"format":"digestbot-guild/1","guild_id":"78","subscriptions":[{"channel_id":"5","query":"ferry","mode":"digest"},{"channel_id":"5","query":"harbour","mode":"instant"}]}`)
		if out, errOut, code := runCLI(t, envv, "import", path); code != 0 {
			t.Fatalf("import: exit %d, %q %q", code, out, errOut)
		}
		subs, err := st.Subscriptions(context.Background(), "78", "")
		if err != nil {
			t.Fatal(err)
		}
		modes := map[string]string{}
		for _, s := range subs {
			modes[s.Query] = s.Mode
		}
		if len(modes) != 2 || modes["ferry"] != digestbot.ModeDigest || modes["harbour"] != digestbot.ModeInstant {
			t.Errorf("imported modes %v, want ferry as a digest, harbour instant", modes)
		}
	})
}

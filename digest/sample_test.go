package digest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/ingest"
)

// sampleDigest is the digest of the project's sample newsletter
// (samples/, the one the README's examples read), every story pending
// under one subscription, with a Harbour Wire feed report of the dock
// workers' story beside it.
func sampleDigest(t *testing.T) (*Digest, []*digestbot.Article) {
	t.Helper()
	arts, err := ingest.Load(context.Background(), "../samples/estuary-brief-2026-11-13.txt",
		ingest.LoadOptions{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	// The same report as the second outlet of the dock story's list, as
	// Harbour Wire's own feed carries it.
	feed := &digestbot.Article{
		ID: "harbourwire-deal", Source: "Harbour Wire", URL: "https://harbourwire.example/2026/11/12/rendal-deal",
		Title: "Rendal dock workers win a cap on night shifts", Text: "The port authority agreed to a cap.",
		Published: time.Date(2026, 11, 12, 9, 0, 0, 0, time.UTC),
	}
	byID := map[string]*digestbot.Article{feed.ID: feed}
	hit := digestbot.Hit{SubscriptionID: "s1", Label: "topic:estuary", Terms: []string{"Rendal", "Lanternhall"}}
	var items []digestbot.PendingItem
	for _, a := range append(arts, feed) {
		byID[a.ID] = a
		items = append(items, digestbot.PendingItem{GuildID: ref.GuildID, ChannelID: ref.ChannelID, ArticleID: a.ID, Hits: []digestbot.Hit{hit}})
	}
	return Compose(chInfo, items, byID, ComposeOptions{Now: now}), arts
}

// TestSampleNewsletterDigest: a newsletter story with a numbered source
// list shows every outlet with its link, date and name, exactly as a story
// merged from several outlets' reports does; a report of one of those
// outlets merges into it without showing that outlet twice.
func TestSampleNewsletterDigest(t *testing.T) {
	d, arts := sampleDigest(t)
	msgs := Render(d, DiscordLimits)
	checkLimits(t, msgs, DiscordLimits)
	checkLinksWhole(t, msgs, d)
	embeds := map[string]Embed{} // by title
	for _, m := range msgs {
		for _, e := range m.Embeds {
			embeds[e.Title] = e
		}
	}
	if d.Stories != len(arts) {
		t.Errorf("%d stories, want %d (the feed report merged into the dock story)", d.Stories, len(arts))
	}
	for _, a := range arts {
		e, ok := embeds[a.Title]
		if !ok {
			t.Errorf("no embed for %q", a.Title)
			continue
		}
		if e.URL != a.URL {
			t.Errorf("%q links %q, want its first outlet's %q", a.Title, e.URL, a.URL)
		}
		if len(a.Sources) == 0 {
			continue
		}
		for _, s := range a.Sources {
			line := "— [" + EscapeMarkdown(s.Name) + "](" + s.URL + ") · " + s.Published.Format(dateLayout)
			if strings.Count(e.Description, line) != 1 {
				t.Errorf("%q: description lacks the line %q (once):\n%s", a.Title, line, e.Description)
			}
		}
		if want := fmt.Sprintf("%s +%d more · ", a.Source, len(a.Sources)-1); !strings.HasPrefix(e.Footer, want) {
			t.Errorf("%q: footer %q, want it to start %q", a.Title, e.Footer, want)
		}
	}
	out, err := json.MarshalIndent(msgs, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "estuary-brief.golden", append(out, '\n'))
}

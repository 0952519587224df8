package main

import (
	"bytes"
	"context"
	"image"
	_ "image/png" // the chart is a PNG
	"strings"
	"testing"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/chart"
	"github.com/digestbot/digestbot/discordtest"
	"github.com/digestbot/digestbot/store/storetest"
)

// TestTrendEndToEnd asks /trend through Discord and checks that the reply
// carries a PNG chart of the expected size, counts only what the server
// may see, and names the outlets.
func TestTrendEndToEnd(t *testing.T) { storetest.EachBackend(t, testTrendEndToEnd) }

func testTrendEndToEnd(t *testing.T, b *storetest.Backend) {
	ch := startChat(t, b, nil)
	ctx := context.Background()
	now := time.Now().UTC()
	var arts []*digestbot.Article
	add := func(id, source string, ago time.Duration, guilds ...string) {
		at := now.Add(-ago)
		arts = append(arts, &digestbot.Article{ID: id, Title: "Ferry strike, day " + id, URL: "https://news.example/" + id,
			Source: source, Text: "The ferry strike goes on.", Published: at, Ingested: at, Guilds: guilds})
	}
	add("1", "Harbour Wire", 2*time.Hour)
	add("2", "Harbour Wire", 3*time.Hour)
	add("3", "Coastal Ledger", 5*time.Hour)
	add("4", "Coastal Ledger", 3*24*time.Hour)
	add("5", "Our Own Feed", 4*time.Hour, ch.dc.GuildID)
	add("6", "Someone Else's Feed", time.Hour, "999")
	outs, err := ch.st.PutArticles(ctx, arts)
	if err != nil {
		t.Fatal(err)
	}
	ch.c.onStored(ctx, arts, outs)

	rep := ch.command(t, "trend", discordtest.Str("query", "ferry strike"))
	if !rep.Ephemeral() {
		t.Errorf("the trend is shown to everyone; it concerns the caller")
	}
	for _, want := range []string{"4 stories in the last 24 h", "(5 in all)", "Top outlets: Coastal Ledger 2 · Harbour Wire 2 · Our Own Feed 1"} {
		if !strings.Contains(rep.Content, want) {
			t.Errorf("reply lacks %q:\n%s", want, rep.Content)
		}
	}
	if strings.Contains(rep.Content, "Someone Else") {
		t.Errorf("the trend counts another server's private article:\n%s", rep.Content)
	}
	if len(rep.Files) != 1 || rep.Files[0].Name != "trend.png" {
		t.Fatalf("reply files %+v, want trend.png", rep.Files)
	}
	img, format, err := image.Decode(bytes.NewReader(rep.Files[0].Data))
	if err != nil {
		t.Fatalf("the chart does not decode: %v", err)
	}
	if format != "png" || img.Bounds().Dx() != chart.Width || img.Bounds().Dy() != chart.Height {
		t.Errorf("chart is a %s of %v, want a png of %dx%d", format, img.Bounds(), chart.Width, chart.Height)
	}

	// Bad input gets a clear answer and no chart.
	for _, tt := range []struct{ since, want string }{
		{"90d", "further than the 30 days the archive keeps"},
		{"soon", "want a duration such as 24h or 7d"},
	} {
		rep := ch.command(t, "trend", discordtest.Str("query", "ferry"), discordtest.Str("since", tt.since))
		if !strings.Contains(rep.Content, tt.want) || len(rep.Files) != 0 {
			t.Errorf("since:%s answered %q with %d files, want %q and none", tt.since, rep.Content, len(rep.Files), tt.want)
		}
	}
}

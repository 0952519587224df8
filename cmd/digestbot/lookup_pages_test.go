package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/discordtest"
	"github.com/digestbot/digestbot/store/storetest"
)

// TestLookupPagesEndToEnd pages a /lookup through Discord: Next and
// Previous replace the message in place, and a page shows the same stories
// however many matching ones arrive between two clicks.
func TestLookupPagesEndToEnd(t *testing.T) { storetest.EachBackend(t, testLookupPagesEndToEnd) }

func testLookupPagesEndToEnd(t *testing.T, b *storetest.Backend) {
	ch := startChat(t, b, nil)
	ctx := context.Background()
	now := time.Now().UTC()
	ingest := func(ids []string, ago func(i int) time.Duration) {
		t.Helper()
		var arts []*digestbot.Article
		for i, id := range ids {
			at := now.Add(-ago(i))
			arts = append(arts, &digestbot.Article{ID: id, Title: "Ferry strike " + id, URL: "https://news.example/" + id,
				Source: "Harbour Wire", Text: "The ferry strike goes on.", Published: at, Ingested: now})
		}
		outs, err := ch.st.PutArticles(ctx, arts)
		if err != nil {
			t.Fatal(err)
		}
		ch.c.onStored(ctx, arts, outs)
	}
	var first []string
	for i := 1; i <= 16; i++ {
		first = append(first, fmt.Sprintf("r%02d", i))
	}
	// r01 newest: equally relevant stories rank newest first.
	ingest(first, func(i int) time.Duration { return time.Duration(i+1) * time.Hour })

	press := func(rep discordtest.Reply, prefix string) discordtest.Reply {
		t.Helper()
		for _, id := range rep.Buttons() {
			if strings.HasPrefix(id, prefix) {
				sent := ch.dc.SendInteraction(discordtest.Interaction{Type: discordtest.TypeComponent, CustomID: id})
				if cb := ch.dc.WaitCallback(sent); cb.Type != discordtest.CallbackDeferUpdate {
					t.Errorf("%s answered with callback type %d, want 6 (update the message)", prefix, cb.Type)
				}
				return ch.dc.WaitReply(sent)
			}
		}
		t.Fatalf("no %s button among %q:\n%s", prefix, rep.Buttons(), rep.Content)
		return discordtest.Reply{}
	}
	shown := func(rep discordtest.Reply) []string {
		var out []string
		for _, e := range rep.Embeds {
			out = append(out, strings.TrimPrefix(e.Title, "Ferry strike "))
		}
		return out
	}

	page1 := ch.command(t, "lookup", discordtest.Str("query", "ferry strike"), discordtest.Str("since", "1w"))
	if want := "16 articles match `ferry strike` (since 1w):\nPage 1 of 4"; page1.Content != want || !page1.Ephemeral() {
		t.Fatalf("page 1 %q (ephemeral %v), want %q", page1.Content, page1.Ephemeral(), want)
	}
	if got := shown(page1); !slices.Equal(got, first[:5]) {
		t.Errorf("page 1 shows %v, want %v", got, first[:5])
	}
	// Newer matching stories arrive before each of three clicks on Next:
	// a new search would rank them first and push every page back.
	arrive := func(batch string) {
		ingest([]string{batch + "1", batch + "2", batch + "3"}, func(i int) time.Duration { return time.Duration(i+1) * time.Minute })
	}
	arrive("a")
	page2 := press(page1, "lookup-next:")
	if got := shown(page2); page2.Via != "edit" || !strings.Contains(page2.Content, "Page 2 of 4") || !slices.Equal(got, first[5:10]) {
		t.Errorf("page 2 via %s: %q %v", page2.Via, page2.Content, got)
	}
	arrive("b")
	page3 := press(page2, "lookup-next:")
	if got := shown(page3); !strings.Contains(page3.Content, "Page 3 of 4") || !slices.Equal(got, first[10:15]) {
		t.Errorf("page 3 after new stories: %q %v", page3.Content, got)
	}
	arrive("n")
	page4 := press(page3, "lookup-next:")
	if got := shown(page4); !strings.Contains(page4.Content, "Page 4 of 4") || !slices.Equal(got, first[15:]) {
		t.Errorf("page 4 after new stories: %q %v", page4.Content, got)
	}
	back := press(page3, "lookup-prev:")
	if back.Content != page2.Content || !slices.Equal(shown(back), shown(page2)) {
		t.Errorf("Previous shows %q %v, not page 2 as it was (%v)", back.Content, shown(back), shown(page2))
	}
	if again := press(back, "lookup-prev:"); !slices.Equal(shown(again), shown(page1)) {
		t.Errorf("page 1 again shows %v, want %v", shown(again), shown(page1))
	}
	if again := press(back, "lookup-next:"); !slices.Equal(shown(again), shown(page3)) {
		t.Errorf("page 3 again shows %v, want %v", shown(again), shown(page3))
	}
	if !strings.Contains(page1.Content, "16 articles") || !strings.Contains(page4.Content, "16 articles") {
		t.Errorf("the count moved between pages: %q, %q", page1.Content, page4.Content)
	}

	// A new lookup finds the new stories, newest first.
	fresh := ch.command(t, "lookup", discordtest.Str("query", "ferry strike"), discordtest.Str("since", "1w"))
	if got := shown(fresh); !strings.HasPrefix(fresh.Content, "25 articles match") || !slices.Equal(got[:3], []string{"a1", "b1", "n1"}) {
		t.Errorf("a new lookup: %q %v", fresh.Content, got)
	}

	// Share posts the page on screen in the channel.
	share := ch.dc.SendInteraction(discordtest.Interaction{Type: discordtest.TypeComponent, CustomID: shareButton(t, page2)})
	rep := ch.dc.WaitReply(share)
	if rep.Ephemeral() || !strings.Contains(rep.Content, "(page 2 of 4)") || !slices.Equal(shown(rep), shown(page2)) {
		t.Errorf("share of page 2 (ephemeral %v): %q %v", rep.Ephemeral(), rep.Content, shown(rep))
	}

	// A date to come is refused.
	future := now.Add(72 * time.Hour).Format("2006-01-02")
	if rep := ch.command(t, "lookup", discordtest.Str("query", "ferry"), discordtest.Str("since", future)); !strings.Contains(rep.Content, "is in the future") || len(rep.Embeds) != 0 {
		t.Errorf("since %s: %q", future, rep.Content)
	}
}

func shareButton(t *testing.T, rep discordtest.Reply) string {
	t.Helper()
	for _, id := range rep.Buttons() {
		if strings.HasPrefix(id, "lookup-share:") {
			return id
		}
	}
	t.Fatalf("no share button among %q", rep.Buttons())
	return ""
}

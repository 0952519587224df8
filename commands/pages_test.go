package commands

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/digest"
	"github.com/digestbot/digestbot/store"
)

// pressAll follows the Next buttons from r to the last page and returns
// every page, checking each against Discord's limits and its buttons.
func pressAll(t *testing.T, s *Service, r *Response) []*Response {
	t.Helper()
	pages := []*Response{r}
	for i := 0; ; i++ {
		if n := digest.TextLen(r.Content); n > maxReplyContent {
			t.Fatalf("page %d has %d characters:\n%s", i+1, n, r.Content)
		}
		prev, next := PageTurns(r)
		if (prev != "") != (i > 0) {
			t.Errorf("page %d: Previous button %q", i+1, prev)
		}
		if next == "" {
			return pages
		}
		if i > 50 {
			t.Fatal("more than 50 pages")
		}
		r = mustHandle(t, s, req("button", "id", next))
		pages = append(pages, r)
	}
}

// TestSubscriptionsOf44ComeInPages: a channel with 44 subscriptions (long
// queries, as a user had) lists them all, in pages within Discord's
// limits, each subscription whole and once, with "N more" and buttons
// that any replica answers for 15 minutes, and no other server.
func TestSubscriptionsOf44ComeInPages(t *testing.T) {
	ctx := context.Background()
	s := newEmbeddedService(t)
	var want []string
	for i := range 44 {
		q := fmt.Sprintf(`"harbour authority %d" OR (ferry%d terminal) OR "port of call %d" -cruise -"press release" site:port%d.example`, i, i, i, i)
		mustHandle(t, s, req("subscribe", "query", q))
		want = append(want, fmt.Sprintf("ferry%d terminal", i))
	}
	first := mustHandle(t, s, req("subscriptions"))
	if !first.Ephemeral || !strings.HasPrefix(first.Content, "<#200> — 44 subscriptions:") {
		t.Fatalf("first page: %+v", first)
	}
	pages := pressAll(t, s, first)
	if len(pages) < 2 {
		t.Fatalf("44 long subscriptions fit one page of %d characters?", digest.TextLen(first.Content))
	}
	item := regexp.MustCompile("(?m)^• `[^`\n]+` — since 20 Mar 2026$")
	seen := map[string]int{}
	for i, p := range pages {
		if !strings.Contains(p.Content, "Digests every day at") || !strings.Contains(p.Content, "44 subscriptions") {
			t.Errorf("page %d lacks the heading or the schedule:\n%s", i+1, p.Content)
		}
		for _, line := range strings.Split(p.Content, "\n") {
			if strings.HasPrefix(line, "• ") && !item.MatchString(line) {
				t.Errorf("page %d: item cut or malformed: %q", i+1, line)
			}
		}
		for _, w := range want {
			seen[w] += strings.Count(p.Content, " "+w+" OR")
		}
	}
	for _, w := range want {
		if seen[w] != 1 {
			t.Errorf("%q shown %d times, want once", w, seen[w])
		}
	}
	if !strings.Contains(first.Content, "more_") || !regexp.MustCompile(`_Showing 1–\d+ of 44 · \d+ more_`).MatchString(first.Content) {
		t.Errorf("the first page does not say how many more:\n%s", first.Content)
	}
	last := pages[len(pages)-1]
	if strings.Contains(last.Content, " more_") {
		t.Errorf("the last page says more follow:\n%s", last.Content)
	}
	// Previous goes back.
	prev, _ := PageTurns(last)
	if back := mustHandle(t, s, req("button", "id", prev)); back.Content != pages[len(pages)-2].Content {
		t.Errorf("Previous from the last page shows another page:\n%s", back.Content)
	}

	_, next := PageTurns(first)
	replica := *s
	if r := mustHandle(t, &replica, req("button", "id", next)); r.Content != pages[1].Content {
		t.Errorf("another replica shows another second page")
	}
	foreign := req("button", "id", next)
	foreign.GuildID = "555"
	if _, err := s.Handle(ctx, foreign); digestbot.ErrorCode(err) != digestbot.ENOTFOUND {
		t.Errorf("another server turned our pages: %v", err)
	}
	if err := s.Store.(*store.Store).AdvanceClock(16 * time.Minute); err != nil {
		t.Fatal(err)
	}
	_, err := s.Handle(ctx, req("button", "id", next))
	if digestbot.ErrorCode(err) != digestbot.ENOTFOUND || !strings.Contains(digestbot.ErrorMessage(err), "expired") {
		t.Errorf("Next after 16 minutes: %v, want 'expired'", err)
	}
}

// TestFeedsAndTopicsListsComeInPages: /feeds list and /topics list page
// as /subscriptions does.
func TestFeedsAndTopicsListsComeInPages(t *testing.T) {
	s := newEmbeddedService(t)
	s.CheckFeed = func(context.Context, string) (FeedCheck, error) {
		return FeedCheck{Title: "Harbour Wire", Articles: 1}, nil
	}
	s.Config.Limits.FeedsPerGuild = 60
	for i := range 50 {
		mustHandle(t, s, req("feeds add", "url", fmt.Sprintf("https://news%d.example.org/%s/feed.xml", i, strings.Repeat("section/", 6)), "name", fmt.Sprintf("Harbour News %d", i)))
		mustHandle(t, s, req("topics create", "name", fmt.Sprintf("ports%d", i), "query", fmt.Sprintf(`"harbour authority %d" OR "port of call" OR ferries OR cranes OR dockers`, i)))
	}
	for _, cmd := range []string{"feeds list", "topics list"} {
		pages := pressAll(t, s, mustHandle(t, s, req(cmd)))
		if len(pages) < 2 {
			t.Errorf("/%s of 50 long entries is one page", cmd)
		}
		all := ""
		for _, p := range pages {
			all += p.Content + "\n"
		}
		for i := range 50 {
			name := fmt.Sprintf("**Harbour News %d** (", i)
			if cmd == "topics list" {
				name = fmt.Sprintf("**ports%d**", i)
			}
			if strings.Count(all, name) != 1 {
				t.Errorf("/%s shows %q %d times", cmd, name, strings.Count(all, name))
			}
		}
	}
}

// TestDigestPreviewShowsEveryMessage: a digest of three messages is
// previewed whole, one message a page.
func TestDigestPreviewShowsEveryMessage(t *testing.T) {
	s := newEmbeddedService(t)
	msgs := []digest.Message{
		{Content: "📰 **News digest**\n\n**ferry** — 12 stories", Embeds: []digest.Embed{{Title: "One", URL: "https://example.org/1"}}},
		{Content: "**ferry** (continued)", Embeds: []digest.Embed{{Title: "Two", URL: "https://example.org/2"}}},
		{Content: "**port** — 1 story", Embeds: []digest.Embed{{Title: "Three", URL: "https://example.org/3"}}},
	}
	s.Preview = func(context.Context, digestbot.ChannelRef) ([]digest.Message, error) { return msgs, nil }
	pages := pressAll(t, s, mustHandle(t, s, req("digest preview")))
	if len(pages) != 3 {
		t.Fatalf("%d pages, want 3", len(pages))
	}
	for i, p := range pages {
		if !p.Ephemeral || len(p.Embeds) != 1 || p.Embeds[0].Title != msgs[i].Embeds[0].Title ||
			!strings.Contains(p.Content, fmt.Sprintf("message %d of 3", i+1)) || !strings.Contains(p.Content, msgs[i].Content) {
			t.Errorf("page %d: %+v", i+1, p)
		}
	}
	s.Preview = func(context.Context, digestbot.ChannelRef) ([]digest.Message, error) { return msgs[:1], nil }
	one := mustHandle(t, s, req("digest preview"))
	if len(one.Buttons) != 0 || strings.Contains(one.Content, "of 1") {
		t.Errorf("a digest of one message: %+v", one)
	}
}

// TestListPagesNeverSplitAnItem: items stay whole, each once, in order;
// one item too long for a page is shortened rather than lost.
func TestListPagesNeverSplitAnItem(t *testing.T) {
	var items []string
	for i := range 30 {
		items = append(items, fmt.Sprintf("• item %d %s", i, strings.Repeat("x", 150)))
	}
	items = append(items, "• huge "+strings.Repeat("y", 3000))
	pages := listPages("Head", items, "Tail line")
	joined := ""
	for i, p := range pages {
		if n := digest.TextLen(p.Content); n > maxReplyContent {
			t.Errorf("page %d: %d characters", i+1, n)
		}
		if !strings.HasPrefix(p.Content, "Head\n") || !strings.HasSuffix(p.Content, "Tail line") {
			t.Errorf("page %d lacks the head or the tail", i+1)
		}
		joined += p.Content
	}
	for _, it := range items[:30] {
		if strings.Count(joined, it+"\n") != 1 {
			t.Errorf("item %.12q is not shown whole once", it)
		}
	}
	if !strings.Contains(joined, "• huge yyy") || !strings.Contains(pages[len(pages)-1].Content, "…") {
		t.Error("the oversized item is lost or not marked as shortened")
	}
}

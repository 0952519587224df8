package commands

import (
	"context"
	"strings"
	"testing"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/opml"
	"github.com/digestbot/digestbot/store/storetest"
)

// importRequest is /feeds import of data as the file f.opml.
func importRequest(data []byte, fetched *int) *Request {
	r := req("feeds import", "file", "f.opml")
	r.Attachments = map[string]*Attachment{"file": {Filename: "f.opml", Size: int64(len(data)),
		Fetch: func(_ context.Context, limit int64) ([]byte, error) {
			*fetched++
			return data, nil
		}}}
	return r
}

func TestFeedsImportChecksEveryFeedAndTheLimit(t *testing.T) {
	storetest.EachBackend(t, testFeedsImportChecksEveryFeedAndTheLimit)
}

func testFeedsImportChecksEveryFeedAndTheLimit(t *testing.T, b *storetest.Backend) {
	s := newService(t, b)
	s.Config.Limits.FeedsPerGuild = 3
	s.CheckFeed = func(_ context.Context, url string) (FeedCheck, error) {
		if strings.Contains(url, "intranet") {
			return FeedCheck{}, digestbot.Errorf(digestbot.EFORBIDDEN, "address 10.0.0.8 is internal (loopback, private, link-local or reserved)")
		}
		return FeedCheck{Articles: 4}, nil
	}
	ctx := context.Background()
	if _, err := s.Store.AddFeed(ctx, &digestbot.Feed{GuildID: "100", URL: "https://a.example/feed"}, 3); err != nil {
		t.Fatal(err)
	}
	file := func(urls ...string) []byte {
		var fs []opml.Feed
		for _, u := range urls {
			fs = append(fs, opml.Feed{URL: u})
		}
		return opml.Encode("t", time.Time{}, fs)
	}
	fetched := 0

	// Three new feeds where there is room for two: nothing is imported.
	_, err := s.Handle(ctx, importRequest(file("https://b.example/f", "https://c.example/f", "https://d.example/f"), &fetched))
	if digestbot.ErrorCode(err) != digestbot.ELIMIT || !strings.Contains(digestbot.ErrorMessage(err), "room for 2 more (the limit is 3). Nothing was imported") {
		t.Errorf("over the limit: %v", err)
	}
	if fs, _ := s.Store.Feeds(ctx, "100"); len(fs) != 1 {
		t.Errorf("%d feeds after a refused import, want 1", len(fs))
	}

	// A private address is refused as /feeds add refuses it; the rest goes in.
	resp, err := s.Handle(ctx, importRequest(file("https://intranet.example/f", "https://b.example/f", "https://a.example/feed"), &fetched))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"1 added, 1 already there, 1 refused", "❌ https://intranet.example/f: refused: address 10.0.0.8 is internal", "✅ https://b.example/f: added (4 articles now)"} {
		if !strings.Contains(resp.Content, want) {
			t.Errorf("reply lacks %q:\n%s", want, resp.Content)
		}
	}

	// A file larger than the limit is refused on its size, unread.
	before := fetched
	big := importRequest(nil, &fetched)
	big.Attachments["file"].Size = opml.MaxBytes + 1
	if _, err := s.Handle(ctx, big); digestbot.ErrorCode(err) != digestbot.ELIMIT || fetched != before {
		t.Errorf("a file over the limit: %v, downloaded %d times", err, fetched-before)
	}
	// Without a file.
	if _, err := s.Handle(ctx, req("feeds import", "file", "x.opml")); digestbot.ErrorCode(err) != digestbot.EINVALID {
		t.Errorf("no attachment: %v, want EINVALID", err)
	}
}

// TestLongImportReportComesInPages: a list too long for a message comes
// in pages, the first saying how many of each.
func TestLongImportReportComesInPages(t *testing.T) {
	var lines []importLine
	for i := range 40 {
		lines = append(lines, importLine{feed: opml.Feed{URL: "https://feeds.example/a/rather/long/path/to/feed/number/" + strings.Repeat("x", i)}, outcome: importAdded, count: -1})
	}
	head, items := importReply("big.opml", lines, "15 minutes")
	pages := listPages(head, items, "")
	if len(pages) < 2 || !strings.Contains(pages[0].Content, "40 added") {
		t.Fatalf("%d pages, the first %q", len(pages), pages[0].Content)
	}
	n := 0
	for _, p := range pages {
		if len([]rune(p.Content)) > maxReplyContent {
			t.Errorf("a page of %d characters", len([]rune(p.Content)))
		}
		n += strings.Count(p.Content, "✅")
	}
	if n != 40 {
		t.Errorf("the pages list %d feeds, want 40", n)
	}
}

package archive_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/archive"
	"github.com/digestbot/digestbot/store"
)

// Stories equal in relevance and in the hour they came out tie in score:
// the newest comes first, and at the same minute the lower id, on every
// page and in SearchUpTo alike.
func TestTiesNewestFirst(t *testing.T) {
	backends(t, store.Options{}, archive.Options{}, func(t *testing.T, b *backend) {
		hour := time.Now().UTC().Add(-3 * time.Hour).Truncate(time.Hour)
		story := func(id string, minute int) *digestbot.Article {
			return &digestbot.Article{ID: id, Title: "Tidal barrage approved", URL: "https://news.example/" + id, Source: "Wire",
				Text: "The tidal barrage was approved today.", Published: hour.Add(time.Duration(minute) * time.Minute), Ingested: time.Now()}
		}
		// Ids in the opposite order of the times, so an order by id alone shows.
		b.ingest(t, []*digestbot.Article{story("a-oldest", 5), story("b-middle", 30), story("z-middle", 30), story("c-newest", 50)})
		want := []string{"c-newest", "b-middle", "z-middle", "a-oldest"}

		all, err := b.idx.SearchUpTo(context.Background(), archive.Request{Query: "tidal barrage"}, 10)
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(all); !slices.Equal(got, want) {
			t.Errorf("SearchUpTo: %v, want %v", got, want)
		}
		// Only the page on screen (req.Limit) has its snippet made.
		two, err := b.idx.SearchUpTo(context.Background(), archive.Request{Query: "tidal barrage", Limit: 2}, 10)
		if err != nil {
			t.Fatal(err)
		}
		var snippets []string
		for _, r := range two.Results {
			snippets = append(snippets, r.Snippet)
		}
		if len(snippets) != 4 || !strings.Contains(snippets[1], "**tidal** **barrage**") || snippets[2] != "" || snippets[3] != "" {
			t.Errorf("snippets with a page of 2: %q", snippets)
		}
		if all.Results[0].Score != all.Results[3].Score {
			t.Fatalf("scores %v and %v differ: the stories do not tie", all.Results[0].Score, all.Results[3].Score)
		}

		var paged []string
		req := archive.Request{Query: "tidal barrage", Limit: 1}
		for i := 0; i < 10; i++ {
			p := b.search(t, req)
			paged = append(paged, ids(p)...)
			if p.Next == "" {
				break
			}
			req.Cursor = p.Next
		}
		if !slices.Equal(paged, want) {
			t.Errorf("one by one through the cursor: %v, want %v", paged, want)
		}

		for _, n := range []int{0, archive.MaxUpTo + 1} {
			if _, err := b.idx.SearchUpTo(context.Background(), archive.Request{Query: "tidal"}, n); digestbot.ErrorCode(err) != digestbot.EINVALID {
				t.Errorf("SearchUpTo %d: %v, want EINVALID", n, err)
			}
		}
	})
}

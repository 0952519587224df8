package archive_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/archive"
	"github.com/digestbot/digestbot/store"
	"github.com/digestbot/digestbot/store/storetest"
	"github.com/digestbot/digestbot/subscriptions"
)

// now is the reference time of the fixture searches.
var now = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func loadFixtures(t testing.TB) []*digestbot.Article {
	t.Helper()
	data, err := os.ReadFile("testdata/archive.json")
	if err != nil {
		t.Fatal(err)
	}
	var as []*digestbot.Article
	if err := json.Unmarshal(data, &as); err != nil {
		t.Fatal(err)
	}
	return as
}

// backend is a store and an index on it.
type backend struct {
	st  *store.Store
	idx *archive.Index
	// advance moves the clock of store and index (embedded store only).
	advance func(time.Duration)
}

// clock is a wall clock that tests can move forward.
type clock struct {
	mu   sync.Mutex
	skew time.Duration
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.skew)
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.skew += d
	c.mu.Unlock()
}

// backends runs f against a real redis-server, a real Redis Cluster and
// the embedded store.
func backends(t *testing.T, sopts store.Options, iopts archive.Options, f func(t *testing.T, b *backend)) {
	storetest.EachBackend(t, func(t *testing.T, sb *storetest.Backend) {
		st := sb.Open(t, sopts)
		o := iopts
		o.Articles = st
		if !sb.Embedded() {
			f(t, &backend{st: st, idx: archive.New(st.Client(), st.Prefix(), o)})
			return
		}
		c := &clock{}
		o.Now = c.now
		b := &backend{st: st, idx: archive.New(st.Client(), st.Prefix(), o)}
		b.advance = func(d time.Duration) {
			if err := st.AdvanceClock(d); err != nil {
				t.Fatal(err)
			}
			c.add(d)
		}
		f(t, b)
	})
}

func (b *backend) ingest(t testing.TB, as []*digestbot.Article) {
	t.Helper()
	ctx := context.Background()
	if _, err := b.st.PutArticles(ctx, as); err != nil {
		t.Fatal(err)
	}
	if err := b.idx.Add(ctx, as); err != nil {
		t.Fatal(err)
	}
}

func (b *backend) search(t testing.TB, req archive.Request) *archive.Page {
	t.Helper()
	if req.Now.IsZero() {
		req.Now = now
	}
	p, err := b.idx.Search(context.Background(), req)
	if err != nil {
		t.Fatalf("search %q: %v", req.Query, err)
	}
	return p
}

func ids(p *archive.Page) []string {
	out := []string{}
	for _, r := range p.Results {
		out = append(out, r.Article.ID)
	}
	return out
}

func TestSearchFixtures(t *testing.T) {
	backends(t, store.Options{}, archive.Options{}, func(t *testing.T, b *backend) {
		b.ingest(t, loadFixtures(t))
		tests := []struct {
			name string
			req  archive.Request
			want []string // exact result order
		}{
			{"title hit outranks body hit", archive.Request{Query: "lighthouse"}, []string{"keepers-strike", "old-ferry", "harbour-cranes"}},
			{"newer article wins a tie", archive.Request{Query: "glass"}, []string{"glass-new", "glass-old"}},
			{"exclusion", archive.Request{Query: "lighthouse -strike"}, []string{"old-ferry", "harbour-cranes"}},
			{"excluded phrase", archive.Request{Query: `lighthouse -"late ferry"`}, []string{"keepers-strike", "harbour-cranes"}},
			{"phrase needs adjacent words", archive.Request{Query: `"personal information"`}, []string{"privacy-bill"}},
			{"words need not be adjacent", archive.Request{Query: `personal information`}, []string{"census-delay", "privacy-bill"}},
			{"OR", archive.Request{Query: "cranes OR keepers"}, []string{"harbour-cranes", "keepers-strike"}},
			{"prefix", archive.Request{Query: "recycl*"}, []string{"recycled-paper", "glass-new", "glass-old"}},
			{"title scope", archive.Request{Query: "title:paper"}, []string{"recycled-paper"}},
			{"source scope", archive.Request{Query: `lighthouse source:"harbour times"`}, []string{"keepers-strike", "old-ferry"}},
			{"source filter", archive.Request{Query: "lighthouse", Source: "harbour times"}, []string{"keepers-strike", "old-ferry"}},
			{"source filter is whole words", archive.Request{Query: "lighthouse", Source: "harbour tim"}, []string{}},
			{"since", archive.Request{Query: "lighthouse", Since: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}, []string{"keepers-strike", "harbour-cranes"}},
			{"accents and case fold", archive.Request{Query: "LIGHTHOÜSE keepers"}, []string{"keepers-strike"}},
			{"Chinese word is a phrase", archive.Request{Query: "人脸识别"}, []string{"face-rules"}},
			{"Chinese characters anywhere", archive.Request{Query: "识别"}, []string{"face-rules", "face-split"}},
			{"Chinese source scope", archive.Request{Query: "source:新华网 北京"}, []string{"face-rules"}},
			{"tag scope", archive.Request{Query: "tag:科技"}, []string{"face-rules"}},
			{"no match", archive.Request{Query: "volcano"}, []string{}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				p := b.search(t, tt.req)
				if got := ids(p); !slices.Equal(got, tt.want) {
					t.Errorf("got %v, want %v", got, tt.want)
				}
				if p.Next != "" {
					t.Errorf("Next = %q on the only page", p.Next)
				}
				if p.Total != len(tt.want) {
					t.Errorf("Total = %d, want %d", p.Total, len(tt.want))
				}
			})
		}
	})
}

func TestSearchResultFields(t *testing.T) {
	backends(t, store.Options{}, archive.Options{}, func(t *testing.T, b *backend) {
		b.ingest(t, loadFixtures(t))
		p := b.search(t, archive.Request{Query: `"personal information" regulators`})
		if len(p.Results) != 1 {
			t.Fatalf("got %v", ids(p))
		}
		r := p.Results[0]
		if r.Article.Title != "Messaging app admits it stored user data abroad" || r.Article.Source != "Tech Dispatch" {
			t.Errorf("article = %+v", r.Article)
		}
		if !slices.Equal(r.Matched, []string{"personal information", "regulators"}) {
			t.Errorf("Matched = %q", r.Matched)
		}
		want := "The company said **personal information** of its users in the region had been kept on servers overseas, against its own promises."
		if r.Snippet != want {
			t.Errorf("Snippet = %q\nwant      %q", r.Snippet, want)
		}
		if r.Score <= 0 {
			t.Errorf("Score = %v", r.Score)
		}
	})
}

func TestSearchTopicsAndEmptyIndex(t *testing.T) {
	backends(t, store.Options{}, archive.Options{}, func(t *testing.T, b *backend) {
		if p := b.search(t, archive.Request{Query: "lighthouse"}); len(p.Results) != 0 || p.Total != 0 || p.Next != "" {
			t.Errorf("empty index: %+v", p)
		}
		b.ingest(t, loadFixtures(t))
		resolve := func(name string) (*subscriptions.Query, bool) {
			if name == "ports" {
				return subscriptions.MustParse("cranes OR ferry"), true
			}
			return nil, false
		}
		p := b.search(t, archive.Request{Query: "topic:ports -winter", ResolveTopic: resolve})
		if got := ids(p); !slices.Equal(got, []string{"harbour-cranes"}) {
			t.Errorf("topic:ports -winter = %v", got)
		}
		_, err := b.idx.Search(context.Background(), archive.Request{Query: "topic:nosuch", ResolveTopic: resolve})
		if code := digestbot.ErrorCode(err); code != digestbot.EINVALID && code != digestbot.ENOTFOUND {
			t.Errorf("unknown topic: %v (code %q)", err, code)
		}
	})
}

func TestSearchErrors(t *testing.T) {
	backends(t, store.Options{}, archive.Options{MaxExpansion: 5}, func(t *testing.T, b *backend) {
		b.ingest(t, loadFixtures(t))
		first := b.search(t, archive.Request{Query: "lighthouse", Limit: 1})
		tests := []struct {
			name string
			req  archive.Request
		}{
			{"unclosed quote", archive.Request{Query: `"red line`}},
			{"only exclusions", archive.Request{Query: "-lighthouse"}},
			{"empty", archive.Request{Query: ""}},
			{"limit too big", archive.Request{Query: "lighthouse", Limit: 101}},
			{"garbage cursor", archive.Request{Query: "lighthouse", Cursor: "nonsense"}},
			{"cursor of another query", archive.Request{Query: "keepers", Cursor: first.Next}},
			{"topic without resolver", archive.Request{Query: "topic:ports"}},
			{"prefix too broad", archive.Request{Query: "t*"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := b.idx.Search(context.Background(), tt.req)
				if code := digestbot.ErrorCode(err); code != digestbot.EINVALID {
					t.Fatalf("error %v (code %q), want EINVALID", err, code)
				}
			})
		}
	})
}

func TestPagingReturnsEveryResultOnce(t *testing.T) {
	backends(t, store.Options{}, archive.Options{}, func(t *testing.T, b *backend) {
		var as []*digestbot.Article
		for i := range 23 {
			// Every third article is a copy of its neighbour but for the id,
			// so equal scores straddle page boundaries.
			body := fmt.Sprintf("Report %d on the windmill survey. ", i/3)
			for range i % 5 {
				body += "The windmill needs repair. "
			}
			as = append(as, &digestbot.Article{
				ID: fmt.Sprintf("mill-%02d", i), Title: fmt.Sprintf("Survey note %d", i/3), Source: "Mill Weekly",
				Published: now.Add(-time.Duration(i/3) * time.Hour), Text: body,
			})
		}
		b.ingest(t, as)
		for _, limit := range []int{1, 4, 5, 23, 100} {
			t.Run(fmt.Sprint("limit ", limit), func(t *testing.T) {
				seen := map[string]int{}
				var order []string
				cur := ""
				for pages := 0; ; pages++ {
					if pages > 30 {
						t.Fatal("paging does not end")
					}
					p := b.search(t, archive.Request{Query: "windmill", Limit: limit, Cursor: cur})
					if p.Total != 23 {
						t.Errorf("Total = %d", p.Total)
					}
					if len(p.Results) > limit || (p.Next != "" && len(p.Results) != limit) {
						t.Fatalf("page of %d with Next %q", len(p.Results), p.Next)
					}
					for _, id := range ids(p) {
						seen[id]++
						order = append(order, id)
					}
					if p.Next == "" {
						break
					}
					cur = p.Next
				}
				for _, a := range as {
					if seen[a.ID] != 1 {
						t.Errorf("%s returned %d times", a.ID, seen[a.ID])
					}
				}
				all := b.search(t, archive.Request{Query: "windmill", Limit: 100})
				if !slices.Equal(order, ids(all)) {
					t.Errorf("pages give %v, one page gives %v", order, ids(all))
				}
			})
		}
	})
}

func TestAddIsIdempotentAndReindexesChanges(t *testing.T) {
	backends(t, store.Options{}, archive.Options{}, func(t *testing.T, b *backend) {
		ctx := context.Background()
		as := loadFixtures(t)
		b.ingest(t, as)
		b.ingest(t, as) // again: nothing changes
		st, err := b.idx.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Articles != len(as) {
			t.Errorf("Articles = %d after adding twice, want %d", st.Articles, len(as))
		}
		if got := ids(b.search(t, archive.Request{Query: "lighthouse"})); len(got) != 3 {
			t.Errorf("lighthouse after adding twice: %v", got)
		}

		changed := *as[1]
		changed.Text = "Keepers called off the planned stoppage after a late offer on wages."
		b.ingest(t, []*digestbot.Article{&changed})
		if got := ids(b.search(t, archive.Request{Query: "stoppage"})); !slices.Equal(got, []string{"keepers-strike"}) {
			t.Errorf("new text: %v", got)
		}
		if got := ids(b.search(t, archive.Request{Query: "margin"})); len(got) != 0 {
			t.Errorf("old text still found: %v", got)
		}
		if st, _ := b.idx.Stats(ctx); st.Articles != len(as) {
			t.Errorf("Articles = %d after an update, want %d", st.Articles, len(as))
		}

		if err := b.idx.Remove(ctx, []string{"keepers-strike", "no-such-article"}); err != nil {
			t.Fatal(err)
		}
		if got := ids(b.search(t, archive.Request{Query: "lighthouse"})); !slices.Equal(got, []string{"old-ferry", "harbour-cranes"}) {
			t.Errorf("after Remove: %v", got)
		}
	})
}

func TestNoOrphansAfterExpiry(t *testing.T) {
	const retention = 3 * time.Second
	backends(t, store.Options{Retention: retention}, archive.Options{Retention: retention, Bucket: time.Second},
		func(t *testing.T, b *backend) {
			ctx := context.Background()
			b.ingest(t, loadFixtures(t))
			before, err := b.idx.Stats(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if before.Articles != 10 || before.Keys == 0 {
				t.Fatalf("before expiry: %+v", before)
			}
			if b.advance != nil {
				b.advance(retention + 3*time.Second)
			} else {
				time.Sleep(retention + 2500*time.Millisecond)
			}
			deadline := time.Now().Add(5 * time.Second)
			for {
				after, err := b.idx.Stats(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if after.Keys == 0 && after.Articles == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("after expiry the index still holds %+v", after)
				}
				time.Sleep(100 * time.Millisecond)
			}
			if got := ids(b.search(t, archive.Request{Query: "lighthouse"})); len(got) != 0 {
				t.Errorf("expired articles found: %v", got)
			}
		})
}

func TestRebuildEqualsIncremental(t *testing.T) {
	backends(t, store.Options{}, archive.Options{}, func(t *testing.T, b *backend) {
		ctx := context.Background()
		as := loadFixtures(t)
		// Incremental: in three batches, with an update on the way.
		b.ingest(t, as[:4])
		b.ingest(t, as[4:7])
		b.ingest(t, as[7:])
		queries := []string{"lighthouse", "glass", `"personal information"`, "recycl*", "识别", "personal information", "source:valley"}
		before := map[string][]string{}
		for _, q := range queries {
			before[q] = ids(b.search(t, archive.Request{Query: q}))
		}
		n, err := b.idx.Rebuild(ctx, b.st)
		if err != nil {
			t.Fatal(err)
		}
		if n != len(as) {
			t.Errorf("Rebuild indexed %d, want %d", n, len(as))
		}
		for _, q := range queries {
			if got := ids(b.search(t, archive.Request{Query: q})); !slices.Equal(got, before[q]) {
				t.Errorf("%s: rebuilt %v, incremental %v", q, got, before[q])
			}
		}
		if st, _ := b.idx.Stats(ctx); st.Articles != len(as) {
			t.Errorf("Articles = %d after Rebuild", st.Articles)
		}
	})
}

func TestConcurrentAddsIndexOnce(t *testing.T) {
	backends(t, store.Options{}, archive.Options{}, func(t *testing.T, b *backend) {
		ctx := context.Background()
		as := loadFixtures(t)
		if _, err := b.st.PutArticles(ctx, as); err != nil {
			t.Fatal(err)
		}
		// Two replicas index the same batch at once (the poller and the
		// push API, say): each article must still be indexed once.
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- b.idx.Add(ctx, as)
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if st, _ := b.idx.Stats(ctx); st.Articles != len(as) {
			t.Errorf("Articles = %d, want %d", st.Articles, len(as))
		}
		if got := ids(b.search(t, archive.Request{Query: "lighthouse"})); len(got) != 3 {
			t.Errorf("lighthouse: %v", got)
		}
	})
}

// failingLog reads the first batch of the log, then fails.
type failingLog struct{ archive.LogReader }

func (failingLog) ArticlesAfter(context.Context, string, int) ([]digestbot.LogEntry, error) {
	return nil, digestbot.Errorf(digestbot.EUNAVAILABLE, "redis went away")
}

// TestRebuildReportsAFailedRead: a rebuild cut off by a failed read says
// so; it never reports success on a partial index.
func TestRebuildReportsAFailedRead(t *testing.T) {
	backends(t, store.Options{}, archive.Options{}, func(t *testing.T, b *backend) {
		b.ingest(t, loadFixtures(t)[:3])
		if _, err := b.idx.Rebuild(context.Background(), failingLog{b.st}); err == nil || !strings.Contains(err.Error(), "redis went away") {
			t.Errorf("Rebuild after a failed log read = %v, want that error", err)
		}
	})
}

// TestSearchFindsEveryOutlet: a story that several outlets carried is found
// by the name of any of them, with source: and with the source filter, but
// an outlet's name is not a word of the story; a change to the outlets
// alone is indexed anew.
func TestSearchFindsEveryOutlet(t *testing.T) {
	backends(t, store.Options{}, archive.Options{}, func(t *testing.T, b *backend) {
		day := time.Date(2026, 11, 12, 0, 0, 0, 0, time.UTC)
		a := &digestbot.Article{
			ID: "vellmar", Title: "Vellmar University closes its institute", URL: "https://vellmar-courier.example/a",
			Source: "Vellmar Courier", Published: day, Ingested: day,
			Text: "The university senate voted to close the institute at the end of the year.",
			Sources: []digestbot.Source{
				{Name: "Vellmar Courier", URL: "https://vellmar-courier.example/a", Published: day},
				{Name: "Northsound Radio", URL: "https://northsound-radio.example/b", Published: day.Add(-24 * time.Hour)},
			},
		}
		b.ingest(t, append(loadFixtures(t), a))
		for _, tt := range []struct {
			name string
			req  archive.Request
			want []string
		}{
			{"second outlet, scoped", archive.Request{Query: "institute source:northsound"}, []string{"vellmar"}},
			{"second outlet, phrase", archive.Request{Query: `source:"northsound radio"`}, []string{"vellmar"}},
			{"second outlet, filter", archive.Request{Query: "institute", Source: "Northsound Radio"}, []string{"vellmar"}},
			{"first outlet, filter", archive.Request{Query: "institute", Source: "vellmar courier"}, []string{"vellmar"}},
			{"not a body word", archive.Request{Query: "northsound"}, []string{}},
			{"a phrase does not span two outlets", archive.Request{Query: `source:"courier northsound"`}, []string{}},
			{"the filter does not span two outlets", archive.Request{Query: "institute", Source: "courier northsound"}, []string{}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				if got := ids(b.search(t, tt.req)); !slices.Equal(got, tt.want) {
					t.Errorf("got %v, want %v", got, tt.want)
				}
			})
		}

		changed := *a
		changed.Sources = []digestbot.Source{a.Sources[0], {Name: "Westfjord Radio", URL: "https://westfjord.example/c"}}
		b.ingest(t, []*digestbot.Article{&changed})
		if got := ids(b.search(t, archive.Request{Query: "source:westfjord"})); !slices.Equal(got, []string{"vellmar"}) {
			t.Errorf("new outlet: %v", got)
		}
		if got := ids(b.search(t, archive.Request{Query: "source:northsound"})); len(got) != 0 {
			t.Errorf("old outlet still found: %v", got)
		}
		stored, err := b.st.GetArticles(context.Background(), []string{"vellmar"})
		if err != nil {
			t.Fatal(err)
		}
		if got := stored[0].Sources; len(got) != 2 || got[1].Name != "Westfjord Radio" {
			t.Errorf("stored sources %+v", got)
		}
	})
}

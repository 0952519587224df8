package archive_test

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/archive"
	"github.com/digestbot/digestbot/store"
)

// Servers of the visibility tests; ids are numbers, as Discord's are.
const (
	guildA = "1001"
	guildB = "2002"
	guildC = "3003"
)

// scopeArticles are ten public articles with "harbour" in the title, three
// private to guild A and one shared by A and B with it only in the text, so
// the public ones rank first.
func scopeArticles() []*digestbot.Article {
	var as []*digestbot.Article
	for i := range 10 {
		as = append(as, &digestbot.Article{
			ID: fmt.Sprintf("public-%02d", i), Title: fmt.Sprintf("Harbour report %d", i), Source: "Coastal Ledger",
			Published: now.Add(-time.Duration(i) * time.Hour),
			Text:      fmt.Sprintf("The harbour master published note %d on the tides.", i),
		})
	}
	for i := range 3 {
		as = append(as, &digestbot.Article{
			ID: fmt.Sprintf("a-only-%d", i), Title: fmt.Sprintf("Club minutes %d", i), Source: "Club Newsletter",
			Published: now.Add(-time.Duration(i) * time.Hour),
			Text:      "The rowing club met by the harbour to plan the winter regatta.",
			Guilds:    []string{guildA},
		})
	}
	as = append(as, &digestbot.Article{
		ID: "a-and-b", Title: "Joint bulletin", Source: "Club Newsletter", Published: now,
		Text:   "Both clubs share the harbour slipway this season.",
		Guilds: []string{guildB, guildA}, // any order: the set is what counts
	})
	return as
}

func TestSearchKeepsPrivateArticlesToTheirServers(t *testing.T) {
	backends(t, store.Options{}, archive.Options{}, func(t *testing.T, b *backend) {
		b.ingest(t, scopeArticles())
		all := func(guild string) *archive.Page {
			return b.search(t, archive.Request{Query: "harbour", Guild: guild, Limit: archive.MaxLimit})
		}
		public := 10
		tests := []struct {
			guild string
			total int
			see   []string
			hide  []string
		}{
			{"", public + 4, []string{"public-00", "a-only-0", "a-and-b"}, nil},
			{guildA, public + 4, []string{"public-00", "a-only-0", "a-only-2", "a-and-b"}, nil},
			{guildB, public + 1, []string{"public-00", "a-and-b"}, []string{"a-only-0", "a-only-1", "a-only-2"}},
			{guildC, public, []string{"public-00", "public-09"}, []string{"a-only-0", "a-and-b"}},
		}
		for _, tt := range tests {
			t.Run("guild "+tt.guild, func(t *testing.T) {
				p := all(tt.guild)
				got := ids(p)
				for _, id := range tt.see {
					if !slices.Contains(got, id) {
						t.Errorf("%s not found: %v", id, got)
					}
				}
				for _, id := range tt.hide {
					if slices.Contains(got, id) {
						t.Errorf("%s found: %v", id, got)
					}
				}
				if p.Total != tt.total || len(got) != tt.total {
					t.Errorf("Total = %d, %d results; want %d", p.Total, len(got), tt.total)
				}
				// A short page verifies only the best few; Total must
				// still leave out what the server may not see.
				short := b.search(t, archive.Request{Query: "harbour", Guild: tt.guild, Limit: 1})
				if short.Total != tt.total {
					t.Errorf("Total of a one-result page = %d, want %d", short.Total, tt.total)
				}
			})
		}
	})
}

func TestSearchFilterLeavesScoresAlone(t *testing.T) {
	backends(t, store.Options{}, archive.Options{}, func(t *testing.T, b *backend) {
		b.ingest(t, scopeArticles())
		for _, q := range []string{"harbour", "harbour OR club", "harbour -tides", "harb*", `"harbour master"`} {
			scores := func(guild string) map[string]float64 {
				m := map[string]float64{}
				for _, r := range b.search(t, archive.Request{Query: q, Guild: guild, Limit: archive.MaxLimit}).Results {
					m[r.Article.ID] = r.Score
				}
				return m
			}
			operator := scores("")
			// A server ranks what it sees exactly as the operator does:
			// public articles (guild C sees only those) and its own.
			for _, guild := range []string{guildC, guildA} {
				got := scores(guild)
				for id, s := range got {
					if o, ok := operator[id]; !ok || math.Float64bits(o) != math.Float64bits(s) {
						t.Errorf("%s: %s scores %v for guild %s, %v for the operator", q, id, s, guild, o)
					}
				}
				for id := range operator {
					if _, ok := got[id]; !ok && strings.HasPrefix(id, "public") {
						t.Errorf("%s: public %s not found for guild %s", q, id, guild)
					}
				}
			}
		}
	})
}

func TestArticleMadePublicIsReindexed(t *testing.T) {
	backends(t, store.Options{}, archive.Options{}, func(t *testing.T, b *backend) {
		as := scopeArticles()
		b.ingest(t, as)
		q := archive.Request{Query: "regatta", Guild: guildB, Limit: archive.MaxLimit}
		if got := ids(b.search(t, q)); len(got) != 0 {
			t.Fatalf("B finds A's articles: %v", got)
		}
		// A public feed brings the same article in: it is public now, with
		// the same content, so only its servers tell the index it changed.
		pub := *as[10]
		pub.Guilds = nil
		b.ingest(t, []*digestbot.Article{&pub})
		if got := ids(b.search(t, q)); !slices.Equal(got, []string{pub.ID}) {
			t.Errorf("B after %s became public: %v", pub.ID, got)
		}
		if st, _ := b.idx.Stats(context.Background()); st.Articles != len(as) {
			t.Errorf("Articles = %d after the re-index, want %d", st.Articles, len(as))
		}
	})
}

func TestVisibilityTermsAreNotSearchable(t *testing.T) {
	backends(t, store.Options{}, archive.Options{}, func(t *testing.T, b *backend) {
		b.ingest(t, scopeArticles())
		// None of the articles has a word starting with v or priv, or the
		// server ids as words; the private ones carry the index terms
		// "\x01v:private" and "\x01v:1001".
		for _, q := range []string{"v*", "private", "priv*", "1001", "100*", "source:v*", "tag:v*", "title:v*"} {
			for _, guild := range []string{"", guildA} {
				p, err := b.idx.Search(context.Background(), archive.Request{Query: q, Guild: guild, Now: now})
				if err != nil {
					t.Errorf("%s for %q: %v", q, guild, err)
					continue
				}
				if got := ids(p); len(got) != 0 || p.Total != 0 {
					t.Errorf("%s for %q matched %v (Total %d)", q, guild, got, p.Total)
				}
			}
		}
	})
}

func TestCursorIsTheServersOwn(t *testing.T) {
	backends(t, store.Options{}, archive.Options{}, func(t *testing.T, b *backend) {
		b.ingest(t, scopeArticles())
		first := b.search(t, archive.Request{Query: "harbour", Guild: guildA, Limit: 2})
		if first.Next == "" {
			t.Fatal("no second page")
		}
		b.search(t, archive.Request{Query: "harbour", Guild: guildA, Limit: 2, Cursor: first.Next})
		for _, guild := range []string{guildB, ""} {
			_, err := b.idx.Search(context.Background(), archive.Request{Query: "harbour", Guild: guild, Limit: 2, Cursor: first.Next})
			if code := digestbot.ErrorCode(err); code != digestbot.EINVALID {
				t.Errorf("A's cursor for %q: %v (code %q), want EINVALID", guild, err, code)
			}
		}
		// "private" would be the marker every private article carries.
		_, err := b.idx.Search(context.Background(), archive.Request{Query: "harbour", Guild: "private"})
		if code := digestbot.ErrorCode(err); code != digestbot.EINVALID {
			t.Errorf("guild private: %v (code %q), want EINVALID", err, code)
		}
	})
}

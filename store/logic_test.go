package store

import (
	"strings"
	"testing"

	"github.com/digestbot/digestbot"
)

func TestMergeHits(t *testing.T) {
	h := func(ids ...string) []digestbot.Hit {
		var out []digestbot.Hit
		for _, id := range ids {
			out = append(out, digestbot.Hit{SubscriptionID: id})
		}
		return out
	}
	tests := []struct {
		name        string
		hits, add   []digestbot.Hit
		want        []string
		wantChanged bool
	}{
		{"new subscription", h("s1"), h("s2"), []string{"s1", "s2"}, true},
		{"same subscription again", h("s1", "s2"), h("s2"), []string{"s1", "s2"}, false},
		{"onto nothing", nil, h("s1"), []string{"s1"}, true},
		{"nothing to add", h("s1"), nil, []string{"s1"}, false},
		{"duplicates within add", nil, h("s1", "s1"), []string{"s1"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, changed := mergeHits(tc.hits, tc.add)
			var ids []string
			for _, x := range got {
				ids = append(ids, x.SubscriptionID)
			}
			if strings.Join(ids, ",") != strings.Join(tc.want, ",") || changed != tc.wantChanged {
				t.Fatalf("mergeHits = %v changed=%v; want %v changed=%v", ids, changed, tc.want, tc.wantChanged)
			}
		})
	}
}

func TestContentChanged(t *testing.T) {
	base := digestbot.Article{ID: "x", Title: "T", Text: "body", Summary: "s", Tags: []string{"a"}, Source: "S"}
	tests := []struct {
		name   string
		change func(a *digestbot.Article)
		want   bool
	}{
		{"identical", func(*digestbot.Article) {}, false},
		{"title", func(a *digestbot.Article) { a.Title = "T2" }, true},
		{"text", func(a *digestbot.Article) { a.Text = "body2" }, true},
		{"summary", func(a *digestbot.Article) { a.Summary = "s2" }, true},
		{"tags", func(a *digestbot.Article) { a.Tags = []string{"a", "b"} }, true},
		{"source only is not content", func(a *digestbot.Article) { a.Source = "Other" }, false},
		{"text moved into the title", func(a *digestbot.Article) { a.Title, a.Text = "Tbody", "" }, true},
		{"tag split", func(a *digestbot.Article) { a.Tags = []string{"", "a"} }, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := base
			tc.change(&n)
			if got := contentHash(&base) != contentHash(&n); got != tc.want {
				t.Fatalf("content changed = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestNextStreamID(t *testing.T) {
	tests := []struct{ in, want, err string }{
		{"1700000000000-0", "1700000000000-1", ""},
		{"5-18446744073709551615", "6-0", ""},
		{"abc", "", "not valid"},
		{"-1-0", "", "not valid"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := nextStreamID(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("nextStreamID(%q) = %q, %v; want an error", tc.in, got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("nextStreamID(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestCheckID(t *testing.T) {
	for _, id := range []string{"", "a{b", "a}b", "a:b", "a b", strings.Repeat("9", 101)} {
		if err := checkID("guild", id); digestbot.ErrorCode(err) != digestbot.EINVALID {
			t.Errorf("checkID(%q) = %v; want EINVALID", id, err)
		}
	}
	if err := checkID("guild", "123456789012345678"); err != nil {
		t.Errorf("a snowflake id is refused: %v", err)
	}
}

func TestOpenRetryWaitsLongerUpToHalfAMinute(t *testing.T) {
	p := openBackoff
	p.Jitter = -1
	tests := []struct {
		attempt int
		want    string
	}{
		{1, "500ms"}, {2, "1s"}, {3, "2s"}, {6, "16s"}, {7, "30s"}, {1000, "30s"},
	}
	for _, tc := range tests {
		if got := p.Delay(tc.attempt).String(); got != tc.want {
			t.Errorf("Delay(%d) = %s, want %s", tc.attempt, got, tc.want)
		}
	}
}

func TestCountWordsRight(t *testing.T) {
	for n, want := range map[int]string{0: "0 feeds", 1: "1 feed", 2: "2 feeds"} {
		if got := count(n, "feed", "feeds"); got != want {
			t.Errorf("count(%d) = %q, want %q", n, got, want)
		}
	}
}

package digestbot

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestArticleSources: the JSON form lists every outlet, the first being the
// article's own, also when it has one; Validate refuses sources that do not
// start with the article's own outlet or break the limits.
func TestArticleSources(t *testing.T) {
	day := time.Date(2026, 11, 12, 0, 0, 0, 0, time.UTC)
	single := &Article{ID: "a", Title: "T", URL: "https://one.example/a", Source: "One", Published: day}
	if got, want := single.JSON(nil).Sources, []SourceJSON{{Name: "One", URL: "https://one.example/a", Published: "2026-11-12T00:00:00Z"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("single outlet: sources %+v, want %+v", got, want)
	}
	if got := (&Article{ID: "b", Title: "T"}).JSON(nil).Sources; got == nil || len(got) != 0 {
		t.Errorf("no outlet: sources %#v, want []", got)
	}
	multi := *single
	multi.Sources = []Source{{Name: "One", URL: "https://one.example/a", Published: day}, {Name: "Two", URL: "https://two.example/b"}}
	if err := multi.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := multi.JSON(nil).Sources; len(got) != 2 || got[1] != (SourceJSON{Name: "Two", URL: "https://two.example/b"}) {
		t.Errorf("two outlets: sources %+v", got)
	}
	if got := multi.SourceNames(); !reflect.DeepEqual(got, []string{"One", "Two"}) {
		t.Errorf("SourceNames = %q", got)
	}

	for _, tc := range []struct {
		name    string
		sources []Source
		want    string
	}{
		{"first is another outlet", []Source{{Name: "Two", URL: "https://two.example/b"}, {Name: "One"}}, "is not its own source"},
		{"first has another date", []Source{{Name: "One", URL: "https://one.example/a"}, {Name: "Two"}}, "is not its own source"},
		{"an empty outlet", []Source{multi.Sources[0], {Name: " "}}, "source 2 has neither a name nor a url"},
		{"a link that is not http", []Source{multi.Sources[0], {Name: "Two", URL: "ftp://two.example/"}}, `the url "ftp://two.example/" of source 2 is not http or https`},
		{"too many", append([]Source{multi.Sources[0]}, make([]Source, MaxSources)...), "21 sources, the limit is 20"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := *single
			a.Sources = tc.sources
			err := a.Validate()
			if ErrorCode(err) != EINVALID || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate = %v, want EINVALID with %q", err, tc.want)
			}
		})
	}
}

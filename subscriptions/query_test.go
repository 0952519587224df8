package subscriptions

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	digestbot "github.com/digestbot/digestbot"
)

func TestParseCanonical(t *testing.T) {
	tests := []struct {
		in, want, key string
	}{
		{"Confucius Institute", "Confucius Institute", "confucius institute"},
		{"  a   AND  b ", "a b", "a b"},
		{`"facial recognition" -BMW`, `"facial recognition" -BMW`, `"facial recognition" -bmw`},
		{"“facial  recognition”", `"facial recognition"`, `"facial recognition"`},
		{"a b OR c -d", "a b OR c -d", "a b OR c -d"},
		{"(a OR b) c", "(a OR b) c", "(a OR b) c"},
		{"((a))", "a", "a"},
		{"-(a b) c", "-(a b) c", "-(a b) c"},
		{"a OR (b OR c)", "a OR b OR c", "a OR b OR c"},
		{"surveil*", "surveil*", "surveil*"},
		{"TITLE:Norway", "title:Norway", "title:norway"},
		{"title:a title:b", "title:(a b)", "title:(a b)"},
		{`source:"Radio Free Asia" x`, `source:"Radio Free Asia" x`, `source:"radio free asia" x`},
		{"title:(a OR b) c", "title:(a OR b) c", "title:(a OR b) c"},
		{"tag:tech -tag:(ads OR spam)", "tag:(tech -(ads OR spam))", "tag:(tech -(ads OR spam))"},
		{"China-centric", "China-centric", `"china centric"`},
		{"人脸识别", "人脸识别", `"人 脸 识 别"`},
		{"Bøckman’s", "Bøckman’s", "bockman"},
		{"topic:Surveillance -bmw", "topic:surveillance -bmw", "topic:surveillance -bmw"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			q, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if got := q.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			if got := q.Key(); got != tt.key {
				t.Errorf("Key() = %q, want %q", got, tt.key)
			}
			back, err := Parse(q.String())
			if err != nil {
				t.Fatalf("canonical %q does not parse: %v", q.String(), err)
			}
			if !back.Equal(q) || back.String() != q.String() {
				t.Errorf("canonical %q parses to %q", q.String(), back.String())
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "query is empty"},
		{"   ", "query is empty"},
		{`china "red line`, "unclosed quote at 7"},
		{"(a OR b", "unclosed parenthesis at 1"},
		{"a)", "unexpected ) at 2"},
		{"()", "empty parentheses at 1"},
		{"OR a", "OR needs a term before it at 1"},
		{"a OR", "OR needs a term after it at 3"},
		{"a AND", "AND needs a term after it at 3"},
		{"a - b", "- must be followed directly by the word, phrase or group to exclude at 3"},
		{"-bmw", "a query cannot be made only of exclusions; add a word or phrase to look for"},
		{"-a -(b c)", "a query cannot be made only of exclusions; add a word or phrase to look for"},
		{"a OR -b", "every OR alternative needs a word or phrase that is not excluded"},
		{"title: x", "a field scope needs a word, phrase or group right after it at 7"},
		{"title:source:x", "source: inside title: is not allowed at 7"},
		{"title:topic:x", "topic: cannot be scoped to title: at 7"},
		{"topic:", "topic name is empty at 1"},
		{"fo*o", "* may only end a word at 3"},
		{"u.s*", `prefix "u.s*" must be a single word at 1`},
		{"!!!", `"!!!" has no letters or digits to search for at 1`},
		{`x ""`, `phrase "" has no letters or digits to search for at 3`},
		{strings.Repeat("a", 501), "query is 501 characters long; the limit is 500"},
		{strings.Repeat("w ", 51), "query has 51 terms; the limit is 50"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse(%q) succeeded", tt.in)
			}
			if digestbot.ErrorCode(err) != digestbot.EINVALID {
				t.Errorf("code %q, want invalid", digestbot.ErrorCode(err))
			}
			if got := digestbot.ErrorMessage(err); got != tt.want {
				t.Errorf("error %q, want %q", got, tt.want)
			}
		})
	}
}

func TestResolveTopics(t *testing.T) {
	topics := map[string]*Query{
		"surveillance": MustParse(`"facial recognition" OR "personal data" OR surveillance`),
		"china-tech":   MustParse("topic:surveillance huawei"),
		"loop":         MustParse("topic:loop x"),
	}
	lookup := func(name string) (*Query, bool) { q, ok := topics[name]; return q, ok }
	q, err := MustParse("topic:china-tech -bmw").ResolveTopics(lookup)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := q.String(), `("facial recognition" OR "personal data" OR surveillance) huawei -bmw`; got != want {
		t.Errorf("resolved to %q, want %q", got, want)
	}
	if _, err := MustParse("topic:nope x").ResolveTopics(lookup); digestbot.ErrorCode(err) != digestbot.ENOTFOUND {
		t.Errorf("unknown topic: %v, want not_found", err)
	}
	if _, err := MustParse("topic:loop").ResolveTopics(lookup); digestbot.ErrorCode(err) != digestbot.EINVALID {
		t.Errorf("cycle: %v, want invalid", err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"Confucius Institute", `"facial recognition" -BMW`, "a b OR c -d", "(a OR b) c",
		"title:(a OR -b) x", "surveil*", "topic:x -y", "人脸识别 OR 監視", "“smart” ‘q’", "a AND -(b OR c)",
		"tag:x source:\"y z\"", "China’s*", "))((", "-", `"`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := Parse(s)
		if err != nil {
			if digestbot.ErrorCode(err) != digestbot.EINVALID {
				t.Fatalf("Parse(%q): error code %q", s, digestbot.ErrorCode(err))
			}
			return
		}
		c := q.String()
		if utf8.RuneCountInString(c) > MaxQueryChars {
			t.Fatalf("Parse(%q).String() = %q is over the length limit", s, c)
		}
		back, err := Parse(c)
		if err != nil {
			t.Fatalf("Parse(%q) ok, but its String %q fails: %v", s, c, err)
		}
		if !back.Equal(q) || back.String() != c {
			t.Fatalf("Parse(%q).String() = %q parses to %q (key %q, want %q)", s, c, back.String(), back.Key(), q.Key())
		}
	})
}

// TestExcludedExplainsAMiss: a miss caused by an exclusion names it; a
// plain miss, or a match, names nothing.
func TestExcludedExplainsAMiss(t *testing.T) {
	tests := []struct {
		query, title, text string
		want               []string
	}{
		{`"facial recognition" -BMW`, "Stores used facial recognition", "Among them BMW dealers.", []string{"-BMW"}},
		{`"facial recognition" -BMW -"car dealer"`, "Facial recognition at a car dealer", "BMW", []string{"-BMW", `-"car dealer"`}},
		{`"facial recognition" -BMW`, "Facial recognition in shops", "No cars here.", nil}, // a match
		{`"facial recognition" -BMW`, "Harbour news", "BMW ships cars.", nil},              // a plain miss
		{`port (strike OR -ferry)`, "Port news", "The ferry runs.", []string{"-ferry"}},
	}
	for _, tc := range tests {
		var d Doc
		d.Reset(tc.title, tc.text, "Wire", nil)
		if got := MustParse(tc.query).Excluded(&d); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s on %q: Excluded = %q, want %q", tc.query, tc.title, got, tc.want)
		}
	}
}

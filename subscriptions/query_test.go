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
		{"-(a b) c", "-(a b) c", "c -(a b)"},
		{"a OR (b OR c)", "a OR b OR c", "a OR b OR c"},
		{"surveil*", "surveil*", "surveil*"},
		{"TITLE:Norway", "title:Norway", "title:norway"},
		{"title:a title:b", "title:(a b)", "title:(a b)"},
		{`source:"Radio Free Asia" x`, `source:"Radio Free Asia" x`, `source:"radio free asia" x`},
		{"title:(a OR b) c", "title:(a OR b) c", "c title:(a OR b)"},
		{"tag:tech -tag:(ads OR spam)", "tag:(tech -(ads OR spam))", "tag:(tech -(ads OR spam))"},
		{"China-centric", "China-centric", `"china centric"`},
		{"人脸识别", "人脸识别", `"人 脸 识 别"`},
		{"Bøckman’s", "Bøckman’s", "bockman"},
		{"topic:Surveillance -bmw", "topic:surveillance -bmw", "topic:surveillance -bmw"},
		// NOT in capitals is "-"; in lower case it is a word.
		{"surveillance NOT bmw", "surveillance -bmw", "surveillance -bmw"},
		{`surveillance NOT "press release"`, `surveillance -"press release"`, `surveillance -"press release"`},
		{"surveillance AND NOT (bmw OR audi)", "surveillance -(bmw OR audi)", "surveillance -(audi OR bmw)"},
		{"what not to do", "what not to do", "do not to what"},
		// site: a domain in lower case, without a final dot.
		{"site:Example.ORG.", "site:example.org", "site:example.org"},
		{"ferry -site:pinterest.com", "ferry -site:pinterest.com", "ferry -site:pinterest.com"},
		{"site:a.org OR site:b.org", "site:(a.org OR b.org)", "site:(a.org OR b.org)"},
		{"site:gov", "site:gov", "site:gov"},
		{"site:nrk.no NOT sport", "site:nrk.no -sport", "site:nrk.no -sport"},
		// The key is the same whatever the order and repeats of the parts.
		{"b OR a", "b OR a", "a OR b"},
		{"Institute confucius Confucius", "Institute confucius Confucius", "confucius institute"},
		{"(d c) OR (b a) OR (a b)", "d c OR b a OR a b", "a b OR c d"},
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
		{"a NOT", "NOT must be followed by the word, phrase or group to exclude at 3"},
		{"NOT", "NOT must be followed by the word, phrase or group to exclude at 1"},
		{"(a NOT) b", "NOT must be followed by the word, phrase or group to exclude at 4"},
		{"a NOT OR b", "NOT must be followed by the word, phrase or group to exclude at 3"},
		{"NOT bmw", "a query cannot be made only of exclusions; add a word or phrase to look for"},
		{"ferry intitle:x", "unknown field intitle: at 7; the fields are title:, source:, tag:, site:, lang: and topic: (put the word in quotes to search for it as it is)"},
		{"foo:bar", "unknown field foo: at 1; the fields are title:, source:, tag:, site:, lang: and topic: (put the word in quotes to search for it as it is)"},
		{"ferry -Intitle:en", "unknown field Intitle: at 8; the fields are title:, source:, tag:, site:, lang: and topic: (put the word in quotes to search for it as it is)"},
		{"https://example.org/x", "a link cannot be searched for (at 1): write site:example.org for a site's stories, or quote the text"},
		{"site:https://example.org", "site:https://example.org: give the domain name alone, such as example.org, without http:// or a path at 6"},
		{"site:example.org/news", "site:example.org/news: give the domain name alone, such as example.org, without http:// or a path at 6"},
		{"site:*.example.org", "site:*.example.org: a domain name has no *; site:example.org already covers its subdomains at 6"},
		{"site:a..org", "site:a..org: not a domain name such as example.org (an empty part between dots) at 6"},
		{"site:a_b.org", `site:a_b.org: '_' cannot be part of a domain name at 6`},
		{`site:"example.org"`, "site: takes a domain name such as example.org, not a phrase at 6"},
		{"title:site:x.org", "site: inside title: is not allowed at 7"},
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
	_, err = MustParse("topic:loop").ResolveTopics(lookup)
	if want := "topics cannot refer to each other in a circle (loop → loop)"; digestbot.ErrorCode(err) != digestbot.EINVALID || digestbot.ErrorMessage(err) != want {
		t.Errorf("cycle: %v, want %q", err, want)
	}
	topics["ports"] = MustParse("topic:ports2 OR ferry")
	topics["ports2"] = MustParse("harbour OR topic:ports")
	_, err = MustParse("x topic:ports").ResolveTopics(lookup)
	if want := "topics cannot refer to each other in a circle (ports → ports2 → ports)"; digestbot.ErrorMessage(err) != want {
		t.Errorf("cycle through another topic: %v, want %q", err, want)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"Confucius Institute", `"facial recognition" -BMW`, "a b OR c -d", "(a OR b) c",
		"title:(a OR -b) x", "surveil*", "topic:x -y", "人脸识别 OR 監視", "“smart” ‘q’", "a AND -(b OR c)",
		"tag:x source:\"y z\"", "China’s*", "))((", "-", `"`,
		"surveillance NOT bmw", `NOT "press release" x`, "a NOT", "NOT NOT x", "site:example.org -site:b.example.org",
		"site:(a.org OR b.org) ferry", "site:gov", "intitle:x", "10:30 a:", "http://x", "b OR a", "a (b c OR c b)",
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
		// The order of ORed and ANDed parts does not change the key.
		if r := (&Query{Root: reversed(q.Root)}); r.Key() != q.Key() {
			t.Fatalf("Parse(%q): key %q, but %q with every group reversed has key %q", s, q.Key(), r.String(), r.Key())
		}
	})
}

// reversed returns n with the children of every group in reverse order.
func reversed(n Node) Node {
	rev := func(cs []Node) []Node {
		out := make([]Node, len(cs))
		for i, c := range cs {
			out[len(cs)-1-i] = reversed(c)
		}
		return out
	}
	switch n := n.(type) {
	case *And:
		return &And{Children: rev(n.Children)}
	case *Or:
		return &Or{Children: rev(n.Children)}
	case *Not:
		return &Not{Child: reversed(n.Child)}
	}
	return n
}

// TestKeyIgnoresCaseSpacesOrderAndRepeats: queries that differ only in
// how they are written have one key, and so are one subscription.
func TestKeyIgnoresCaseSpacesOrderAndRepeats(t *testing.T) {
	same := [][]string{
		{"Confucius", "confucius", "CONFUCIUS", "  confucius "},
		{"a OR b", "b OR a", "(b OR a)", "a OR b OR a"},
		{"confucius institute", "Institute  Confucius", "institute AND confucius"},
		{`"facial recognition" -BMW`, `-bmw "Facial Recognition"`, `"facial recognition" NOT bmw`},
		{"(a OR b) c", "c (b OR a)", "c AND (a OR b)"},
		{"site:Example.org ferry", "ferry site:example.org."},
	}
	for _, group := range same {
		want := MustParse(group[0]).Key()
		for _, s := range group[1:] {
			if got := MustParse(s).Key(); got != want {
				t.Errorf("key of %q = %q, key of %q = %q; want them equal", s, got, group[0], want)
			}
		}
	}
	differ := [][2]string{{"a b", "a OR b"}, {"a -b", "b -a"}, {"title:a", "a"}, {"site:a.org", "a.org"}, {"a*", "a"}}
	for _, d := range differ {
		if MustParse(d[0]).Key() == MustParse(d[1]).Key() {
			t.Errorf("%q and %q have the same key %q", d[0], d[1], MustParse(d[0]).Key())
		}
	}
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

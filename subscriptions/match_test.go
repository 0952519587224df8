package subscriptions

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	digestbot "github.com/digestbot/digestbot"
)

func TestQueryMatch(t *testing.T) {
	doc := NewDoc(
		"Norway Closes Confucius Institute",
		"Harald Bøckman said China’s Confucius Institute in Bergen was a propaganda tool. "+
			"Stores in Shenzhen use facial recognition; BMW was named. Chinatown was not. 监控摄像头用于人脸识别。",
		"Radio Free Asia",
		[]string{"education", "soft power"},
	)
	tests := []struct {
		query string
		want  bool
		terms []string
	}{
		{"Confucius Institute", true, []string{"Confucius", "Institute"}},
		{`"Confucius Institute"`, true, []string{"Confucius Institute"}},
		{`"Institute Confucius"`, false, nil},
		{`"facial recognition" -BMW`, false, nil},
		{`"facial recognition" -Audi`, true, []string{"facial recognition"}},
		{"Bockman", true, []string{"Bockman"}},
		{"BØCKMAN", true, []string{"BØCKMAN"}},
		{"China", true, []string{"China"}},
		{"China's", true, []string{"China's"}},
		{"Chinatown", true, []string{"Chinatown"}},
		{"Chin", false, nil},
		{"Chin*", true, []string{"Chin*"}},
		{"propagand*", true, []string{"propagand*"}},
		{"Beijing", false, nil},
		{"Beijing OR Bergen", true, []string{"Bergen"}},
		{"(Beijing OR Bergen) -(BMW Audi)", true, []string{"Bergen"}},
		{"Bergen OR (tool Beijing)", true, []string{"Bergen"}},
		{"title:Norway", true, []string{"Norway"}},
		{"title:Bergen", false, nil},
		{`title:"closes confucius"`, true, []string{"closes confucius"}},
		{`"institute harald"`, false, nil},
		{"source:asia", true, []string{"asia"}},
		{`source:"free asia"`, true, []string{"free asia"}},
		{"source:bergen", false, nil},
		{"tag:education", true, []string{"education"}},
		{`tag:"soft power"`, true, []string{"soft power"}},
		{`tag:"education soft"`, false, nil},
		{"Asia", false, nil},
		{"人脸识别", true, []string{"人脸识别"}},
		{"识别人脸", false, nil},
		{"摄像", true, []string{"摄像"}},
		{"topic:x", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			q := MustParse(tt.query)
			terms, ok := q.Match(doc)
			if ok != tt.want || !reflect.DeepEqual(terms, tt.terms) {
				t.Errorf("Match = %q, %v; want %q, %v", terms, ok, tt.terms, tt.want)
			}
		})
	}
}

// TestSiteMatchesHostAndSubdomains: site:example.org is the story's link
// on example.org or a subdomain of it, for any outlet of the story, and
// never a domain that merely ends in the same letters.
func TestSiteMatchesHostAndSubdomains(t *testing.T) {
	tests := []struct {
		query string
		links []string
		want  bool
	}{
		{"site:example.org", []string{"https://example.org/a"}, true},
		{"site:example.org", []string{"https://news.example.org/a"}, true},
		{"site:example.org", []string{"http://a.b.EXAMPLE.org:8080/x"}, true},
		{"site:example.org", []string{"https://badexample.org/a"}, false},
		{"site:example.org", []string{"https://example.org.evil.net/a"}, false},
		{"site:example.org", []string{"https://example.com/a"}, false},
		{"site:news.example.org", []string{"https://example.org/a"}, false},
		{"site:org", []string{"https://example.org/a"}, true},
		{"site:example.org", nil, false},
		{"site:example.org", []string{"not a link"}, false},
		{"site:0.2.1", []string{"http://192.0.2.1/x"}, false},
		{"site:192.0.2.1", []string{"http://192.0.2.1/x"}, true},
		// Every outlet of a story counts, as source: does.
		{"site:second.example", []string{"https://first.example/a", "https://www.second.example/b"}, true},
		{"ferry -site:example.org", []string{"https://news.example.org/a"}, false},
		{"ferry NOT site:example.org", []string{"https://other.example/a"}, true},
		{"ferry site:(a.example OR b.example)", []string{"https://x.b.example/a"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.query+" "+strings.Join(tt.links, " "), func(t *testing.T) {
			a := &digestbot.Article{Title: "Ferry news", Text: "The ferry runs.", Source: "Wire", URL: "https://unrelated.example/x"}
			for i, l := range tt.links {
				a.Sources = append(a.Sources, digestbot.Source{Name: fmt.Sprint("Outlet ", i), URL: l})
			}
			if len(a.Sources) > 0 {
				a.Source, a.URL = a.Sources[0].Name, a.Sources[0].URL
			} else {
				a.URL = ""
			}
			q := MustParse(tt.query)
			_, got := q.Match(DocFromArticle(a))
			x := NewIndex()
			if err := x.Add("q", q); err != nil {
				t.Fatal(err)
			}
			if got != tt.want || (len(x.Match(DocFromArticle(a))) == 1) != tt.want {
				t.Errorf("%s on %q: evaluation %v, index %d matches; want %v", tt.query, tt.links, got, len(x.Match(DocFromArticle(a))), tt.want)
			}
		})
	}
	// What a site match reports as its terms.
	a := &digestbot.Article{Title: "Ferry news", Source: "Wire", URL: "https://news.example.org/a"}
	if terms, ok := MustParse("site:Example.org ferry").Match(DocFromArticle(a)); !ok || !reflect.DeepEqual(terms, []string{"site:example.org", "ferry"}) {
		t.Errorf("terms %q, %v", terms, ok)
	}
}

func TestIndexAddRemove(t *testing.T) {
	x := NewIndex()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(x.Add("ci", MustParse("Confucius Institute")))
	must(x.Add("fr", MustParse(`"facial recognition" -BMW`)))
	must(x.Add("pre", MustParse("surveil* OR title:norway")))
	doc := NewDoc("Norway closes Confucius Institute", "surveillance and facial recognition at BMW", "", nil)
	ids := func() []string {
		var out []string
		for _, m := range x.Match(doc) {
			out = append(out, m.ID)
		}
		slices.Sort(out)
		return out
	}
	if got := ids(); !reflect.DeepEqual(got, []string{"ci", "pre"}) {
		t.Fatalf("matches %q", got)
	}
	x.Remove("ci")
	must(x.Add("pre", MustParse("BMW")))
	if got := ids(); !reflect.DeepEqual(got, []string{"pre"}) {
		t.Fatalf("after remove and replace: %q", got)
	}
	if x.Len() != 2 {
		t.Errorf("Len = %d, want 2", x.Len())
	}
	// The same query under two ids is stored once and reported under both.
	must(x.Add("same1", MustParse("BMW OR Audi")))
	must(x.Add("same2", MustParse("BMW OR Audi")))
	if got := ids(); !reflect.DeepEqual(got, []string{"pre", "same1", "same2"}) {
		t.Fatalf("with a duplicate query: %q", got)
	}
	if st := x.Stats(); st.Queries != 4 || st.Distinct != 3 {
		t.Errorf("stats %+v, want 4 queries, 3 distinct", st)
	}
	x.Remove("same1")
	if got := ids(); !reflect.DeepEqual(got, []string{"pre", "same2"}) {
		t.Fatalf("after removing one of the duplicates: %q", got)
	}
	x.Remove("same2")
	if err := x.Add("t", MustParse("topic:x")); err == nil {
		t.Error("Add accepted an unresolved topic")
	}
	x.Remove("pre")
	x.Remove("fr")
	st := x.Stats()
	if st.Queries != 0 || st.Terms != 0 {
		t.Errorf("empty index keeps %+v", st)
	}
}

// randomQuery builds a query from a small vocabulary so that random
// documents hit it often, with every construct of the language.
func randomQuery(r *rand.Rand, vocab []string, depth int) string {
	leaf := func() string {
		w := vocab[r.IntN(len(vocab))]
		switch r.IntN(10) {
		case 0:
			return fmt.Sprintf("%q", w+" "+vocab[r.IntN(len(vocab))])
		case 1:
			if len([]rune(w)) > 1 {
				return string([]rune(w)[:1+r.IntN(len([]rune(w))-1)]) + "*"
			}
		case 3:
			return "site:" + sites[r.IntN(len(sites))]
		case 2:
			scope := []string{"title:", "source:", "tag:"}[r.IntN(3)]
			switch r.IntN(3) {
			case 0:
				return scope + fmt.Sprintf("%q", w+" "+vocab[r.IntN(len(vocab))])
			case 1:
				if len([]rune(w)) > 1 {
					return scope + string([]rune(w)[:1+r.IntN(len([]rune(w))-1)]) + "*"
				}
			}
			return scope + w
		case 4:
			return "lang:" + testLangs[r.IntN(len(testLangs))]
		}
		return w
	}
	if depth == 0 || r.IntN(3) == 0 {
		return leaf()
	}
	n := 1 + r.IntN(3)
	parts := []string{}
	for range n {
		p := randomQuery(r, vocab, depth-1)
		switch r.IntN(10) {
		case 0, 1:
			p = "-(" + p + ")"
		case 2:
			p = "NOT (" + p + ")"
		}
		parts = append(parts, p)
	}
	sep := " "
	if r.IntN(2) == 0 {
		sep = " OR "
	}
	return "(" + strings.Join(parts, sep) + ")"
}

// sites are the domains of random site: queries; randomLinks draws from
// them, from subdomains of them and from look-alikes.
var sites = []string{"example.org", "news.example.org", "org", "example.com", "xample.org"}

func randomLinks(r *rand.Rand) []string {
	hosts := []string{"example.org", "news.example.org", "a.news.example.org", "badexample.org", "example.com",
		"xample.org", "example.org.net", "192.0.2.1"}
	var out []string
	for range r.IntN(3) {
		out = append(out, "https://"+hosts[r.IntN(len(hosts))]+"/story")
	}
	return out
}

// sameTerms compares matched terms; no terms may be nil or empty.
func sameTerms(a, b []string) bool {
	return len(a) == 0 && len(b) == 0 || reflect.DeepEqual(a, b)
}

// testLangs are the codes random queries scope to; testTags the article
// languages random documents have (regions and scripts included).
var (
	testLangs = []string{"en", "zh", "fr", "ZH", "zho"}
	testTags  = []string{"en", "en-GB", "zh-CN", "zh-Hant", "fr", "de"}
)

func randomText(r *rand.Rand, vocab []string, n int) string {
	words := make([]string, n)
	for i := range words {
		words[i] = vocab[r.IntN(len(vocab))]
		if r.IntN(6) == 0 {
			words[i] = strings.ToUpper(words[i][:1]) + words[i][1:] + ","
		}
	}
	return strings.Join(words, " ")
}

// The index decides some query shapes from a posting alone; each must agree
// with evaluating the query.
func TestIndexFastPaths(t *testing.T) {
	queries := []string{`"red line"`, `"line red"`, "red line", "red zebra", "lin*", "title:red",
		`"norway red"`, `"red red"`, "red", `tag:"soft power"`, `source:"soft power"`, "title:nor*", "title:lin*"}
	docs := []*Doc{
		NewDoc("Norway", "red line drawn", "", nil),
		NewDoc("Red", "Line of the day", "", nil),                    // a phrase does not span title and text
		NewDoc("Norway red", "lines", "", []string{"soft", "power"}), // nor two tags
		NewDoc("", "the line, red", "", []string{"soft power"}),
	}
	x := NewIndex()
	for i, q := range queries {
		if err := x.Add(fmt.Sprint(i), MustParse(q)); err != nil {
			t.Fatal(err)
		}
	}
	for di, d := range docs {
		got := map[string]bool{}
		for _, m := range x.Match(d) {
			got[m.ID] = true
		}
		for i, q := range queries {
			_, want := MustParse(q).Match(d)
			if got[fmt.Sprint(i)] != want {
				t.Errorf("doc %d, query %s: index %v, evaluation %v", di, q, got[fmt.Sprint(i)], want)
			}
		}
	}
}

// TestIndexEqualsNaive checks the index against evaluating every query on
// every document: the presearcher may only drop queries that cannot match.
func TestIndexEqualsNaive(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) { indexEqualsNaive(t, seed) })
	}
}

func indexEqualsNaive(t *testing.T, seed uint64) {
	vocab := []string{"china", "chinese", "chip", "norway", "bergen", "data", "dat", "facial", "face",
		"recognition", "red", "line", "人", "脸", "识别", "bmw", "asia", "free", "radio", "tool"}
	r := rand.New(rand.NewPCG(seed, 2))
	x := NewIndex()
	var queries []*Query
	for len(queries) < 400 {
		q, err := Parse(randomQuery(r, vocab, 3))
		if err != nil {
			continue // exclusion-only and over-limit draws
		}
		id := fmt.Sprint(len(queries))
		if err := x.Add(id, q); err != nil {
			t.Fatalf("Add(%q): %v", q, err)
		}
		queries = append(queries, q)
	}
	// Queries come and go while documents are matched, so slot and term
	// id reuse and the index's caches are exercised too.
	live := make([]bool, len(queries))
	for i := range live {
		live[i] = true
	}
	reused := &Doc{} // the index sees a reused Doc, the naive check a fresh one
	for d := 0; d < 300; d++ {
		if d%10 == 0 {
			for range 10 {
				i := r.IntN(len(queries))
				if live[i] {
					x.Remove(fmt.Sprint(i))
				} else if err := x.Add(fmt.Sprint(i), queries[i]); err != nil {
					t.Fatal(err)
				}
				live[i] = !live[i]
			}
		}
		title, text := randomText(r, vocab, 1+r.IntN(6)), randomText(r, vocab, r.IntN(40))
		source, tags := randomText(r, vocab, r.IntN(3)), strings.Fields(randomText(r, vocab, r.IntN(3)))
		links := randomLinks(r)
		doc := NewDoc(title, text, source, tags)
		doc.resetSites(links)
		reused.Reset(title, text, source, tags)
		reused.resetSites(links)
		if r.IntN(4) > 0 { // a quarter of the documents have no known language
			lang := testTags[r.IntN(len(testTags))]
			doc.SetLanguage(lang)
			reused.SetLanguage(lang)
		}
		got := map[string][]string{}
		hit := map[string]bool{} // a query of lang: alone matches with no terms
		for _, m := range x.Match(reused) {
			got[m.ID], hit[m.ID] = m.Terms, true
		}
		for i, q := range queries {
			id := fmt.Sprint(i)
			terms, ok := q.Match(doc)
			if !live[i] {
				ok = false
			}
			if ok != hit[id] {
				t.Fatalf("doc %d query %q: naive %v, index %v", d, q, ok, hit[id])
			}
			if ok && !sameTerms(terms, got[id]) {
				t.Fatalf("doc %d query %q: terms %q, index %q", d, q, terms, got[id])
			}
		}
	}
	if st := x.Stats(); st.Hits == 0 || st.Candidates >= uint64(st.Docs)*uint64(st.Queries) {
		t.Errorf("stats %+v: expected hits and fewer candidates than queries × docs", st)
	}
}

// FuzzIndexMatch checks one query in the index against evaluating it, on
// fuzzed queries and documents.
func FuzzIndexMatch(f *testing.F) {
	f.Add(`"red line" -bmw`, "Red", "the red line, red", "tag one", "", "")
	f.Add("chin* OR title:norway", "Norway", "Chinatown China’s", "", "https://example.org/a", "en")
	f.Add(`"人脸识别" a`, "", "的人脸识别系统 a", "x", "", "zh-CN")
	f.Add("site:example.org NOT red", "Red", "line", "", "https://news.example.org/x https://badexample.org/", "")
	f.Add("site:(a.org OR org) -site:b.a.org", "", "", "", "http://b.a.org https://A.ORG.", "")
	f.Add("red lang:en", "Red", "red", "", "", "en-GB")
	f.Add("-lang:(fr OR de) line site:org", "", "line", "", "https://x.org/", "")
	f.Fuzz(func(t *testing.T, query, title, text, tags, links, lang string) {
		q, err := Parse(query)
		if err != nil || len(q.Topics()) > 0 {
			return
		}
		d := NewDoc(title, text, "source "+tags, strings.Fields(tags))
		d.resetSites(strings.Fields(links))
		d.SetLanguage(lang)
		x := NewIndex()
		if err := x.Add("q", q); err != nil {
			t.Fatalf("Add(%q): %v", q, err)
		}
		x.Add("other", MustParse("red OR line OR a")) // share term ids with another query
		x.Add("lang", MustParse("a lang:en"))
		wantTerms, want := q.Match(d)
		var got []string
		found := false
		for _, m := range x.Match(d) {
			if m.ID == "q" {
				found, got = true, m.Terms
			}
		}
		if found != want || !sameTerms(got, wantTerms) {
			t.Fatalf("query %q on %q / %q: index %v %q, evaluation %v %q", q, title, text, found, got, want, wantTerms)
		}
	})
}

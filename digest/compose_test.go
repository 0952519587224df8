package digest

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	digestbot "github.com/digestbot/digestbot"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var (
	ref     = digestbot.ChannelRef{GuildID: "g1", ChannelID: "c1"}
	day     = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	now     = day.Add(7 * 24 * time.Hour)
	chInfo  = ChannelInfo{Ref: ref, Name: "news"}
	hitRed  = digestbot.Hit{SubscriptionID: "s1", Label: `"red line"`, Terms: []string{"red line"}}
	hitPort = digestbot.Hit{SubscriptionID: "s2", Label: "topic:ports", Terms: []string{"port", "harbour"}}
	hitRain = digestbot.Hit{SubscriptionID: "s3", Label: "monsoon", Terms: []string{"monsoon"}}
	hitCJK  = digestbot.Hit{SubscriptionID: "s4", Label: "人工智能", Terms: []string{"人工智能"}}
)

// art builds an article of the fixture newsroom.
func art(id, source, title, text string, published time.Time) *digestbot.Article {
	return &digestbot.Article{
		ID: id, Source: source, Title: title, Text: text, Published: published,
		URL: "https://" + host(source) + ".example/" + id,
	}
}

// host makes a host name of an outlet's name.
func host(source string) string {
	h := strings.ToLower(strings.ReplaceAll(source, " ", ""))
	for _, r := range h {
		if r > 0x7f {
			return fmt.Sprintf("zh%x", len(h))
		}
	}
	return h
}

// newsroom is a small, invented news day: one story told by three outlets,
// a Chinese story told by two, and stories that share a subject but not an event.
func newsroom() ([]digestbot.PendingItem, map[string]*digestbot.Article) {
	arts := []*digestbot.Article{
		art("a1", "Harbour Times", "Ministers draw a red line over fishing rights in the northern strait",
			"Talks in Bergen ended late on Thursday. Both delegations said a red line had been drawn over fishing rights in the northern strait. Observers expect a new round in spring.", day.Add(9*time.Hour)),
		art("a2", "Coastal Wire", "Red line over northern strait fishing rights, ministers say",
			"Fisheries ministers said on Thursday that a red line now runs through the northern strait. The statement followed two days of talks.", day.Add(11*time.Hour)),
		art("a3", "Nordic Ledger", "Fishing rights in northern strait: ministers draw red line",
			"The northern strait dispute hardened. Ministers used the phrase red line four times in a short statement.", day.Add(20*time.Hour)),
		art("a4", "Harbour Times", "Port of Vellmar reopens after a week of repairs",
			"The port of Vellmar reopened on Friday. Cranes damaged in the October gale have been replaced.", day.Add(30*time.Hour)),
		art("a5", "Coastal Wire", "Harbour fees rise for the first time in a decade",
			"Shipping lines will pay more from January. The harbour authority blamed dredging costs.", day.Add(33*time.Hour)),
		art("a6", "Monsoon Daily", "Early monsoon rains flood rice terraces in the valley",
			"Farmers counted losses on Saturday. The monsoon arrived nine days early this year, the weather office said.", day.Add(40*time.Hour)),
		art("a7", "新华社", "人工智能芯片出口新规发布",
			"商务部周五发布新规。新规涉及人工智能芯片的出口许可。业内人士认为影响有限。", day.Add(12*time.Hour)),
		art("a8", "财经日报", "人工智能芯片出口新规今日发布",
			"新规今日发布，人工智能芯片出口需要许可。", day.Add(15*time.Hour)),
		art("a9", "科技周刊", "人工智能助手进入课堂",
			"多所学校开始试用人工智能助手。老师们的反应不一。", day.Add(26*time.Hour)),
	}
	m := map[string]*digestbot.Article{}
	for _, a := range arts {
		m[a.ID] = a
	}
	items := []digestbot.PendingItem{
		{ArticleID: "a1", Hits: []digestbot.Hit{hitRed}},
		{ArticleID: "a2", Hits: []digestbot.Hit{hitRed}},
		{ArticleID: "a3", Hits: []digestbot.Hit{hitRed}},
		{ArticleID: "a4", Hits: []digestbot.Hit{hitPort}},
		{ArticleID: "a5", Hits: []digestbot.Hit{hitPort}},
		{ArticleID: "a6", Hits: []digestbot.Hit{hitRain, hitPort}},
		{ArticleID: "a7", Hits: []digestbot.Hit{hitCJK}},
		{ArticleID: "a8", Hits: []digestbot.Hit{hitCJK}},
		{ArticleID: "a9", Hits: []digestbot.Hit{hitCJK}},
		{ArticleID: "gone", Hits: []digestbot.Hit{hitRain}}, // expired from the archive
	}
	for i := range items {
		items[i].GuildID, items[i].ChannelID = ref.GuildID, ref.ChannelID
	}
	return items, m
}

func TestComposeNothingPending(t *testing.T) {
	_, arts := newsroom()
	tests := []struct {
		name  string
		items []digestbot.PendingItem
	}{
		{"no items", nil},
		{"only expired articles", []digestbot.PendingItem{{ArticleID: "gone", Hits: []digestbot.Hit{hitRain}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := Compose(chInfo, tt.items, arts, ComposeOptions{Now: now}); d != nil {
				t.Fatalf("Compose = %+v, want nil (no post)", d)
			}
			if msgs := Render(nil, DiscordLimits); msgs != nil {
				t.Fatalf("Render(nil) = %v, want no messages", msgs)
			}
		})
	}
}

func TestComposeMergesAndGroups(t *testing.T) {
	items, arts := newsroom()
	d := Compose(chInfo, items, arts, ComposeOptions{Now: now})
	if d == nil {
		t.Fatal("Compose returned nil")
	}
	var labels []string
	for _, s := range d.Sections {
		labels = append(labels, s.Label)
	}
	if got, want := strings.Join(labels, " | "), `"red line" | monsoon | topic:ports | 人工智能`; got != want {
		t.Errorf("sections = %s, want %s", got, want)
	}
	red := d.Sections[0]
	if len(red.Items) != 1 {
		t.Fatalf("red line section has %d items, want the three reports merged into 1", len(red.Items))
	}
	story := red.Items[0]
	var names []string
	for _, s := range story.Sources {
		names = append(names, s.Name)
		if !strings.HasPrefix(s.URL, "https://") {
			t.Errorf("source %s has no link: %q", s.Name, s.URL)
		}
	}
	if got, want := strings.Join(names, ", "), "Harbour Times, Coastal Wire, Nordic Ledger"; got != want {
		t.Errorf("sources = %s, want %s (earliest first)", got, want)
	}
	if story.URL != arts["a1"].URL || !story.Published.Equal(arts["a1"].Published) {
		t.Errorf("merged story links %s at %v, want the first report", story.URL, story.Published)
	}
	cjk := d.Sections[3]
	if len(cjk.Items) != 2 || len(cjk.Items[0].Sources) != 2 {
		t.Errorf("人工智能 section: %d items, first with %d sources; want the two chip reports merged and the classroom story apart", len(cjk.Items), len(cjk.Items[0].Sources))
	}
	if ports := d.Sections[2]; len(ports.Items) != 2 {
		t.Errorf("ports section has %d items, want 2 different stories kept apart", len(ports.Items))
	}
	if d.Stories != 6 || d.Articles != 9 {
		t.Errorf("Stories, Articles = %d, %d; want 6, 9", d.Stories, d.Articles)
	}
}

func TestSimilarity(t *testing.T) {
	tests := []struct {
		a, b string
		same bool
	}{
		{"Ministers draw a red line over fishing rights in the northern strait", "Red line over northern strait fishing rights, ministers say", true},
		{"Port of Vellmar reopens after a week of repairs", "Vellmar port reopens after repairs", true},
		{"Port of Vellmar reopens after a week of repairs", "Harbour fees rise for the first time in a decade", false},
		{"China says the red line cannot be crossed", "US says China crossed a red line on trade", false},
		{"人工智能芯片出口新规发布", "人工智能芯片出口新规今日发布", true},
		{"人工智能芯片出口新规发布", "人工智能助手进入课堂", false},
		{"The", "The", false}, // nothing but function words: no evidence
	}
	for _, tt := range tests {
		t.Run(tt.a+" ~ "+tt.b, func(t *testing.T) {
			j := jaccard(titleSignature(tt.a), titleSignature(tt.b))
			if got := j >= DefaultSimilarity; got != tt.same {
				t.Errorf("jaccard = %.2f; same story = %v, want %v", j, got, tt.same)
			}
		})
	}
}

func TestSummaryBiasedToQuery(t *testing.T) {
	a := &digestbot.Article{ID: "x", Title: "Budget week", Source: "Ledger",
		Summary: "Parliament met on Monday.",
		Text:    "Parliament met on Monday. Most of the session went to roads. Late in the evening the minister raised harbour fees by 3%, citing *dredging* costs. Nobody objected."}
	tests := []struct {
		name  string
		terms []string
		want  string
	}{
		{"sentence with the term, term bold, markdown escaped", []string{"harbour"}, `Late in the evening the minister raised **harbour** fees by 3%, citing \*dredging\* costs. Nobody objected.`},
		{"phrase", []string{"harbour fees"}, `Late in the evening the minister raised **harbour fees** by 3%, citing \*dredging\* costs. Nobody objected.`},
		{"prefix term", []string{"dredg*"}, `Late in the evening the minister raised harbour fees by 3%, citing \***dredging**\* costs. Nobody objected.`},
		{"no term in text: the lead", []string{"monsoon"}, "Parliament met on Monday."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := querySummary(a, analyze(a), tt.terms, 300); got != tt.want {
				t.Errorf("summary =\n  %s\nwant\n  %s", got, tt.want)
			}
		})
	}
}

func TestSectionLimitAndLookupHint(t *testing.T) {
	arts := map[string]*digestbot.Article{}
	var items []digestbot.PendingItem
	subjects := []string{"Ferry", "Lighthouse", "Crane", "Dock", "Tugboat", "Pier", "Canal", "Quay", "Barge", "Marina", "Jetty", "Wharf", "Dredger"}
	events := []string{"strike", "repainted", "sold", "flooded", "award", "inspection", "closure", "auction", "fire", "opening", "race", "survey", "delay"}
	for i := range 13 {
		id := fmt.Sprintf("p%02d", i)
		arts[id] = art(id, "Wire", subjects[i]+" "+events[i], "Text.", day.Add(time.Duration(i)*time.Hour))
		items = append(items, digestbot.PendingItem{ArticleID: id, Hits: []digestbot.Hit{hitPort}})
	}
	tests := []struct {
		name     string
		max      int
		shown    int
		more     int
		wantHint string
	}{
		{"ten", 10, 10, 3, "/lookup query:port OR harbour since:7d"},
		{"configured five", 5, 5, 8, "/lookup query:port OR harbour since:7d"},
		{"all fit", 20, 13, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Compose(chInfo, items, arts, ComposeOptions{Now: now, MaxItemsPerSection: tt.max, Topics: map[string]string{"ports": "port OR harbour"}})
			s := d.Sections[0]
			if len(s.Items) != tt.shown || s.More != tt.more || s.Lookup != tt.wantHint {
				t.Fatalf("shown %d, more %d, hint %q; want %d, %d, %q", len(s.Items), s.More, s.Lookup, tt.shown, tt.more, tt.wantHint)
			}
			if !s.Items[0].Published.After(s.Items[len(s.Items)-1].Published) {
				t.Errorf("items not newest first")
			}
			msgs := Render(d, DiscordLimits)
			last := msgs[len(msgs)-1].Embeds[len(msgs[len(msgs)-1].Embeds)-1]
			if tt.more > 0 && !strings.Contains(last.Footer, fmt.Sprintf("+%d more: %s", tt.more, tt.wantHint)) {
				t.Errorf("the section's last story's footer %q lacks the +N more hint", last.Footer)
			}
		})
	}
}

// golden compares got with testdata/name, rewriting it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it):\n%s", name, got)
	}
}

func TestComposeGolden(t *testing.T) {
	items, arts := newsroom()
	d := Compose(chInfo, items, arts, ComposeOptions{Now: now})
	out, err := json.MarshalIndent(Render(d, DiscordLimits), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "newsroom.golden", append(out, '\n'))

	// One story per section: the rest are counted, with the lookup that shows them.
	d = Compose(chInfo, items, arts, ComposeOptions{Now: now, MaxItemsPerSection: 1, Topics: map[string]string{"ports": "port OR harbour"}})
	out, err = json.MarshalIndent(Render(d, DiscordLimits), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "newsroom-one-per-section.golden", append(out, '\n'))
}

// FuzzCompose composes stories from arbitrary feed text and terms: it must
// not fail, and every story keeps a summary within its size.
func FuzzCompose(f *testing.F) {
	f.Add("Harbour fees rise", "Shipping lines will pay more. The harbour authority blamed dredging.", "harbour", "Harbour fees go up")
	f.Add("人工智能芯片出口新规发布", "新规涉及人工智能芯片。业内人士认为影响有限。", "人工智能", "人工智能芯片出口新规今日发布")
	f.Add("*_`[x]", "a\\*b **c** d", "dredg*", "")
	f.Fuzz(func(t *testing.T, title, text, term, title2 string) {
		arts := map[string]*digestbot.Article{
			"a": {ID: "a", Title: title, Text: text, Source: "One", URL: "https://one.example/a", Published: day},
			"b": {ID: "b", Title: title2, Text: text, Source: "Two", URL: "https://two.example/b", Published: day.Add(time.Hour)},
		}
		hit := digestbot.Hit{SubscriptionID: "s", Label: "l", Terms: []string{term}}
		items := []digestbot.PendingItem{{ArticleID: "a", Hits: []digestbot.Hit{hit}}, {ArticleID: "b", Hits: []digestbot.Hit{hit}}}
		d := Compose(chInfo, items, arts, ComposeOptions{Now: now, SummaryLen: 120})
		if d == nil || d.Articles != 2 {
			t.Fatalf("Compose = %+v, want both articles", d)
		}
		for _, s := range d.Sections {
			for _, it := range s.Items {
				plain := strings.ReplaceAll(it.Summary, "**", "")
				if n := utf8.RuneCountInString(plain); n > 2*120+2 { // escapes at most double it
					t.Errorf("summary of %d characters: %q", n, it.Summary)
				}
			}
		}
		checkLimits(t, Render(d, DiscordLimits), DiscordLimits)
	})
}

// TestComposeMergesInALargeWindow takes the indexed path (more than 64
// pending articles) and must merge the same way.
func TestComposeMergesInALargeWindow(t *testing.T) {
	items, arts := newsroom()
	subjects := strings.Fields("ferry lighthouse crane dock tugboat pier canal quay barge marina")
	events := strings.Fields("strike repainted sold flooded award inspection closure auction")
	for i := range 80 {
		id := fmt.Sprintf("filler%02d", i)
		title := subjects[i%10] + " " + events[i/10] // no two share both words
		arts[id] = art(id, "Wire", title, "Tables.", day.Add(time.Duration(i)*time.Minute))
		items = append(items, digestbot.PendingItem{ArticleID: id, Hits: []digestbot.Hit{hitRain}})
	}
	d := Compose(chInfo, items, arts, ComposeOptions{Now: now, MaxItemsPerSection: 100})
	if red := d.Sections[0]; red.Label != `"red line"` || len(red.Items) != 1 || len(red.Items[0].Sources) != 3 {
		t.Fatalf("first section %q has %d items; want the three red line reports merged into one", red.Label, len(red.Items))
	}
	if d.Stories != 6+80 {
		t.Errorf("%d stories, want 86: the fillers are all different", d.Stories)
	}
}

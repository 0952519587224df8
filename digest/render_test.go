package digest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"time"

	digestbot "github.com/digestbot/digestbot"
)

// bigStory is one story reported by 30 outlets, with a 10,000-character
// summary, beside a small one in a second section.
func bigStory() *Digest {
	var sources []digestbot.Source
	for i := range 30 {
		sources = append(sources, digestbot.Source{
			Name:      fmt.Sprintf("Outlet %02d", i+1),
			URL:       fmt.Sprintf("https://outlet%02d.example/2026/11/20/harbour-strike-continues-for-a-third-day-%d", i+1, i),
			Published: day.Add(time.Duration(i) * time.Hour),
		})
	}
	sentence := "Dock workers in the **harbour** walked out again on Friday, and the ferries to the islands stayed tied up for a third day. "
	var sum strings.Builder
	for sum.Len() < 10000 {
		sum.WriteString(sentence)
	}
	summary := sum.String()[:10000]
	return &Digest{
		Channel: ref, Location: time.UTC, GeneratedAt: now, Stories: 2, Articles: 31,
		Sections: []Section{
			{Label: "harbour", Color: LabelColor("harbour"), Items: []Item{{
				Title: "Harbour strike enters third day as ferries stay in port", URL: sources[0].URL,
				Summary: summary, Sources: sources, Published: day,
			}}},
			{Label: "topic:weather", Color: LabelColor("topic:weather"), Items: []Item{{
				Title: "Gale warning for the outer islands", URL: "https://weather.example/gale",
				Summary: "A **gale** is expected overnight.", Sources: []digestbot.Source{{Name: "Weather Office", URL: "https://weather.example/gale", Published: day}}, Published: day,
			}}},
		},
	}
}

func TestRenderBigStoryGolden(t *testing.T) {
	d := bigStory()
	msgs := Render(d, DiscordLimits)
	checkLimits(t, msgs, DiscordLimits)
	e := msgs[0].Embeds[0]
	if !strings.HasSuffix(strings.SplitN(e.Description, "\n\n", 2)[0], "…") {
		t.Errorf("the cut summary does not end with an ellipsis")
	}
	if !strings.Contains(e.Description, "+") || !strings.Contains(e.Description, "more sources") {
		t.Errorf("sources that do not fit are not counted")
	}
	checkLinksWhole(t, msgs, d)
	out, err := json.MarshalIndent(msgs, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "bigstory.golden", append(out, '\n'))
}

func TestRenderSplitsSections(t *testing.T) {
	items, arts := newsroom()
	d := Compose(chInfo, items, arts, ComposeOptions{Now: now})
	tests := []struct {
		name   string
		limits Limits
		want   int // messages
	}{
		{"discord: one message per section", DiscordLimits, 4},
		{"one embed per message", func() Limits { l := DiscordLimits; l.Embeds = 1; return l }(), 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs := Render(d, tt.limits)
			checkLimits(t, msgs, tt.limits)
			if len(msgs) != tt.want {
				t.Errorf("%d messages, want %d", len(msgs), tt.want)
			}
			if !strings.HasPrefix(msgs[0].Content, "📰 **News digest** · Fri 27 Nov 2026 · 6 stories") {
				t.Errorf("first message content %q lacks the heading", msgs[0].Content)
			}
		})
	}
}

func TestCutMarkdown(t *testing.T) {
	tests := []struct {
		name string
		in   string
		max  int
		want string
	}{
		{"fits", "short text", 20, "short text"},
		{"word boundary", "the quick brown fox jumps", 16, "the quick brown…"},
		{"closes bold", "the **quick brown fox** jumps", 20, "the **quick brown…**"},
		{"drops a dangling escape", `abcdefgh\*ijk`, 10, `abcdefgh…`},
		{"trims dangling punctuation", "one, two, three", 10, "one, two…"},
		{"CJK boundary", "人工智能芯片出口新规发布", 6, "人工智能芯…"},
		{"long word", "Donaudampfschifffahrtsgesellschaft", 10, "Donaudamp…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := cutMarkdown(tt.in, tt.max)
			if got != tt.want {
				t.Errorf("cutMarkdown(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
			}
			if TextLen(got) > tt.max {
				t.Errorf("cut is %d long, limit %d", TextLen(got), tt.max)
			}
		})
	}
}

// checkLimits fails the test for every limit a message breaks.
func checkLimits(t *testing.T, msgs []Message, l Limits) {
	t.Helper()
	for i, m := range msgs {
		if n := TextLen(m.Content); n > l.Content {
			t.Errorf("message %d: content %d > %d", i, n, l.Content)
		}
		if len(m.Embeds) > l.Embeds {
			t.Errorf("message %d: %d embeds > %d", i, len(m.Embeds), l.Embeds)
		}
		if len(m.Embeds) == 0 && m.Content == "" {
			t.Errorf("message %d is empty", i)
		}
		total := 0
		for j, e := range m.Embeds {
			total += e.Len()
			if n := TextLen(e.Title); n > l.Title {
				t.Errorf("message %d embed %d: title %d > %d", i, j, n, l.Title)
			}
			if n := TextLen(e.Description); n > l.Description {
				t.Errorf("message %d embed %d: description %d > %d", i, j, n, l.Description)
			}
			if n := TextLen(e.Footer); n > l.Footer {
				t.Errorf("message %d embed %d: footer %d > %d", i, j, n, l.Footer)
			}
			if len(e.Fields) > l.Fields {
				t.Errorf("message %d embed %d: %d fields > %d", i, j, len(e.Fields), l.Fields)
			}
			for _, f := range e.Fields {
				if TextLen(f.Name) > l.FieldName || TextLen(f.Value) > l.FieldValue {
					t.Errorf("message %d embed %d: field over its limit", i, j)
				}
			}
		}
		if total > l.MessageEmbedChars {
			t.Errorf("message %d: embeds total %d > %d", i, total, l.MessageEmbedChars)
		}
	}
}

var linkRE = regexp.MustCompile(`\]\((https?://[^)]*)\)`)

// checkLinksWhole fails when a rendered link is not exactly one of the
// digest's URLs, and when an item's story is missing or shown twice.
func checkLinksWhole(t *testing.T, msgs []Message, d *Digest) {
	t.Helper()
	urls := map[string]bool{}
	want := 0
	for _, s := range d.Sections {
		want += len(s.Items)
		for _, it := range s.Items {
			urls[it.URL] = true
			for _, src := range it.Sources {
				urls[src.URL] = true
			}
		}
	}
	got := 0
	for _, m := range msgs {
		got += len(m.Embeds)
		for _, e := range m.Embeds {
			if e.URL != "" && !urls[e.URL] {
				t.Errorf("embed URL %q is not one of the digest's", e.URL)
			}
			for _, l := range linkRE.FindAllStringSubmatch(e.Description, -1) {
				if !urls[l[1]] {
					t.Errorf("link %q was cut or altered", l[1])
				}
			}
		}
	}
	if got != want {
		t.Errorf("%d embeds for %d items", got, want)
	}
}

// randomText mixes ASCII words, Markdown characters, CJK and emoji.
func randomText(r *rand.Rand, n int) string {
	parts := []string{"harbour", "strike", "*", "_", "\\", "**bold**", "人工智能", "芯片", "🚢", "ferry", " ", " ", " ", "`", "[x]", "é", "—", "\n"}
	var b strings.Builder
	for b.Len() < n {
		b.WriteString(parts[r.IntN(len(parts))])
	}
	return b.String()
}

// TestRenderRespectsLimits renders random digests, some with tiny limits,
// and checks every limit of every message.
func TestRenderRespectsLimits(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for iter := range 300 {
		l := DiscordLimits
		if iter%3 == 0 {
			l = Limits{Content: 40 + r.IntN(200), Embeds: 1 + r.IntN(10), MessageEmbedChars: 600 + r.IntN(3000), Description: 200 + r.IntN(2000), Title: 20 + r.IntN(200), Fields: 25, FieldName: 256, FieldValue: 1024, Footer: 20 + r.IntN(100)}
		}
		d := &Digest{Channel: ref, GeneratedAt: now}
		for s := range 1 + r.IntN(5) {
			sec := Section{Label: randomText(r, 1+r.IntN(600)), Color: s, More: r.IntN(3)}
			sec.Lookup = "/lookup query:" + sec.Label
			for i := range 1 + r.IntN(14) {
				it := Item{Title: randomText(r, 1+r.IntN(400)), URL: fmt.Sprintf("https://example.com/%d/%d/%s", s, i, strings.Repeat("p", r.IntN(300))), Summary: randomText(r, r.IntN(9000)), Published: day}
				for k := range r.IntN(40) {
					it.Sources = append(it.Sources, digestbot.Source{Name: randomText(r, 1+r.IntN(30)), URL: fmt.Sprintf("https://s%d.example/%d/%d/%d", k, s, i, k), Published: day})
				}
				sec.Items = append(sec.Items, it)
				d.Stories++
			}
			d.Sections = append(d.Sections, sec)
		}
		msgs := Render(d, l)
		checkLimits(t, msgs, l)
		checkLinksWhole(t, msgs, d)
		if t.Failed() {
			t.Fatalf("iteration %d with limits %+v", iter, l)
		}
	}
}

// FuzzRender renders stories whose text comes from feeds (titles,
// summaries, outlet names) and checks every limit and every link.
func FuzzRender(f *testing.F) {
	f.Add("Harbour strike", "Dock workers **walked out** again.", "Outlet", "harbour", 300, 2)
	f.Add("人工智能芯片出口新规", "新规涉及**人工智能**芯片。", "新华社", "人工智能", 60, 1)
	f.Add(`\*\*[x](y)`, "`code **bold", "a]b(c)", "lab`el", 40, 7)
	f.Fuzz(func(t *testing.T, title, summary, source, label string, descMax, nSources int) {
		l := DiscordLimits
		l.Description = 50 + abs(descMax)%4000
		l.Content = 30 + abs(descMax)%200
		l.Title = 10 + abs(descMax)%240
		it := Item{Title: title, URL: "https://example.com/a", Summary: summary, Published: day}
		for i := range abs(nSources) % 40 {
			it.Sources = append(it.Sources, digestbot.Source{Name: source, URL: fmt.Sprintf("https://s%d.example/x", i), Published: day})
		}
		d := &Digest{Channel: ref, GeneratedAt: now, Stories: 1, Sections: []Section{{Label: label, Items: []Item{it}, More: 1, Lookup: "/lookup query:" + label}}}
		msgs := Render(d, l)
		checkLimits(t, msgs, l)
		checkLinksWhole(t, msgs, d)
	})
}

func abs(n int) int {
	if n < 0 {
		if n == -n { // the most negative int
			return 0
		}
		return -n
	}
	return n
}

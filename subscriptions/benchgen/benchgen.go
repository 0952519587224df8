// Package benchgen generates benchmark input for the matcher: a synthetic
// vocabulary with a Zipf distribution, news-like articles of a given size and
// a realistic mix of subscription queries (words, phrases, OR, prefixes,
// exclusions, title scopes, some Chinese). The output is a pure function of
// the sizes and the seed, so every run and every engine compared on it sees
// the same data.
//
// The vocabulary is made up (syllables strung together) so that the
// repository holds no third-party text. Like natural language, frequent words
// are short (Zipf's law of abbreviation) and a few dozen function words make
// up a large share of the running text.
package benchgen

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
)

// Article is one generated article; it marshals to the JSON line format of
// `digestbot bench match --articles`.
type Article struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	Text  string `json:"text"`
}

// Options size the generated data.
type Options struct {
	Seed         uint64
	VocabSize    int // distinct words, default 100,000
	ArticleBytes int // approximate text size of an article, default 3,000
}

func (o Options) withDefaults() Options {
	if o.VocabSize <= 0 {
		o.VocabSize = 100_000
	}
	if o.ArticleBytes <= 0 {
		o.ArticleBytes = 3_000
	}
	return o
}

// functionWords open the vocabulary: the most frequent words of running text.
var functionWords = strings.Fields(`the of and to a in that is was for on it with as by
at from he his be this have are not but had they which or an were
their has its been said more will one also after who would about all than
new two there can first into year over other some out up people only time`)

// querySkip is how many of the most frequent words queries never use.
const querySkip = 2000

// Generator holds a vocabulary and its frequency distribution.
type Generator struct {
	opt    Options
	words  []string // by rank, most frequent first
	han    []string // Chinese words of two to four characters
	phrase [][2]int // frequent two-word collocations, as word ranks
	// names are the people, places and organisations the news is about:
	// one or two capitalised words from a syllable set of their own, by
	// popularity. Most alerts are subscriptions to such names.
	names []string
}

// nameCount is the number of distinct names.
const nameCount = 200_000

// New builds the vocabulary for opt.
func New(opt Options) *Generator {
	opt = opt.withDefaults()
	r := rand.New(rand.NewPCG(opt.Seed, 0x9e3779b97f4a7c15))
	g := &Generator{opt: opt}
	seen := map[string]bool{}
	for _, w := range functionWords {
		seen[w] = true
	}
	onsets := strings.Fields("b c d f g h j k l m n p r s t v w z br ch cl cr dr fl gr kr pl pr sh st str th tr")
	vowels := strings.Fields("a e i o u ai ea ee io ou ia")
	codas := []string{"", "", "", "n", "r", "s", "l", "m", "t", "nd", "st", "ng", "x"}
	var gen []string
	for len(gen) < opt.VocabSize-len(functionWords) {
		n := 1 + r.IntN(4)
		var b strings.Builder
		for range n {
			b.WriteString(onsets[r.IntN(len(onsets))])
			b.WriteString(vowels[r.IntN(len(vowels))])
		}
		b.WriteString(codas[r.IntN(len(codas))])
		w := b.String()
		if !seen[w] {
			seen[w] = true
			gen = append(gen, w)
		}
	}
	// Short words first: frequent words are short.
	sort.SliceStable(gen, func(i, j int) bool { return len(gen[i]) < len(gen[j]) })
	g.words = append(append([]string{}, functionWords...), gen...)
	for range 2000 {
		n := 2 + r.IntN(3)
		var b strings.Builder
		for range n {
			b.WriteRune(rune(0x4E00 + r.IntN(3000))) // common block of CJK ideographs
		}
		g.han = append(g.han, b.String())
	}
	for range 20000 {
		g.phrase = append(g.phrase, [2]int{len(functionWords) + r.IntN(5000), len(functionWords) + r.IntN(20000)})
	}
	nameOnsets := strings.Fields("k v z y q x kh zh ts dj bel mar kor sav len ov vas")
	nameVowels := strings.Fields("a o u y e aa oo")
	nameCodas := strings.Fields("v k z n sk ov in ar ez ko")
	var parts []string
	for len(parts) < 60_000 {
		var b strings.Builder
		for range 2 + r.IntN(2) {
			b.WriteString(nameOnsets[r.IntN(len(nameOnsets))])
			b.WriteString(nameVowels[r.IntN(len(nameVowels))])
		}
		b.WriteString(nameCodas[r.IntN(len(nameCodas))])
		w := capitalize(b.String())
		if !seen[strings.ToLower(w)] {
			seen[strings.ToLower(w)] = true
			parts = append(parts, w)
		}
	}
	names := map[string]bool{}
	for len(g.names) < nameCount {
		n := parts[r.IntN(len(parts))]
		if r.IntN(3) > 0 {
			n = parts[r.IntN(len(parts))] + " " + n
		}
		if !names[n] {
			names[n] = true
			g.names = append(g.names, n)
		}
	}
	return g
}

// Words returns the vocabulary, most frequent first.
func (g *Generator) Words() []string { return g.words }

// zipf draws ranks past skip; v flattens the head of the distribution.
func (g *Generator) zipf(r *rand.Rand, skip int, v float64) *rand.Zipf {
	return rand.NewZipf(r, 1.1, v, uint64(len(g.words)-1-skip))
}

// Articles returns n articles.
func (g *Generator) Articles(n int) []Article {
	r := rand.New(rand.NewPCG(g.opt.Seed, 1))
	z := g.zipf(r, 0, 2.7)
	zn := rand.NewZipf(r, 1.05, 10, nameCount-1)
	out := make([]Article, n)
	for i := range out {
		// A story is about a few names, mentioned a few times each.
		about := make([]string, 2+r.IntN(3))
		for j := range about {
			about[j] = g.names[zn.Uint64()]
		}
		out[i] = Article{
			ID:    fmt.Sprintf("a%06d", i+1),
			Title: capitalize(g.sentence(r, z, 5+r.IntN(6), false)) + " " + about[0],
			Text:  g.text(r, z, g.opt.ArticleBytes, about),
		}
	}
	return out
}

func (g *Generator) text(r *rand.Rand, z *rand.Zipf, size int, about []string) string {
	var b strings.Builder
	b.Grow(size + 200)
	for b.Len() < size {
		b.WriteString(capitalize(g.sentence(r, z, 8+r.IntN(20), true)))
		if r.IntN(3) == 0 {
			b.WriteString(" with ")
			b.WriteString(about[r.IntN(len(about))])
		}
		b.WriteString(". ")
		if r.IntN(40) == 0 { // a Chinese quotation now and then
			for range 3 + r.IntN(8) {
				b.WriteString(g.han[r.IntN(len(g.han))])
			}
			b.WriteString("。 ")
		}
		if r.IntN(8) == 0 {
			b.WriteString("\n\n")
		}
	}
	return b.String()
}

func (g *Generator) sentence(r *rand.Rand, z *rand.Zipf, n int, punct bool) string {
	words := make([]string, 0, n+2)
	for len(words) < n {
		if r.IntN(40) == 0 {
			p := g.phrase[r.IntN(len(g.phrase))]
			words = append(words, g.words[p[0]], g.words[p[1]])
			continue
		}
		w := g.words[z.Uint64()]
		switch {
		case r.IntN(15) == 0:
			w = capitalize(w)
		case punct && r.IntN(25) == 0:
			w += ","
		case punct && r.IntN(60) == 0:
			w += "’s"
		}
		words = append(words, w)
	}
	return strings.Join(words, " ")
}

func capitalize(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

// Queries returns n queries, one per subscription. Their words come from
// past the most frequent words, with a flattened head, which is how people
// subscribe: to names and subjects that a small share of articles mention,
// not to "the" or "said". A query that needs only one word (a single word,
// an alternative, a prefix) uses a rare one, as alerts on a name do; a
// conjunction may combine commoner words.
func (g *Generator) Queries(n int) []string {
	r := rand.New(rand.NewPCG(g.opt.Seed, 2))
	skip := querySkip
	z := g.zipf(r, skip, 20000)
	word := func() string { return g.words[skip+int(z.Uint64())] }
	rareSkip := len(g.words) / 5
	zr := g.zipf(r, rareSkip, 20000)
	rare := func() string { return g.words[rareSkip+int(zr.Uint64())] }
	// Popular names have more subscribers, but far from all of them.
	zn := rand.NewZipf(r, 1.05, 2000, nameCount-1)
	name := func() string {
		n := g.names[zn.Uint64()]
		if strings.Contains(n, " ") {
			return `"` + n + `"`
		}
		return n
	}
	phrase := func() string {
		if r.IntN(2) == 0 {
			p := g.phrase[r.IntN(len(g.phrase))]
			return `"` + g.words[p[0]] + " " + g.words[p[1]] + `"`
		}
		return `"` + word() + " " + word() + `"`
	}
	prefix := func() string {
		for {
			w := rare()
			if r.IntN(2) == 0 {
				w = strings.Trim(name(), `"`)
				w = w[strings.LastIndexByte(w, ' ')+1:]
			}
			if len(w) >= 7 {
				return w[:5+r.IntN(len(w)-6)] + "*"
			}
		}
	}
	out := make([]string, n)
	for i := range out {
		var q string
		switch k := r.IntN(100); {
		case k < 20: // a name
			q = name()
			if r.IntN(2) == 0 {
				q += " " + word()
			}
		case k < 30: // two or three words
			q = word() + " " + word()
			if r.IntN(2) == 0 {
				q += " " + rare()
			}
		case k < 45:
			q = phrase()
		case k < 55:
			q = phrase() + " " + word()
		case k < 67: // alternatives
			q = name() + " OR " + name()
			if r.IntN(2) == 0 {
				q = "(" + q + " OR " + phrase() + ") " + word()
			}
		case k < 77:
			q = prefix() + " " + word()
			if r.IntN(3) == 0 {
				q = prefix()
			}
		case k < 87: // exclusions
			q = word() + " " + word() + " -" + word()
			if r.IntN(2) == 0 {
				q = phrase() + " -(" + word() + " OR " + phrase() + ")"
			}
		case k < 93:
			q = "title:" + word() + " " + word()
		case k < 97:
			q = g.han[r.IntN(len(g.han))]
		default:
			q = name()
		}
		out[i] = q
	}
	return out
}

package archive

import (
	"math"
	"testing"
	"time"

	"github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/subscriptions"
)

func TestPostingRoundTrip(t *testing.T) {
	pub := time.Date(2021, 3, 20, 14, 30, 0, 0, time.UTC)
	st := encodeStats(2, 300, 0x81, 0x10)
	rec := encodeDoc(encodeNorm(480), toHours(pub))
	blob := "\x00\x01\x02" + string(st[:]) + "\x00\x00\x07" + string(st[:]) + "\x01"
	docs := make([]byte, 259*docSize)
	copy(docs[258*docSize:], rec[:])
	ps := decodePostings(nil, 9, blob, string(docs))
	if len(ps) != 2 {
		t.Fatalf("decoded %d postings from two records and a stray byte", len(ps))
	}
	p := ps[0]
	if p.doc != 9<<32|258 || ps[1].doc != 9<<32|7 {
		t.Errorf("doc = %x, %x", p.doc, ps[1].doc)
	}
	if p.tfT != 2 || p.tfB != maxBodyTF {
		t.Errorf("tf = %d/%d, want 2 and the cap %d", p.tfT, p.tfB, maxBodyTF)
	}
	if got := fromHours(p.hours); !got.Equal(pub.Truncate(time.Hour)) {
		t.Errorf("hours decode to %v", got)
	}
	if p.next != 0x81 || p.prev != 0x10 {
		t.Errorf("signatures %x %x", p.next, p.prev)
	}
	if l := decodeNorm(p.norm); math.Abs(l-480)/480 > 0.05 {
		t.Errorf("norm of 480 decodes to %v", l)
	}
	if ps[1].hours != 0 || ps[1].norm != 0 {
		t.Errorf("a document missing from the table decodes to %+v", ps[1])
	}
	if st := encodeStats(9, 1, 0, 0); st[0]>>6 != maxTitleTF {
		t.Errorf("title tf 9 is stored as %d, want the cap %d", st[0]>>6, maxTitleTF)
	}
}

func TestHoursClamp(t *testing.T) {
	if toHours(time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)) != 0 {
		t.Error("a date before the epoch is not hour 0")
	}
	if far, near := toHours(time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)), toHours(time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)); far <= near {
		t.Errorf("a far date wraps around: %d <= %d", far, near)
	}
}

func TestNormIsMonotonic(t *testing.T) {
	prev := encodeNorm(0)
	for l := 1; l < 100000; l += 7 {
		n := encodeNorm(l)
		if n < prev {
			t.Fatalf("norm(%d) = %d < %d", l, n, prev)
		}
		prev = n
	}
}

func TestScoring(t *testing.T) {
	sc := DefaultScoring
	now := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	if a, b := sc.recencyBoost(now.Add(-time.Hour), now), sc.recencyBoost(now.Add(-30*24*time.Hour), now); a <= b {
		t.Errorf("newer boost %v <= older %v", a, b)
	}
	if b := sc.recencyBoost(now.Add(time.Hour), now); b != 1+sc.RecencyWeight {
		t.Errorf("a future date gets %v", b)
	}
	avg := 400.0
	title := sc.termScore(idf(1000, 10), float64(sc.TitleWeight), encodeNorm(400), avg)
	body := sc.termScore(idf(1000, 10), 1, encodeNorm(400), avg)
	if title <= body {
		t.Errorf("a title occurrence scores %v, a body one %v", title, body)
	}
	if short, long := sc.termScore(1, 1, encodeNorm(100), avg), sc.termScore(1, 1, encodeNorm(2000), avg); short <= long {
		t.Errorf("short document %v <= long %v", short, long)
	}
	if rare, common := idf(1000, 5), idf(1000, 900); rare <= common || common < 0 {
		t.Errorf("idf rare %v common %v", rare, common)
	}
}

func TestCursor(t *testing.T) {
	key := requestKey("lighthouse", time.Time{}, "", "")
	c := cursor{now: time.Unix(1700000000, 123), score: 3.25, id: "a.b", req: key}
	got, err := decodeCursor(c.encode(), key)
	if err != nil {
		t.Fatal(err)
	}
	if got.score != c.score || got.id != c.id || !got.now.Equal(c.now) {
		t.Errorf("round trip gave %+v", got)
	}
	for name, s := range map[string]string{
		"other request": c.encode(),
		"not base64":    "%%%",
		"empty fields":  "LgouLi4",
	} {
		k := key
		if name == "other request" {
			k = requestKey("keepers", time.Time{}, "", "")
		}
		if _, err := decodeCursor(s, k); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	after := func(score float64, pub int64, id string) bool {
		return c.after(&ranked{score: score, pub: pub, id: id})
	}
	if !after(3.0, 9, "aaa") || !after(3.25, 0, "a.c") || after(3.25, 0, "a.b") || after(4, 0, "zzz") || !after(3.25, -1, "a.a") || after(3.25, 1, "a.z") {
		t.Error("after orders wrongly")
	}
}

func FuzzDecodeCursor(f *testing.F) {
	key := requestKey("q", time.Time{}, "", "")
	f.Add(cursor{now: time.Unix(1, 0), score: 1, id: "x", req: key}.encode())
	f.Add("")
	f.Add("YzEuMS4xLnguMQ")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := decodeCursor(s, key)
		if err != nil {
			return
		}
		// Whatever decodes must survive a round trip unchanged.
		again, err := decodeCursor(c.encode(), key)
		if err != nil || again.score != c.score || again.id != c.id || !again.now.Equal(c.now) {
			t.Errorf("%q decodes to %+v, which does not round-trip: %+v %v", s, c, again, err)
		}
	})
}

// docPostings builds the lists of a plan for documents given as texts, the
// way Add would index them.
func docPostings(t *testing.T, p *plan, docs map[uint64]string) lists {
	t.Helper()
	x := New(nil, "t:", Options{})
	ls := make(lists, len(p.leaves))
	for doc := uint64(1); doc <= uint64(len(docs)); doc++ {
		d := x.analyse(&digestbot.Article{Title: "headline", Text: docs[doc]}, time.Now())
		for i, term := range d.terms {
			for l, lf := range p.leaves {
				if lf.term == term {
					blob := string([]byte{0, 0, byte(doc)}) + string(d.stats[i][:])
					ls[l] = decodePostings(ls[l], 0, blob, "")
				}
			}
		}
	}
	return ls
}

func TestPlanEval(t *testing.T) {
	docs := map[uint64]string{
		1: "the red line cannot be crossed",
		2: "a line of red flags",
		3: "green line only",
	}
	tests := []struct {
		query string
		want  []int // per doc: tNo, tMaybe, tYes
	}{
		{"red", []int{tYes, tYes, tNo}},
		{"red line", []int{tYes, tYes, tNo}},
		{"red -flags", []int{tYes, tNo, tNo}},
		{"red OR green", []int{tYes, tYes, tYes}},
		{`"red line"`, []int{tMaybe, tNo, tNo}}, // doc 2 fails the neighbour signatures
		{`line -"red line"`, []int{tMaybe, tYes, tYes}},
		{"title:red", []int{tNo, tNo, tNo}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			q := subscriptions.MustParse(tt.query)
			p := compile(q.Root)
			ls := docPostings(t, p, docs)
			w := newWalker(ls)
			for i, want := range tt.want {
				if got := p.eval(p.root, w, uint64(i+1)); got != want {
					t.Errorf("doc %d: %d, want %d", i+1, got, want)
				}
			}
		})
	}
}

func TestWalkerFindsInOrder(t *testing.T) {
	var ps []posting
	for d := uint64(0); d < 1000; d += 3 {
		ps = append(ps, posting{doc: d})
	}
	w := newWalker(lists{ps})
	for d := uint64(0); d < 1005; d++ {
		if _, ok := w.find(0, d); ok != (d%3 == 0 && d < 1000) {
			t.Fatalf("find(%d) = %v", d, ok)
		}
		w.find(0, d) // asking twice for the same doc is allowed
	}
	w = newWalker(lists{ps})
	if _, ok := w.find(0, 999); !ok {
		t.Error("a long jump misses the last posting")
	}
}

func TestHighlight(t *testing.T) {
	tests := []struct {
		text    string
		matched []string
		want    string
	}{
		{"Norway closes its Confucius Institute.", []string{"confucius institute"}, "Norway closes its **Confucius Institute**."},
		{"China’s red line", []string{"China"}, "**China’s** red line"},
		{"surveillance and surveys", []string{"surv*"}, "**surveillance** and **surveys**"},
		{"北京发布人脸识别新规", []string{"人脸识别"}, "北京发布**人脸识别**新规"},
		{"a_b *star*", []string{"star"}, `a\_b \***star**\*`},
		{"nothing here", []string{"absent"}, "nothing here"},
	}
	for _, tt := range tests {
		if got := highlight(tt.text, newMatcher(tt.matched)); got != tt.want {
			t.Errorf("highlight(%q, %q) = %q, want %q", tt.text, tt.matched, got, tt.want)
		}
	}
}

// BenchmarkRankFrequent times the pure part of a search whose one word is
// in 100,000 documents: evaluation, scoring and ordering the candidates.
func BenchmarkRankFrequent(b *testing.B) {
	p := compile(subscriptions.MustParse("common").Root)
	var blob, docs []byte
	for d := range 100_000 {
		st := encodeStats(d%3, 1+d%7, 0, 0)
		blob = append(blob, byte(d>>16), byte(d>>8), byte(d))
		blob = append(blob, st[:]...)
		rec := encodeDoc(encodeNorm(300+d%500), uint32(200_000+d%720))
		docs = append(docs, rec[:]...)
	}
	sc := DefaultScoring
	boost := sc.boostFunc(fromHours(201_000))
	for b.Loop() {
		ls := lists{decodePostings(nil, 1, string(blob), string(docs))}
		rs, _ := p.rank(ls, 0, stats{docs: 100_000, length: 4e7}, sc, boost)
		_ = topRanked(rs, 6)
	}
}

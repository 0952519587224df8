package archive

import (
	"cmp"
	"container/heap"
	"math"
	"slices"
	"time"

	"github.com/digestbot/digestbot"
)

// Posting records. Every posting is recSize bytes in its term's posting
// string: the document number (big-endian, 3 bytes, unique within a
// bucket), the term frequencies (one byte: the title's, capped at 3, in the
// top two bits, the body's, capped at 63, in the other six) and two 8-bit
// word-neighbour signatures: bit neighbourBit(w) of next is set when the
// word w follows the term somewhere in the document, of prev when w
// precedes it. The signatures rule out most documents that hold the words
// of a phrase but not side by side, without indexing positions (a "next
// word" filter). BM25 saturates long before a body frequency of 63, and a
// title rarely repeats a word more than three times, so the caps hardly
// move a score.
//
// What is the same for every term of a document, its length norm (one
// byte, see encodeNorm) and publication time (hours since epoch, 3 bytes),
// is in the bucket's document table, docSize bytes at offset docSize·doc,
// as Lucene keeps a norm per document: a search reads the tables of its
// buckets with the postings and scores every candidate from them alone.
const (
	recSize    = 6
	docNumLen  = 3
	statSize   = recSize - docNumLen // the part the Go side computes; the script prepends the doc number
	docSize    = 4
	maxTitleTF = 3
	maxBodyTF  = 63
	maxHours   = 1<<24 - 1
	maxDocNum  = 1<<24 - 1
)

// epoch is hour 0 of the packed publication times.
var epoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// posting is one decoded posting record, with its document's norm and hour.
type posting struct {
	doc   uint64 // bucket<<32 | document number: unique across the index
	tfT   uint8  // occurrences in the title
	tfB   uint8  // occurrences in the body (text; for field terms, the field)
	norm  uint8
	hours uint32 // publication hour, see toHours
	next  uint8  // signature of the words that follow the term
	prev  uint8  // signature of the words that precede it
}

// neighbourBit is the signature bit of a word (FNV-1a, 8 buckets).
func neighbourBit(w string) uint8 {
	h := uint32(2166136261)
	for i := 0; i < len(w); i++ {
		h ^= uint32(w[i])
		h *= 16777619
	}
	return 1 << (h % 8)
}

// encodeStats returns the statSize bytes of a posting after the doc number.
func encodeStats(tfT, tfB int, next, prev uint8) [statSize]byte {
	return [statSize]byte{uint8(min(tfT, maxTitleTF))<<6 | uint8(min(tfB, maxBodyTF)), next, prev}
}

// encodeDoc returns a document's record in its bucket's document table.
func encodeDoc(norm uint8, hours uint32) [docSize]byte {
	return [docSize]byte{norm, uint8(hours >> 16), uint8(hours >> 8), uint8(hours)}
}

// decodePostings appends the postings of one bucket's posting string to
// dst, with the norms and hours of the bucket's document table docs. A
// trailing partial record (which a correct writer never leaves) is
// ignored; a document missing from the table (which the script that
// writes both never leaves) gets norm and hour 0.
func decodePostings(dst []posting, bucket int64, blob, docs string) []posting {
	for i := 0; i+recSize <= len(blob); i += recSize {
		r := blob[i : i+recSize]
		n := uint64(r[0])<<16 | uint64(r[1])<<8 | uint64(r[2])
		p := posting{
			doc:  uint64(bucket)<<32 | n,
			tfT:  r[3] >> 6,
			tfB:  r[3] & maxBodyTF,
			next: r[4],
			prev: r[5],
		}
		if o := int(n) * docSize; o+docSize <= len(docs) {
			p.norm = docs[o]
			p.hours = uint32(docs[o+1])<<16 | uint32(docs[o+2])<<8 | uint32(docs[o+3])
		}
		dst = append(dst, p)
	}
	return dst
}

// toHours packs t as whole hours since epoch, clamped to the 3 bytes.
func toHours(t time.Time) uint32 {
	h := t.Sub(epoch) / time.Hour
	switch {
	case h < 0:
		return 0
	case h > maxHours:
		return maxHours
	}
	return uint32(h)
}

// fromHours is the start of a packed hour.
func fromHours(h uint32) time.Time { return epoch.Add(time.Duration(h) * time.Hour) }

// encodeNorm maps a document length to one byte on a logarithmic scale
// (steps of about 4.4%), enough for BM25's length normalisation.
func encodeNorm(length int) uint8 {
	if length <= 0 {
		return 0
	}
	v := math.Round(16 * math.Log2(1+float64(length)))
	return uint8(min(v, 255))
}

// decodeNorm is the length a norm byte stands for.
func decodeNorm(n uint8) float64 { return normTable[n] }

var normTable = func() (t [256]float64) {
	for i := range t {
		t[i] = math.Exp2(float64(i)/16) - 1
	}
	return t
}()

// Scoring holds the ranking parameters. The score of a document d for a
// query is
//
//	bm25(d)  = Σ over the query's positive terms t present in d:
//	           idf(t) · tf·(k1+1) / (tf + k1·(1 − b + b·len(d)/avglen))
//	tf       = TitleWeight·tf_title(t,d) + tf_body(t,d)            (BM25F, one field weight)
//	len(d)   = TitleWeight·|title| + |text|,  avglen over the index
//	idf(t)   = ln(1 + (N − df + 0.5)/(df + 0.5))
//	score(d) = bm25(d) · (1 + RecencyWeight · 2^(−age(d)/HalfLife))
//
// where age is the time from the article's publication (else ingest) to the
// request's Now, at least 0. A `title:` term counts only its title
// occurrences; a `source:`/`tag:` term counts as tf 1 without length
// normalisation. So relevance decides, and among equally relevant articles
// the newer one wins: a fresh article gets up to 1+RecencyWeight times the
// score of an old one, halving the bonus every HalfLife.
type Scoring struct {
	K1            float64
	B             float64
	TitleWeight   int // integer so lengths stay integers in the collection stats
	RecencyWeight float64
	HalfLife      time.Duration
}

// DefaultScoring is the ranking used unless Options.Scoring says otherwise.
var DefaultScoring = Scoring{K1: 1.2, B: 0.75, TitleWeight: 3, RecencyWeight: 0.5, HalfLife: 7 * 24 * time.Hour}

func (s Scoring) withDefaults() Scoring {
	d := DefaultScoring
	if s.K1 > 0 {
		d.K1 = s.K1
	}
	if s.B > 0 && s.B <= 1 {
		d.B = s.B
	}
	if s.TitleWeight > 0 {
		d.TitleWeight = s.TitleWeight
	}
	if s.RecencyWeight > 0 {
		d.RecencyWeight = s.RecencyWeight
	}
	if s.HalfLife > 0 {
		d.HalfLife = s.HalfLife
	}
	return d
}

// docLength is the weighted length of a document (see Scoring).
func (s Scoring) docLength(titleTokens, textTokens int) int {
	return s.TitleWeight*titleTokens + textTokens
}

// idf is the BM25 inverse document frequency (never negative).
func idf(n, df float64) float64 {
	if df > n {
		n = df
	}
	return math.Log(1 + (n-df+0.5)/(df+0.5))
}

// termScore is the BM25 contribution of one term of weight idfT in a
// document whose weighted frequency is tf and whose length norm is norm.
func (s Scoring) termScore(idfT, tf float64, norm uint8, avgLen float64) float64 {
	if tf <= 0 {
		return 0
	}
	l := 1.0
	if avgLen > 0 {
		l = decodeNorm(norm) / avgLen
	}
	return idfT * tf * (s.K1 + 1) / (tf + s.K1*(1-s.B+s.B*l))
}

// recencyBoost is the factor applied to bm25 for an article published at
// pub, seen at now.
func (s Scoring) recencyBoost(pub, now time.Time) float64 {
	age := now.Sub(pub)
	if age < 0 {
		age = 0
	}
	return 1 + s.RecencyWeight*math.Exp2(-float64(age)/float64(s.HalfLife))
}

// boostFunc returns recencyBoost as a function of the publication hour,
// memoised: the candidates of one search share few distinct hours.
func (s Scoring) boostFunc(now time.Time) func(uint32) float64 {
	memo := map[uint32]float64{}
	return func(h uint32) float64 {
		if v, ok := memo[h]; ok {
			return v
		}
		v := s.recencyBoost(fromHours(h), now)
		memo[h] = v
		return v
	}
}

func byDoc(a, b posting) int { return cmp.Compare(a.doc, b.doc) }

// ranked is one candidate in result order.
type ranked struct {
	doc   uint64 // bucket<<32 | document number
	score float64
	id    string // article id, filled in only when needed for a tie or a page
	// pub is the article's publication (else ingest) time in Unix
	// nanoseconds, read with the article; 0 when it is gone.
	pub int64
}

// before reports whether a sorts before b: higher score first, then the
// newer article (equal scores are common: the recency boost counts whole
// hours, so a wire story carried alike by several outlets ties), then
// article id. Both articles must have been read when the scores are equal.
func before(a, b *ranked) bool {
	if a.score != b.score {
		return a.score > b.score
	}
	if a.pub != b.pub {
		return a.pub > b.pub
	}
	return a.id < b.id
}

// pubNanos is ranked.pub of a.
func pubNanos(a *digestbot.Article) int64 {
	t := pubTime(a, time.Time{})
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// byRank orders candidates by score, best first, then by doc number (a
// stand-in for the date and id until the articles are read; see topRanked).
func byRank(a, b ranked) int {
	if c := cmp.Compare(b.score, a.score); c != 0 {
		return c
	}
	return cmp.Compare(a.doc, b.doc)
}

// topRanked moves the best n candidates of rs to its front, together with
// every other candidate whose score equals the n-th best (so ties can be
// ordered by date and article id as a group), sorts them, and returns how many it
// moved. It costs O(len(rs)·log n): a page never sorts every candidate of
// a frequent word.
func topRanked(rs []ranked, n int) int {
	if n >= len(rs) {
		slices.SortFunc(rs, byRank)
		return len(rs)
	}
	h := make(minScores, 0, n)
	for _, r := range rs {
		if len(h) < n {
			heap.Push(&h, r.score)
		} else if r.score > h[0] {
			h[0] = r.score
			heap.Fix(&h, 0)
		}
	}
	threshold := h[0]
	m := 0
	for i := range rs {
		if rs[i].score >= threshold {
			rs[i], rs[m] = rs[m], rs[i]
			m++
		}
	}
	slices.SortFunc(rs[:m], byRank)
	return m
}

// minScores is a min-heap of scores.
type minScores []float64

func (h minScores) Len() int           { return len(h) }
func (h minScores) Less(i, j int) bool { return h[i] < h[j] }
func (h minScores) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *minScores) Push(x any)        { *h = append(*h, x.(float64)) }
func (h *minScores) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

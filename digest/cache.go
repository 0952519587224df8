package digest

import (
	"hash/fnv"
	"slices"
	"strings"
	"sync"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/analysis"
	"github.com/digestbot/digestbot/summarize"
)

// DefaultCacheBytes bounds an ArticleCache made by NewArticleCache(0).
const DefaultCacheBytes = 64 << 20

// maxSummaryText is how much of an article's text is searched for the
// sentence that holds the matched terms; news puts what matters first, and
// it bounds the work for a very long article.
const maxSummaryText = 32 << 10

// ArticleCache keeps what composition derives from an article (its
// sentences, their normalised forms for a quick look-up, the title's
// signature), so that an article that appears in many channels' digests is
// analysed once. It is safe for concurrent use and holds about maxBytes of
// text; when full it starts over. A nil *ArticleCache caches nothing.
type ArticleCache struct {
	mu       sync.Mutex
	m        map[string]*articleInfo
	bytes    int
	maxBytes int
}

// NewArticleCache returns a cache of about maxBytes (0: DefaultCacheBytes).
func NewArticleCache(maxBytes int) *ArticleCache {
	if maxBytes <= 0 {
		maxBytes = DefaultCacheBytes
	}
	return &ArticleCache{m: map[string]*articleInfo{}, maxBytes: maxBytes}
}

// articleInfo is the analysis of one version of an article.
type articleInfo struct {
	title, text string // what it was derived from, to notice an update
	sents       []string
	normOnce    sync.Once
	norm        []string // analysis.Normalize of each sentence, made on first use
	sig         []uint64 // titleSignature
	// postings holds, sorted, one entry per (token, sentence) pair: the
	// token's hash in the high 48 bits, the sentence index in the low 16.
	postings []uint64
	size     int
}

const sentenceBits = 16

// normalized returns the sentences normalised, for terms the postings
// cannot answer (prefixes).
func (info *articleInfo) normalized() []string {
	info.normOnce.Do(func() {
		info.norm = make([]string, len(info.sents))
		for i, s := range info.sents {
			info.norm[i] = analysis.Normalize(s)
		}
	})
	return info.norm
}

// sentencesWith appends the indexes of the sentences holding the token.
func (info *articleInfo) sentencesWith(dst []int, token string) []int {
	h := hashToken(token)
	i, _ := slices.BinarySearch(info.postings, h)
	for ; i < len(info.postings) && info.postings[i]>>sentenceBits == h>>sentenceBits; i++ {
		dst = append(dst, int(info.postings[i]&(1<<sentenceBits-1)))
	}
	return dst
}

func hashToken(t string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(t))
	return h.Sum64() &^ (1<<sentenceBits - 1)
}

func analyze(a *digestbot.Article) *articleInfo {
	text := a.Text
	if strings.TrimSpace(text) == "" {
		text = a.Summary
	}
	if len(text) > maxSummaryText {
		text = text[:maxSummaryText]
	}
	info := &articleInfo{title: a.Title, text: a.Text, sents: summarize.Sentences(text), sig: titleSignature(a.Title)}
	if len(info.sents) > 1<<sentenceBits-1 {
		info.sents = info.sents[:1<<sentenceBits-1]
	}
	buf := tokenPool.Get().(*[]analysis.Token)
	defer tokenPool.Put(buf)
	for i, s := range info.sents {
		info.size += 2 * len(s)
		*buf = analysis.AppendTokens((*buf)[:0], s)
		for _, t := range *buf {
			info.postings = append(info.postings, hashToken(t.Text)|uint64(i))
		}
	}
	slices.Sort(info.postings)
	info.postings = slices.Clip(slices.Compact(info.postings))
	info.size += len(a.Title) + 8*len(info.sig) + 8*len(info.postings) + 64
	return info
}

func (c *ArticleCache) get(a *digestbot.Article) *articleInfo {
	if c == nil {
		return analyze(a)
	}
	c.mu.Lock()
	info := c.m[a.ID]
	c.mu.Unlock()
	if info != nil && info.title == a.Title && info.text == a.Text {
		return info
	}
	info = analyze(a)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]*articleInfo{}
	}
	if c.maxBytes <= 0 {
		c.maxBytes = DefaultCacheBytes
	}
	if c.bytes+info.size > c.maxBytes {
		clear(c.m)
		c.bytes = 0
	}
	if old := c.m[a.ID]; old != nil {
		c.bytes -= old.size
	}
	c.m[a.ID] = info
	c.bytes += info.size
	return info
}

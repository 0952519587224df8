package digest

import (
	"strings"
	"sync"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/analysis"
	"github.com/digestbot/digestbot/summarize"
)

// DefaultCacheBytes bounds an ArticleCache made by NewArticleCache(0):
// about 10,000 articles of 3 KB.
const DefaultCacheBytes = 160 << 20

// maxSummaryText is how much of an article's text is searched for the
// sentence that holds the matched terms; news puts what matters first, and
// it bounds the work for a very long article.
const maxSummaryText = 32 << 10

// ArticleCache keeps what composition derives from an article (its
// sentences, their normalised forms for a quick look-up, the title's
// signature), so that an article that appears in many channels' digests is
// analysed once. It is safe for concurrent use and holds about maxBytes;
// when full it forgets about half of what it holds. A nil *ArticleCache
// caches nothing.
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
	// postings maps a token's hash to the sentences that hold it, as a
	// bit set of sentence index mod 64 (a long article's sentences share
	// bits; candidates are verified anyway).
	postings map[uint64]uint64
	size     int
}

// sentenceMask returns the bit set of sentences that may hold the token.
func (info *articleInfo) sentenceMask(token string) uint64 { return info.postings[hashToken(token)] }

// hashToken is FNV-1a of the token.
func hashToken(t string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(t); i++ {
		h ^= uint64(t[i])
		h *= 1099511628211
	}
	return h
}

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

func analyze(a *digestbot.Article) *articleInfo {
	text := a.Text
	if strings.TrimSpace(text) == "" {
		text = a.Summary
	}
	if len(text) > maxSummaryText {
		text = text[:maxSummaryText]
	}
	info := &articleInfo{title: a.Title, text: a.Text, sents: summarize.Sentences(text), sig: titleSignature(a.Title)}
	buf := tokenPool.Get().(*[]analysis.Token)
	defer tokenPool.Put(buf)
	info.postings = make(map[uint64]uint64, len(text)/16)
	for i, s := range info.sents {
		info.size += 2 * len(s)
		*buf = analysis.AppendTokens((*buf)[:0], s)
		bit := uint64(1) << (uint(i) % 64)
		for _, t := range *buf {
			info.postings[hashToken(t.Text)] |= bit
		}
	}
	// Strings twice (sentences, normalised on demand), ~32 bytes per map
	// entry, the signature, and the structure itself.
	info.size += len(a.Title) + 8*len(info.sig) + 32*len(info.postings) + 256
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
		// Drop about half, at random (map order), rather than everything:
		// the articles of the window being delivered stay likely cached.
		n := 0
		for id, old := range c.m {
			if n%2 == 0 {
				delete(c.m, id)
				c.bytes -= old.size
			}
			n++
		}
	}
	if old := c.m[a.ID]; old != nil {
		c.bytes -= old.size
	}
	c.m[a.ID] = info
	c.bytes += info.size
	return info
}

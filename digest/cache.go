package digest

import (
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
	norm        []string // analysis.Normalize of each sentence
	sig         []uint64 // titleSignature
	size        int
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
	info.norm = make([]string, len(info.sents))
	for i, s := range info.sents {
		info.norm[i] = analysis.Normalize(s)
		info.size += 2 * len(s)
	}
	info.size += len(a.Title) + 8*len(info.sig) + 64
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

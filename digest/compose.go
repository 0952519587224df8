// Package digest turns a channel's pending items into the digest users read
// and delivers it: Compose groups and merges stories (pure), Render splits
// the result into chat-sized messages (pure), Deliverer posts them through a
// Transport so that nothing is lost and nothing is posted twice, and
// Scheduler runs every channel's delivery on its own schedule.
package digest

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"math"
	"math/bits"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/analysis"
	"github.com/digestbot/digestbot/summarize"
)

// Defaults of ComposeOptions.
const (
	// DefaultMaxItemsPerSection bounds one subscription's stories in a
	// digest; past the channel's share (Deliverer.InChannel) they go to
	// the digest's thread.
	DefaultMaxItemsPerSection = 50
	// DefaultSimilarity is the Jaccard similarity of title signatures at or
	// above which two articles are taken for the same story. Headlines of
	// one event from different outlets share most of their content words
	// (0.7-0.8 on the test pairs); headlines of different events on the
	// same subject share some (0.5-0.57 on the test pairs). Merging two
	// different stories hides one, which is worse than listing one story
	// twice, so the threshold leans high.
	DefaultSimilarity = 0.6
	// DefaultSummaryLen is the size of an item's summary, in characters.
	DefaultSummaryLen = digestbot.MaxSummaryLen
	// DefaultMergeWindow is how far apart two reports of one story may be published.
	DefaultMergeWindow = 72 * time.Hour
)

// ChannelInfo is what composition needs to know about the channel.
type ChannelInfo struct {
	Ref      digestbot.ChannelRef
	Name     string         // display name, optional
	Location *time.Location // dates are shown in this zone; nil = UTC
}

// ComposeOptions tune composition. The zero value uses the defaults.
type ComposeOptions struct {
	Now                time.Time         // the clock: when the digest is made
	Since              time.Time         // start of the period the digest covers (the last digest); zero: unknown
	MaxItemsPerSection int               // stories shown per section; the rest are counted in "+N more"
	Similarity         float64           // merge threshold, see DefaultSimilarity; > 1 disables merging
	SummaryLen         int               // characters per summary
	MergeWindow        time.Duration     // reports further apart in time are not merged
	Topics             map[string]string // topic name -> query, for the "/lookup" hint of a topic section
	// Cache, when set, keeps the analysis of each article across calls, so
	// an article in many channels' digests is analysed once.
	Cache *ArticleCache
	// Alert composes an alert (stories posted as they come) instead of a
	// digest: it is headed as an alert and covers no period.
	Alert bool
}

// Digest is one channel's digest for one window, independent of any chat
// service: sections of items, each item a story with its sources.
type Digest struct {
	Channel     digestbot.ChannelRef
	ChannelName string
	Location    *time.Location
	GeneratedAt time.Time
	Since       time.Time // start of the period the digest covers; zero when unknown
	Sections    []Section
	Stories     int // items in all sections, shown or not
	Articles    int // articles covered (a merged story counts each of its reports)
	// Alert says it is an alert, not a digest (ComposeOptions.Alert).
	Alert bool
	// Mentions are the roles to ping with it: those of the subscriptions
	// whose stories it holds, at most MaxMentions, in order of appearance.
	Mentions []string
}

// MaxMentions bounds the roles one digest or alert pings.
const MaxMentions = 20

// Section holds the stories of one subscription.
type Section struct {
	Label  string // the subscription's query text or "topic:name"
	Color  int    // stable per label, 0xRRGGBB
	Items  []Item // at most MaxItemsPerSection, best first
	More   int    // stories not shown
	Lookup string // the command that shows them all, e.g. `/lookup query:"red line" since:3d`
}

// Item is one story: a linked title, a summary, and every outlet that
// reported it.
type Item struct {
	Title      string // plain text
	URL        string // http(s) link of the first report; may be empty
	Summary    string // Markdown: text escaped, matched terms in **bold**
	Sources    []digestbot.Source
	Published  time.Time // earliest report; zero when unknown
	DateOnly   bool      // Published is a calendar date, not a moment (see Article.DateOnly)
	Terms      []string  // matched terms
	Labels     []string  // every subscription label that matched, the section's first
	ArticleIDs []string
	// Alert is set when the story made a subscription's query spread (a
	// spike alert): the line shown above its title.
	Alert string
}

// Compose builds the digest of a channel from its pending items and the
// articles they refer to (by id; an item whose article is missing, e.g.
// expired from the archive, is left out). It returns nil when there is
// nothing to show, which means: post nothing.
//
// Stories reported by several outlets are merged into one item that lists
// every source; an article that itself names several outlets (a newsletter
// story with a numbered source list) brings all of them, exactly as if
// each had been a report of its own, and an outlet is listed once by name
// and link. Two articles are the same story when their titles' Jaccard
// similarity is at least opts.Similarity and they were published within
// opts.MergeWindow of each other. A title's signature is the set of its
// analysed tokens (analysis.Tokenize: case-, width- and accent-folded),
// without common English function words and one-letter words; Chinese,
// Japanese and Korean runs contribute overlapping character bigrams instead
// of single characters, which carries word-like information without a
// segmenter. Merging is transitive within a channel's window (an article
// joins the first story it is similar to, comparing against every article
// of that story).
func Compose(ch ChannelInfo, items []digestbot.PendingItem, articles map[string]*digestbot.Article, opts ComposeOptions) *Digest {
	opts = opts.withDefaults()
	loc := ch.Location
	if loc == nil {
		loc = time.UTC
	}
	type entry struct {
		a    *digestbot.Article
		hits []digestbot.Hit
		info *articleInfo
	}
	var entries []*entry
	seen := make(map[string]bool, len(items))
	for _, it := range items {
		a := articles[it.ArticleID]
		if a == nil || seen[a.ID] || len(it.Hits) == 0 {
			continue
		}
		seen[a.ID] = true
		entries = append(entries, &entry{a: a, hits: it.Hits, info: opts.Cache.get(a)})
	}
	if len(entries) == 0 {
		return nil
	}
	// Earliest report first, so the original story leads its cluster.
	slices.SortStableFunc(entries, func(x, y *entry) int {
		return cmpPublished(x.a.Published, y.a.Published, x.a.ID, y.a.ID)
	})

	sigs := make([][]uint64, len(entries))
	pubs := make([]time.Time, len(entries))
	for i, e := range entries {
		sigs[i], pubs[i] = e.info.sig, e.a.Published
	}
	type cluster struct{ members []*entry }
	var clusters []*cluster
	for _, g := range groupStories(sigs, pubs, opts.Similarity, opts.MergeWindow) {
		c := &cluster{members: make([]*entry, len(g))}
		for i, k := range g {
			c.members[i] = entries[k]
		}
		clusters = append(clusters, c)
	}

	// A story goes to the section of its first report's first subscription.
	perLabel := map[string]int{}
	for _, c := range clusters {
		perLabel[c.members[0].hits[0].Label]++
	}
	sections := map[string]*Section{}
	var order []string
	d := &Digest{Channel: ch.Ref, ChannelName: ch.Name, Location: loc, GeneratedAt: opts.Now, Since: opts.Since, Alert: opts.Alert}
	for _, e := range entries {
		for _, h := range e.hits {
			if h.Mention != "" && !slices.Contains(d.Mentions, h.Mention) && len(d.Mentions) < MaxMentions {
				d.Mentions = append(d.Mentions, h.Mention)
			}
		}
	}
	for _, c := range clusters {
		lead := c.members[0]
		it := Item{Title: strings.TrimSpace(lead.a.Title), URL: lead.a.URL, Published: lead.a.Published, DateOnly: lead.a.DateOnly}
		var terms []string
		for _, m := range c.members {
			it.ArticleIDs = append(it.ArticleIDs, m.a.ID)
			srcs := m.a.AllSources()
			if len(srcs) == 0 { // neither a name nor a link: still a report
				srcs = []digestbot.Source{{Published: m.a.Published}}
			}
			for _, src := range srcs {
				src.Name = sourceName(src)
				if !slices.ContainsFunc(it.Sources, func(s digestbot.Source) bool { return s.Name == src.Name && s.URL == src.URL }) {
					it.Sources = append(it.Sources, src)
				}
			}
			for _, h := range m.hits {
				if !slices.Contains(it.Labels, h.Label) {
					it.Labels = append(it.Labels, h.Label)
				}
				if h.Spike != nil && it.Alert == "" {
					it.Alert = h.Spike.Text()
				}
				for _, t := range h.Terms {
					if !slices.Contains(terms, t) {
						terms = append(terms, t)
					}
				}
			}
		}
		it.Terms = terms
		it.Summary = querySummary(lead.a, lead.info, terms, opts.SummaryLen)
		label := it.Labels[0]
		s := sections[label]
		if s == nil {
			s = &Section{Label: label, Color: LabelColor(label), Items: make([]Item, 0, perLabel[label])}
			sections[label] = s
			order = append(order, label)
		}
		s.Items = append(s.Items, it)
		d.Stories++
		d.Articles += len(c.members)
	}
	slices.Sort(order)
	for _, label := range order {
		s := sections[label]
		// A spike alert first, then bigger stories, then newest, undated last.
		slices.SortStableFunc(s.Items, func(x, y Item) int {
			if c := cmp.Compare(boolInt(y.Alert != ""), boolInt(x.Alert != "")); c != 0 {
				return c
			}
			if c := cmp.Compare(len(y.Sources), len(x.Sources)); c != 0 {
				return c
			}
			if x.Published.IsZero() != y.Published.IsZero() {
				return cmp.Compare(boolInt(x.Published.IsZero()), boolInt(y.Published.IsZero()))
			}
			return cmp.Or(y.Published.Compare(x.Published), cmp.Compare(x.ArticleIDs[0], y.ArticleIDs[0]))
		})
		if len(s.Items) > opts.MaxItemsPerSection {
			s.More = len(s.Items) - opts.MaxItemsPerSection
			oldest := s.Items[0].Published
			for _, it := range s.Items {
				if !it.Published.IsZero() && (oldest.IsZero() || it.Published.Before(oldest)) {
					oldest = it.Published
				}
			}
			s.Items = s.Items[:opts.MaxItemsPerSection]
			s.Lookup = lookupHint(label, opts.Topics, oldest, opts.Now)
		}
		d.Sections = append(d.Sections, *s)
	}
	return d
}

func (o ComposeOptions) withDefaults() ComposeOptions {
	if o.MaxItemsPerSection <= 0 {
		o.MaxItemsPerSection = DefaultMaxItemsPerSection
	}
	if o.Similarity <= 0 {
		o.Similarity = DefaultSimilarity
	}
	if o.SummaryLen <= 0 {
		o.SummaryLen = DefaultSummaryLen
	}
	if o.MergeWindow <= 0 {
		o.MergeWindow = DefaultMergeWindow
	}
	if o.Now.IsZero() {
		o.Now = time.Unix(0, 0).UTC()
	}
	return o
}

// StoryRef is what tells two reports of one story apart from two stories.
type StoryRef struct {
	Title     string
	Published time.Time // zero when unknown
}

// Stories groups reports into stories by the rule a digest merges them by
// (see Compose, with the default similarity and merge window), so a
// lookup lists a story once as a digest does. Each group holds indexes
// into refs in the order given, and groups are in the order of their
// first report: give the reports best first and each story is led by its
// best report.
func Stories(refs []StoryRef) [][]int {
	sigs := make([][]uint64, len(refs))
	pubs := make([]time.Time, len(refs))
	for i, r := range refs {
		sigs[i], pubs[i] = titleSignature(r.Title), r.Published
	}
	return groupStories(sigs, pubs, DefaultSimilarity, DefaultMergeWindow)
}

// groupStories clusters reports by title signature: a report joins the
// first story holding a report published within window of it whose
// signature's Jaccard similarity to its own is at least similarity (> 1:
// never). Few reports are compared with every story; many go through an
// inverted index over signature tokens, so only reports sharing a token
// are compared.
func groupStories(sigs [][]uint64, pubs []time.Time, similarity float64, window time.Duration) [][]int {
	var groups [][]int
	similar := func(g []int, k int) bool {
		for _, m := range g {
			if withinWindow(pubs[m], pubs[k], window) && jaccard(sigs[m], sigs[k]) >= similarity {
				return true
			}
		}
		return false
	}
	const directLimit = 64
	var index map[uint64][]int
	if len(sigs) > directLimit {
		index = make(map[uint64][]int, 8*len(sigs))
	}
	var ids []int // candidate groups of one report
	for k, sig := range sigs {
		best := -1
		if similarity <= 1 && len(sig) > 0 {
			if index == nil {
				for g := range groups {
					if similar(groups[g], k) {
						best = g
						break
					}
				}
			} else {
				ids = ids[:0]
				for _, h := range sig {
					ids = append(ids, index[h]...)
				}
				slices.Sort(ids)
				for _, g := range slices.Compact(ids) {
					if similar(groups[g], k) {
						best = g
						break
					}
				}
			}
		}
		if best < 0 {
			best = len(groups)
			groups = append(groups, nil)
		}
		groups[best] = append(groups[best], k)
		if index != nil {
			for _, h := range sig {
				if l := index[h]; len(l) == 0 || l[len(l)-1] != best {
					index[h] = append(index[h], best)
				}
			}
		}
	}
	return groups
}

// cmpPublished orders known times before unknown ones, then by id.
func cmpPublished(a, b time.Time, ida, idb string) int {
	switch {
	case a.IsZero() && !b.IsZero():
		return 1
	case !a.IsZero() && b.IsZero():
		return -1
	}
	if c := a.Compare(b); c != 0 {
		return c
	}
	return cmp.Compare(ida, idb)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func withinWindow(a, b time.Time, w time.Duration) bool {
	if a.IsZero() || b.IsZero() {
		return true
	}
	d := a.Sub(b)
	return d <= w && d >= -w
}

// sourceName is the name an outlet is shown by: its own, else the host of
// its link.
func sourceName(s digestbot.Source) string {
	if name := strings.TrimSpace(s.Name); name != "" {
		return name
	}
	if host := hostOf(s.URL); host != "" {
		return host
	}
	return "unknown source"
}

func hostOf(u string) string {
	_, rest, ok := strings.Cut(u, "://")
	if !ok {
		return ""
	}
	host, _, _ := strings.Cut(rest, "/")
	return strings.TrimPrefix(host, "www.")
}

// stopwords are English function words that make unrelated headlines look alike.
var stopwords = map[string]bool{
	"the": true, "a": true, "an": true, "of": true, "in": true, "on": true, "to": true, "for": true,
	"and": true, "or": true, "is": true, "are": true, "was": true, "be": true, "by": true, "at": true,
	"as": true, "with": true, "from": true, "its": true, "it": true, "that": true, "this": true,
	"after": true, "over": true, "says": true, "say": true, "said": true, "new": true, "has": true, "have": true,
}

// titleSignature returns the sorted, distinct hashes of a title's content
// tokens, with CJK runs as character bigrams.
func titleSignature(title string) []uint64 {
	toks := analysis.Tokenize(title)
	var sig []uint64
	add := func(s string) {
		h := fnv.New64a()
		h.Write([]byte(s))
		sig = append(sig, h.Sum64())
	}
	for i, t := range toks {
		r, _ := utf8.DecodeRuneInString(t.Text)
		if analysis.IsCJK(r) {
			// A CJK token is one character; pair it with the next one when
			// they stand together in the title.
			if i+1 < len(toks) && toks[i+1].Start == t.End {
				if r2, _ := utf8.DecodeRuneInString(toks[i+1].Text); analysis.IsCJK(r2) {
					add(t.Text + toks[i+1].Text)
					continue
				}
			}
			if i == 0 || toks[i-1].End != t.Start {
				add(t.Text) // a lone character
			}
			continue
		}
		if stopwords[t.Text] || utf8.RuneCountInString(t.Text) < 2 {
			continue
		}
		add(t.Text)
	}
	slices.Sort(sig)
	return slices.Compact(sig)
}

// jaccard is |a∩b| / |a∪b| of two sorted sets.
func jaccard(a, b []uint64) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	i, j, inter := 0, 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] == b[j]:
			inter++
			i++
			j++
		case a[i] < b[j]:
			i++
		default:
			j++
		}
	}
	return float64(inter) / float64(len(a)+len(b)-inter)
}

// palette holds colours that read on both light and dark chat themes.
var palette = []int{0x1f77b4, 0xd62728, 0x2ca02c, 0x9467bd, 0xff7f0e, 0x17becf, 0x8c564b, 0xe377c2, 0xbcbd22, 0x3b5b92, 0xc45a00, 0x00897b}

// LabelColor returns the colour of a section: stable for a label, so a
// topic keeps its colour from one digest to the next.
func LabelColor(label string) int {
	h := fnv.New32a()
	h.Write([]byte(label))
	return palette[h.Sum32()%uint32(len(palette))]
}

// lookupHint is the command a user types to see every story of a section.
func lookupHint(label string, topics map[string]string, oldest, now time.Time) string {
	q := label
	if name, ok := strings.CutPrefix(label, "topic:"); ok {
		if tq := topics[name]; tq != "" {
			q = tq
		}
	}
	days := 1
	if !oldest.IsZero() && now.After(oldest) {
		days = int(math.Ceil(now.Sub(oldest).Hours() / 24))
	}
	return fmt.Sprintf("/lookup query:%s since:%dd", q, max(days, 1))
}

// querySummary returns a summary of a biased to the terms: the sentence
// that holds the most of them (and the next ones while they fit), else the
// article's own summary or lead. Matched terms are set in bold.
func querySummary(a *digestbot.Article, info *articleInfo, terms []string, size int) string {
	termToks := make([][]string, 0, len(terms))
	for _, t := range terms {
		if tt := analysis.Terms(t); len(tt) > 0 {
			if strings.HasSuffix(t, "*") {
				tt[len(tt)-1] += "*" // a prefix query matches words that start so
			}
			termToks = append(termToks, tt)
		}
	}
	var plain string
	var spans []span
	if len(termToks) > 0 {
		// Which sentences may hold which terms: exact first words from the
		// article's postings, prefix terms by a look at the normalised text.
		masks := make([]uint64, len(info.sents))
		for ti, tt := range termToks {
			bit := uint64(1) << (uint(ti) % 64)
			if first, ok := strings.CutSuffix(tt[0], "*"); ok {
				for i, norm := range info.normalized() {
					if strings.Contains(norm, first) {
						masks[i] |= bit
					}
				}
				continue
			}
			if m := info.sentenceMask(tt[0]); m != 0 {
				for i := range masks {
					if m&(uint64(1)<<(uint(i)%64)) != 0 {
						masks[i] |= bit
					}
				}
			}
		}
		best, bestScore := -1, 0
		var cands [][]string
		var candIdx []int
		for i, m := range masks {
			if bits.OnesCount64(m) <= bestScore {
				continue
			}
			cands, candIdx = cands[:0], candIdx[:0]
			for ti, tt := range termToks {
				if m&(uint64(1)<<(uint(ti)%64)) != 0 {
					cands, candIdx = append(cands, tt), append(candIdx, ti)
				}
			}
			sp := matchSpans(info.sents[i], cands, false)
			for k := range sp {
				sp[k].term = candIdx[sp[k].term] // back to termToks' numbering
			}
			if score := distinctTerms(sp); score > bestScore {
				best, bestScore, spans = i, score, sp
				if score == len(termToks) {
					break // the first sentence with every term
				}
			}
		}
		if best >= 0 {
			plain = info.sents[best]
			n := utf8.RuneCountInString(plain)
			for j := best + 1; j < len(info.sents); j++ {
				next := info.sents[j]
				sep := sentenceJoiner(plain, next)
				m := utf8.RuneCountInString(next) + len(sep)
				if n+m > size {
					break
				}
				if masks[j] != 0 {
					off := len(plain) + len(sep)
					for _, sp := range matchSpans(next, termToks, false) {
						spans = append(spans, span{sp.start + off, sp.end + off, sp.term})
					}
				}
				plain += sep + next
				n += m
			}
			if n > size {
				// The sentence alone is too long: cut it, and drop the bold
				// spans the cut removed (the kept text is a prefix).
				plain = summarize.Cut(plain, size)
				keep := len(strings.TrimSuffix(plain, summarize.Ellipsis))
				spans = slices.DeleteFunc(spans, func(sp span) bool { return sp.end > keep })
			}
			return renderBold(plain, spans)
		}
	}
	plain = a.Summary
	if strings.TrimSpace(plain) == "" {
		plain = summarize.Summarize(a.Text, size)
	}
	plain = summarize.Cut(plain, size)
	return boldTerms(plain, termToks)
}

// distinctTerms counts the different terms among spans.
func distinctTerms(spans []span) int {
	var seen uint64
	n := 0
	for _, sp := range spans {
		bit := uint64(1) << (uint(sp.term) % 64)
		if seen&bit == 0 {
			seen |= bit
			n++
		}
	}
	return n
}

// sentenceJoiner separates two sentences: nothing between Chinese,
// Japanese or Korean sentences (written without spaces), a space otherwise.
func sentenceJoiner(prev, next string) string {
	last, _ := utf8.DecodeLastRuneInString(prev)
	first, _ := utf8.DecodeRuneInString(next)
	if (analysis.IsCJK(last) || strings.ContainsRune("。！？」』）", last)) && analysis.IsCJK(first) {
		return ""
	}
	return " "
}

type span struct{ start, end, term int }

// tokenPool recycles token slices: composing a digest tokenises many short
// texts, and the slices would otherwise be most of its garbage.
var tokenPool = sync.Pool{New: func() any { s := make([]analysis.Token, 0, 64); return &s }}

// matchSpans finds the byte spans of s where a term's token sequence
// occurs, with the index of the term in terms. With distinct set, it
// returns at most one span per term.
func matchSpans(s string, terms [][]string, distinct bool) []span {
	buf := tokenPool.Get().(*[]analysis.Token)
	defer tokenPool.Put(buf)
	toks := analysis.AppendTokens((*buf)[:0], s)
	*buf = toks
	var out []span
	for ti, term := range terms {
		for i := 0; i+len(term) <= len(toks); i++ {
			ok := true
			for k, w := range term {
				if !termTokenMatches(toks[i+k].Text, w, k == len(term)-1) {
					ok = false
					break
				}
			}
			if ok {
				out = append(out, span{toks[i].Start, toks[i+len(term)-1].End, ti})
				if distinct {
					break
				}
				i += len(term) - 1
			}
		}
	}
	return out
}

// termTokenMatches compares a text token with a term token; a last term
// token ending in * (a prefix query) matches by prefix.
func termTokenMatches(tok, term string, last bool) bool {
	if last && strings.HasSuffix(term, "*") {
		return strings.HasPrefix(tok, strings.TrimSuffix(term, "*"))
	}
	return tok == term
}

// boldTerms escapes s for Markdown and sets the term matches in bold.
func boldTerms(s string, terms [][]string) string {
	return renderBold(s, matchSpans(s, terms, false))
}

// renderBold escapes s for Markdown and sets the spans in bold.
func renderBold(s string, spans []span) string {
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.start, b.start) })
	var b strings.Builder
	pos := 0
	for _, sp := range spans {
		if sp.start < pos {
			continue // overlaps a span already bolded
		}
		b.WriteString(mdEscaper.Replace(s[pos:sp.start]))
		b.WriteString("**")
		b.WriteString(mdEscaper.Replace(s[sp.start:sp.end]))
		b.WriteString("**")
		pos = sp.end
	}
	b.WriteString(mdEscaper.Replace(s[pos:]))
	return escapeLineStarts(b.String())
}

var mdEscaper = strings.NewReplacer(
	`\`, `\\`, `*`, `\*`, `_`, `\_`, "`", "\\`", `~`, `\~`, `|`, `\|`, `[`, `\[`, `]`, `\]`, "<", `\<`,
)

// EscapeMarkdown escapes the characters chat Markdown would interpret, so
// text from a feed shows as written. Headings, quotes and lists only start
// a line, so '#', '>' and '-' are escaped only there.
func EscapeMarkdown(s string) string { return escapeLineStarts(mdEscaper.Replace(s)) }

func escapeLineStarts(s string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(s, "\n") {
		if t := strings.TrimLeft(line, " "); t != "" && strings.ContainsRune("#>-+", rune(t[0])) {
			b.WriteString(line[:len(line)-len(t)])
			b.WriteByte('\\')
			b.WriteString(t)
			continue
		}
		b.WriteString(line)
	}
	return b.String()
}

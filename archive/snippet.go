package archive

import (
	"strings"

	"github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/analysis"
	"github.com/digestbot/digestbot/summarize"
)

// matcher finds the matched terms of a query in a text.
type matcher struct {
	seqs     [][]string // analysed phrases and words
	prefixes []string   // analysed prefixes (from "word*")
}

// newMatcher analyses the terms as Match reports them: as written, a prefix
// with its trailing *, a phrase without quotes.
func newMatcher(terms []string) *matcher {
	m := &matcher{}
	for _, t := range terms {
		if p, ok := strings.CutSuffix(t, "*"); ok {
			if toks := analysis.Terms(p); len(toks) == 1 {
				m.prefixes = append(m.prefixes, toks[0])
			}
			continue
		}
		if toks := analysis.Terms(t); len(toks) > 0 {
			m.seqs = append(m.seqs, toks)
		}
	}
	return m
}

// spans returns the byte ranges of text where a term occurs, in order and
// merged where they touch.
func (m *matcher) spans(text string) [][2]int {
	toks := analysis.Tokenize(text)
	var out [][2]int
	add := func(s, e int) {
		if n := len(out); n > 0 && s <= out[n-1][1] {
			out[n-1][1] = max(out[n-1][1], e)
			return
		}
		out = append(out, [2]int{s, e})
	}
	for i, t := range toks {
		end := -1
		for _, p := range m.prefixes {
			if strings.HasPrefix(t.Text, p) {
				end = max(end, t.End)
			}
		}
		for _, seq := range m.seqs {
			if i+len(seq) > len(toks) {
				continue
			}
			ok := true
			for k, w := range seq {
				if toks[i+k].Text != w {
					ok = false
					break
				}
			}
			if ok {
				end = max(end, toks[i+len(seq)-1].End)
			}
		}
		if end >= 0 {
			add(t.Start, end)
		}
	}
	return out
}

// highlight returns text with Discord markdown escaped and the matched
// terms in **bold**.
func highlight(text string, m *matcher) string {
	var b strings.Builder
	last := 0
	for _, sp := range m.spans(text) {
		b.WriteString(escapeMarkdown(text[last:sp[0]]))
		b.WriteString("**")
		b.WriteString(escapeMarkdown(text[sp[0]:sp[1]]))
		b.WriteString("**")
		last = sp[1]
	}
	b.WriteString(escapeMarkdown(text[last:]))
	return b.String()
}

var markdownEscaper = strings.NewReplacer(`\`, `\\`, `*`, `\*`, `_`, `\_`, "~", `\~`, "`", "\\`", "|", `\|`)

func escapeMarkdown(s string) string { return markdownEscaper.Replace(s) }

// Snippet returns the text shown under a search result: the article's
// summary when a matched term occurs in it, else the first sentence of the
// text (then the title) that holds one, cut to MaxSummaryLen, else the
// summary or the lead; with markdown escaped and the matched terms in
// **bold**. matched is what subscriptions.Query.Match reports.
func Snippet(a *digestbot.Article, matched []string) string {
	m := newMatcher(matched)
	text := a.Summary
	if len(m.spans(text)) == 0 {
		found := false
		for _, s := range summarize.Sentences(a.Text) {
			if len(m.spans(s)) > 0 {
				text, found = summarize.Cut(s, digestbot.MaxSummaryLen), true
				break
			}
		}
		if !found && a.Summary == "" {
			text = summarize.Summarize(a.Text, digestbot.MaxSummaryLen)
		}
	}
	return highlight(text, m)
}

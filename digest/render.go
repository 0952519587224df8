package digest

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/analysis"
)

// Limits are the size limits of one chat message. Lengths are counted in
// UTF-16 code units (see TextLen).
type Limits struct {
	Content           int // characters of message content
	Embeds            int // embeds per message
	MessageEmbedChars int // characters across all embeds of a message
	Description       int // characters per embed description
	Title             int // characters per embed title
	Fields            int // fields per embed
	FieldName         int
	FieldValue        int
	Footer            int
}

// DiscordLimits are Discord's message limits.
var DiscordLimits = Limits{
	Content: 2000, Embeds: 10, MessageEmbedChars: 6000, Description: 4096, Title: 256,
	Fields: 25, FieldName: 256, FieldValue: 1024, Footer: 2048,
}

// Message is one chat message of a digest, independent of the chat
// service: Markdown content and embeds.
type Message struct {
	Content string
	Embeds  []Embed
	// Mentions are the role ids the message may ping (their mentions are
	// in Content); no one else may be pinged by it.
	Mentions []string `json:",omitempty"`
}

// Embed is a rich card: one story of the digest.
type Embed struct {
	Title       string // plain text
	URL         string // link of the title; never cut
	Description string // Markdown
	Footer      string // plain text
	Author      string // plain text above the title: the story's subscription
	Timestamp   time.Time
	Color       int // 0xRRGGBB
	Fields      []Field
	// ArticleIDs are the articles of the story, for recording which
	// message carried them (digestbot.Placement); never shown, so not
	// part of the rendering's JSON (a delivery part keeps them beside it).
	ArticleIDs []string `json:"-"`
}

// Field is a name/value pair of an embed.
type Field struct {
	Name, Value string
	Inline      bool
}

// Len is what the embed counts against a message's embed budget: title,
// description, footer and fields.
func (e Embed) Len() int {
	n := TextLen(e.Title) + TextLen(e.Description) + TextLen(e.Footer) + TextLen(e.Author)
	for _, f := range e.Fields {
		n += TextLen(f.Name) + TextLen(f.Value)
	}
	return n
}

// TextLen is the length of s as chat services count it. Discord's limits
// are in characters; counting UTF-16 code units is never less than either
// reading of "character" (code points or JavaScript string length), so a
// text within the limit by this count is within it by both.
func TextLen(s string) int {
	n := utf8.RuneCountInString(s)
	if n == len(s) {
		return n // ASCII
	}
	for _, r := range s {
		if r >= 0x10000 { // outside the BMP: two UTF-16 units
			n++
		}
	}
	return n
}

// Date layouts of the rendering: a date as people write it, "20 Mar 2026".
const (
	dateLayout   = "2 Jan 2006"
	headerLayout = "Mon 2 Jan 2006"
)

// showDate writes the day of a publication time: in the digest's zone for
// a moment, as written for a date only (its midnight UTC is no moment, and
// in New York would read as the evening before).
func showDate(t time.Time, dateOnly bool, loc *time.Location) string {
	if dateOnly {
		return t.UTC().Format(dateLayout)
	}
	return t.In(loc).Format(dateLayout)
}

// maxLabelLen bounds a label in message content, which also carries the
// digest heading and the lookup hint.
const maxLabelLen = 200

// Render lays the whole digest out in the channel (see Lay).
func Render(d *Digest, limits Limits) []Message {
	return Lay(d, limits, 0).Channel
}

// Layout is a digest as messages: those posted in the channel, and the
// overflow, posted in a thread started on the first of them (in a forum,
// the digest is a post and everything goes into it).
type Layout struct {
	Channel    []Message
	Thread     []Message
	ThreadName string // the thread's name, at most 100 characters
	InChannel  int    // stories in the channel's messages
	InThread   int    // stories in the thread
}

// maxThreadName is Discord's limit on a thread's name.
const maxThreadName = 100

// Lay renders a digest into as few messages as the limits permit:
// sections share messages, in the digest's order, each story one embed
// that names its subscription above the title. The first message opens
// with a header: the period the digest covers, the number of stories and
// each subscription's count. Past inChannel stories (0: no limit) the rest
// go to the thread; the channel's part takes the best stories of every
// subscription in turn, so each is represented. Text is cut at a word
// boundary and ends with an ellipsis; a URL is never cut (a source that
// does not fit is counted in "+N more sources" instead). A nil or empty
// digest lays out to nothing.
func Lay(d *Digest, limits Limits, inChannel int) Layout {
	if d == nil || len(d.Sections) == 0 {
		return Layout{}
	}
	loc := d.Location
	if loc == nil {
		loc = time.UTC
	}
	// Which stories stay in the channel: rank by rank across sections.
	total := 0
	for _, s := range d.Sections {
		total += len(s.Items)
	}
	if inChannel <= 0 || inChannel > total {
		inChannel = total
	}
	here := make([][]bool, len(d.Sections))
	for i, s := range d.Sections {
		here[i] = make([]bool, len(s.Items))
	}
	for rank, n := 0, 0; n < inChannel; rank++ {
		for i, s := range d.Sections {
			if rank < len(s.Items) && n < inChannel {
				here[i][rank] = true
				n++
			}
		}
	}
	var inCh, inTh []Embed
	for i, s := range d.Sections {
		// Each story names its subscription, unless the digest has one,
		// which the header names.
		label := ""
		if len(d.Sections) > 1 {
			label = cutPlain(s.Label, min(maxLabelLen, limits.Title))
		}
		for j, it := range s.Items {
			e := itemEmbed(it, s.Color, label, loc, limits)
			if s.More > 0 && j == len(s.Items)-1 {
				e.Footer = cutPlain(e.Footer+fmt.Sprintf(" · +%d more: %s", s.More, s.Lookup), limits.Footer)
			}
			if here[i][j] {
				inCh = append(inCh, e)
			} else {
				inTh = append(inTh, e)
			}
		}
	}
	out := Layout{InChannel: len(inCh), InThread: len(inTh)}
	ping := mentionLine(d.Mentions)
	head := ping
	lim := limits
	lim.Content -= TextLen(ping)
	if d.Alert {
		head += alertHeader(d, len(inTh), lim)
		out.ThreadName = cutPlain("⚡ Alert · "+sectionLabels(d), maxThreadName)
	} else {
		head += header(d, loc, len(inTh), lim)
	}
	out.Channel = pack(head, inCh, limits)
	if len(d.Mentions) > 0 {
		out.Channel[0].Mentions = d.Mentions
	}
	if len(inTh) > 0 {
		what := "digest"
		if d.Alert {
			what = "alert"
		}
		head := fmt.Sprintf("**More from this %s** · %d %s", what, len(inTh), plural(len(inTh), "story", "stories"))
		out.Thread = pack(head, inTh, limits)
		if !d.Alert {
			out.ThreadName = cutPlain("📰 News digest · "+d.GeneratedAt.In(loc).Format(headerLayout), maxThreadName)
		}
	}
	return out
}

// header is the first message's content: the period covered, the count
// of stories and each subscription's, and where the rest are.
func header(d *Digest, loc *time.Location, inThread int, limits Limits) string {
	stories := plural(d.Stories, "story", "stories")
	head := fmt.Sprintf("📰 **News digest** · %s · %d %s", period(d.Since, d.GeneratedAt, loc), d.Stories, stories)
	var counts []string
	for _, s := range d.Sections {
		n := len(s.Items) + s.More
		counts = append(counts, fmt.Sprintf("**%s** %d", EscapeMarkdown(cutPlain(s.Label, maxLabelLen)), n))
	}
	if len(counts) > 1 {
		head += "\n" + strings.Join(counts, " · ")
	} else {
		head += " · **" + EscapeMarkdown(cutPlain(d.Sections[0].Label, maxLabelLen)) + "**"
	}
	if inThread > 0 {
		head += fmt.Sprintf("\n%d %s in the thread below.", inThread, plural(inThread, "more story is", "more stories are"))
	}
	return cutMarkdown(head, limits.Content)
}

// period names the time a digest covers: "Thu 3 Dec 2026 08:00 – Fri 4 Dec
// 2026 08:00", shorter within a day; the day alone when the start is
// unknown or a few minutes ago (a first digest right after subscribing).
func period(since, until time.Time, loc *time.Location) string {
	until = until.In(loc)
	if since.IsZero() || until.Sub(since) < 30*time.Minute {
		return until.Format(headerLayout)
	}
	since = since.In(loc)
	if since.Year() == until.Year() && since.YearDay() == until.YearDay() {
		return since.Format(headerLayout+" 15:04") + "–" + until.Format("15:04")
	}
	return since.Format(headerLayout+" 15:04") + " – " + until.Format(headerLayout+" 15:04")
}

// pack fills messages with embeds in order: at most Embeds per message and
// MessageEmbedChars across them; content opens the first.
func pack(content string, embeds []Embed, limits Limits) []Message {
	msg := Message{Content: content}
	var out []Message
	chars := 0
	for _, e := range embeds {
		n := e.Len()
		if len(msg.Embeds) > 0 && (len(msg.Embeds) >= limits.Embeds || chars+n > limits.MessageEmbedChars) {
			out = append(out, msg)
			msg, chars = Message{}, 0
		}
		msg.Embeds = append(msg.Embeds, e)
		chars += n
	}
	return append(out, msg)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// codeSpan shows a command as code, or escaped when it holds a backtick.
func codeSpan(s string) string {
	if strings.Contains(s, "`") {
		return EscapeMarkdown(s)
	}
	return "`" + s + "`"
}

// itemEmbed renders one story within the limits of a single embed.
func itemEmbed(it Item, color int, label string, loc *time.Location, limits Limits) Embed {
	e := Embed{
		Title:      cutPlain(it.Title, limits.Title),
		Author:     label,
		Color:      color,
		ArticleIDs: it.ArticleIDs,
	}
	if !it.DateOnly {
		// Discord shows an embed's timestamp as a time in the reader's
		// zone: a date alone has none to show.
		e.Timestamp = it.Published
	}
	if it.Alert != "" {
		e.Author = it.Alert
		if label != "" {
			e.Author = cutPlain(it.Alert+" · "+label, limits.Title)
		}
	}
	if validURL(it.URL) {
		e.URL = it.URL
	}
	if len(it.Sources) > 0 {
		src := it.Sources[0]
		foot := src.Name
		if len(it.Sources) > 1 {
			foot += fmt.Sprintf(" +%d more", len(it.Sources)-1)
		}
		if date := it.Published; !date.IsZero() {
			foot += " · " + showDate(date, it.DateOnly, loc)
		}
		if len(it.Labels) > 1 {
			// The story is shown once, in its first subscription's section.
			foot += " · also matches " + strings.Join(it.Labels[1:], ", ")
		}
		e.Footer = cutPlain(foot, limits.Footer)
	}
	// Room for the footer's "+N more" hint of the section's last story.
	descMax := min(limits.Description, limits.MessageEmbedChars-TextLen(e.Title)-TextLen(e.Footer)-TextLen(e.Author)-maxLabelLen-30)
	var block string
	if len(it.Sources) > 1 {
		block = SourcesBlock(it.Sources, loc, min(descMax/2, limits.Description/2))
	}
	summaryMax := descMax - TextLen(block)
	if block != "" {
		summaryMax -= 2
	}
	summary := ""
	if summaryMax > 0 {
		summary = cutMarkdown(it.Summary, summaryMax)
	}
	switch {
	case summary != "" && block != "":
		e.Description = summary + "\n\n" + block
	case block != "":
		e.Description = block
	default:
		e.Description = summary
	}
	return e
}

// SourcesBlock lists every source on its own line, as many as fit in max;
// the rest are counted, so no link is ever cut.
func SourcesBlock(sources []digestbot.Source, loc *time.Location, max int) string {
	var lines []string
	n := 0
	for i, s := range sources {
		line := "— " + sourceLink(s, loc)
		more := ""
		if rest := len(sources) - i - 1; rest > 0 {
			more = fmt.Sprintf("\n+%d more sources", rest)
		}
		if n+TextLen(line)+1+TextLen(more) > max {
			if rest := len(sources) - i; rest > 0 {
				tail := fmt.Sprintf("+%d more %s", rest, plural(rest, "source", "sources"))
				if n+TextLen(tail) <= max {
					lines = append(lines, tail)
				}
			}
			break
		}
		lines = append(lines, line)
		n += TextLen(line) + 1
	}
	return strings.Join(lines, "\n")
}

// sourceLink is "[Name](url) · 2021-03-20", without the link when the URL
// is not usable; an outlet without a name is named by its link's host.
func sourceLink(s digestbot.Source, loc *time.Location) string {
	name := EscapeMarkdown(cutPlain(sourceName(s), 100))
	if validURL(s.URL) && !strings.ContainsAny(s.URL, "()<> ") {
		name = "[" + name + "](" + s.URL + ")"
	}
	if !s.Published.IsZero() {
		name += " · " + showDate(s.Published, s.DateOnly, loc)
	}
	return name
}

func validURL(u string) bool {
	return len(u) <= 2048 && (strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://"))
}

// cutPlain shortens plain text to at most max (TextLen), at a word
// boundary, ending with an ellipsis.
func cutPlain(s string, max int) string {
	if len(s) <= max || TextLen(s) <= max { // TextLen never exceeds the byte length
		return s
	}
	if max <= 0 {
		return ""
	}
	return cutAt(s, max-1, false) + "…"
}

// cutMarkdown shortens Markdown to at most max (TextLen) like cutPlain,
// never splitting an escape, and closing the bold or code span the cut
// leaves open.
func cutMarkdown(s string, max int) string {
	if len(s) <= max || TextLen(s) <= max {
		return s
	}
	if max <= 0 {
		return ""
	}
	for reserve := 0; reserve <= max; reserve++ {
		kept := cutAt(s, max-1-reserve, true)
		closing := openMarkers(kept)
		if TextLen(closing) <= reserve {
			return kept + "…" + closing
		}
	}
	return ""
}

// cutAt returns the longest prefix of s within max (TextLen) that ends at a
// word boundary (a space, or between two CJK characters), with dangling
// punctuation and spaces trimmed; a prefix cut inside a word when there is
// no boundary. In Markdown it does not end inside an escape.
func cutAt(s string, max int, markdown bool) string {
	if max <= 0 {
		return ""
	}
	limit, n := 0, 0
	for limit < len(s) {
		r, size := utf8.DecodeRuneInString(s[limit:])
		w := 1
		if r >= 0x10000 {
			w = 2
		}
		if n+w > max {
			break
		}
		n += w
		limit += size
	}
	boundary := -1
	prev := rune(-1)
	for i, r := range s {
		if i > limit {
			break
		}
		if unicode.IsSpace(r) || (i > 0 && analysis.IsCJK(r) && analysis.IsCJK(prev)) {
			boundary = i
		}
		prev = r
	}
	cut := limit
	if boundary > 0 {
		cut = boundary
	}
	kept := strings.TrimRightFunc(s[:cut], func(r rune) bool {
		return unicode.IsSpace(r) || strings.ContainsRune(",;:-–—、，；：(", r)
	})
	if kept == "" {
		kept = strings.TrimRightFunc(s[:limit], unicode.IsSpace)
	}
	if markdown {
		// An odd run of trailing backslashes would escape what follows.
		if n := len(kept) - len(strings.TrimRight(kept, `\`)); n%2 == 1 {
			kept = kept[:len(kept)-1]
		}
		// An opening bold marker with nothing after it.
		if strings.HasSuffix(kept, "**") && strings.HasSuffix(openMarkers(kept), "**") {
			kept = kept[:len(kept)-2]
		}
	}
	return kept
}

// openMarkers returns what closes the bold and code spans left open in s.
func openMarkers(s string) string {
	bold, code := false, false
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && !code:
			i++
		case s[i] == '`':
			code = !code
		case !code && s[i] == '*' && i+1 < len(s) && s[i+1] == '*':
			bold = !bold
			i++
		}
	}
	out := ""
	if code {
		out += "`"
	}
	if bold {
		out += "**"
	}
	return out
}

// splitMessage splits a message of several embeds into one message per
// embed, the content going with the first: when the chat service refuses
// a message, the pieces that it takes still reach the channel.
func splitMessage(m Message) []Message {
	if len(m.Embeds) <= 1 {
		return []Message{m}
	}
	out := make([]Message, len(m.Embeds))
	for i, e := range m.Embeds {
		out[i] = Message{Embeds: []Embed{e}}
	}
	out[0].Content, out[0].Mentions = m.Content, m.Mentions
	return out
}

// shrinkedContent is the content a shrunk message keeps.
const shrinkedContent = 500

// shrinkMessage renders a message of at most one story smaller: the story's
// title, link and date only, and a short content. ok is false when there is
// nothing left to take away.
func shrinkMessage(m Message) (Message, bool) {
	out := Message{Content: m.Content, Mentions: m.Mentions}
	changed := false
	if TextLen(out.Content) > shrinkedContent {
		out.Content, changed = cutMarkdown(out.Content, shrinkedContent), true
	}
	for _, e := range m.Embeds {
		small := Embed{Title: e.Title, URL: e.URL, Timestamp: e.Timestamp, Color: e.Color, ArticleIDs: e.ArticleIDs}
		if small.Title == "" {
			small.Title = "(untitled story)"
		}
		if e.Description != "" || e.Footer != "" || len(e.Fields) > 0 || small.Title != e.Title {
			changed = true
		}
		out.Embeds = append(out.Embeds, small)
	}
	return out, changed
}

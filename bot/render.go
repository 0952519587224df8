package bot

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/commands"
	"github.com/digestbot/digestbot/digest"
)

// Discord's message limits (characters).
const (
	maxContent     = 2000
	maxEmbeds      = 10
	maxEmbedsTotal = 6000
	maxTitle       = 256
	maxDescription = 4096
	maxFields      = 25
	maxFieldName   = 256
	maxFieldValue  = 1024
	maxFooter      = 2048
	maxButtons     = 25 // 5 rows of 5
	maxCustomID    = 100
	maxLabel       = 80
	maxChoices     = 25
	maxChoiceText  = 100
)

// clip shortens s to at most n characters, ending in "…" when cut. It
// never splits a character.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// embed converts a digest embed, clipping each part to Discord's limits
// as a last guard (the composer splits digests to fit).
func embed(e digest.Embed) *discordgo.MessageEmbed {
	me := &discordgo.MessageEmbed{
		Type:        discordgo.EmbedTypeRich,
		Title:       clip(e.Title, maxTitle),
		URL:         e.URL,
		Description: clip(e.Description, maxDescription),
		Color:       e.Color,
	}
	if e.Footer != "" {
		me.Footer = &discordgo.MessageEmbedFooter{Text: clip(e.Footer, maxFooter)}
	}
	if e.Author != "" {
		me.Author = &discordgo.MessageEmbedAuthor{Name: clip(e.Author, maxTitle)}
	}
	if !e.Timestamp.IsZero() {
		me.Timestamp = e.Timestamp.UTC().Format(time.RFC3339)
	}
	for i, f := range e.Fields {
		if i == maxFields {
			break
		}
		me.Fields = append(me.Fields, &discordgo.MessageEmbedField{
			Name: clip(f.Name, maxFieldName), Value: clip(f.Value, maxFieldValue), Inline: f.Inline,
		})
	}
	return me
}

// embedChars counts the characters Discord adds up against the 6000 limit.
func embedChars(e *discordgo.MessageEmbed) int {
	n := utf8.RuneCountInString(e.Title) + utf8.RuneCountInString(e.Description)
	if e.Footer != nil {
		n += utf8.RuneCountInString(e.Footer.Text)
	}
	if e.Author != nil {
		n += utf8.RuneCountInString(e.Author.Name)
	}
	for _, f := range e.Fields {
		n += utf8.RuneCountInString(f.Name) + utf8.RuneCountInString(f.Value)
	}
	return n
}

// digestEmbeds converts a digest part; it refuses what Discord would
// refuse instead of dropping stories silently.
func digestEmbeds(msg digest.Message) ([]*discordgo.MessageEmbed, error) {
	if len(msg.Embeds) > maxEmbeds {
		return nil, digestbot.Errorf(digestbot.EINVALID, "a digest message has %d embeds; Discord takes at most %d", len(msg.Embeds), maxEmbeds)
	}
	out := make([]*discordgo.MessageEmbed, 0, len(msg.Embeds))
	total := 0
	for _, e := range msg.Embeds {
		me := embed(e)
		total += embedChars(me)
		out = append(out, me)
	}
	if total > maxEmbedsTotal {
		return nil, digestbot.Errorf(digestbot.EINVALID, "a digest message has %d characters in its embeds; Discord takes at most %d", total, maxEmbedsTotal)
	}
	return out, nil
}

// replyEmbeds converts a command reply's embeds, keeping as many as fit;
// it returns how many were left out.
func replyEmbeds(embeds []digest.Embed) ([]*discordgo.MessageEmbed, int) {
	out := []*discordgo.MessageEmbed{}
	total := 0
	for i, e := range embeds {
		me := embed(e)
		n := embedChars(me)
		if i >= maxEmbeds || total+n > maxEmbedsTotal {
			return out, len(embeds) - i
		}
		total += n
		out = append(out, me)
	}
	return out, 0
}

// components lays buttons out in rows of five.
func components(buttons []commands.Button) []discordgo.MessageComponent {
	rows := []discordgo.MessageComponent{}
	var row discordgo.ActionsRow
	for i, b := range buttons {
		if i == maxButtons {
			break
		}
		btn := discordgo.Button{Label: clip(b.Label, maxLabel)}
		if b.URL != "" {
			btn.Style, btn.URL = discordgo.LinkButton, b.URL
		} else {
			if len(b.CustomID) > maxCustomID {
				continue // cannot be routed back intact; a core bug, not shown
			}
			btn.Style, btn.CustomID = discordgo.SecondaryButton, b.CustomID
		}
		row.Components = append(row.Components, btn)
		if len(row.Components) == 5 {
			rows = append(rows, row)
			row = discordgo.ActionsRow{}
		}
	}
	if len(row.Components) > 0 {
		rows = append(rows, row)
	}
	return rows
}

// rendered is a reply ready for Discord.
type rendered struct {
	content    string
	embeds     []*discordgo.MessageEmbed
	components []discordgo.MessageComponent
}

func render(r *commands.Response) rendered {
	embeds, left := replyEmbeds(r.Embeds)
	content := r.Content
	if left > 0 {
		content += fmt.Sprintf("\n(%d more not shown)", left)
	}
	if content == "" && len(embeds) == 0 {
		content = "Done."
	}
	return rendered{content: fitContent(quietLinks(content), maxContent), embeds: embeds, components: components(r.Buttons)}
}

var (
	maskedLink = regexp.MustCompile(`\]\((https?://[^)\s<>]+)\)`)
	bareLink   = regexp.MustCompile(`https?://[^\s<>]+`)
)

// quietLinks keeps Discord from unfurling the links of a reply: a link
// written <https://…> (also inside [title](…)) shows no preview, so a
// public reply that names three articles does not grow three cards under
// it. The message flag that suppresses previews would hide the reply's
// own embeds too. Code spans are left as they are.
func quietLinks(s string) string {
	parts := strings.Split(s, "`")
	for i := 0; i < len(parts); i += 2 { // outside code spans
		p := maskedLink.ReplaceAllString(parts[i], "](<$1>)")
		var b strings.Builder
		last := 0
		for _, m := range bareLink.FindAllStringIndex(p, -1) {
			start, end := m[0], m[1]
			if start > 0 && p[start-1] == '<' {
				continue // already quiet
			}
			// Sentence punctuation after a link is not part of it.
			for end > start && strings.ContainsRune(".,;:!?)'\"", rune(p[end-1])) {
				end--
			}
			b.WriteString(p[last:start] + "<" + p[start:end] + ">")
			last = end
		}
		b.WriteString(p[last:])
		parts[i] = b.String()
	}
	return strings.Join(parts, "`")
}

// fitContent keeps a reply's content within n characters. The core keeps
// its replies within the limit (long lists come in pages); this is a last
// guard, and it cuts after a whole line, so no item of a list ends half
// written.
func fitContent(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)[:n-2]
	if i := strings.LastIndex(string(r), "\n"); i > 0 {
		return string(r)[:i] + "\n…"
	}
	return clip(s, n)
}

// choices converts autocomplete suggestions: at most 25, names clipped,
// values that Discord would refuse left out (a clipped value would mean
// something else).
func choices(cs []commands.Choice) []*discordgo.ApplicationCommandOptionChoice {
	out := []*discordgo.ApplicationCommandOptionChoice{}
	for _, c := range cs {
		if len(out) == maxChoices {
			break
		}
		if c.Value == "" || utf8.RuneCountInString(c.Value) > maxChoiceText {
			continue
		}
		name := c.Name
		if name == "" {
			name = c.Value
		}
		out = append(out, &discordgo.ApplicationCommandOptionChoice{Name: clip(name, maxChoiceText), Value: c.Value})
	}
	return out
}

// userMessage is the one place an error becomes what a user reads: the
// message of a user error, or for an internal error a short text with a
// reference that the log carries with the detail.
func userMessage(err error, ref string) string {
	if digestbot.ErrorCode(err) == digestbot.EINTERNAL {
		return fmt.Sprintf("something went wrong (ref %s)", ref)
	}
	return digestbot.ErrorMessage(err)
}

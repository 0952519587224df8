package digest

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	digestbot "github.com/digestbot/digestbot"
)

// Every digest message carries two things that identify it, both derived
// from (channel, delivery window, part key), so the same on every retry
// and on every replica:
//
//   - the nonce, sent with enforce_nonce: while the chat service remembers
//     it (Discord: a few minutes), a repeated post returns the first
//     message instead of a copy;
//   - the marker, a short reference on the message's last line
//     ("-# ref 5f3a1c09e2"), which the chat service keeps for ever: after
//     the nonce is forgotten, an interrupted delivery finds the parts that
//     did reach the channel by reading the bot's own recent messages there
//     and looking for their markers, and posts only the rest.

// markerPrefix starts the marker line: Discord's "-#" subtext, small grey text.
const markerPrefix = "-# ref "

// markerLen is the length of a marker: 40 bits, unique enough among the
// bot's messages of a few minutes in one channel.
const markerLen = 10

// Nonce returns the nonce of one part of one delivery: 24 hex characters
// (Discord allows 25), the same on every retry.
func Nonce(ref digestbot.ChannelRef, windowID, part string) string {
	h := sha256.New()
	h.Write([]byte(ref.GuildID + "\x00" + ref.ChannelID + "\x00" + windowID + "\x00" + part))
	return hex.EncodeToString(h.Sum(nil))[:24]
}

// Marker returns the marker of the part whose nonce is nonce.
func Marker(nonce string) string {
	sum := sha256.Sum256([]byte("marker\x00" + nonce))
	return hex.EncodeToString(sum[:])[:markerLen]
}

// WithMarker returns msg with the marker line at the end of its content,
// cutting the content if that is needed to stay within the limit.
func WithMarker(msg Message, marker string, limits Limits) Message {
	line := markerPrefix + marker
	room := limits.Content - TextLen(line) - 1
	content := msg.Content
	if TextLen(content) > room {
		content = cutMarkdown(content, room)
	}
	if content == "" {
		msg.Content = line
	} else {
		msg.Content = content + "\n" + line
	}
	return msg
}

// MarkerOf returns the marker of a message the bot posted, or "".
func MarkerOf(msg Message) string {
	i := strings.LastIndex(msg.Content, markerPrefix)
	if i < 0 || (i > 0 && msg.Content[i-1] != '\n') {
		return ""
	}
	m := msg.Content[i+len(markerPrefix):]
	if len(m) != markerLen {
		return ""
	}
	return m
}

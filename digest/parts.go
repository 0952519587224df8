package digest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	digestbot "github.com/digestbot/digestbot"
)

// Kinds of channel, as Transport.ChannelKind tells them.
const (
	KindText  = "text"  // messages; a thread can be started on one
	KindForum = "forum" // every post is a thread that opens with a message
	KindOther = "other" // messages only
)

// Kinds of delivery part (partBody.Kind).
const (
	partMessage = ""       // a message, in the channel or (Thread) in the digest's thread
	partThread  = "thread" // start the digest's thread on the first channel message
	partForum   = "forum"  // open a forum post with the first message
	partMore    = "more"   // a "More" button on the last channel message, paging through Overflow
)

// partBody is what a delivery part holds, encoded in DeliveryPart.Body.
type partBody struct {
	Kind    string  `json:"kind,omitempty"`
	Thread  bool    `json:"thread,omitempty"` // post into the digest's thread
	Message Message `json:"message"`
	Name    string  `json:"name,omitempty"` // of a thread or forum post
	// Overflow are the thread's messages when the channel takes no
	// thread: the "More" button pages through them.
	Overflow []Message `json:"overflow,omitempty"`
	// Articles are Embed.ArticleIDs of Message's embeds and of each
	// overflow message's, by embed: kept beside the messages, whose JSON
	// is the rendering only.
	Articles         [][]string   `json:"articles,omitempty"`
	OverflowArticles [][][]string `json:"overflow_articles,omitempty"`
}

func embedArticles(m Message) [][]string {
	var out [][]string
	for _, e := range m.Embeds {
		out = append(out, e.ArticleIDs)
	}
	return out
}

func setEmbedArticles(m Message, ids [][]string) {
	for i := range m.Embeds {
		if i < len(ids) {
			m.Embeds[i].ArticleIDs = ids[i]
		}
	}
}

func encodeBody(b partBody) string {
	b.Articles, b.OverflowArticles = embedArticles(b.Message), nil
	for _, m := range b.Overflow {
		b.OverflowArticles = append(b.OverflowArticles, embedArticles(m))
	}
	out, err := json.Marshal(b)
	if err != nil {
		panic(fmt.Sprintf("digest: encoding a part: %v", err)) // plain structs only
	}
	return string(out)
}

func decodeBody(s string) (partBody, error) {
	var b partBody
	err := json.Unmarshal([]byte(s), &b)
	setEmbedArticles(b.Message, b.Articles)
	for i, m := range b.Overflow {
		if i < len(b.OverflowArticles) {
			setEmbedArticles(m, b.OverflowArticles[i])
		}
	}
	return b, err
}

// buildParts turns a layout into the parts of a delivery for a channel of
// the given kind.
func buildParts(l Layout, kind string) []digestbot.DeliveryPart {
	var parts []digestbot.DeliveryPart
	add := func(key string, b partBody) {
		parts = append(parts, digestbot.DeliveryPart{Key: key, Body: encodeBody(b)})
	}
	for i, m := range l.Channel {
		b := partBody{Message: m}
		if kind == KindForum {
			if i == 0 {
				b.Kind, b.Name = partForum, l.ThreadName
				if b.Name == "" {
					b.Name = "📰 News digest"
				}
			} else {
				b.Thread = true
			}
		}
		add(strconv.Itoa(i), b)
	}
	if len(l.Thread) == 0 {
		return parts
	}
	if kind == KindText {
		add("thread", partBody{Kind: partThread, Name: l.ThreadName})
	}
	if kind == KindOther {
		add("more", partBody{Kind: partMore, Overflow: l.Thread})
		return parts
	}
	for i, m := range l.Thread {
		add("t"+strconv.Itoa(i), partBody{Thread: true, Message: m})
	}
	return parts
}

// threadID is the digest's thread, once started: the id the thread part
// (or, in a forum, the post) recorded; "" before.
func (r *partRun) threadID() string {
	for _, p := range r.del.Parts {
		b, err := decodeBody(p.Body)
		if err == nil && (b.Kind == partThread || b.Kind == partForum) {
			return p.Posted
		}
	}
	return ""
}

// posted returns the message id of the part with this key, or "".
func (r *partRun) postedOf(key string) string {
	for _, p := range r.del.Parts {
		if p.Key == key {
			return p.Posted
		}
	}
	return ""
}

// lastChannelMessage is the key of the last part posted in the channel.
func (r *partRun) lastChannelMessage() string {
	key := ""
	for _, p := range r.del.Parts {
		if b, err := decodeBody(p.Body); err == nil && b.Kind == partMessage && !b.Thread && p.Posted != "" {
			key = p.Key
		}
	}
	return key
}

// startThread starts the digest's thread on the first channel message.
func (r *partRun) startThread(b partBody) (string, error) {
	first := r.postedOf("0")
	if first == "" {
		return "", digestbot.Errorf(digestbot.EINVALID, "the digest's first message is not posted")
	}
	ctx, cancel := r.postCtx()
	defer cancel()
	return r.d.Transport.StartThread(ctx, r.ref, first, b.Name)
}

// forumName is a forum post's name with the part's marker, by which an
// interrupted post is found (a forum post takes no nonce).
func forumName(name, nonce string) string {
	return cutPlain(name, maxThreadName-9) + " · " + Marker(nonce)[:6]
}

// openForumPost opens the forum post, unless an earlier attempt did
// (found). The attempt being made is recorded already.
func (r *partRun) openForumPost(i int, b partBody, nonce string) (id string, found bool, err error) {
	name := forumName(b.Name, nonce)
	if len(r.del.Parts[i].Attempts) > 1 {
		id, err := r.d.Transport.FindForumPost(r.claimCtx, r.ref, name)
		if err != nil || id != "" {
			return id, id != "", err
		}
	}
	ctx, cancel := r.postCtx()
	defer cancel()
	id, err = r.d.Transport.PostForum(ctx, r.ref, name, WithMarker(b.Message, Marker(nonce), r.d.limits()))
	return id, false, err
}

// moreTTL is how long a "More" button works: as long as the stories it
// shows are kept.
const moreTTL = 30 * 24 * time.Hour

// MoreStateID names the state of a digest's "More" button.
func MoreStateID(windowID string) string { return "more-" + windowID }

// addMoreButton keeps the overflow in the store and puts a "More" button
// on the last channel message.
func (r *partRun) addMoreButton(b partBody) (string, error) {
	last := r.lastChannelMessage()
	if last == "" {
		return "", digestbot.Errorf(digestbot.EINVALID, "no channel message to put the button on")
	}
	state, err := json.Marshal(MoreState{Channel: r.ref.ChannelID, Pages: b.Overflow})
	if err != nil {
		return "", err
	}
	id := MoreStateID(r.del.WindowID)
	if err := r.d.Store.SaveLookup(r.claimCtx, r.ref.GuildID, id, state, moreTTL); err != nil {
		return "", err
	}
	n := 0
	for _, m := range b.Overflow {
		n += len(m.Embeds)
	}
	lb, _ := decodeBody(r.bodyOf(last))
	msg := WithMarker(lb.Message, Marker(Nonce(r.ref, r.del.WindowID, last)), r.d.limits())
	ctx, cancel := r.postCtx()
	defer cancel()
	label := fmt.Sprintf("More stories (%d)", n)
	if err := r.d.Transport.AddButton(ctx, r.ref, r.postedOf(last), msg, label, GuildMoreButtonID(r.ref.GuildID, id, 0)); err != nil {
		return "", err
	}
	return "button", nil
}

// MoreButtonID is the custom id of a "More" button showing page of the
// overflow kept under stateID, in the server the button is pressed in.
func MoreButtonID(stateID string, page int) string {
	return "more:" + stateID + ":" + strconv.Itoa(page)
}

// GuildMoreButtonID is MoreButtonID naming the server that keeps the
// state: a button pressed in a direct message (a watch's digest) carries
// no server of its own.
func GuildMoreButtonID(guildID, stateID string, page int) string {
	return "more:" + guildID + ":" + stateID + ":" + strconv.Itoa(page)
}

// MoreState is what a "More" button pages through: the stories that did
// not fit, and the channel the digest was posted in (a press in a direct
// message must come from that channel).
type MoreState struct {
	Channel string    `json:"channel"`
	Pages   []Message `json:"pages"`
}

func (r *partRun) bodyOf(key string) string {
	for _, p := range r.del.Parts {
		if p.Key == key {
			return p.Body
		}
	}
	return ""
}

// threadRefused replaces the thread and its messages by a "More" button:
// the channel takes no thread (the bot may not start one there).
func (r *partRun) threadRefused(i int, cause error) (bool, error) {
	r.log.Warn("digest: cannot start a thread here; the rest of the digest goes behind a More button", "err", cause)
	var overflow []Message
	var parts []digestbot.DeliveryPart
	for j, p := range r.del.Parts {
		b, err := decodeBody(p.Body)
		switch {
		case err != nil:
			parts = append(parts, p)
		case j == i:
		case b.Thread && p.Posted == "":
			overflow = append(overflow, b.Message)
		default:
			parts = append(parts, p)
		}
	}
	more := digestbot.DeliveryPart{Key: "more", Body: encodeBody(partBody{Kind: partMore, Overflow: overflow})}
	parts = slices.Insert(parts, min(i, len(parts)), more)
	err := r.record(func(ctx context.Context) error { return r.d.Store.SetDeliveryParts(ctx, r.del, r.token, parts) })
	return err == nil, err
}

// intoChannel posts what was meant for the thread or the button in the
// channel itself: the last way left when neither works (the first message
// was deleted meanwhile, say).
func (r *partRun) intoChannel(i int, cause error) (bool, error) {
	r.log.Warn("digest: neither a thread nor a button works here; posting the rest of the digest in the channel", "err", cause)
	var parts []digestbot.DeliveryPart
	for j, p := range r.del.Parts {
		b, err := decodeBody(p.Body)
		switch {
		case err != nil || p.Posted != "":
			parts = append(parts, p)
		case j == i && b.Kind == partMore:
			for k, m := range b.Overflow {
				parts = append(parts, digestbot.DeliveryPart{Key: fmt.Sprintf("c%d", k), Body: encodeBody(partBody{Message: m})})
			}
		case j == i:
		case b.Thread:
			b.Thread = false
			parts = append(parts, digestbot.DeliveryPart{Key: "c" + p.Key, Body: encodeBody(b)})
		default:
			parts = append(parts, p)
		}
	}
	err := r.record(func(ctx context.Context) error { return r.d.Store.SetDeliveryParts(ctx, r.del, r.token, parts) })
	return err == nil, err
}

// postCtx is the context of one call to the chat service: it may finish
// within StopGrace after a stop, never after the claim is lost.
func (r *partRun) postCtx() (context.Context, context.CancelFunc) {
	pctx, cancel := context.WithCancel(r.claimCtx)
	stop := context.AfterFunc(r.ctx, func() {
		t := time.AfterFunc(orDefault(r.d.StopGrace, DefaultStopGrace), cancel)
		context.AfterFunc(pctx, func() { t.Stop() })
	})
	return pctx, func() { stop(); cancel() }
}

package bot

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/bwmarrin/discordgo"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/digest"
)

// maxNonce is Discord's limit on a message nonce.
const maxNonce = 25

// postBody is a message create with the fields discordgo's MessageSend
// lacks: nonce and enforce_nonce make a retried create return the first
// message instead of posting a second copy.
type postBody struct {
	Content         string                    `json:"content,omitempty"`
	Embeds          []*discordgo.MessageEmbed `json:"embeds,omitempty"`
	Nonce           string                    `json:"nonce,omitempty"`
	EnforceNonce    bool                      `json:"enforce_nonce,omitempty"`
	AllowedMentions allowedMentions           `json:"allowed_mentions"`
}

// allowedMentions is Discord's allowed_mentions with only what the bot
// uses: nothing parsed from the text, and the roles a message may ping.
type allowedMentions struct {
	Parse []string `json:"parse"`
	Roles []string `json:"roles,omitempty"`
}

// maxAllowedRoles is Discord's limit on allowed_mentions.roles.
const maxAllowedRoles = 100

// mentionsOnly allows a message to ping exactly these roles: no
// @everyone, no user and no other role, whatever its text holds (article
// text and queries are not the bot's).
func mentionsOnly(roles []string) allowedMentions {
	return allowedMentions{Parse: []string{}, Roles: roles[:min(len(roles), maxAllowedRoles)]}
}

// Post sends one digest message into a channel and returns its id; it
// implements digest.Transport. The same nonce for the same channel never
// creates a second message. Errors: EFORBIDDEN (the bot may not post
// there), ENOTFOUND (the channel is gone), ELIMIT (rate limited longer
// than MaxRateLimitWait), EINVALID (the message breaks Discord's limits),
// EUNAVAILABLE (Discord failed or cannot be reached; the post may be
// retried with the same nonce).
func (b *Bot) Post(ctx context.Context, ch digestbot.ChannelRef, msg digest.Message, nonce string) (string, error) {
	if ch.ChannelID == "" {
		return "", digestbot.Errorf(digestbot.EINVALID, "no channel to post the digest in")
	}
	embeds, err := digestEmbeds(msg)
	if err != nil {
		return "", err
	}
	body := postBody{
		Content:         clip(msg.Content, maxContent),
		Embeds:          embeds,
		Nonce:           discordNonce(nonce),
		AllowedMentions: mentionsOnly(msg.Mentions),
	}
	body.EnforceNonce = body.Nonce != ""
	if body.Content == "" && len(body.Embeds) == 0 {
		return "", digestbot.Errorf(digestbot.EINVALID, "the digest message is empty")
	}

	endpoint := discordgo.EndpointChannelMessages(ch.ChannelID)
	for attempt := 1; ; attempt++ {
		// discordgo sleeps out a bucket's reset without looking at the
		// context; refuse here instead of blocking a digest job for an hour.
		wait := b.bucketWait(endpoint)
		if digest.PastSendBy(ctx, wait) {
			return "", digest.ErrSendWindowPassed
		}
		if wait > 0 && !b.canWait(ctx, wait) {
			b.discordError("post", digestbot.ELIMIT)
			return "", digestbot.Errorf(digestbot.ELIMIT, "Discord rate-limits posts to channel %s for %v", ch.ChannelID, wait.Round(time.Second))
		}
		resp, err := b.s.RequestWithBucketID(http.MethodPost, endpoint, body, endpoint,
			discordgo.WithContext(ctx), discordgo.WithRetryOnRatelimit(false))
		if err == nil {
			var m struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal(resp, &m); err != nil || m.ID == "" {
				b.discordError("post", digestbot.EUNAVAILABLE)
				return "", digestbot.WrapError(digestbot.EUNAVAILABLE, fmt.Errorf("decode message: %w", err), "Discord's answer to a digest post was not understood")
			}
			return m.ID, nil
		}
		var rl *discordgo.RateLimitError
		if errors.As(err, &rl) && rl.TooManyRequests != nil {
			b.rateLimited(rl.URL)
			wait := rl.RetryAfter
			if digest.PastSendBy(ctx, wait) {
				return "", digest.ErrSendWindowPassed
			}
			if !b.canWait(ctx, wait) || attempt >= 5 {
				b.discordError("post", digestbot.ELIMIT)
				return "", digestbot.WrapError(digestbot.ELIMIT, err, "Discord rate-limits posts to channel %s for %v", ch.ChannelID, wait.Round(time.Second))
			}
			t := time.NewTimer(wait)
			select {
			case <-t.C:
				continue
			case <-ctx.Done():
				t.Stop()
				return "", digestbot.WrapError(digestbot.EUNAVAILABLE, ctx.Err(), "gave up posting to channel %s", ch.ChannelID)
			}
		}
		code := classify(err)
		b.discordError("post", code)
		msg := postMessage(code, ch.ChannelID)
		if restCode(err) == errCannotMessageUser {
			msg = "the member does not accept direct messages from the bot (Discord: Cannot send messages to this user)"
		}
		return "", digestbot.WrapError(code, err, "%s", msg)
	}
}

// errCannotMessageUser is Discord's code for a direct message the member
// does not accept (direct messages from server members turned off, or the
// bot blocked), with status 403.
const errCannotMessageUser = 50007

// restCode is the JSON error code of Discord's answer, 0 when there is none.
func restCode(err error) int {
	var rest *discordgo.RESTError
	if errors.As(err, &rest) && rest.Message != nil {
		return rest.Message.Code
	}
	return 0
}

// DirectChannel opens the direct-message channel between the bot and a
// user (POST /users/@me/channels) and returns its id; Discord returns the
// same channel every time. Opening it works even when the user does not
// accept direct messages: that shows when a message is sent.
func (b *Bot) DirectChannel(ctx context.Context, userID string) (string, error) {
	c, err := b.s.UserChannelCreate(userID, discordgo.WithContext(ctx))
	if err != nil {
		code := classify(err)
		b.discordError("dm_channel", code)
		return "", digestbot.WrapError(code, err, "Discord would not open a direct-message channel to you; try again later")
	}
	return c.ID, nil
}

// canWait reports whether waiting d for a rate limit is worth it: within
// MaxRateLimitWait and the context's deadline.
func (b *Bot) canWait(ctx context.Context, d time.Duration) bool {
	if d > b.opts.MaxRateLimitWait {
		return false
	}
	deadline, ok := ctx.Deadline()
	return !ok || time.Until(deadline) > d
}

// bucketWait is how long discordgo would sleep before sending on a
// bucket. A bucket busy with another request is taken as free: that
// request is already waiting its turn.
func (b *Bot) bucketWait(bucketID string) time.Duration {
	rl := b.s.Ratelimiter
	bucket := rl.GetBucket(bucketID)
	if !bucket.TryLock() {
		return 0
	}
	defer bucket.Unlock()
	return rl.GetWaitTime(bucket, 1)
}

func postMessage(code, channelID string) string {
	switch code {
	case digestbot.EUNAUTHORIZED:
		return "Discord refused the bot token"
	case digestbot.EFORBIDDEN:
		return fmt.Sprintf("the bot may not post in channel %s (missing access or permissions)", channelID)
	case digestbot.ENOTFOUND:
		return fmt.Sprintf("channel %s no longer exists", channelID)
	case digestbot.ELIMIT:
		return fmt.Sprintf("Discord rate-limits posts to channel %s", channelID)
	case digestbot.EINVALID:
		return fmt.Sprintf("Discord refused the digest message for channel %s", channelID)
	default:
		return "Discord did not confirm the post (it failed, or the answer was lost)"
	}
}

// classify maps a discordgo error to an error code.
func classify(err error) string {
	var rest *discordgo.RESTError
	if errors.As(err, &rest) && rest.Response != nil {
		switch s := rest.Response.StatusCode; {
		case s == http.StatusUnauthorized:
			return digestbot.EUNAUTHORIZED
		case s == http.StatusForbidden:
			return digestbot.EFORBIDDEN
		case s == http.StatusNotFound:
			return digestbot.ENOTFOUND
		case s == http.StatusTooManyRequests:
			return digestbot.ELIMIT
		case s >= 400 && s < 500:
			return digestbot.EINVALID
		default:
			return digestbot.EUNAVAILABLE
		}
	}
	var rl *discordgo.RateLimitError
	if errors.As(err, &rl) {
		return digestbot.ELIMIT
	}
	// Network errors, timeouts, resets, 5xx after discordgo's own retries,
	// and answers that are not JSON (a proxy's 429 page): all transient,
	// and the message may have been stored.
	return digestbot.EUNAVAILABLE
}

// Snowflakes: Discord ids carry their creation time in ms since 2015.
const discordEpoch = 1420070400000

// snowflakeAt is the smallest id of a message created at t.
func snowflakeAt(t time.Time) string {
	ms := t.UnixMilli() - discordEpoch
	if ms < 0 {
		ms = 0
	}
	return strconv.FormatInt(ms<<22, 10)
}

// snowflakeTime is when the message with this id was created.
func snowflakeTime(id string) time.Time {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.UnixMilli(n>>22 + discordEpoch)
}

// maxHistoryPages bounds how much of a channel Recent reads: 5,000
// messages, far more than any channel takes in the few minutes around a
// post attempt.
const maxHistoryPages = 50

// Recent returns the messages this bot posted in a channel from `from` to
// `to`, oldest first; it implements digest.Transport. It pages forward
// through the channel's history from the first message id of `from`, so
// what it reads depends on the span, not on how long ago it was.
func (b *Bot) Recent(ctx context.Context, ch digestbot.ChannelRef, from, to time.Time) ([]digest.Posted, error) {
	me := b.selfID()
	after := snowflakeAt(from)
	var out []digest.Posted
	for range maxHistoryPages {
		msgs, err := b.s.ChannelMessages(ch.ChannelID, 100, "", after, "", discordgo.WithContext(ctx))
		if err != nil {
			code := classify(err)
			b.discordError("history", code)
			msg := fmt.Sprintf("cannot read the recent messages of channel %s", ch.ChannelID)
			if code == digestbot.EFORBIDDEN {
				msg = fmt.Sprintf("the bot may not read the message history of channel %s (it needs Read Message History to check for a half-posted digest)", ch.ChannelID)
			}
			return nil, digestbot.WrapError(code, err, "%s", msg)
		}
		if len(msgs) == 0 {
			return out, nil
		}
		slices.SortFunc(msgs, func(a, b *discordgo.Message) int {
			return cmp.Compare(snowflakeTime(a.ID).UnixMilli(), snowflakeTime(b.ID).UnixMilli())
		})
		for _, m := range msgs {
			if snowflakeTime(m.ID).After(to) {
				return out, nil
			}
			if m.Author != nil && m.Author.ID == me {
				out = append(out, digest.Posted{ID: m.ID, Msg: fromDiscord(m)})
			}
		}
		if len(msgs) < 100 {
			return out, nil
		}
		after = msgs[len(msgs)-1].ID
	}
	b.log.Warn("a channel's history around a post attempt is longer than expected; read the first part only", "channel", ch.ChannelID, "pages", maxHistoryPages)
	return out, nil
}

// selfID is the bot's user id.
func (b *Bot) selfID() string {
	st := b.s.State
	st.RLock()
	defer st.RUnlock()
	if st.User != nil && st.User.ID != "" {
		return st.User.ID
	}
	return b.ApplicationID()
}

// fromDiscord reads a message back into the digest's terms.
func fromDiscord(m *discordgo.Message) digest.Message {
	out := digest.Message{Content: m.Content}
	for _, e := range m.Embeds {
		de := digest.Embed{Title: e.Title, URL: e.URL, Description: e.Description, Color: e.Color}
		if e.Footer != nil {
			de.Footer = e.Footer.Text
		}
		out.Embeds = append(out.Embeds, de)
	}
	return out
}

// discordNonce fits a nonce into Discord's 25 characters; a longer one is
// replaced by a digest of itself, so it stays stable across retries.
func discordNonce(nonce string) string {
	if len(nonce) <= maxNonce {
		return nonce
	}
	sum := sha256.Sum256([]byte(nonce))
	return hex.EncodeToString(sum[:])[:maxNonce]
}

// Check at compile time that Bot is a digest transport.
var _ digest.Transport = (*Bot)(nil)

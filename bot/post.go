package bot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
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
	Content         string                            `json:"content,omitempty"`
	Embeds          []*discordgo.MessageEmbed         `json:"embeds,omitempty"`
	Nonce           string                            `json:"nonce,omitempty"`
	EnforceNonce    bool                              `json:"enforce_nonce,omitempty"`
	AllowedMentions *discordgo.MessageAllowedMentions `json:"allowed_mentions"`
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
		AllowedMentions: noMentions(),
	}
	body.EnforceNonce = body.Nonce != ""
	if body.Content == "" && len(body.Embeds) == 0 {
		return "", digestbot.Errorf(digestbot.EINVALID, "the digest message is empty")
	}

	endpoint := discordgo.EndpointChannelMessages(ch.ChannelID)
	for attempt := 1; ; attempt++ {
		// discordgo sleeps out a bucket's reset without looking at the
		// context; refuse here instead of blocking a digest job for an hour.
		if wait := b.bucketWait(endpoint); wait > 0 && !b.canWait(ctx, wait) {
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
		return "", digestbot.WrapError(code, err, "%s", postMessage(code, ch.ChannelID))
	}
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
	case digestbot.EFORBIDDEN:
		return fmt.Sprintf("the bot may not post in channel %s (missing access or permissions)", channelID)
	case digestbot.ENOTFOUND:
		return fmt.Sprintf("channel %s no longer exists", channelID)
	case digestbot.ELIMIT:
		return fmt.Sprintf("Discord rate-limits posts to channel %s", channelID)
	case digestbot.EINVALID:
		return fmt.Sprintf("Discord refused the digest message for channel %s", channelID)
	default:
		return "Discord cannot be reached; the digest will be posted later"
	}
}

// classify maps a discordgo error to an error code.
func classify(err error) string {
	var rest *discordgo.RESTError
	if errors.As(err, &rest) && rest.Response != nil {
		switch s := rest.Response.StatusCode; {
		case s == http.StatusUnauthorized || s == http.StatusForbidden:
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
	// Network errors, timeouts, 5xx after discordgo's own retries, and
	// answers that are not JSON (a proxy's 429 page): all transient.
	return digestbot.EUNAVAILABLE
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

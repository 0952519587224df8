package digest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"sync"
	"time"

	digestbot "github.com/digestbot/digestbot"
)

// Transport posts one message to a chat channel. nonce is stable for a
// (channel, window, part): a transport must make a second post with the
// same nonce return the first message instead of a copy (Discord:
// enforce_nonce). Errors are *digestbot.Error: ENOTFOUND or EFORBIDDEN when
// the channel is gone or the bot may not post there; EUNAVAILABLE or ELIMIT
// for failures worth retrying.
type Transport interface {
	Post(ctx context.Context, ch digestbot.ChannelRef, msg Message, nonce string) (messageID string, err error)
}

// Store is what delivery needs of the store (package store implements it).
type Store interface {
	Pending(ctx context.Context, guildID, channelID string) ([]digestbot.PendingItem, error)
	ClaimChannel(ctx context.Context, guildID, channelID string, ttl time.Duration) (token string, ok bool, err error)
	ReleaseChannel(ctx context.Context, guildID, channelID, token string) error
	BeginDelivery(ctx context.Context, guildID, channelID, token string, now time.Time) (*digestbot.Delivery, error)
	MarkPartPosted(ctx context.Context, d *digestbot.Delivery, token string, part int, messageID string) error
	AckDelivery(ctx context.Context, d *digestbot.Delivery, token string) error
	GetArticles(ctx context.Context, ids []string) ([]*digestbot.Article, error)
	ChannelState(ctx context.Context, guildID, channelID string) (*digestbot.ChannelState, error)
	SetChannelState(ctx context.Context, st *digestbot.ChannelState) error
}

// Defaults of Deliverer.
const (
	DefaultLeaseTTL = 5 * time.Minute
	DefaultAttempts = 3
	DefaultBackoff  = 2 * time.Second
)

// Deliverer delivers a channel's digest: it claims the channel (one replica
// at a time), freezes the pending items into a delivery, composes and
// renders them, posts each part not yet confirmed with a stable nonce,
// records each confirmed part, and only then acknowledges the items. A
// crash at any point leaves the delivery to be resumed by the next attempt,
// which composes the same parts and sends the same nonces, so a part the
// chat service already has is not posted twice.
type Deliverer struct {
	Store     Store
	Transport Transport
	Clock     func() time.Time // default time.Now
	Logger    *slog.Logger     // default slog.Default()
	Limits    Limits           // zero: DiscordLimits
	Compose   ComposeOptions   // Now is set from the delivery
	// Channel gives the channel's display name and time zone; optional.
	Channel  func(ctx context.Context, ref digestbot.ChannelRef) ChannelInfo
	LeaseTTL time.Duration // how long a claim lasts; default DefaultLeaseTTL
	Attempts int           // tries per part on retryable errors; default DefaultAttempts
	Backoff  time.Duration // wait before the second try, doubling; default DefaultBackoff
	// Sleep waits between tries; default a timer that honours ctx.
	Sleep func(ctx context.Context, d time.Duration) error

	cacheOnce sync.Once
	cache     *ArticleCache // used when Compose.Cache is nil
}

// Result says what a delivery did.
type Result struct {
	WindowID     string
	Items        int  // pending items covered
	Stories      int  // items in the digest
	Parts        int  // messages of the digest
	Posted       int  // messages posted by this call (the others were confirmed before)
	Busy         bool // another worker holds the channel; nothing done
	Paused       bool // the channel is paused; nothing posted, items kept
	PausedReason string
}

// Nonce returns the nonce of one part of one delivery: 24 hex characters
// (Discord allows 25), the same on every retry.
func Nonce(ref digestbot.ChannelRef, windowID string, part int) string {
	h := sha256.New()
	h.Write([]byte(ref.GuildID + "\x00" + ref.ChannelID + "\x00" + windowID + "\x00"))
	h.Write([]byte{byte(part >> 24), byte(part >> 16), byte(part >> 8), byte(part)})
	return hex.EncodeToString(h.Sum(nil))[:24]
}

func (d *Deliverer) now() time.Time {
	if d.Clock != nil {
		return d.Clock()
	}
	return time.Now()
}

func (d *Deliverer) log() *slog.Logger {
	if d.Logger != nil {
		return d.Logger
	}
	return slog.Default()
}

func (d *Deliverer) limits() Limits {
	if d.Limits == (Limits{}) {
		return DiscordLimits
	}
	return d.Limits
}

func (d *Deliverer) info(ctx context.Context, ref digestbot.ChannelRef) ChannelInfo {
	if d.Channel != nil {
		info := d.Channel(ctx, ref)
		info.Ref = ref
		return info
	}
	return ChannelInfo{Ref: ref}
}

// Deliver delivers the channel's pending items, if any. A channel that is
// paused, or claimed by another worker, is left alone (Result says which).
// When the chat service says the channel is gone or forbidden, the channel
// is paused with the reason and its items kept. When posting keeps failing
// otherwise, Deliver returns the error and the items stay pending for the
// next attempt.
func (d *Deliverer) Deliver(ctx context.Context, ref digestbot.ChannelRef) (res Result, err error) {
	st, err := d.Store.ChannelState(ctx, ref.GuildID, ref.ChannelID)
	if err != nil {
		return res, err
	}
	if st.PausedReason != "" {
		return Result{Paused: true, PausedReason: st.PausedReason}, nil
	}
	ttl := d.LeaseTTL
	if ttl <= 0 {
		ttl = DefaultLeaseTTL
	}
	token, ok, err := d.Store.ClaimChannel(ctx, ref.GuildID, ref.ChannelID, ttl)
	if err != nil {
		return res, err
	}
	if !ok {
		return Result{Busy: true}, nil
	}
	defer func() {
		// Release even when ctx is done; a lost lease just means it expired.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if rerr := d.Store.ReleaseChannel(rctx, ref.GuildID, ref.ChannelID, token); rerr != nil && digestbot.ErrorCode(rerr) != digestbot.ECONFLICT {
			d.log().Warn("digest: cannot release channel lease", "guild", ref.GuildID, "channel", ref.ChannelID, "err", rerr)
		}
	}()

	now := d.now()
	del, err := d.Store.BeginDelivery(ctx, ref.GuildID, ref.ChannelID, token, now)
	if err != nil {
		return res, err
	}
	if del == nil {
		return res, d.markDelivered(ctx, st, now) // nothing pending: the window closes empty
	}
	res.WindowID, res.Items = del.WindowID, len(del.Items)
	msgs, dg, err := d.compose(ctx, ref, del.Items, del.StartedAt)
	if err != nil {
		return res, err
	}
	if dg != nil {
		res.Stories = dg.Stories
	}
	res.Parts = len(msgs)
	log := d.log().With("guild", ref.GuildID, "channel", ref.ChannelID, "window", del.WindowID)
	for i, msg := range msgs {
		if _, done := del.PostedParts[i]; done {
			continue
		}
		id, err := d.post(ctx, ref, msg, Nonce(ref, del.WindowID, i))
		if err != nil {
			switch digestbot.ErrorCode(err) {
			case digestbot.ENOTFOUND, digestbot.EFORBIDDEN:
				reason := pauseReason(err)
				log.Warn("digest: channel paused", "reason", reason, "err", err)
				st.PausedReason, st.PausedAt = reason, d.now()
				if serr := d.Store.SetChannelState(ctx, st); serr != nil {
					return res, serr
				}
				res.Paused, res.PausedReason = true, reason
				return res, nil
			}
			log.Warn("digest: post failed; items stay pending", "part", i, "err", err)
			return res, err
		}
		if err := d.Store.MarkPartPosted(ctx, del, token, i, id); err != nil {
			return res, err
		}
		res.Posted++
	}
	if err := d.Store.AckDelivery(ctx, del, token); err != nil {
		return res, err
	}
	log.Info("digest: delivered", "items", res.Items, "stories", res.Stories, "parts", res.Parts, "posted", res.Posted)
	return res, d.markDelivered(ctx, st, now)
}

// Resume lifts a channel's pause (set when the chat service said the
// channel was gone or forbidden), so its kept items are delivered again.
// The commands call it when someone acts in the channel again (/subscribe,
// /digest now): that shows the bot can see it. resumed is false when the
// channel was not paused.
func (d *Deliverer) Resume(ctx context.Context, ref digestbot.ChannelRef) (resumed bool, err error) {
	st, err := d.Store.ChannelState(ctx, ref.GuildID, ref.ChannelID)
	if err != nil {
		return false, err
	}
	if st.PausedReason == "" {
		return false, nil
	}
	st.GuildID, st.ChannelID = ref.GuildID, ref.ChannelID
	st.PausedReason, st.PausedAt = "", time.Time{}
	if err := d.Store.SetChannelState(ctx, st); err != nil {
		return false, err
	}
	d.log().Info("digest: channel resumed", "guild", ref.GuildID, "channel", ref.ChannelID)
	return true, nil
}

// markDelivered records the end of the window. It re-reads the state so a
// pause set meanwhile (by another path) is not overwritten.
func (d *Deliverer) markDelivered(ctx context.Context, old *digestbot.ChannelState, at time.Time) error {
	st, err := d.Store.ChannelState(ctx, old.GuildID, old.ChannelID)
	if err != nil {
		return err
	}
	st.GuildID, st.ChannelID = old.GuildID, old.ChannelID
	if at.After(st.LastDigestAt) {
		st.LastDigestAt = at
	}
	return d.Store.SetChannelState(ctx, st)
}

func pauseReason(err error) string {
	if digestbot.ErrorCode(err) == digestbot.ENOTFOUND {
		return "the channel no longer exists: " + digestbot.ErrorMessage(err)
	}
	return "the bot may not post in this channel: " + digestbot.ErrorMessage(err)
}

// post posts one message, retrying retryable failures with backoff.
func (d *Deliverer) post(ctx context.Context, ref digestbot.ChannelRef, msg Message, nonce string) (string, error) {
	attempts := d.Attempts
	if attempts <= 0 {
		attempts = DefaultAttempts
	}
	wait := d.Backoff
	if wait <= 0 {
		wait = DefaultBackoff
	}
	var err error
	for a := 0; a < attempts; a++ {
		if a > 0 {
			if serr := d.sleep(ctx, wait); serr != nil {
				return "", errors.Join(err, serr)
			}
			wait *= 2
		}
		var id string
		id, err = d.Transport.Post(ctx, ref, msg, nonce)
		if err == nil {
			return id, nil
		}
		switch digestbot.ErrorCode(err) {
		case digestbot.ENOTFOUND, digestbot.EFORBIDDEN, digestbot.EINVALID:
			return "", err // retrying cannot help
		}
	}
	return "", err
}

func (d *Deliverer) sleep(ctx context.Context, wait time.Duration) error {
	if d.Sleep != nil {
		return d.Sleep(ctx, wait)
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// compose loads the items' articles, composes at `at` and renders.
func (d *Deliverer) compose(ctx context.Context, ref digestbot.ChannelRef, items []digestbot.PendingItem, at time.Time) ([]Message, *Digest, error) {
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.ArticleID
	}
	list, err := d.Store.GetArticles(ctx, ids)
	if err != nil {
		return nil, nil, err
	}
	arts := make(map[string]*digestbot.Article, len(list))
	for _, a := range list {
		if a != nil {
			arts[a.ID] = a
		}
	}
	opts := d.Compose
	opts.Now = at
	if opts.Cache == nil {
		d.cacheOnce.Do(func() { d.cache = NewArticleCache(0) })
		opts.Cache = d.cache
	}
	dg := Compose(d.info(ctx, ref), items, arts, opts)
	return Render(dg, d.limits()), dg, nil
}

// Preview composes and renders what the channel would receive now, without
// posting or acknowledging anything. Both results are nil when nothing is
// pending.
func (d *Deliverer) Preview(ctx context.Context, ref digestbot.ChannelRef) (*Digest, []Message, error) {
	items, err := d.Store.Pending(ctx, ref.GuildID, ref.ChannelID)
	if err != nil {
		return nil, nil, err
	}
	if len(items) == 0 {
		return nil, nil, nil
	}
	msgs, dg, err := d.compose(ctx, ref, items, d.now())
	return dg, msgs, err
}

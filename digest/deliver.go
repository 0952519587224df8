package digest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/backoff"
)

// Transport posts to a chat channel and reads back what the bot posted
// there.
type Transport interface {
	// Post posts one message. nonce is stable for a (channel, window, part):
	// while the chat service remembers it, a second post with the same
	// nonce returns the first message instead of a copy (Discord:
	// enforce_nonce). Errors are *digestbot.Error: EINVALID when the chat
	// service refused the message itself (Discord's 400); EUNAUTHORIZED when
	// it refused the bot's credentials; ENOTFOUND or EFORBIDDEN when the
	// channel is gone or the bot may not post there; ELIMIT or EUNAVAILABLE
	// for failures worth retrying (the message may have been stored).
	//
	// The request must leave before SendBy(ctx), when the context carries
	// one: later, the nonce no longer answers for an earlier attempt that
	// may have been stored. A transport that cannot send it in time (a
	// rate limit's wait) sends nothing and returns ErrSendWindowPassed.
	Post(ctx context.Context, ch digestbot.ChannelRef, msg Message, nonce string) (messageID string, err error)
	// Recent returns the messages this bot posted in the channel from
	// `from` to `to` (by the chat service's clock), oldest first. Errors as
	// for Post.
	Recent(ctx context.Context, ch digestbot.ChannelRef, from, to time.Time) ([]Posted, error)
	// ChannelKind says whether ch is a text channel (KindText), a forum
	// (KindForum), or takes messages only (KindOther).
	ChannelKind(ctx context.Context, ch digestbot.ChannelRef) (string, error)
	// StartThread starts a thread on a message and returns the thread's
	// id (the channel to post into). A thread already started on that
	// message is returned, not an error.
	StartThread(ctx context.Context, ch digestbot.ChannelRef, messageID, name string) (threadID string, err error)
	// PostForum opens a post (a thread) in a forum with its first
	// message and returns the thread's id.
	PostForum(ctx context.Context, ch digestbot.ChannelRef, name string, msg Message) (threadID string, err error)
	// FindForumPost returns the id of the bot's post of that name in the
	// forum, "" when there is none.
	FindForumPost(ctx context.Context, ch digestbot.ChannelRef, name string) (threadID string, err error)
	// AddButton edits the bot's message to msg with one button.
	AddButton(ctx context.Context, ch digestbot.ChannelRef, messageID string, msg Message, label, customID string) error
}

// Posted is a message the bot posted, as read back from the channel.
type Posted struct {
	ID  string
	Msg Message
}

// Store is what delivery needs of the store (package store implements it).
type Store interface {
	Pending(ctx context.Context, guildID, channelID string) ([]digestbot.PendingItem, error)
	ClaimChannel(ctx context.Context, guildID, channelID string, ttl time.Duration) (token string, ok bool, err error)
	RenewChannel(ctx context.Context, guildID, channelID, token string, ttl time.Duration) error
	ReleaseChannel(ctx context.Context, guildID, channelID, token string) error
	BeginDelivery(ctx context.Context, guildID, channelID, token string, now time.Time) (*digestbot.Delivery, error)
	BeginAlert(ctx context.Context, guildID, channelID, token string, now time.Time) (*digestbot.Delivery, error)
	SetDeliveryParts(ctx context.Context, d *digestbot.Delivery, token string, parts []digestbot.DeliveryPart) error
	RecordAttempt(ctx context.Context, d *digestbot.Delivery, token, key string, at time.Time) error
	MarkPartPosted(ctx context.Context, d *digestbot.Delivery, token, key, messageID string) error
	StrikePart(ctx context.Context, d *digestbot.Delivery, token, key string) (int, error)
	SetPartAside(ctx context.Context, d *digestbot.Delivery, token, key, reason string) error
	AckDelivery(ctx context.Context, d *digestbot.Delivery, token string) error
	GetArticles(ctx context.Context, ids []string) ([]*digestbot.Article, error)
	ChannelState(ctx context.Context, guildID, channelID string) (*digestbot.ChannelState, error)
	SetChannelState(ctx context.Context, st *digestbot.ChannelState) error
	SaveLookup(ctx context.Context, guildID, id string, state []byte, ttl time.Duration) error
	MarkDigested(ctx context.Context, guildID, channelID string, at time.Time) error
}

// Defaults of Deliverer.
const (
	// DefaultClaimTTL is how long a channel's delivery claim lasts without
	// renewal: short, so that when a replica dies another finishes its
	// delivery within seconds. The holder renews it every third of that.
	DefaultClaimTTL = 15 * time.Second
	// DefaultNonceWindow is how long the chat service is trusted to
	// remember a nonce. Discord keeps them "a few minutes"; two is safe.
	DefaultNonceWindow = 2 * time.Minute
	// DefaultSearchSlack widens the search around an attempt for clock
	// differences and for a request that took long to be stored.
	DefaultSearchSlack = time.Minute
	DefaultAttempts    = 3
	// DefaultMaxPartFailures is how many failures of its own a part may
	// have, over all deliveries, before it is set aside as poison. Only a
	// failure while the chat service took other posts counts: an outage
	// sets nothing aside.
	DefaultMaxPartFailures = 5
	// DefaultStopGrace is how long a post in flight may finish after a stop.
	DefaultStopGrace = 5 * time.Second
	// DefaultInChannel is how many stories a digest shows in the channel.
	DefaultInChannel = 10
)

// Delivery events, counted by Deliverer.Event.
const (
	EventPosted   = "posted"    // a part reached the channel
	EventFound    = "found"     // an interrupted part was found in the channel, not posted again
	EventRefused  = "refused"   // the chat service refused a part (re-rendered smaller)
	EventSetAside = "set_aside" // a part was given up
	EventPaused   = "paused"    // a channel was paused
)

// Deliverer delivers a channel's digest.
//
// Protocol: claim the channel (a short claim, renewed while delivering);
// freeze the pending items into a delivery; render them once into parts
// and store the parts; then for each part not yet confirmed: record the
// attempt's time, post with the part's nonce and marker, and record the
// message id; finally acknowledge the items. A crash anywhere leaves the
// delivery for the next attempt on any replica, which posts the same parts.
// Before posting a part that was attempted longer ago than the chat
// service remembers nonces, it reads the bot's own messages in the channel
// around each earlier attempt and looks for the part's marker: a part found
// there is recorded as posted, not posted again. That holds for any gap
// between the crash and the retry, seconds or weeks, because it reads the
// channel at the time of the attempts, not at the time of the retry.
type Deliverer struct {
	Store     Store
	Transport Transport
	Clock     func() time.Time // default time.Now
	Logger    *slog.Logger     // default slog.Default()
	Limits    Limits           // zero: DiscordLimits
	Compose   ComposeOptions   // Now is set from the delivery
	// Channel gives the channel's display name and time zone; optional.
	Channel func(ctx context.Context, ref digestbot.ChannelRef) ChannelInfo

	ClaimTTL        time.Duration  // default DefaultClaimTTL
	NonceWindow     time.Duration  // default DefaultNonceWindow
	SearchSlack     time.Duration  // default DefaultSearchSlack
	Attempts        int            // tries per part in one delivery; default DefaultAttempts
	Retry           backoff.Policy // between tries; zero: 2 s doubling to 30 s
	MaxPartFailures int            // default DefaultMaxPartFailures
	StopGrace       time.Duration  // default DefaultStopGrace
	// InChannel is how many stories a digest shows in the channel; the rest
	// go to a thread started on its first message. 0: DefaultInChannel.
	InChannel int
	// Event is told of each delivery event (EventPosted, ...); optional.
	Event func(kind string)

	cacheOnce   sync.Once
	cache       *ArticleCache // used when Compose.Cache is nil
	lastSuccess atomic.Int64  // unix ms of the latest post any channel took
}

// Result says what a delivery did.
type Result struct {
	WindowID string
	Items    int  // pending items covered
	Stories  int  // items in the digest
	Parts    int  // messages of the digest
	Posted   int  // messages posted by this call
	Found    int  // parts of an interrupted delivery found already in the channel
	SetAside int  // parts given up by this call
	Busy     bool // another worker holds the channel; nothing done
	// Interrupted: the delivery stopped part-way (a stop, or the claim was
	// lost); what was posted is recorded and the rest follows on the next
	// attempt, by any replica, without a second copy of anything.
	Interrupted  bool
	Paused       bool // the channel is paused; nothing posted, items kept
	PausedReason string
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

func (d *Deliverer) event(kind string) {
	if d.Event != nil {
		d.Event(kind)
	}
}

func orDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

func (d *Deliverer) claimTTL() time.Duration { return orDefault(d.ClaimTTL, DefaultClaimTTL) }

// ClaimTime is how long a claim of a replica that died keeps its channel
// busy: a channel found busy is worth trying again after that.
func (d *Deliverer) ClaimTime() time.Duration { return d.claimTTL() }

func (d *Deliverer) info(ctx context.Context, ref digestbot.ChannelRef) ChannelInfo {
	if d.Channel != nil {
		info := d.Channel(ctx, ref)
		info.Ref = ref
		return info
	}
	return ChannelInfo{Ref: ref}
}

// bookkeeping returns a context for recording what already happened: it
// outlives a stop (the step is done, its record must not be lost) but is
// bounded.
func bookkeeping(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
}

// Deliver delivers the channel's pending items, if any, as its digest. A
// channel that is paused, or claimed by another worker, is left alone
// (Result says which). When ctx ends, the post in flight may finish within
// StopGrace, what is known is recorded, and Deliver returns with
// Interrupted set.
func (d *Deliverer) Deliver(ctx context.Context, ref digestbot.ChannelRef) (Result, error) {
	return d.deliver(ctx, ref, false)
}

// DeliverAlert delivers the pending items that an instant subscription
// matched, as an alert, the same way as Deliver (one claim, frozen parts,
// nonces and markers); the other items wait for the digest, and the
// digest's window goes on.
func (d *Deliverer) DeliverAlert(ctx context.Context, ref digestbot.ChannelRef) (Result, error) {
	return d.deliver(ctx, ref, true)
}

func (d *Deliverer) deliver(ctx context.Context, ref digestbot.ChannelRef, alert bool) (res Result, err error) {
	st, err := d.Store.ChannelState(ctx, ref.GuildID, ref.ChannelID)
	if err != nil {
		return res, err
	}
	if st.PausedReason != "" {
		return Result{Paused: true, PausedReason: st.PausedReason}, nil
	}
	ttl := d.claimTTL()
	token, ok, err := d.Store.ClaimChannel(ctx, ref.GuildID, ref.ChannelID, ttl)
	if err != nil {
		return res, err
	}
	if !ok {
		return Result{Busy: true}, nil
	}
	// The claim is renewed while the delivery runs; if it cannot be (it
	// lapsed: this process stalled, or Redis was away), claimCtx ends at
	// once, because another replica may be delivering now.
	claimCtx, lost := context.WithCancelCause(context.WithoutCancel(ctx))
	renewDone := make(chan struct{})
	go func() {
		defer close(renewDone)
		t := time.NewTicker(ttl / 3)
		defer t.Stop()
		for {
			select {
			case <-claimCtx.Done():
				return
			case <-t.C:
				rctx, cancel := context.WithTimeout(claimCtx, ttl/3)
				err := d.Store.RenewChannel(rctx, ref.GuildID, ref.ChannelID, token, ttl)
				cancel()
				if digestbot.ErrorCode(err) == digestbot.ECONFLICT {
					lost(err)
					return
				}
				if err != nil {
					d.log().Warn("digest: cannot renew the delivery claim; retrying", "guild", ref.GuildID, "channel", ref.ChannelID, "err", err)
				}
			}
		}
	}()
	defer func() {
		lost(nil)
		<-renewDone
		rctx, cancel := bookkeeping(ctx)
		defer cancel()
		if rerr := d.Store.ReleaseChannel(rctx, ref.GuildID, ref.ChannelID, token); rerr != nil && digestbot.ErrorCode(rerr) != digestbot.ECONFLICT {
			d.log().Warn("digest: cannot release the delivery claim; it lapses by itself", "guild", ref.GuildID, "channel", ref.ChannelID, "err", rerr)
		}
	}()

	begin := d.Store.BeginDelivery
	if alert {
		begin = d.Store.BeginAlert
	}
	// An unfinished delivery comes first, whatever its kind; when it was
	// of the other kind (an alert interrupted before the digest fell due,
	// say), this one follows under the same claim.
	for range 2 {
		now := d.now()
		del, err := begin(ctx, ref.GuildID, ref.ChannelID, token, now)
		if err != nil {
			return res, err
		}
		if del == nil {
			if alert {
				return res, nil
			}
			return res, d.markDelivered(ctx, st, now) // nothing pending: the window closes empty
		}
		run := &partRun{d: d, ref: ref, del: del, token: token, ctx: ctx, claimCtx: claimCtx, res: &res,
			log: d.log().With("guild", ref.GuildID, "channel", ref.ChannelID, "window", del.WindowID)}
		if done, err := run.all(st, now); err != nil || !done || del.Instant == alert {
			return res, err
		}
	}
	return res, nil
}

// all delivers every part of the delivery and acknowledges it; done is
// false when it stopped part-way (res says why).
func (r *partRun) all(st *digestbot.ChannelState, now time.Time) (done bool, err error) {
	d, ref, del, res, log := r.d, r.ref, r.del, r.res, r.log
	res.WindowID, res.Items, res.Stories = del.WindowID, len(del.Items), 0
	if del.Parts == nil {
		kind, err := d.Transport.ChannelKind(r.ctx, ref)
		if err != nil {
			if c := digestbot.ErrorCode(err); c == digestbot.ENOTFOUND || c == digestbot.EFORBIDDEN {
				_ = r.pause(err, "")
				return false, nil
			}
			return false, err
		}
		l, dg, err := d.lay(r.ctx, ref, del.Items, del.StartedAt, st.LastDigestAt, del.Instant)
		if err != nil {
			return false, err
		}
		if err := d.Store.SetDeliveryParts(r.ctx, del, r.token, buildParts(l, kind)); err != nil {
			return false, err
		}
		if dg != nil {
			res.Stories = dg.Stories
		}
	}

	for i := 0; i < len(del.Parts); i++ {
		if del.Parts[i].Done() {
			continue
		}
		if r.ctx.Err() != nil || r.claimCtx.Err() != nil {
			res.Interrupted = true
			log.Info("digest: delivery interrupted; the rest follows on the next attempt", "posted", res.Posted, "parts", len(del.Parts))
			return false, nil
		}
		again, err := r.part(i)
		if err != nil {
			res.Parts = len(del.Parts)
			if res.Paused {
				return false, nil
			}
			if r.ctx.Err() != nil || r.claimCtx.Err() != nil {
				res.Interrupted = true
				return false, nil
			}
			return false, err
		}
		if again {
			i-- // the part was replaced by smaller pieces: deliver those
		}
	}
	res.Parts = len(del.Parts)
	del.Placed = placements(ref, del)
	actx, cancel := bookkeeping(r.ctx)
	defer cancel()
	if err := d.Store.AckDelivery(actx, del, r.token); err != nil {
		return false, err
	}
	log.Info("digest: delivered", "alert", del.Instant, "items", res.Items, "parts", res.Parts, "posted", res.Posted, "found", res.Found, "set_aside", res.SetAside)
	if del.Instant {
		return true, nil // an alert leaves the digest's window open
	}
	return true, d.markDelivered(actx, st, now)
}

// partRun delivers the parts of one delivery.
type partRun struct {
	d             *Deliverer
	ref           digestbot.ChannelRef
	del           *digestbot.Delivery
	token         string
	ctx, claimCtx context.Context
	log           *slog.Logger
	res           *Result
}

// part delivers part i. again is true when the part was replaced by
// others that start at i. An error leaves the part for the next attempt
// (the delivery stops there: parts go out in order).
func (r *partRun) part(i int) (again bool, err error) {
	d, p := r.d, r.del.Parts[i]
	b, err := decodeBody(p.Body)
	if err != nil {
		return false, r.setAside(p.Key, "the stored message could not be read")
	}
	nonce := Nonce(r.ref, r.del.WindowID, p.Key)
	where := r.ref
	if b.Thread {
		if where.ChannelID = r.threadID(); where.ChannelID == "" {
			return r.intoChannel(i, digestbot.Errorf(digestbot.ENOTFOUND, "the digest has no thread"))
		}
	}
	msg := WithMarker(b.Message, Marker(nonce), d.limits())
	// try does the part once; found says that an earlier attempt did.
	try := func() (id string, found bool, err error) {
		switch b.Kind {
		case partThread:
			id, err = r.startThread(b)
			return id, false, err
		case partForum:
			return r.openForumPost(i, b, nonce)
		case partMore:
			id, err = r.addMoreButton(b)
			return id, false, err
		}
		id, searched, err := r.alreadyThere(i, nonce, where)
		if err != nil || id != "" {
			return id, id != "", err
		}
		// The nonce answers for the attempts since the first one the
		// search did not cover: all of them, or none after a search.
		since := time.Time{}
		if ats := r.del.Parts[i].Attempts; !searched && len(ats) > 0 {
			since = ats[0]
		}
		id, err = r.post(p.Key, where, msg, nonce, since)
		return id, false, err
	}
	attempts := orDefault(d.Attempts, DefaultAttempts)
	retry := d.Retry
	if retry.First == 0 {
		retry = backoff.Policy{First: 2 * time.Second, Max: 30 * time.Second}
	}
	for a := 1; ; a++ {
		p = r.del.Parts[i]
		if max := orDefault(d.MaxPartFailures, DefaultMaxPartFailures); p.Strikes >= max {
			return false, r.setAside(p.Key, fmt.Sprintf("the chat service failed it %d times while taking other posts", p.Strikes))
		}
		if b.Kind == partForum {
			if err := r.record(func(ctx context.Context) error { return d.Store.RecordAttempt(ctx, r.del, r.token, p.Key, d.now()) }); err != nil {
				return false, err
			}
		}
		id, found, err := try()
		if err == nil && found {
			d.event(EventFound)
			r.res.Found++
			return false, r.record(func(ctx context.Context) error { return d.Store.MarkPartPosted(ctx, r.del, r.token, p.Key, id) })
		}
		if err == nil {
			return false, r.posted(p.Key, id, b.Kind == partMessage || b.Kind == partForum)
		}
		code := digestbot.ErrorCode(err)
		switch {
		case code == digestbot.EUNAUTHORIZED:
			return false, err
		case b.Kind == partThread && code != digestbot.EUNAVAILABLE && code != digestbot.ELIMIT:
			return r.threadRefused(i, err)
		case b.Kind == partMore && code != digestbot.EUNAVAILABLE && code != digestbot.ELIMIT:
			return r.intoChannel(i, err)
		case b.Thread && (code == digestbot.ENOTFOUND || code == digestbot.EFORBIDDEN):
			return r.intoChannel(i, err) // the thread was deleted or locked
		case code == digestbot.EINVALID:
			d.event(EventRefused)
			return r.refused(i, err)
		case code == digestbot.ENOTFOUND, code == digestbot.EFORBIDDEN:
			return false, r.pause(err, "")
		}
		if errors.Is(err, ErrSendWindowPassed) {
			// Nothing was sent, and a rate limit is no fault of the
			// part's (no strike): the next try reads the channel first.
			r.log.Info("digest: a rate limit held a post past the nonce window; reading the channel before posting it", "part", p.Key)
			if a >= attempts || r.claimCtx.Err() != nil || r.ctx.Err() != nil {
				return false, err
			}
			if werr := backoff.Wait(r.ctx, retry.Delay(a)); werr != nil {
				return false, err
			}
			continue
		}
		if r.othersGotThrough(r.del.Parts[i]) {
			if err := r.record(func(ctx context.Context) error {
				_, err := d.Store.StrikePart(ctx, r.del, r.token, p.Key)
				return err
			}); err != nil {
				return false, err
			}
		}
		if a >= attempts || r.claimCtx.Err() != nil {
			r.log.Warn("digest: post failed; the part stays for the next attempt", "part", p.Key, "err", err)
			return false, err
		}
		if werr := backoff.Wait(r.ctx, retry.Delay(a)); werr != nil {
			return false, err
		}
	}
}

// alreadyThere reports whether part i reached the channel in an earlier
// attempt that the chat service no longer de-duplicates, by reading the
// channel around each earlier attempt (searched); a part found is
// recorded as posted.
func (r *partRun) alreadyThere(i int, nonce string, where digestbot.ChannelRef) (found string, searched bool, err error) {
	d, p := r.d, r.del.Parts[i]
	if len(p.Attempts) == 0 {
		return "", false, nil
	}
	window := orDefault(d.NonceWindow, DefaultNonceWindow)
	if d.now().Sub(p.Attempts[0]) < window {
		return "", false, nil // the nonce still answers for every earlier attempt
	}
	slack := orDefault(d.SearchSlack, DefaultSearchSlack)
	marker := Marker(nonce)
	for _, span := range searchSpans(p.Attempts, slack) {
		msgs, err := d.Transport.Recent(r.claimCtx, where, span[0], span[1])
		if err != nil {
			if c := digestbot.ErrorCode(err); (c == digestbot.EFORBIDDEN || c == digestbot.ENOTFOUND) && where == r.ref {
				return "", true, r.pause(err, "the bot cannot check the channel for a half-posted digest: ")
			}
			return "", true, err
		}
		for _, m := range msgs {
			if MarkerOf(m.Msg) == marker {
				r.log.Info("digest: an interrupted part is already in the channel; not posting it again", "part", p.Key, "message", m.ID)
				return m.ID, true, nil
			}
		}
	}
	return "", true, nil
}

// searchSpans turns attempt times into the spans of the channel to read:
// each attempt widened by slack on both sides, overlapping spans merged.
func searchSpans(attempts []time.Time, slack time.Duration) [][2]time.Time {
	ts := slices.Clone(attempts)
	slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	var out [][2]time.Time
	for _, t := range ts {
		from, to := t.Add(-slack), t.Add(slack)
		if n := len(out); n > 0 && !from.After(out[n-1][1]) {
			out[n-1][1] = to
			continue
		}
		out = append(out, [2]time.Time{from, to})
	}
	return out
}

// othersGotThrough reports, after a failed attempt of p, whether the chat
// service took a post of this process since p's previous attempt (or in
// the minute before its first): then the failure is p's own, not an
// outage's.
func (r *partRun) othersGotThrough(p digestbot.DeliveryPart) bool {
	last := r.d.lastSuccess.Load()
	if last == 0 || len(p.Attempts) == 0 {
		return false
	}
	since := p.Attempts[len(p.Attempts)-1].Add(-time.Minute)
	if len(p.Attempts) > 1 {
		since = p.Attempts[len(p.Attempts)-2]
	}
	return last >= since.UnixMilli()
}

// post records the attempt, then posts. The post may finish within
// StopGrace after a stop, never after the claim is lost. since is the
// earliest attempt the nonce must answer for (zero: this one): the
// request must leave within the nonce window of it, and within half the
// search slack of this attempt, or a later search around the attempts
// could miss the message.
func (r *partRun) post(key string, where digestbot.ChannelRef, msg Message, nonce string, since time.Time) (string, error) {
	d := r.d
	at := d.now()
	if err := d.Store.RecordAttempt(r.claimCtx, r.del, r.token, key, at); err != nil {
		return "", err
	}
	if since.IsZero() {
		since = at
	}
	// Half the slack: the other half covers the time the request takes
	// to be stored and the difference between the clocks.
	left := min(since.Add(orDefault(d.NonceWindow, DefaultNonceWindow)).Sub(at), orDefault(d.SearchSlack, DefaultSearchSlack)/2)
	ctx, cancel := r.postCtx()
	defer cancel()
	return d.Transport.Post(WithSendBy(ctx, time.Now().Add(left)), where, msg, nonce)
}

// record runs a bookkeeping step that must survive a stop.
func (r *partRun) record(f func(ctx context.Context) error) error {
	ctx, cancel := bookkeeping(r.claimCtx)
	defer cancel()
	if r.claimCtx.Err() != nil {
		return context.Cause(r.claimCtx)
	}
	return f(ctx)
}

// posted records a part done; message says it was a message (not a thread
// started or a button added).
func (r *partRun) posted(key, id string, message bool) error {
	r.d.lastSuccess.Store(r.d.now().UnixMilli())
	if message {
		r.d.event(EventPosted)
		r.res.Posted++
	}
	return r.record(func(ctx context.Context) error { return r.d.Store.MarkPartPosted(ctx, r.del, r.token, key, id) })
}

func (r *partRun) setAside(key, reason string) error {
	r.log.Warn("digest: part set aside", "part", key, "reason", reason)
	r.d.event(EventSetAside)
	r.res.SetAside++
	return r.record(func(ctx context.Context) error { return r.d.Store.SetPartAside(ctx, r.del, r.token, key, reason) })
}

// refused handles a part the chat service refused as it is: a part of
// several stories is split into one message per story; a single story is
// re-rendered with its title and link only; what still cannot be posted is
// set aside, and the rest of the digest goes on.
func (r *partRun) refused(i int, cause error) (again bool, err error) {
	p := r.del.Parts[i]
	b, err := decodeBody(p.Body)
	if err != nil {
		return false, r.setAside(p.Key, "the stored message could not be read")
	}
	pieces := splitMessage(b.Message)
	if len(pieces) == 1 {
		small, ok := shrinkMessage(b.Message)
		if !ok {
			return false, r.setAside(p.Key, "the chat service refused it: "+digestbot.ErrorMessage(cause))
		}
		pieces = []Message{small}
	}
	r.log.Warn("digest: the chat service refused a part; posting it smaller", "part", p.Key, "pieces", len(pieces), "err", cause)
	parts := slices.Clone(r.del.Parts[:i])
	suffix := ".s"
	for j, m := range pieces {
		if len(pieces) > 1 {
			suffix = "." + strconv.Itoa(j)
		}
		nb := b
		nb.Message = m
		if j > 0 && b.Kind == partForum {
			nb.Kind, nb.Thread = partMessage, true // the post opens with the first piece
		}
		parts = append(parts, digestbot.DeliveryPart{Key: p.Key + suffix, Body: encodeBody(nb)})
	}
	parts = append(parts, r.del.Parts[i+1:]...)
	// The refused part leaves the list: nothing of it reached the channel.
	err = r.record(func(ctx context.Context) error { return r.d.Store.SetDeliveryParts(ctx, r.del, r.token, parts) })
	return err == nil, err
}

// pause pauses the channel because the chat service said it is gone or
// forbidden; its items stay pending (up to the store's backlog). prefix,
// when set, says what the bot was doing.
func (r *partRun) pause(cause error, prefix string) error {
	kind, reason := digestbot.PauseForbidden, "the bot may not post in this channel: "+digestbot.ErrorMessage(cause)
	if digestbot.ErrorCode(cause) == digestbot.ENOTFOUND {
		kind, reason = digestbot.PauseUnknownChannel, "the channel no longer exists: "+digestbot.ErrorMessage(cause)
	} else if prefix != "" {
		reason = prefix + digestbot.ErrorMessage(cause)
	}
	r.log.Warn("digest: channel paused", "reason", reason)
	r.d.event(EventPaused)
	r.res.Paused, r.res.PausedReason = true, reason
	err := r.record(func(ctx context.Context) error {
		st, err := r.d.Store.ChannelState(ctx, r.ref.GuildID, r.ref.ChannelID)
		if err != nil {
			return err
		}
		st.PausedReason, st.PausedBy, st.PausedAt = reason, kind, r.d.now()
		return r.d.Store.SetChannelState(ctx, st)
	})
	if err != nil {
		return err
	}
	return cause
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
	st.PausedReason, st.PausedBy, st.PausedAt = "", "", time.Time{}
	if err := d.Store.SetChannelState(ctx, st); err != nil {
		return false, err
	}
	d.log().Info("digest: channel resumed", "guild", ref.GuildID, "channel", ref.ChannelID)
	return true, nil
}

// markDelivered records the end of the window.
func (d *Deliverer) markDelivered(ctx context.Context, st *digestbot.ChannelState, at time.Time) error {
	return d.Store.MarkDigested(ctx, st.GuildID, st.ChannelID, at)
}

// compose loads the items' articles and composes the digest (or alert) at
// `at` covering the time since `since`.
func (d *Deliverer) compose(ctx context.Context, ref digestbot.ChannelRef, items []digestbot.PendingItem, at, since time.Time, alert bool) (*Digest, error) {
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.ArticleID
	}
	list, err := d.Store.GetArticles(ctx, ids)
	if err != nil {
		return nil, err
	}
	arts := make(map[string]*digestbot.Article, len(list))
	for _, a := range list {
		if a != nil {
			arts[a.ID] = a
		}
	}
	opts := d.Compose
	opts.Now, opts.Since, opts.Alert = at, since, alert
	if opts.Since.IsZero() {
		for _, it := range items {
			if opts.Since.IsZero() || it.QueuedAt.Before(opts.Since) {
				opts.Since = it.QueuedAt
			}
		}
	}
	if opts.Cache == nil {
		d.cacheOnce.Do(func() { d.cache = NewArticleCache(0) })
		opts.Cache = d.cache
	}
	return Compose(d.info(ctx, ref), items, arts, opts), nil
}

// lay composes and lays the digest out, leaving room on every message for
// the marker line.
func (d *Deliverer) lay(ctx context.Context, ref digestbot.ChannelRef, items []digestbot.PendingItem, at, since time.Time, alert bool) (Layout, *Digest, error) {
	dg, err := d.compose(ctx, ref, items, at, since, alert)
	if err != nil {
		return Layout{}, nil, err
	}
	lim := d.limits()
	lim.Content -= markerPrefixLen
	return Lay(dg, lim, orDefault(d.InChannel, DefaultInChannel)), dg, nil
}

// markerPrefixLen is what the marker line takes of a message's content.
const markerPrefixLen = len(markerPrefix) + markerLen + 1

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
	st, err := d.Store.ChannelState(ctx, ref.GuildID, ref.ChannelID)
	if err != nil {
		return nil, nil, err
	}
	l, dg, err := d.lay(ctx, ref, items, d.now(), st.LastDigestAt, false)
	return dg, append(l.Channel, l.Thread...), err
}

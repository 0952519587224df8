package ingest

// Polling one due feed: who may see it, fetching it conditionally, storing
// what it brings, and its health and next due time.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/backoff"
	"github.com/digestbot/digestbot/due"
)

// storeRetry paces a feed whose state the store could not read or write:
// not the feed's fault, so it is not counted against it.
var storeRetry = backoff.Policy{First: 15 * time.Second, Max: 5 * time.Minute}

// target is one URL to fetch, merged over the configuration and every
// server that follows it.
type target struct {
	url      string
	name     string
	interval time.Duration
	// guilds are the servers whose own feed this is, who alone may see
	// what it brings; nil when the configuration lists it (public to all).
	guilds []string
	// fresh are the servers for which this is the feed's first poll (see
	// digestbot.Feed.HoldsBack): marked once it has stored what it found.
	fresh []string
}

// targetOf merges a polled feed with the configuration's entry for it:
// the shortest interval wins, the configuration's name first, else the
// first server's. ok=false when no one follows the URL.
func (p *Poller) targetOf(pf *digestbot.PolledFeed, cfg *digestbot.Feed) (target, bool) {
	t := target{url: pf.URL}
	if cfg != nil {
		t.url, t.name, t.interval = cfg.URL, cfg.Name, cfg.Interval
	} else if len(pf.Feeds) == 0 || pf.URL == "" {
		return t, false
	}
	for _, f := range pf.Feeds {
		if t.name == "" {
			t.name = f.Name
		}
		if f.Interval > 0 && (t.interval <= 0 || f.Interval < t.interval) {
			t.interval = f.Interval
		}
		if cfg == nil {
			t.guilds = append(t.guilds, f.GuildID)
		}
		if !f.DeliverSince.IsZero() && f.FirstPolled == "" {
			t.fresh = append(t.fresh, f.GuildID)
		}
	}
	if t.interval <= 0 {
		t.interval = p.o.Interval
	}
	t.interval = max(t.interval, MinPollInterval)
	return t, true
}

// pollEntry polls one taken feed as of now and says when it is due next.
// The result is nil when nothing was fetched (no follower, paused, the host
// busy, a store error).
func (p *Poller) pollEntry(ctx context.Context, e digestbot.DueEntry, now time.Time) (*PollResult, due.Outcome) {
	pf, err := p.o.Feeds.PolledFeed(ctx, e.Member)
	if err != nil {
		p.log.Warn("reading a due feed failed; retrying", "feed", e.Member, "err", err)
		return nil, due.Outcome{Next: now.Add(storeRetry.Delay(e.Failures + 1)), Failed: true}
	}
	t, ok := p.targetOf(pf, p.config[e.Member])
	if !ok {
		// Removed by every server that had it: leave the queue (a server
		// that adds it again meanwhile keeps it there).
		if _, err := p.o.Feeds.ForgetFeed(ctx, e); err != nil {
			p.log.Warn("dropping a feed no server follows failed; retrying", "feed", pf.URL, "err", err)
			return nil, due.Outcome{Next: now.Add(storeRetry.Delay(e.Failures + 1)), Failed: true}
		}
		p.log.Info("feed no longer followed; not polled any more", "feed", pf.URL)
		return nil, due.Outcome{}
	}
	if pf.Health.PausedReason != "" {
		// Resuming makes it due at once; until then look now and then.
		return nil, due.Outcome{Next: now.Add(p.o.MaxBackoff)}
	}
	release, ok := p.hosts.acquire(ctx, limitHost(t.url), p.o.Fetcher.opts.Timeout)
	if !ok {
		if ctx.Err() != nil {
			return nil, due.Outcome{Next: e.Due}
		}
		// This process has enough of the host's feeds in hand: leave this
		// one to a little later (or to another replica).
		later := max(time.Second, p.o.HostDelay) + p.jitter(t.interval/10)
		return nil, due.Outcome{Next: now.Add(later)}
	}
	defer release()
	h := pf.Health
	h.URL = t.url
	res := p.pollSafely(ctx, t, &h, now)
	if p.o.OnPolled != nil {
		p.o.OnPolled(res)
	}
	if res.Err != nil && ctx.Err() != nil {
		// Shutting down: not the feed's failure; it is due again at once.
		return &res, due.Outcome{Next: e.Due}
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	saved, err := p.o.Feeds.SaveFeedHealth(sctx, e, &h)
	switch {
	case err != nil:
		// Its take lapses and it is fetched again with the validators it had.
		p.log.Warn("saving feed health failed", "feed", t.url, "err", err)
	case !saved:
		p.log.Debug("feed resumed or taken over while being fetched; its health is not saved", "feed", t.url)
	}
	return &res, due.Outcome{Next: h.NextPoll, Failed: res.Err != nil}
}

func (p *Poller) jitter(max time.Duration) time.Duration {
	if max <= 0 {
		return 0
	}
	return time.Duration(p.o.Rand() * float64(max))
}

// pollSafely is poll with a panic (a parser or indexing bug set off by
// one feed's content) caught and counted as that feed's failure, so it
// backs off and pauses like any broken feed instead of taking the process
// down.
func (p *Poller) pollSafely(ctx context.Context, t target, h *digestbot.FeedHealth, now time.Time) (res PollResult) {
	before := *h
	defer func() {
		if v := recover(); v != nil {
			err := fmt.Errorf("internal error while polling this feed: %v", v)
			p.log.Error("feed poll panicked", "feed", t.url, "panic", v, "stack", string(debug.Stack()))
			*h = before
			p.fail(h, err, t.interval, now)
			res = PollResult{URL: t.url, Err: err, Paused: h.PausedReason != ""}
		}
	}()
	return p.poll(ctx, t, h, now)
}

// poll fetches, parses and stores one feed and updates its health h.
func (p *Poller) poll(ctx context.Context, t target, h *digestbot.FeedHealth, now time.Time) PollResult {
	res := PollResult{URL: t.url}
	fr, err := p.o.Fetcher.Fetch(ctx, FetchRequest{URL: t.url, ETag: h.ETag, LastModified: h.LastModified})
	if err == nil && !fr.NotModified {
		var arts []*digestbot.Article
		arts, err = Parse(fr.Body, t.url, LoadOptions{SourceName: t.name, ContentType: fr.ContentType, Now: p.o.Now})
		if err == nil {
			for _, a := range arts {
				a.Guilds = t.guilds // only the servers that added the feed see what it brings
			}
			outs, serr := p.o.Articles.PutArticles(ctx, arts)
			if serr != nil {
				// Not the feed's fault: keep its validators so the next
				// poll fetches it again, and do not count a failure.
				h.LastError, h.LastErrorAt = "storing articles: "+digestbot.ErrorMessage(serr), now
				h.NextPoll = now.Add(MinPollInterval)
				p.log.Error("storing feed articles failed", "feed", t.url, "err", serr)
				res.Err = serr
				return res
			}
			res.Outcomes = map[digestbot.PutOutcome]int{}
			for _, o := range outs {
				res.Outcomes[o]++
			}
			if p.o.OnStored != nil && len(arts) > 0 {
				p.o.OnStored(ctx, arts, outs)
			}
			h.ETag, h.LastModified = fr.ETag, fr.LastModified
			level := slog.LevelDebug
			if res.Outcomes[digestbot.PutNew]+res.Outcomes[digestbot.PutUpdated] > 0 {
				level = slog.LevelInfo
			}
			p.log.Log(ctx, level, "feed polled", "feed", t.url, "articles", len(arts),
				"new", res.Outcomes[digestbot.PutNew], "updated", res.Outcomes[digestbot.PutUpdated])
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			res.Err = err
			return res
		}
		p.fail(h, err, t.interval, now)
		res.Err, res.Paused = err, h.PausedReason != ""
		p.log.Warn("feed poll failed", "feed", t.url, "failures", h.Failures, "err", err, "paused", res.Paused)
		return res
	}
	if fr.NotModified {
		res.NotModified = true
		h.ETag, h.LastModified = fr.ETag, fr.LastModified
	}
	h.LastSuccess, h.Failures, h.LastError = now, 0, ""
	h.NextPoll = now.Add(t.interval + p.jitter(t.interval/10))
	if len(t.fresh) > 0 {
		// What this poll logged is the servers' backlog; what comes after
		// is new to them. Should this fail, the next poll marks it, and
		// until then its undated stories are held back too.
		if err := p.o.Feeds.MarkFeedPolled(ctx, t.url, t.fresh); err != nil {
			p.log.Warn("recording a feed's first poll failed", "feed", t.url, "err", err)
		}
	}
	return res
}

// fail records a failed poll: backoff doubling from the interval, at least
// the server's Retry-After on 429/503, pause after MaxFailures or on 410.
func (p *Poller) fail(h *digestbot.FeedHealth, err error, interval time.Duration, now time.Time) {
	h.Failures++
	h.LastError = digestbot.ErrorMessage(err)
	if digestbot.ErrorCode(err) == digestbot.EINTERNAL {
		h.LastError = err.Error()
	}
	h.LastErrorAt = now
	delay := backoff.Policy{First: interval, Max: p.o.MaxBackoff, Jitter: 0.1, Rand: p.o.Rand}.Delay(h.Failures)
	var he *HTTPError
	if errors.As(err, &he) {
		if (he.StatusCode == http.StatusTooManyRequests || he.StatusCode == http.StatusServiceUnavailable) && he.RetryAfter > delay {
			// The server's wish is a floor: jitter only adds to it.
			delay = min(he.RetryAfter, 7*24*time.Hour)
			delay += p.jitter(delay / 10)
		}
		if he.StatusCode == http.StatusGone {
			h.PausedReason = fmt.Sprintf("paused: the feed is gone (%s)", he.Status)
		}
	}
	h.NextPoll = now.Add(delay)
	if h.PausedReason == "" && h.Failures >= p.o.MaxFailures {
		h.PausedReason = fmt.Sprintf("paused after %d consecutive failures; last: %s", h.Failures, h.LastError)
	}
}

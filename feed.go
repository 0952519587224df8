package digestbot

import (
	"crypto/sha256"
	"encoding/hex"
	neturl "net/url"
	"time"
)

// Feed is a source the bot polls. GuildID is empty for feeds from the
// configuration file.
type Feed struct {
	GuildID string `json:"guild_id,omitempty"`
	URL     string `json:"url"`
	Name    string `json:"name,omitempty"` // source name override
	// Title is the feed's own title when it was added, what it is called
	// in replies when it has no Name.
	Title    string        `json:"title,omitempty"`
	Interval time.Duration `json:"interval,omitempty"`
	AddedBy  string        `json:"added_by,omitempty"`
	AddedAt  time.Time     `json:"added_at,omitzero"`
	// DeliverSince and FirstPolled make a feed new to a server start from
	// now: the stories of its first poll for the server are stored (and
	// found by /lookup) but only those published at or after DeliverSince
	// (when it was added, less its backfill) reach the server's digests;
	// undated ones do not. FirstPolled is the ingest log position once
	// that poll has stored what it found ("" before); what is logged after
	// it is new and delivered as usual. Feeds added before this existed
	// have a zero DeliverSince: nothing of theirs is held back.
	DeliverSince time.Time `json:"deliver_since,omitzero"`
	FirstPolled  string    `json:"first_polled,omitempty"`
}

// MaxFeedBackfill bounds /feeds add's backfill: the days of a new feed's
// stories that reach the next digests too.
const MaxFeedBackfill = 7 * 24 * time.Hour

// FeedRef names one server's entry for a feed URL.
type FeedRef struct{ GuildID, URL string }

// HoldsBack reports whether an article the feed brought in for its server
// is kept for lookup only: logged at seq, up to the end of the feed's
// first poll, and published before DeliverSince (or undated).
func (f *Feed) HoldsBack(seq string, published time.Time) bool {
	if f == nil || f.DeliverSince.IsZero() {
		return false
	}
	if f.FirstPolled != "" && CompareSeq(seq, f.FirstPolled) > 0 {
		return false // logged after the first poll: new
	}
	return published.IsZero() || published.Before(f.DeliverSince)
}

// FeedHealth is the polling state of a feed URL, shared by every guild that
// added it.
type FeedHealth struct {
	URL          string    `json:"url"`
	LastSuccess  time.Time `json:"last_success,omitzero"`
	LastError    string    `json:"last_error,omitempty"`
	LastErrorAt  time.Time `json:"last_error_at,omitzero"`
	Failures     int       `json:"failures"` // consecutive
	PausedReason string    `json:"paused_reason,omitempty"`
	ETag         string    `json:"etag,omitempty"`
	LastModified string    `json:"last_modified,omitempty"`
	NextPoll     time.Time `json:"next_poll,omitzero"`
}

// Resumed returns a copy of h un-paused, without failures and due at once.
// It forgets the validators too: the full fetch that follows stores the
// feed's current articles again, so a server that has just added the feed
// sees them at once, not only the ones published from now on. What is
// known of the past (last success, last error) stays.
func (h FeedHealth) Resumed() FeedHealth {
	h.PausedReason, h.Failures, h.NextPoll = "", 0, time.Time{}
	h.ETag, h.LastModified = "", ""
	return h
}

// FeedID is the id of a feed URL in the polling queue (a DueQueue member):
// a hash, since a URL may be longer than a member may be.
func FeedID(url string) string {
	sum := sha256.Sum256([]byte(url))
	return hex.EncodeToString(sum[:16])
}

// PolledFeed is what the poller reads of a feed URL when it falls due.
type PolledFeed struct {
	ID  string
	URL string // "" when nothing is known of the id any more
	// Feeds are the servers' own entries for the URL, one per server that
	// follows it, oldest first; only these servers may see what it brings
	// (unless the configuration lists it too).
	Feeds  []*Feed
	Health FeedHealth
}

// ValidateFeedURL refuses anything but an absolute http(s) URL before a
// feed is fetched, so a chat command or an imported file can never make
// the bot read a local file or another scheme. Private addresses are
// refused by the fetcher, when the URL is fetched.
func ValidateFeedURL(raw string) error {
	u, err := neturl.Parse(raw)
	switch {
	case len(raw) > MaxURLLen:
		return Errorf(EINVALID, "the feed URL is longer than %d characters", MaxURLLen)
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return Errorf(EINVALID, "%q is not a feed URL: give an http:// or https:// address", raw)
	case u.User != nil:
		return Errorf(EINVALID, "feed URLs may not carry a user name or password")
	}
	return nil
}

package digestbot

import "time"

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

package store

import (
	"time"

	"github.com/digestbot/digestbot/redisurl"
)

// Connection timeouts. They bound every call, so an unreachable Redis gives
// EUNAVAILABLE within a few seconds instead of a hang.
const (
	dialTimeout  = 2 * time.Second
	readTimeout  = 3 * time.Second
	writeTimeout = 3 * time.Second
	poolTimeout  = 4 * time.Second
	maxRetries   = 1
)

// ValidateURL reports, as an EINVALID error, what is wrong with a Redis URL
// (see Options.URL).
func ValidateURL(raw string) error {
	_, err := redisurl.Parse(raw)
	return err
}

// Package digestbot holds the domain of the digest bot: articles, topics,
// subscriptions, schedules, pending deliveries, and the one error type every
// layer uses. It depends on the standard library only; the packages around it
// (store, ingest, subscriptions, digest, bot, ...) speak these types.
package digestbot

import (
	"errors"
	"fmt"
)

// Error codes. The edge (a chat reply, a CLI message, an HTTP status) decides
// what a user sees from the code alone.
const (
	EINVALID   = "invalid"   // the caller's input is wrong; the message says how
	ENOTFOUND  = "not_found" // the thing does not exist (or is not visible to the caller)
	ECONFLICT  = "conflict"  // the thing exists already or changed underneath
	EFORBIDDEN = "forbidden" // the caller may not do this
	// EUNAUTHORIZED: a service refused the bot's own credentials (Discord
	// answered 401: the token was reset or revoked); not the caller's fault.
	EUNAUTHORIZED = "unauthorized"
	ELIMIT        = "limit"       // a documented limit or quota was reached
	EUNAVAILABLE  = "unavailable" // a dependency (Redis, Discord, a feed) cannot be reached now
	EINTERNAL     = "internal"    // a bug or an unexpected failure; details go to the log only
)

// Error is the error type of the application. Message is written for the
// user; Err carries the underlying cause for the log.
type Error struct {
	Code    string
	Message string
	Err     error
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Err != nil {
		if e.Message == "" {
			return fmt.Sprintf("%s: %v", e.Code, e.Err)
		}
		return fmt.Sprintf("%s: %v", e.Message, e.Err)
	}
	return e.Message
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a formatted user message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// WrapError returns an *Error with code and message that keeps err as cause.
func WrapError(code string, err error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-facing message of err: the message of an
// *Error that is not internal, else a generic text that reveals nothing.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) && e.Code != EINTERNAL && e.Message != "" {
		return e.Message
	}
	return "internal error"
}

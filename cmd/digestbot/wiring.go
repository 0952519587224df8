package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"syscall"
	_ "time/tzdata" // schedules name IANA zones; minimal images may lack zoneinfo

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/config"
	"github.com/digestbot/digestbot/redisurl"
	"github.com/digestbot/digestbot/store"
)

// newLogger returns the process logger: text lines on stderr.
func newLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// loadConfig reads and validates the configuration from the environment.
// config.Load checks every value, those that need the query and schedule
// parsers and the references between operator topics included, so every
// command refuses the same configurations as check-config.
func loadConfig(e *env) (*config.Config, error) {
	return config.Load(e.getenv)
}

// openStore opens the store the configuration names: Redis at
// DIGESTBOT_REDIS_URL, or the embedded in-memory store when it is unset,
// which it announces because nothing then survives the process.
func openStore(ctx context.Context, e *env) (*store.Store, error) {
	cfg, err := loadConfig(e)
	if err != nil {
		return nil, err
	}
	return openStoreWith(ctx, e, cfg, newLogger(e.stderr))
}

func openStoreWith(ctx context.Context, e *env, cfg *config.Config, log *slog.Logger) (*store.Store, error) {
	opts := store.Options{URL: cfg.RedisURL, Prefix: cfg.KeyPrefix, Retention: cfg.Retention, Logger: log}
	if cfg.RedisURL == "" {
		fmt.Fprintln(e.stderr, "digestbot: DIGESTBOT_REDIS_URL is unset: using the embedded in-memory store; nothing is persisted")
		return store.OpenEmbedded(ctx, opts)
	}
	// go-redis logs its dial failures on its own (to stderr, in its own
	// format); they belong in the command's log.
	routeLibraryLogs(log)
	st, err := store.Open(ctx, opts)
	if err != nil {
		return nil, storeOpenError(cfg.RedisURL, err)
	}
	return st, nil
}

// storeOpenError says why Redis could not be used: the (redacted) URL and
// the cause an operator can act on. The store's own message ("cannot be
// reached right now") is the same for a stopped server, a wrong port, a TLS
// mismatch and a firewall, and a CLI user sees only that message.
func storeOpenError(rawURL string, err error) error {
	code, cause := redisCause(rawURL, err)
	return digestbot.WrapError(code, err, "DIGESTBOT_REDIS_URL=%s: %s", redisurl.Redact(rawURL), cause)
}

// redisCause classifies an error of opening the store.
func redisCause(rawURL string, err error) (code, cause string) {
	tlsURL := strings.HasPrefix(strings.ToLower(strings.TrimSpace(rawURL)), "rediss://")
	msg := err.Error()
	var (
		dnsErr  *net.DNSError
		recErr  tls.RecordHeaderError
		certErr *tls.CertificateVerificationError
		netErr  net.Error
	)
	switch {
	case strings.Contains(msg, "WRONGPASS"):
		return digestbot.EINVALID, "authentication failed: Redis refused the user name or password of the URL"
	case strings.Contains(msg, "NOAUTH"):
		return digestbot.EINVALID, "authentication failed: the server needs a password and the URL gives none (redis://:PASSWORD@HOST:PORT)"
	case errors.As(err, &dnsErr):
		return digestbot.EUNAVAILABLE, fmt.Sprintf("the host name %q cannot be resolved (%s)", dnsErr.Name, dnsCause(dnsErr))
	case errors.Is(err, syscall.ECONNREFUSED):
		return digestbot.EUNAVAILABLE, fmt.Sprintf("connection refused: nothing listens at %s; is Redis running, on that port?", dialAddr(err))
	case errors.As(err, &certErr):
		return digestbot.EUNAVAILABLE, fmt.Sprintf("TLS handshake failed: the server's certificate is not trusted (%v)", certErr.Err)
	case errors.As(err, &recErr), strings.Contains(msg, "tls: "):
		return digestbot.EUNAVAILABLE, "TLS handshake failed: " + tlsCause(msg) + tlsHint(tlsURL)
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return digestbot.EUNAVAILABLE, "timeout: no answer from Redis in time; a firewall may drop the connection, or the server is overloaded" + tlsHint(tlsURL)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET):
		return digestbot.EUNAVAILABLE, "the server closed the connection without answering" + tlsHint(tlsURL)
	}
	code = digestbot.ErrorCode(err)
	if code == digestbot.EINTERNAL {
		code = digestbot.EUNAVAILABLE
	}
	var de *digestbot.Error
	if errors.As(err, &de) && de.Err != nil {
		return code, fmt.Sprintf("%s (%v)", digestbot.ErrorMessage(err), de.Err)
	}
	return code, msg
}

// tlsHint names the likely mismatch between the URL's scheme and the
// server: a plain server with rediss:// never answers the TLS handshake; a
// TLS server with redis:// closes the connection or stays silent.
func tlsHint(tlsURL bool) string {
	if tlsURL {
		return "; the URL asks for TLS (rediss://): if the server speaks plain Redis, use redis://"
	}
	return "; if the server expects TLS, use rediss://"
}

// tlsCause is the part of a TLS error after "tls: ".
func tlsCause(msg string) string {
	if _, after, ok := strings.Cut(msg, "tls: "); ok {
		return after
	}
	return msg
}

func dnsCause(e *net.DNSError) string {
	if e.IsNotFound {
		return "no such host"
	}
	if e.IsTimeout {
		return "DNS timeout"
	}
	return e.Err
}

// dialAddr is the address a dial error names, or "the address of the URL".
func dialAddr(err error) string {
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Addr != nil {
		return opErr.Addr.String()
	}
	return "the address of the URL"
}

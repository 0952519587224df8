package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/redisurl"
	"github.com/digestbot/digestbot/store"
)

func cmdCheckConfig(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "check-config", "check-config [--connect]\n\nValidates the configuration (environment variables and the DIGESTBOT_CONFIG file)\nand prints it with secrets redacted. Exits non-zero on any error.")
	connect := fs.Bool("connect", false, "also connect to Redis and report whether it answers")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	fmt.Fprint(e.stdout, cfg.Redacted())
	if *connect {
		st, err := openStoreWith(ctx, e, cfg, newLogger(e.stderr))
		if err != nil {
			if cfg.RedisURL != "" && digestbot.ErrorCode(err) == digestbot.EUNAVAILABLE {
				if why := probeRedis(ctx, cfg.RedisURL); why != "" {
					return digestbot.WrapError(digestbot.EUNAVAILABLE, err, "DIGESTBOT_REDIS_URL=%s: %s", redisurl.Redact(cfg.RedisURL), why)
				}
			}
			return err
		}
		defer st.Close()
		what := "the embedded in-memory store"
		if cfg.RedisURL != "" {
			si, err := st.ServerInfo(ctx)
			if err != nil {
				return storeOpenError(cfg.RedisURL, err)
			}
			what = describeServer(si)
		}
		fmt.Fprintln(e.stdout, "redis: reachable: "+what)
	}
	if cfg.DiscordToken == "" {
		// Exit 0 all the same: demo, ingest, match and lookup need no token.
		fmt.Fprintln(e.stdout, "configuration OK for demo, ingest, match and lookup; `digestbot run` also needs DISCORD_TOKEN (or DISCORD_TOKEN_FILE)")
		return nil
	}
	fmt.Fprintln(e.stdout, "configuration OK")
	return nil
}

// describeServer says what check-config --connect found: one server or a
// cluster (a URL of one node finds the cluster too), its version and the
// memory in use (to hold against the sizing rule of the README).
func describeServer(si store.ServerInfo) string {
	what := "a single Redis server"
	if si.Cluster {
		what = fmt.Sprintf("a Redis Cluster of %d masters", si.Masters)
	}
	var about []string
	if si.Version != "" {
		about = append(about, "Redis "+si.Version)
	}
	if si.UsedMemory > 0 {
		about = append(about, fmt.Sprintf("%.1f MiB in use", float64(si.UsedMemory)/(1<<20)))
	}
	if len(about) > 0 {
		what += " (" + strings.Join(about, ", ") + ")"
	}
	return what
}

// probeTimeout bounds each step of probeRedis.
const probeTimeout = 2 * time.Second

// probeRedis looks for a TLS mismatch between the URL and the server once
// connecting failed: go-redis sees only a timeout (rediss:// against a
// plain server, which waits for a command line that the TLS hello never
// ends) or a closed connection (redis:// against a TLS server). It sends a
// plain PING, and tries a TLS handshake, to each seed address; "" when it
// finds nothing more specific than the error in hand.
func probeRedis(ctx context.Context, rawURL string) string {
	o, err := redisurl.Parse(rawURL)
	if err != nil {
		return ""
	}
	addrs := o.Addrs
	if len(addrs) > 3 {
		addrs = addrs[:3]
	}
	for _, addr := range addrs {
		plain := speaksPlainRedis(ctx, addr)
		switch {
		case o.TLSConfig != nil && plain:
			return fmt.Sprintf("TLS handshake failed: the server at %s speaks plain Redis, without TLS; use redis:// instead of rediss://", addr)
		case o.TLSConfig != nil:
			if err := tlsHandshake(ctx, addr, o.TLSConfig.Clone()); err != nil {
				return fmt.Sprintf("TLS handshake with %s failed: %v", addr, err)
			}
		case !plain:
			// Only whether the server speaks TLS at all: the certificate is
			// not checked, and nothing is sent over the connection.
			if tlsHandshake(ctx, addr, &tls.Config{InsecureSkipVerify: true}) == nil { //nolint:gosec // a probe, see above
				return fmt.Sprintf("the server at %s expects TLS; use rediss:// instead of redis://", addr)
			}
		}
	}
	return ""
}

// speaksPlainRedis reports whether addr answers a plain-text PING in the
// Redis protocol (+PONG, or an error such as -NOAUTH).
func speaksPlainRedis(ctx context.Context, addr string) bool {
	d := net.Dialer{Timeout: probeTimeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(probeTimeout))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	buf := make([]byte, 1)
	if n, _ := conn.Read(buf); n == 1 {
		switch buf[0] {
		case '+', '-', '$', '*', '%', ':':
			return true
		}
	}
	return false
}

// tlsHandshake makes a TLS connection to addr and closes it.
func tlsHandshake(ctx context.Context, addr string, cfg *tls.Config) error {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	d := tls.Dialer{NetDialer: &net.Dialer{}, Config: cfg}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	return conn.Close()
}

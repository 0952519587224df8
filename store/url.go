package store

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/digestbot/digestbot"
	"github.com/redis/go-redis/v9"
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

// urlHelp says what a Redis URL may look like; the caller adds the name of
// the variable or key it came from.
const urlHelp = "use redis://[user:password@]host:port[/db], rediss:// for TLS, " +
	"or several comma-separated host:port or redis:// seed addresses for a Redis Cluster"

// ValidateURL reports, as an EINVALID error, what is wrong with a Redis URL
// (see Options.URL).
func ValidateURL(raw string) error {
	_, err := parseURL(raw)
	return err
}

// parseURL turns Options.URL into client options: one address is a single
// server, several comma-separated seeds are a cluster.
func parseURL(raw string) (*redis.UniversalOptions, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, invalidURL(raw, "it is empty")
	}
	parts := strings.Split(raw, ",")
	if len(parts) == 1 {
		o, err := parseOne(parts[0])
		if err != nil {
			return nil, err
		}
		u := &redis.UniversalOptions{
			Addrs:     []string{o.Addr},
			DB:        o.DB,
			Username:  o.Username,
			Password:  o.Password,
			TLSConfig: o.TLSConfig,
		}
		return u, nil
	}
	u := &redis.UniversalOptions{IsClusterMode: true}
	for i, p := range parts {
		o, err := parseOne(p)
		if err != nil {
			return nil, err
		}
		if o.DB != 0 {
			return nil, invalidURL(raw, "a Redis Cluster has only database 0, but seed %d names database %d", i+1, o.DB)
		}
		u.Addrs = append(u.Addrs, o.Addr)
		// Credentials and TLS come from the first seed that gives them;
		// every node of a cluster shares them.
		if u.Username == "" && u.Password == "" {
			u.Username, u.Password = o.Username, o.Password
		}
		if u.TLSConfig == nil {
			u.TLSConfig = o.TLSConfig
		}
	}
	return u, nil
}

// parseOne parses one seed: a redis:// or rediss:// URL or a bare host:port.
func parseOne(s string) (*redis.Options, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, invalidURL(s, "an address between commas is empty")
	}
	if !strings.Contains(s, "://") {
		host, port, err := net.SplitHostPort(s)
		if err != nil || host == "" {
			return nil, invalidURL(s, "it is neither a redis:// URL nor a host:port address")
		}
		if err := checkPort(s, port); err != nil {
			return nil, err
		}
		return &redis.Options{Addr: s}, nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, invalidURL(s, "it does not parse as a URL")
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return nil, invalidURL(s, "the scheme %q is not redis or rediss", u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, invalidURL(s, "it names no host")
	}
	if p := u.Port(); p != "" {
		if err := checkPort(s, p); err != nil {
			return nil, err
		}
	}
	o, err := redis.ParseURL(s)
	if err != nil {
		return nil, invalidURL(s, "%v", err)
	}
	if u.Scheme == "rediss" && o.TLSConfig == nil {
		o.TLSConfig = &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}
	}
	return o, nil
}

func checkPort(s, port string) error {
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return invalidURL(s, "the port %q is not a number from 1 to 65535", port)
	}
	return nil
}

func invalidURL(raw, format string, args ...any) error {
	return digestbot.Errorf(digestbot.EINVALID, "invalid Redis address %q: %s; %s",
		redactURL(raw), fmt.Sprintf(format, args...), urlHelp)
}

// redactURL hides a password so that the address can be shown in errors.
func redactURL(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		if i := strings.LastIndex(raw, "@"); i >= 0 {
			return "xxxxx" + raw[i:] // cannot tell where the password ends
		}
		return raw
	}
	if u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

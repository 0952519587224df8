// Package redisurl reads the Redis address the bot is given
// (DIGESTBOT_REDIS_URL): redis:// and rediss:// URLs, bare host:port, and
// comma-separated seeds for a Redis Cluster. The configuration validates
// with it and the store connects with it, so both accept exactly the same.
package redisurl

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/digestbot/digestbot"
	"github.com/redis/go-redis/v9"
)

// urlHelp says what a Redis URL may look like; the caller adds the name of
// the variable or key it came from.
const urlHelp = "use redis://[user:password@]host:port[/db], rediss:// for TLS, " +
	"or several comma-separated host:port or redis:// seed addresses for a Redis Cluster"

// Parse turns a Redis URL into client options: one address is a single
// server, several comma-separated seeds are a cluster. A bad URL is an
// EINVALID error that says what is wrong and what is accepted, with any
// password hidden.
func Parse(raw string) (*redis.UniversalOptions, error) {
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
		if strings.TrimSpace(p) == "" {
			return nil, invalidURL(raw, "seed %d of the list is empty (two commas in a row, or one at an end)", i+1)
		}
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
	if db := strings.TrimPrefix(u.Path, "/"); db != "" {
		if n, err := strconv.Atoi(db); err != nil || n < 0 {
			return nil, invalidURL(s, "the database %q after the address must be a number, such as /0", db)
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
		Redact(raw), fmt.Sprintf(format, args...), urlHelp)
}

// userinfoRE finds the user-info part of something URL-like that url.Parse
// may refuse, so that a password is hidden even in a malformed value.
var userinfoRE = regexp.MustCompile(`(://)[^/@]*@`)

// Redact hides the password of a Redis URL (or of each URL in a list), so
// that it can be shown in errors, logs and check-config.
func Redact(v string) string {
	parts := strings.Split(v, ",")
	for i, p := range parts {
		u, err := url.Parse(strings.TrimSpace(p))
		if err != nil {
			parts[i] = userinfoRE.ReplaceAllString(p, "${1}xxxxx@")
			continue
		}
		if u.User != nil {
			if _, has := u.User.Password(); has {
				u.User = url.UserPassword(u.User.Username(), "xxxxx")
			} else {
				u.User = url.User("xxxxx")
			}
			parts[i] = u.String()
		}
	}
	return strings.Join(parts, ",")
}

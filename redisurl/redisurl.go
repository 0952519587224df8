// Package redisurl reads the Redis address the bot is given
// (DIGESTBOT_REDIS_URL): redis:// and rediss:// URLs, bare host:port, and
// comma-separated seeds for a Redis Cluster. The configuration validates
// with it and the store connects with it, so both accept exactly the same.
package redisurl

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
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
// server (store.Open then asks it whether it is a node of a cluster),
// several comma-separated seeds are a cluster. A bad URL is an
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
			return nil, invalidURL(raw, "%s", err.Error())
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
			return nil, invalidURL(raw, "seed %d: %s", i+1, err.Error())
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

// parseOne parses one seed: a redis:// or rediss:// URL or a bare
// host:port. Its errors never quote the seed: the caller names the whole
// value, redacted. The user-info (everything between "://" and the last
// '@') is split off by hand before the address is parsed, so a password
// holding '/' or '@' works, and no part of it can be read as a host, port
// or database and end up in a message.
func parseOne(s string) (*redis.Options, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("an address between commas is empty")
	}
	scheme := strings.Index(s, "://")
	if scheme < 0 {
		host, port, err := net.SplitHostPort(s)
		if err != nil || host == "" || strings.Contains(s, "@") {
			return nil, errors.New("it is neither a redis:// URL nor a host:port address")
		}
		if err := checkPort(port); err != nil {
			return nil, err
		}
		return &redis.Options{Addr: s}, nil
	}
	addr, user, pass, hasUser := s, "", "", false
	if at := strings.LastIndex(s, "@"); at > scheme {
		info := s[scheme+3 : at]
		addr, hasUser = s[:scheme+3]+s[at+1:], true
		u, p, _ := strings.Cut(info, ":")
		var err1, err2 error
		user, err1 = url.PathUnescape(u)
		pass, err2 = url.PathUnescape(p)
		if err1 != nil || err2 != nil {
			return nil, errors.New("the user name or password has a '%' that is not followed by two hex digits; write '%' as %25")
		}
	}
	u, err := url.Parse(addr)
	if err != nil {
		return nil, errors.New("it does not parse as a URL")
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return nil, fmt.Errorf("the scheme %q is not redis or rediss", u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, errors.New("it names no host")
	}
	if p := u.Port(); p != "" {
		if err := checkPort(p); err != nil {
			return nil, err
		}
	}
	if db := strings.TrimPrefix(u.Path, "/"); db != "" {
		if n, err := strconv.Atoi(db); err != nil || n < 0 {
			return nil, fmt.Errorf("the database %q after the address must be a number, such as /0", db)
		}
	}
	o, err := redis.ParseURL(addr)
	if err != nil {
		return nil, err
	}
	if hasUser {
		o.Username, o.Password = user, pass
	}
	if u.Scheme == "rediss" && o.TLSConfig == nil {
		o.TLSConfig = &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}
	}
	return o, nil
}

func checkPort(port string) error {
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("the port %q is not a number from 1 to 65535", port)
	}
	return nil
}

func invalidURL(raw, format string, args ...any) error {
	return digestbot.Errorf(digestbot.EINVALID, "invalid Redis address %q: %s; %s",
		Redact(raw), fmt.Sprintf(format, args...), urlHelp)
}

// Redact hides the user name and password of a Redis URL (or of each seed
// in a list), so that it can be shown in errors, logs and check-config. It
// works on the text, not on url.Parse's reading of it: a password holding
// '/', '@' or ',' (base64 passwords often hold '/') makes url.Parse fail or
// read the password as a host or path, and must be hidden all the same.
// Everything between "://" (or the start of a seed) and the seed's last '@'
// becomes "xxxxx". Commas in a password cut it into seeds: a seed with a
// '@' but no scheme ends a password that began at the last seed with a
// scheme, and every seed from there to it is hidden.
func Redact(v string) string {
	parts := strings.Split(v, ",")
	open := -1 // the last seed with a scheme: a password may start there
	for i, p := range parts {
		at := strings.LastIndex(p, "@")
		scheme := strings.Index(p, "://")
		switch {
		case scheme >= 0:
			open = i
			if at > scheme {
				parts[i] = p[:scheme+3] + "xxxxx" + p[at:]
			}
		case at >= 0:
			// No scheme but a '@': the user-info began at the last seed
			// with a scheme, and a comma cut it; hide all of it.
			if open >= 0 {
				parts[open] = parts[open][:strings.Index(parts[open], "://")+3] + "xxxxx"
				for j := open + 1; j < i; j++ {
					parts[j] = "xxxxx"
				}
			}
			parts[i] = "xxxxx" + p[at:]
			open = -1
		}
	}
	return strings.Join(parts, ",")
}

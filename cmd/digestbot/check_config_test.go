package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/store/storetest"
)

// writeConfig writes a configuration file and returns its path.
func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "digestbot.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCheckConfigRefusesTopicReferences: operator topics that refer to
// themselves, to each other in a cycle or to no topic passed check-config
// and failed only at /subscribe; check-config and run refuse them now,
// naming the key, the reference and the problem.
func TestCheckConfigRefusesTopicReferences(t *testing.T) {
	p := writeConfig(t, `topics:
  - {name: self, query: 'topic:self'}
  - {name: a, query: 'topic:b'}
  - {name: b, query: 'topic:a'}
  - {name: c, query: 'x OR topic:nosuch'}
  - {name: fine, query: 'topic:self OR y'}
`)
	want := []string{
		"4 configuration errors",
		p + `: line 2: topics[0].query="topic:self": topic:self refers to the topic itself`,
		p + `: line 3: topics[1].query="topic:b": topic:b makes a cycle a -> b -> a`,
		p + `: line 4: topics[2].query="topic:a": topic:a makes a cycle b -> a -> b`,
		p + `: line 5: topics[3].query="x OR topic:nosuch": topic:nosuch: there is no operator topic "nosuch"`,
	}
	for _, cmd := range []string{"check-config", "run"} {
		t.Run(cmd, func(t *testing.T) {
			out, errOut, code := runCLI(t, map[string]string{"DIGESTBOT_CONFIG": p, "DISCORD_TOKEN": "tok"}, cmd)
			if code != 1 || strings.Contains(out, "configuration OK") {
				t.Fatalf("exit %d, stdout %q: want a refusal", code, out)
			}
			for _, w := range want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
			if strings.Contains(errOut, "topics[4]") {
				t.Errorf("the topic that only refers to a broken one is named:\n%s", errOut)
			}
		})
	}
}

// TestCheckConfigFileErrorsInWords: yaml's Go type names do not reach the
// user; each error names its line and key path.
func TestCheckConfigFileErrorsInWords(t *testing.T) {
	for _, tt := range []struct{ body, want string }{
		{"redis: {prefix: 'x:'}\nfeeds: []\nschedule: {defualt: hourly}\n", ": line 3: unknown key schedule.defualt (known: default, timezone, min_interval, match)"},
		{"redis: {prefix: 'x:'}\nfeeds: []\nschedule: {}\n\nlimits: {feeds_per_guild: lots}\n", `: line 5: limits.feeds_per_guild: "lots" is not a whole number`},
	} {
		p := writeConfig(t, tt.body)
		_, errOut, code := runCLI(t, map[string]string{"DIGESTBOT_CONFIG": p}, "check-config")
		if code != 1 || !strings.Contains(errOut, p+tt.want) {
			t.Errorf("exit %d, stderr %q: want %q", code, errOut, p+tt.want)
		}
		if strings.Contains(errOut, "struct") || strings.Contains(errOut, "into int") {
			t.Errorf("stderr shows Go types: %s", errOut)
		}
	}
}

// TestCheckConfigWithoutToken: without a Discord token check-config still
// passes (demo, ingest, match and lookup need none) but says that run
// needs one.
func TestCheckConfigWithoutToken(t *testing.T) {
	out, _, code := runCLI(t, nil, "check-config")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, w := range []string{"(unset) — `digestbot run` needs it; demo, ingest, match and lookup do not", "`digestbot run` also needs DISCORD_TOKEN"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	out, _, code = runCLI(t, map[string]string{"DISCORD_TOKEN": "tok"}, "check-config")
	if code != 0 || !strings.HasSuffix(out, "\nconfiguration OK\n") || strings.Contains(out, "needs it") {
		t.Errorf("with a token: exit %d, output:\n%s", code, out)
	}
}

// goRedisLogLine is go-redis's own log format ("redis: 2026/11/27 ...
// pool.go:770: ..."), which must not reach the user unrouted.
var goRedisLogLine = regexp.MustCompile(`(?m)^redis: \d{4}/\d\d/\d\d `)

// TestCheckConfigConnectNamesTheCause: check-config --connect names the
// redacted address and why Redis could not be used, instead of "cannot be
// reached right now" alone, and go-redis's own log lines come out in the
// command's log format.
func TestCheckConfigConnectNamesTheCause(t *testing.T) {
	srv := storetest.Shared(t)
	su, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	tlsSrv := httptest.NewUnstartedServer(nil) // speaks TLS, as a TLS-only Redis would
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0)
	tlsSrv.StartTLS()
	defer tlsSrv.Close()
	tlsAddr := strings.TrimPrefix(tlsSrv.URL, "https://")

	for _, tt := range []struct {
		name, url string
		want      []string
	}{
		// go-redis logs its failed dials: in the command's log format.
		{"refused", "redis://" + closed + "/0", []string{"DIGESTBOT_REDIS_URL=redis://" + closed + "/0", "connection refused: nothing listens at " + closed, "level=WARN", "lib=go-redis"}},
		{"rediss against a plain server", "rediss://" + su.Host, []string{"DIGESTBOT_REDIS_URL=rediss://" + su.Host, "TLS handshake failed: the server at " + su.Host + " speaks plain Redis", "use redis://"}},
		{"redis against a TLS server", "redis://" + tlsAddr, []string{"DIGESTBOT_REDIS_URL=redis://" + tlsAddr, "the server at " + tlsAddr + " expects TLS; use rediss://"}},
		{"wrong password", "redis://nosuchuser:s3cretpw@" + su.Host, []string{"DIGESTBOT_REDIS_URL=redis://xxxxx@" + su.Host, "authentication failed"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := runCLI(t, map[string]string{"DIGESTBOT_REDIS_URL": tt.url}, "check-config", "--connect")
			if code != 1 || strings.Contains(out, "configuration OK") {
				t.Fatalf("exit %d, stdout %q: want a refusal", code, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
			if strings.Contains(errOut, "s3cretpw") {
				t.Errorf("stderr shows the password:\n%s", errOut)
			}
			t.Logf("stderr:\n%s", errOut)
			if goRedisLogLine.MatchString(errOut) {
				t.Errorf("go-redis logs in its own format:\n%s", errOut)
			}
		})
	}
}

// TestCheckConfigConnectSaysWhatItFound: check-config --connect names a
// single server as such, and finds a Redis Cluster behind the address of
// one of its nodes, with the number of its masters.
func TestCheckConfigConnectSaysWhatItFound(t *testing.T) {
	storetest.EachRealBackend(t, func(t *testing.T, b *storetest.Backend) {
		u, want := b.URL, "redis: reachable: a single Redis server (Redis "
		if b.Name == storetest.RedisCluster {
			u, want = storetest.ClusterNodeURLs(t)[0], "redis: reachable: a Redis Cluster of 3 masters (Redis "
		}
		out, errOut, code := runCLI(t, map[string]string{"DIGESTBOT_REDIS_URL": u}, "check-config", "--connect")
		if code != 0 || !strings.Contains(out, want) || !strings.Contains(out, "MiB in use)") {
			t.Errorf("exit %d, stdout %q, stderr %q; want %q and the memory in use", code, out, errOut, want)
		}
	})
}

// TestStoreOpenErrorNamesTheCause: every command that opens the store
// (ingest, lookup, match, check-config) names the redacted URL and the
// cause of a failure, from the error the store returns.
func TestStoreOpenErrorNamesTheCause(t *testing.T) {
	unreachable := func(err error) error {
		return digestbot.WrapError(digestbot.EUNAVAILABLE, fmt.Errorf("ping: %w", err), "the store (Redis) cannot be reached right now")
	}
	for _, tt := range []struct {
		name, url string
		err       error
		code      string
		want      string
	}{
		{"timeout with TLS", "rediss://u:pw@h:6380", unreachable(context.DeadlineExceeded), digestbot.EUNAVAILABLE,
			"DIGESTBOT_REDIS_URL=rediss://xxxxx@h:6380: timeout: no answer from Redis in time; a firewall may drop the connection, or the server is overloaded; the URL asks for TLS (rediss://): if the server speaks plain Redis, use redis://"},
		{"closed", "redis://h:6379", unreachable(io.EOF), digestbot.EUNAVAILABLE,
			"DIGESTBOT_REDIS_URL=redis://h:6379: the server closed the connection without answering; if the server expects TLS, use rediss://"},
		{"dns", "redis://nosuch:6379", unreachable(&net.DNSError{Name: "nosuch", Err: "no such host", IsNotFound: true}), digestbot.EUNAVAILABLE,
			`DIGESTBOT_REDIS_URL=redis://nosuch:6379: the host name "nosuch" cannot be resolved (no such host)`},
		{"no password", "redis://h:6379", digestbot.WrapError(digestbot.EINVALID, errors.New("ping: NOAUTH Authentication required."), "Redis refused the user name or password of the Redis URL"), digestbot.EINVALID,
			"authentication failed: the server needs a password and the URL gives none"},
		{"tls record", "rediss://h:6380", unreachable(tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}), digestbot.EUNAVAILABLE,
			"TLS handshake failed: first record does not look like a TLS handshake; the URL asks for TLS"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := storeOpenError(tt.url, tt.err)
			if digestbot.ErrorCode(err) != tt.code || !strings.Contains(userMessage(err), tt.want) {
				t.Errorf("code %q, message %q: want %q containing %q", digestbot.ErrorCode(err), userMessage(err), tt.code, tt.want)
			}
			if strings.Contains(userMessage(err), "pw@") {
				t.Errorf("message shows the password: %s", userMessage(err))
			}
		})
	}
}

package config

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	digestbot "github.com/digestbot/digestbot"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadDefaults(t *testing.T) {
	c, err := Load(envOf(nil))
	if err != nil {
		t.Fatalf("Load with no environment: %v", err)
	}
	if c.RedisURL != "" || c.KeyPrefix != "digestbot:" || c.Schedule.Default != "daily 08:00" ||
		c.Schedule.TimeZone != "UTC" || c.Polling.Interval != 15*time.Minute || c.Limits.SubscriptionsPerGuild != 200 ||
		c.Retention != 30*24*time.Hour || c.Polling.MaxFailures != 10 || c.Polling.MaxBodyBytes != 10<<20 {
		t.Errorf("defaults not as documented: %+v", c)
	}
	if !strings.Contains(c.Redacted(), "embedded in-memory store") {
		t.Errorf("Redacted does not say the store is embedded:\n%s", c.Redacted())
	}
}

func TestLoadRefusesBadValues(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want []string // every fragment must appear in the error
	}{
		{"redis not a url", map[string]string{"DIGESTBOT_REDIS_URL": "notaurl"}, []string{"DIGESTBOT_REDIS_URL", "notaurl"}},
		{"redis wrong scheme", map[string]string{"DIGESTBOT_REDIS_URL": "http://x:6379"}, []string{"DIGESTBOT_REDIS_URL", "redis://"}},
		{"redis bad port", map[string]string{"DIGESTBOT_REDIS_URL": "redis://h:99999"}, []string{"DIGESTBOT_REDIS_URL", "1 to 65535"}},
		{"redis db not a number", map[string]string{"DIGESTBOT_REDIS_URL": "redis://h:6379/abc"}, []string{"DIGESTBOT_REDIS_URL", "must be a number"}},
		{"redis bad port hides password", map[string]string{"DIGESTBOT_REDIS_URL": "redis://user:s3cretpw@host:badport/0"}, []string{"DIGESTBOT_REDIS_URL", "xxxxx"}},
		{"redis empty seed", map[string]string{"DIGESTBOT_REDIS_URL": "a:1,,b:2"}, []string{"DIGESTBOT_REDIS_URL", "seed 2 of the list is empty"}},
		{"api url", map[string]string{"DIGESTBOT_DISCORD_API_URL": "ftp://x"}, []string{"DIGESTBOT_DISCORD_API_URL", "http or https"}},
		{"guild id", map[string]string{"DIGESTBOT_GUILD_ID": "abc"}, []string{"DIGESTBOT_GUILD_ID", "digits"}},
		{"shard", map[string]string{"DIGESTBOT_SHARD_ID": "3", "DIGESTBOT_SHARD_COUNT": "2"}, []string{"DIGESTBOT_SHARD_ID=3", "0 to 1"}},
		{"shard count", map[string]string{"DIGESTBOT_SHARD_COUNT": "x"}, []string{"DIGESTBOT_SHARD_COUNT", "whole number"}},
		{"http addr", map[string]string{"DIGESTBOT_HTTP_ADDR": "8080"}, []string{"DIGESTBOT_HTTP_ADDR", "HOST:PORT"}},
		{"private feeds", map[string]string{"DIGESTBOT_ALLOW_PRIVATE_FEEDS": "maybe"}, []string{"DIGESTBOT_ALLOW_PRIVATE_FEEDS", "true or false"}},
		{"both tokens", map[string]string{"DISCORD_TOKEN": "a", "DISCORD_TOKEN_FILE": "/x"}, []string{"both set"}},
		{"token file missing", map[string]string{"DISCORD_TOKEN_FILE": "/nonexistent/token"}, []string{"DISCORD_TOKEN_FILE", "no such file"}},
		{"short ingest token", map[string]string{"DIGESTBOT_INGEST_TOKEN": "abc"}, []string{"DIGESTBOT_INGEST_TOKEN", "at least 16"}},
		{"config missing", map[string]string{"DIGESTBOT_CONFIG": "/nonexistent.yaml"}, []string{"DIGESTBOT_CONFIG", "no such file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(envOf(tt.env))
			if err == nil {
				t.Fatal("Load accepted a bad value")
			}
			if digestbot.ErrorCode(err) != digestbot.EINVALID {
				t.Errorf("code %q, want invalid", digestbot.ErrorCode(err))
			}
			if strings.Contains(err.Error(), "s3cretpw") {
				t.Errorf("the error shows the password: %v", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadSecretsNeverShown(t *testing.T) {
	dir := t.TempDir()
	tokFile := filepath.Join(dir, "token")
	os.WriteFile(tokFile, []byte("  secret-token-value\n"), 0o600)
	c, err := Load(envOf(map[string]string{
		"DISCORD_TOKEN_FILE":     tokFile,
		"DIGESTBOT_INGEST_TOKEN": "push-secret-0123456789",
		"DIGESTBOT_REDIS_URL":    "redis://user:hunter2@127.0.0.1:6379/0",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.DiscordToken != "secret-token-value" {
		t.Errorf("token from file = %q, want it trimmed", c.DiscordToken)
	}
	out := c.Redacted()
	for _, s := range []string{"secret-token-value", "push-secret-0123456789", "hunter2"} {
		if strings.Contains(out, s) {
			t.Errorf("Redacted shows the secret %q:\n%s", s, out)
		}
	}
	if !strings.Contains(out, "127.0.0.1:6379") {
		t.Errorf("Redacted hides the Redis address:\n%s", out)
	}
}

func TestLoadFile(t *testing.T) {
	write := func(t *testing.T, body string) string {
		p := filepath.Join(t.TempDir(), "digestbot.yaml")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Run("valid", func(t *testing.T) {
		p := write(t, `
redis: {prefix: "news:"}
feeds:
  - {url: "https://example.org/feed.xml", name: Example, interval: 30m}
topics:
  - {name: Surveillance, query: '"facial recognition" OR surveillance'}
schedule: {default: "weekly mon 09:00", timezone: Europe/Paris, min_interval: 10m}
limits: {subscriptions_per_guild: 50, items_per_section: 5}
polling: {interval: 5m, max_failures: 3, timeout: 10s, concurrency: 32, per_host: 4, host_delay: 250ms}
permissions: {role: Editors}
retention: 7d
backfill: 2d
`)
		c, err := Load(envOf(map[string]string{"DIGESTBOT_CONFIG": p}))
		if err != nil {
			t.Fatal(err)
		}
		if c.KeyPrefix != "news:" || len(c.Feeds) != 1 || c.Feeds[0].Interval != 30*time.Minute ||
			len(c.Topics) != 1 || c.Topics[0].Name != "surveillance" || c.Schedule.TimeZone != "Europe/Paris" ||
			c.Limits.SubscriptionsPerGuild != 50 || c.Limits.ItemsPerSection != 5 || c.Polling.Interval != 5*time.Minute ||
			c.Retention != 7*24*time.Hour || c.Permissions.ManagerRole != "Editors" || c.Backfill != 48*time.Hour ||
			c.Polling.Concurrency != 32 || c.Polling.PerHost != 4 || c.Polling.HostDelay != 250*time.Millisecond {
			t.Errorf("file not applied: %+v", c)
		}
	})
	bad := []struct{ name, body, want string }{
		{"unknown key", "shedule: {}\n", "shedule"},
		{"poll too fast", "polling: {interval: 10s}\n", "polling.interval"},
		{"no fetches at once", "polling: {concurrency: 0}\n", "polling.concurrency=0: want 1 to 256"},
		{"too many fetches of a host", "polling: {per_host: 100}\n", "polling.per_host=100: want 1 to 16"},
		{"host delay negative", "polling: {host_delay: -1s}\n", `polling.host_delay="-1s": want a duration from 0s to 1m`},
		{"host delay too long", "polling: {host_delay: 2h}\n", `polling.host_delay="2h"`},
		{"bad zone", "schedule: {timezone: Mars/Base}\n", "schedule.timezone"},
		{"feed scheme", "feeds: [{url: 'file:///etc/passwd'}]\n", "feeds[0].url"},
		{"topic name", "topics: [{name: 'a b', query: x}]\n", "topics[0].name"},
		{"topic query", "topics: [{name: ab, query: ''}]\n", "topics[0].query"},
		{"limit zero", "limits: {subscriptions_per_guild: 0}\n", "limits.subscriptions_per_guild"},
		{"not yaml", "feeds: [\n", "yaml"},
		{"retention", "retention: 5m\n", "retention"},
		{"too large", "# " + strings.Repeat("x", MaxConfigFileBytes) + "\n", "larger than"},
		{"alias bomb", "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n", "digestbot.yaml"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(envOf(map[string]string{"DIGESTBOT_CONFIG": write(t, tt.body)}))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one naming %q", err, tt.want)
			}
		})
	}
	t.Run("no host delay", func(t *testing.T) {
		c, err := Load(envOf(map[string]string{"DIGESTBOT_CONFIG": write(t, "polling: {host_delay: 0s}\n")}))
		if err != nil || c.Polling.HostDelay != 0 {
			t.Errorf("host_delay 0s: %v, %v; want accepted as no delay", err, c)
		}
	})
	t.Run("empty file", func(t *testing.T) {
		if _, err := Load(envOf(map[string]string{"DIGESTBOT_CONFIG": write(t, "")})); err != nil {
			t.Errorf("empty file refused: %v", err)
		}
	})
}

// FuzzConfigFile feeds arbitrary bytes as the configuration file: Load
// never panics or hangs, and a refusal is EINVALID and names the file.
func FuzzConfigFile(f *testing.F) {
	if example, err := os.ReadFile("../digestbot.example.yaml"); err == nil {
		f.Add(example)
	}
	for _, s := range []string{"", "feeds: [\n", "retention: 5m\n", "schedule: {default: \"daily 08:00\", timezone: Asia/Shanghai}\n",
		"topics: [{name: ab, query: '\"a b\" OR c*'}]\n", "a: &a [*a]\n", "limits: {subscriptions_per_guild: -1}\n"} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "digestbot.yaml")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := Load(envOf(map[string]string{"DIGESTBOT_CONFIG": p}))
		if err != nil {
			if digestbot.ErrorCode(err) != digestbot.EINVALID || !strings.Contains(err.Error(), p) {
				t.Fatalf("refusal %v: want EINVALID naming %s", err, p)
			}
			return
		}
		if c.Limits.SubscriptionsPerGuild < 1 || c.Retention <= 0 || c.KeyPrefix == "" {
			t.Fatalf("accepted a configuration outside its limits: %+v", c)
		}
	})
}

// loadFile loads a configuration file with the given body and returns the
// error text ("" when it is accepted) and the path of the file.
func loadFile(t *testing.T, body string) (string, string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "digestbot.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(envOf(map[string]string{"DIGESTBOT_CONFIG": p}))
	if err == nil {
		return "", p
	}
	if digestbot.ErrorCode(err) != digestbot.EINVALID {
		t.Errorf("code %q, want invalid", digestbot.ErrorCode(err))
	}
	return digestbot.ErrorMessage(err), p // what a user sees
}

// TestOperatorTopicReferences: an operator topic may refer only to operator
// topics; a reference to an unknown one, to itself, a cycle or a chain
// deeper than the matcher resolves is refused at load time, naming the
// topic's key, the reference and the problem, instead of failing later at
// /subscribe.
func TestOperatorTopicReferences(t *testing.T) {
	chain := "topics:\n"
	for i := range 10 {
		q := "x"
		if i < 9 {
			q = fmt.Sprintf("topic:t%d", i+1)
		}
		chain += fmt.Sprintf("  - {name: t%d, query: '%s'}\n", i, q)
	}
	for _, tt := range []struct {
		name, body string
		want       []string // "" = accepted
		not        []string
	}{
		{"refers to other topics", "topics:\n  - {name: a, query: 'topic:b OR topic:c'}\n  - {name: b, query: 'topic:c AND x'}\n  - {name: c, query: y}\n", nil, nil},
		{"itself", "topics:\n  - {name: self, query: 'x OR topic:self'}\n",
			[]string{`line 2: topics[0].query="x OR topic:self": topic:self refers to the topic itself`}, nil},
		{"cycle", "topics:\n  - {name: a, query: 'topic:b'}\n  - {name: b, query: 'topic:a'}\n",
			[]string{`line 2: topics[0].query="topic:b": topic:b makes a cycle a -> b -> a`, `line 3: topics[1].query="topic:a": topic:a makes a cycle b -> a -> b`}, nil},
		{"longer cycle", "topics:\n  - {name: a, query: 'topic:b'}\n  - {name: b, query: 'topic:c'}\n  - {name: c, query: 'topic:a OR x'}\n",
			[]string{"topics[0].query", "cycle a -> b -> c -> a", "cycle c -> a -> b -> c"}, nil},
		{"unknown", "topics:\n  - {name: a, query: x}\n  - {name: c, query: 'topic:nosuch'}\n",
			[]string{`line 3: topics[1].query="topic:nosuch": topic:nosuch: there is no operator topic "nosuch"`, "(defined: a, c)"}, nil},
		{"unknown under a bad name", "topics:\n  - {name: 'a b', query: 'topic:nosuch'}\n",
			[]string{"topics[0].name", `topics[0].query="topic:nosuch"`, "it defines none"}, nil},
		// c is sound; only the topics with the problem are named.
		{"refers to a broken topic", "topics:\n  - {name: a, query: 'topic:a'}\n  - {name: c, query: 'topic:a'}\n",
			[]string{"topics[0].query"}, []string{"topics[1]"}},
		{"too deep", chain, []string{"topics[0].query", "more than 8 deep", "topics[1].query"}, []string{"topics[2]"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := loadFile(t, tt.body)
			if tt.want == nil {
				if got != "" {
					t.Fatalf("refused: %s", got)
				}
				return
			}
			if got == "" {
				t.Fatal("accepted")
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("error lacks %q:\n%s", w, got)
				}
			}
			for _, w := range tt.not {
				if strings.Contains(got, w) {
					t.Errorf("error names %q, which has no problem of its own:\n%s", w, got)
				}
			}
		})
	}
}

// TestLoadFileListsEveryProblem: a bad topic name, a bad topic query and a
// duplicate name are three errors, and a bad list entry does not shift the
// names of the entries after it.
func TestLoadFileListsEveryProblem(t *testing.T) {
	// A bad minimum (or zone) does not hide a bad default schedule.
	if got, _ := loadFile(t, "schedule: {default: banana, min_interval: 1s}\n"); !strings.Contains(got, "schedule.default") || !strings.Contains(got, "schedule.min_interval") {
		t.Errorf("want both schedule.default and schedule.min_interval named:\n%s", got)
	}
	if got, _ := loadFile(t, "schedule: {default: banana, timezone: Mars/Base}\n"); !strings.Contains(got, "schedule.default") || !strings.Contains(got, "schedule.timezone") {
		t.Errorf("want both schedule.default and schedule.timezone named:\n%s", got)
	}

	// The review's file: before, the bad query went unreported.
	got, _ := loadFile(t, "topics:\n  - {name: 'a b', query: x}\n  - {name: ok, query: '\"open'}\n  - {name: ok, query: y}\n")
	for _, w := range []string{"3 configuration errors", "topics[0].name", "topics[1].query", "topics[2].name"} {
		if !strings.Contains(got, w) {
			t.Errorf("error lacks %q:\n%s", w, got)
		}
	}

	got, p := loadFile(t, `topics:
  - {name: 'a b', query: '"open'}
  - {name: ok, query: '"open'}
  - {name: ok, query: y}
feeds:
  - https://example.org/not-a-mapping.xml
  - {url: 'ftp://example.org/feed', interval: 1s}
polling: {interval: 1s, timeout: 1h}
`)
	for _, w := range []string{
		"9 configuration errors",
		p + ": line 2: topics[0].name: topic name \"a b\"",
		p + `: line 2: topics[0].query="\"open": `,
		p + `: line 3: topics[1].query="\"open": `,
		p + `: line 4: topics[2].name="ok": defined twice (first at topics[1])`,
		p + ": line 6: feeds[0]: want keys under it (url, name, interval), not \"https://example.org/not-a-mapping.xml\"",
		p + `: line 7: feeds[1].url="ftp://example.org/feed"`,
		p + `: line 7: feeds[1].interval="1s"`,
		p + `: line 8: polling.interval="1s"`,
	} {
		if !strings.Contains(got, w) {
			t.Errorf("error lacks %q:\n%s", w, got)
		}
	}
}

// TestLoadFileYAMLErrorsInWords: yaml's errors name Go types ("field x not
// found in type struct {...}", "cannot unmarshal !!str into int"); the
// file's errors name the key path, its line and what is allowed instead.
func TestLoadFileYAMLErrorsInWords(t *testing.T) {
	for _, tt := range []struct{ name, body, want string }{
		{"unknown nested key", "redis: {prefix: 'x:'}\nfeeds: []\nschedule: {defualt: hourly}\n",
			"line 3: unknown key schedule.defualt (known: default, timezone, min_interval, match)"},
		{"unknown top-level key", "shedule: {}\n", "line 1: unknown key shedule (known: redis, feeds, topics, schedule,"},
		{"not a number", "redis: {prefix: 'x:'}\nfeeds: []\nschedule: {}\n\nlimits: {feeds_per_guild: lots}\n",
			`line 5: limits.feeds_per_guild: "lots" is not a whole number`},
		{"not a whole number", "polling:\n  max_body_bytes: 2048.5\n", `line 2: polling.max_body_bytes: "2048.5" is not a whole number`},
		{"too large", "limits: {topics_per_guild: 99999999999999999999999}\n", `line 1: limits.topics_per_guild: "99999999999999999999999" is too large`},
		{"quoted number", "polling: {max_failures: \"10\"}\n", `line 1: polling.max_failures: "10" is quoted, which makes it text; write the number without quotes`},
		{"list for a value", "retention: [7d]\n", "line 1: retention: want a single value, not a list"},
		{"value for keys", "schedule: hourly\n", `line 1: schedule: want keys under it (default, timezone, min_interval, match), not "hourly"`},
		{"value for a list", "feeds: https://example.org/rss\n", `line 1: feeds: want a list (one entry per line, each starting with -), not "https://example.org/rss"`},
		{"unknown key in a list entry", "topics:\n  - {name: a, querry: x}\n", "line 2: unknown key topics[0].querry (known: name, query)"},
		{"key given twice", "polling:\n  timeout: 10s\n  timeout: 20s\n", "line 3: polling.timeout is given twice (first on line 2)"},
		{"top level is a list", "- a\n", "line 1: the top level of the file: want keys under it (redis, feeds,"},
		{"second document", "retention: 7d\n---\nbackfill: 1d\n", "line 2: a second YAML document starts here"},
		{"syntax", "feeds: [\n", "line 1: not valid YAML: did not find expected node content"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, p := loadFile(t, tt.body)
			if !strings.Contains(got, p+": "+tt.want) {
				t.Errorf("error %q lacks %q", got, p+": "+tt.want)
			}
			for _, goType := range []string{"struct", "in type", "into int", "!!str", "!!int", "*string", "unmarshal"} {
				if strings.Contains(got, goType) {
					t.Errorf("error shows yaml's Go types (%q): %s", goType, got)
				}
			}
		})
	}
	t.Run("anchors and merge keys", func(t *testing.T) {
		if got, _ := loadFile(t, "x-feed: &f {interval: 30m}\n"); !strings.Contains(got, "unknown key x-feed") {
			t.Errorf("unknown key with an anchor: %q", got)
		}
		body := "feeds:\n  - &f {url: 'https://a.example/rss', interval: 30m}\n  - {<<: *f, url: 'https://b.example/rss'}\n"
		if got, _ := loadFile(t, body); got != "" {
			t.Errorf("a merge key is refused: %s", got)
		}
	})
}

// TestDurationErrorsFitTheirRange: every duration key's error gives its
// range as the file writes durations (5m, not 5m0s) and examples inside it.
func TestDurationErrorsFitTheirRange(t *testing.T) {
	keys := map[string]string{
		"schedule.min_interval": "schedule: {default: 'weekly mon 09:00', min_interval: %s}\n",
		"polling.interval":      "polling: {interval: %s}\n",
		"polling.timeout":       "polling: {timeout: %s}\n",
		"polling.host_delay":    "polling: {host_delay: %s}\n",
		"retention":             "retention: %s\n",
		"guild_data_grace":      "guild_data_grace: %s\n",
		"backfill":              "backfill: %s\n",
		"feeds[0].interval":     "feeds: [{url: 'https://example.org/rss', interval: %s}]\n",
	}
	re := regexp.MustCompile(`want a duration from (\S+) to (\S+), such as (.+)$`)
	for key, body := range keys {
		t.Run(key, func(t *testing.T) {
			got, _ := loadFile(t, fmt.Sprintf(body, "-1s"))
			m := re.FindStringSubmatch(got)
			if m == nil || !strings.Contains(got, key+`="-1s"`) {
				t.Fatalf("error %q does not name %s with a range and examples", got, key)
			}
			lo, err1 := ParseDuration(m[1])
			hi, err2 := ParseDuration(m[2])
			if err1 != nil || err2 != nil {
				t.Fatalf("range %s to %s does not parse", m[1], m[2])
			}
			examples := strings.Split(strings.Replace(m[3], " or ", ", ", 1), ", ")
			if len(examples) < 2 {
				t.Errorf("examples %q: want at least two", m[3])
			}
			for _, s := range append(examples, m[1], m[2]) {
				if strings.HasSuffix(s, "m0s") || strings.HasSuffix(s, "h0m") {
					t.Errorf("%q is written the long way (in %q)", s, got)
				}
			}
			for _, e := range examples {
				d, err := ParseDuration(e)
				if err != nil || d < lo || d > hi {
					t.Errorf("example %q is not from %s to %s: %s", e, m[1], m[2], got)
				}
				// The example is accepted as the key's value.
				if got, _ := loadFile(t, fmt.Sprintf(body, e)); got != "" {
					t.Errorf("the example %s is refused: %s", e, got)
				}
			}
		})
	}
}

func TestFmtDur(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", time.Second: "1s", 5 * time.Minute: "5m", 90 * time.Second: "1m30s", 2 * time.Hour: "2h",
		36 * time.Hour: "36h", 7 * 24 * time.Hour: "7d", 1500 * time.Millisecond: "1.5s", time.Hour + time.Second: "1h1s",
	} {
		if got := fmtDur(d); got != want {
			t.Errorf("fmtDur(%v) = %q, want %q", d, got, want)
		}
	}
}

// TestRedactedSaysWhoNeedsTheToken: check-config passes without a Discord
// token, so its line says that only the bot itself needs one.
func TestRedactedSaysWhoNeedsTheToken(t *testing.T) {
	c, err := Load(envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if out := c.Redacted(); !strings.Contains(out, "(unset) — `digestbot run` needs it; demo, ingest, match and lookup do not") {
		t.Errorf("DISCORD_TOKEN line does not say who needs it:\n%s", out)
	}
	c, err = Load(envOf(map[string]string{"DISCORD_TOKEN": "tok"}))
	if err != nil {
		t.Fatal(err)
	}
	if out := c.Redacted(); !strings.Contains(out, "(set, redacted)") || strings.Contains(out, "needs it") {
		t.Errorf("DISCORD_TOKEN line with a token:\n%s", out)
	}
}

// TestExampleFile: the shipped example loads, its values are the defaults
// it says they are, and each comment sits on the line of the key it
// explains (one comment a line; commented-out entries may carry their own).
func TestExampleFile(t *testing.T) {
	data, err := os.ReadFile("../digestbot.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(string(data), "\n") {
		rest := strings.TrimPrefix(strings.TrimSpace(line), "#")
		if strings.Count(rest, " #") > 1 {
			t.Errorf("line %d holds two comments: %q", i+1, line)
		}
	}
	c, err := Load(envOf(map[string]string{"DIGESTBOT_CONFIG": "../digestbot.example.yaml"}))
	if err != nil {
		t.Fatal(err)
	}
	d := defaults()
	if c.KeyPrefix != d.KeyPrefix || c.Schedule != d.Schedule || c.Limits != d.Limits || c.Polling != d.Polling ||
		c.Permissions != d.Permissions || c.Retention != d.Retention || c.GuildDataGrace != d.GuildDataGrace || c.Backfill != d.Backfill {
		t.Errorf("the example's values are not the defaults:\n%s\nwant:\n%s", c.Redacted(), d.Redacted())
	}
}

package config

import (
	"os"
	"path/filepath"
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
polling: {interval: 5m, max_failures: 3, timeout: 10s}
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
			c.Retention != 7*24*time.Hour || c.Permissions.ManagerRole != "Editors" || c.Backfill != 48*time.Hour {
			t.Errorf("file not applied: %+v", c)
		}
	})
	bad := []struct{ name, body, want string }{
		{"unknown key", "shedule: {}\n", "shedule"},
		{"poll too fast", "polling: {interval: 10s}\n", "polling.interval"},
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

package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
)

// runCLI runs the real program in-process with the given environment.
func runCLI(t *testing.T, envv map[string]string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{getenv: func(k string) string { return envv[k] }, stdin: strings.NewReader(""), stdout: &out, stderr: &errb}
	err := run(context.Background(), args, e)
	code = exitCode(err, &errb)
	return out.String(), errb.String(), code
}

func TestUsageAndVersion(t *testing.T) {
	out, _, code := runCLI(t, nil, "--help")
	if code != 0 || !strings.Contains(out, "check-config") || !strings.Contains(out, "demo") {
		t.Errorf("--help: code %d, output %q", code, out)
	}
	_, errOut, code := runCLI(t, nil, "frobnicate")
	if code != 2 || !strings.Contains(errOut, `unknown command "frobnicate"`) {
		t.Errorf("unknown command: code %d, stderr %q", code, errOut)
	}
	out, _, code = runCLI(t, nil, "version")
	if code != 0 || !strings.HasPrefix(out, "digestbot ") {
		t.Errorf("version: code %d, output %q", code, out)
	}
}

func TestCheckConfig(t *testing.T) {
	t.Run("no environment: embedded store", func(t *testing.T) {
		out, _, code := runCLI(t, nil, "check-config")
		if code != 0 {
			t.Fatalf("exit %d", code)
		}
		if !strings.Contains(out, "embedded in-memory store") || !strings.Contains(out, "configuration OK") {
			t.Errorf("output does not say the store is embedded:\n%s", out)
		}
	})
	t.Run("bad redis url", func(t *testing.T) {
		_, errOut, code := runCLI(t, map[string]string{"DIGESTBOT_REDIS_URL": "notaurl"}, "check-config")
		if code == 0 || !strings.Contains(errOut, "DIGESTBOT_REDIS_URL") {
			t.Errorf("exit %d, stderr %q: want non-zero naming DIGESTBOT_REDIS_URL", code, errOut)
		}
	})
	t.Run("secret not printed", func(t *testing.T) {
		out, errOut, code := runCLI(t, map[string]string{"DISCORD_TOKEN": "very-secret-token"}, "check-config")
		if code != 0 || strings.Contains(out+errOut, "very-secret-token") {
			t.Errorf("exit %d; the token appears in the output: %s %s", code, out, errOut)
		}
	})
	t.Run("example file is valid", func(t *testing.T) {
		_, errOut, code := runCLI(t, map[string]string{"DIGESTBOT_CONFIG": "../../digestbot.example.yaml"}, "check-config")
		if code != 0 {
			t.Errorf("the shipped example configuration is refused: %s", errOut)
		}
	})
}

func TestCheckConfigValidatesQueriesAndSchedules(t *testing.T) {
	for _, tt := range []struct{ name, body, want string }{
		{"topic query", "topics: [{name: x, query: '\"open'}]\n", "topics[0].query"},
		{"default schedule", "schedule: {default: 'sometimes'}\n", "schedule.default"},
		{"match every second", "schedule: {match: '@every 0s'}\n", "schedule.match"},
		{"match bare zone", "schedule: {match: 'CRON_TZ=UTC'}\n", "schedule.match"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := t.TempDir() + "/c.yaml"
			if err := os.WriteFile(p, []byte(tt.body), 0o600); err != nil {
				t.Fatal(err)
			}
			_, errOut, code := runCLI(t, map[string]string{"DIGESTBOT_CONFIG": p}, "check-config")
			if code == 0 || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stderr %q: want an error naming %s", code, errOut, tt.want)
			}
		})
	}
}

func TestHealthcheck(t *testing.T) {
	if _, errOut, code := runCLI(t, nil, "healthcheck"); code == 0 || !strings.Contains(errOut, "DIGESTBOT_HTTP_ADDR") {
		t.Errorf("without an address: exit %d, %q", code, errOut)
	}
	if _, errOut, code := runCLI(t, map[string]string{"DIGESTBOT_HTTP_ADDR": "127.0.0.1:1"}, "healthcheck", "--path", "/metrics"); code == 0 || !strings.Contains(errOut, "want /readyz or /healthz") {
		t.Errorf("healthcheck --path /metrics: exit %d, %q", code, errOut)
	}
	if _, errOut, code := runCLI(t, map[string]string{"DIGESTBOT_HTTP_ADDR": "127.0.0.1:1"}, "healthcheck"); code == 0 || !strings.Contains(errOut, "does not answer") {
		t.Errorf("nothing listening: exit %d, %q", code, errOut)
	}
}

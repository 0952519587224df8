package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	digestbot "github.com/digestbot/digestbot"
)

// cmdHealthcheck asks the running bot's HTTP endpoint whether it is ready,
// for container health checks (the image has no curl).
func cmdHealthcheck(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "healthcheck", "healthcheck [--path /readyz]\n\nAsks the bot at DIGESTBOT_HTTP_ADDR (on loopback) whether it is healthy; exits non-zero if not.")
	path := fs.String("path", "/readyz", "endpoint to ask: /readyz (Redis and gateway) or /healthz (process)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *path != "/readyz" && *path != "/healthz" {
		return digestbot.Errorf(digestbot.EINVALID, "--path %q: want /readyz or /healthz", *path)
	}
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	if cfg.HTTPAddr == "" {
		return digestbot.Errorf(digestbot.EINVALID, "DIGESTBOT_HTTP_ADDR is not set: the bot serves no health endpoint")
	}
	_, port, err := net.SplitHostPort(cfg.HTTPAddr)
	if err != nil {
		return digestbot.Errorf(digestbot.EINVALID, "DIGESTBOT_HTTP_ADDR=%s: %v", cfg.HTTPAddr, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", "http://"+net.JoinHostPort("127.0.0.1", port)+*path, nil)
	if err != nil {
		return digestbot.Errorf(digestbot.EINVALID, "--path %q: %v", *path, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return digestbot.WrapError(digestbot.EUNAVAILABLE, err, "the bot does not answer on port %s", port)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// /readyz says which part is not ready; pass that on.
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
		return digestbot.Errorf(digestbot.EUNAVAILABLE, "%s answered %s: %s", *path, resp.Status, strings.TrimSpace(string(body)))
	}
	fmt.Fprintf(e.stdout, "%s ok\n", *path)
	return nil
}

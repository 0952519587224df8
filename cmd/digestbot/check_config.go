package main

import (
	"context"
	"fmt"
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
			return err
		}
		defer st.Close()
		fmt.Fprintln(e.stdout, "redis: reachable")
	}
	fmt.Fprintln(e.stdout, "configuration OK")
	return nil
}

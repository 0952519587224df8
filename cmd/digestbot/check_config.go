package main

import "context"

func cmdCheckConfig(ctx context.Context, e *env, args []string) error {
	return notBuilt(e, "check-config", args)
}

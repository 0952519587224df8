package main

import "context"

func cmdMatch(ctx context.Context, e *env, args []string) error { return notBuilt(e, "match", args) }

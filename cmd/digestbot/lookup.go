package main

import "context"

func cmdLookup(ctx context.Context, e *env, args []string) error { return notBuilt(e, "lookup", args) }

package main

import "context"

func cmdBench(ctx context.Context, e *env, args []string) error { return notBuilt(e, "bench", args) }

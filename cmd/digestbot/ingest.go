package main

import "context"

func cmdIngest(ctx context.Context, e *env, args []string) error { return notBuilt(e, "ingest", args) }

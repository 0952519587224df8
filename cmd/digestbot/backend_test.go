package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/digestbot/digestbot/store"
	"github.com/digestbot/digestbot/store/storetest"
)

// cliEnv returns the environment of a command-line run on backend b, and a
// store on the same keys. The URL is the server's, or on a cluster the
// address of one node, so every run also finds the cluster behind one
// address as an operator's configuration would give it. The server and
// the cluster are shared by the tests, so a configuration file gives the
// run a key prefix of its own.
func cliEnv(t testing.TB, b *storetest.Backend) (map[string]string, *store.Store) {
	t.Helper()
	u := cliURL(t, b)
	prefix := storetest.UniquePrefix()
	cfg := filepath.Join(t.TempDir(), "digestbot.yaml")
	if err := os.WriteFile(cfg, []byte("redis:\n  prefix: \""+prefix+"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	st := b.Open(t, store.Options{Prefix: prefix})
	return map[string]string{"DIGESTBOT_REDIS_URL": u, "DIGESTBOT_CONFIG": cfg}, st
}

// cliURL is the DIGESTBOT_REDIS_URL of a process on backend b: the
// server's URL, or the address of one node of the cluster.
func cliURL(t testing.TB, b *storetest.Backend) string {
	t.Helper()
	if b.Name == storetest.RedisCluster {
		return storetest.ClusterNodeURLs(t)[0]
	}
	return b.URL
}

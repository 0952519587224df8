package storetest

import (
	"context"
	"strings"
	"testing"

	"github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/store"
)

func TestRealRedisStopStartKeepsData(t *testing.T) {
	srv := RealRedis(t)
	t.Logf("storetest: %s", srv.Describe())
	st := OpenOn(t, storeOptions(srv.URL))
	ctx := context.Background()
	if err := st.SetWatermark(ctx, "w", "1-0"); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	if err := st.Ping(ctx); digestbot.ErrorCode(err) != digestbot.EUNAVAILABLE {
		t.Fatalf("ping of a stopped server = %v; want EUNAVAILABLE", err)
	}
	srv.Start()
	if v, err := st.Watermark(ctx, "w"); err != nil || v != "1-0" {
		t.Fatalf("after restart watermark = %q, %v; want the value written before (appendonly)", v, err)
	}
}

func TestOpenUsesSeparatePrefixes(t *testing.T) {
	a, b := Open(t), Open(t)
	if a.Prefix() == b.Prefix() {
		t.Fatalf("two tests share the prefix %q", a.Prefix())
	}
	ctx := context.Background()
	if err := a.SetWatermark(ctx, "w", "1-0"); err != nil {
		t.Fatal(err)
	}
	if v, err := b.Watermark(ctx, "w"); err != nil || v != "" {
		t.Fatalf("a second test sees the first one's data: %q, %v", v, err)
	}
}

func TestClusterServesAStore(t *testing.T) {
	st := OpenOn(t, storeOptions(Cluster(t)))
	ctx := context.Background()
	if err := st.SetWatermark(ctx, "w", "1-0"); err != nil {
		t.Fatal(err)
	}
	keys, err := Keys(ctx, st)
	if err != nil || len(keys) != 1 {
		t.Fatalf("keys on the cluster = %v, %v; want the one watermark hash", keys, err)
	}
}

func storeOptions(url string) store.Options { return store.Options{URL: url} }

// TestBackendLineMatchesPattern: CI reads the backends from the log with
// LogPattern; every name the helpers log must come out of it whole.
func TestBackendLineMatchesPattern(t *testing.T) {
	for _, name := range []string{RedisServer, RedisCluster, Embedded} {
		m := LogPattern.FindStringSubmatch("    x_test.go:12: " + backendLine(name, "detail (with parentheses)"))
		if m == nil || m[1] != name {
			t.Errorf("LogPattern on the line of %q: %v", name, m)
		}
	}
}

// TestEachBackendRunsAll: a suite gets one subtest per backend, each with a
// store that works, and the cluster's store is a cluster's.
func TestEachBackendRunsAll(t *testing.T) {
	var ran []string
	EachBackend(t, func(t *testing.T, b *Backend) {
		ran = append(ran, b.Name)
		st := b.Open(t, store.Options{})
		ctx := context.Background()
		if err := st.SetWatermark(ctx, "w", "1-0"); err != nil {
			t.Fatal(err)
		}
		if v, err := b.Replica(t, st).Watermark(ctx, "w"); err != nil || v != "1-0" {
			t.Fatalf("a replica's store reads %q, %v; want the first store's data", v, err)
		}
		si, err := st.ServerInfo(ctx)
		if err != nil || si.Cluster != (b.Name == RedisCluster) {
			t.Fatalf("%s: ServerInfo = %+v, %v", b.Name, si, err)
		}
	})
	if strings.Join(ran, ",") != "redis-server,cluster,embedded" {
		t.Errorf("ran on %v", ran)
	}
}

package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/store"
	"github.com/digestbot/digestbot/store/storetest"
	"github.com/redis/go-redis/v9"
)

// crc16 is the CRC16-XMODEM of Redis Cluster's key hashing (the slot of
// a key is crc16(tag) mod 16384).
func crc16(s string) uint16 {
	var crc uint16
	for i := 0; i < len(s); i++ {
		crc ^= uint16(s[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// keyPerSlot returns one hash tag for each of the 16384 slots.
func keyPerSlot() []string {
	tags := make([]string, 16384)
	left := len(tags)
	for i := 0; left > 0; i++ {
		tag := fmt.Sprint(i)
		if slot := crc16(tag) % 16384; tags[slot] == "" {
			tags[slot] = tag
			left--
		}
	}
	return tags
}

// TestKeyPerSlotAgreesWithTheServer: the slots the test computes are the
// server's, so "every slot" below means every slot.
func TestKeyPerSlotAgreesWithTheServer(t *testing.T) {
	st := storetest.OpenOn(t, store.Options{URL: storetest.Cluster(t)})
	tags := keyPerSlot()
	for _, slot := range []int{0, 1, 5460, 5461, 10922, 10923, 16383} {
		got, err := st.Client().ClusterKeySlot(ctx(t), "x{"+tags[slot]+"}").Result()
		if err != nil || int(got) != slot {
			t.Fatalf("CLUSTER KEYSLOT of tag %q = %d, %v; want %d", tags[slot], got, err, slot)
		}
	}
}

// writeEverySlot sets and reads back one key in each of the 16384 slots
// through st (pipelined; the cluster client splits the pipeline per node).
func writeEverySlot(t *testing.T, st *store.Store) {
	t.Helper()
	c := ctx(t)
	tags := keyPerSlot()
	pipe := st.Client().Pipeline()
	for slot, tag := range tags {
		pipe.Set(c, st.Prefix()+"{"+tag+"}", slot, 0)
	}
	if _, err := pipe.Exec(c); err != nil {
		t.Fatalf("writing a key in every slot: %v", err)
	}
	gets := make([]*redis.StringCmd, len(tags))
	for slot, tag := range tags {
		gets[slot] = pipe.Get(c, st.Prefix()+"{"+tag+"}")
	}
	if _, err := pipe.Exec(c); err != nil {
		t.Fatalf("reading a key in every slot: %v", err)
	}
	for slot, g := range gets {
		if v, _ := g.Int(); v != slot {
			t.Fatalf("slot %d: read %q back", slot, g.Val())
		}
	}
}

// TestOneNodeAddressFindsTheCluster: DIGESTBOT_REDIS_URL naming any one
// node of a Redis Cluster gives a store that writes to every slot (a plain
// client there would get MOVED for two thirds of them), and reports the
// cluster and its masters.
func TestOneNodeAddressFindsTheCluster(t *testing.T) {
	nodes := storetest.ClusterNodeURLs(t)
	if len(nodes) < 3 {
		t.Fatalf("the cluster has %d masters: %v", len(nodes), nodes)
	}
	for i, u := range nodes {
		t.Run(fmt.Sprintf("node %d", i+1), func(t *testing.T) {
			if strings.Contains(u, ",") {
				t.Fatalf("%q is not one address", u)
			}
			st := storetest.OpenOn(t, store.Options{URL: u})
			if _, ok := st.Client().(*redis.ClusterClient); !ok {
				t.Fatalf("one node's address %s gave a %T, want a cluster client", u, st.Client())
			}
			writeEverySlot(t, st)
			si, err := st.ServerInfo(ctx(t))
			if err != nil || !si.Cluster || si.Masters != len(nodes) || si.Version == "" || si.UsedMemory <= 0 {
				t.Fatalf("ServerInfo = %+v, %v; want a cluster of %d masters", si, err, len(nodes))
			}
			// The store's own multi-key operations work through it too.
			if _, err := st.AddSubscription(ctx(t), sub("g1", "c1", "port strike"), 10); err != nil {
				t.Fatal(err)
			}
			if _, err := st.PutArticles(ctx(t), []*digestbot.Article{article(1), article(2)}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestSeedListAndSingleServerStayAsTheyWere: a comma-separated seed list is
// a cluster as before; one redis-server stays a single server.
func TestSeedListAndSingleServerStayAsTheyWere(t *testing.T) {
	nodes := storetest.ClusterNodeURLs(t)
	seeds := storetest.OpenOn(t, store.Options{URL: strings.Join(nodes, ",")})
	if _, ok := seeds.Client().(*redis.ClusterClient); !ok {
		t.Fatalf("a seed list gave a %T", seeds.Client())
	}
	writeEverySlot(t, seeds)

	single := storetest.OpenOn(t, store.Options{URL: storetest.Shared(t).URL})
	if _, ok := single.Client().(*redis.Client); !ok {
		t.Fatalf("one redis-server gave a %T, want a plain client", single.Client())
	}
	if si, err := single.ServerInfo(ctx(t)); err != nil || si.Cluster || si.Masters != 1 || si.UsedMemory <= 0 {
		t.Fatalf("ServerInfo of one server = %+v, %v", si, err)
	}
}

// TestClusterNodeAddressWithADatabase: a cluster has database 0 only; a
// node's URL naming another one is refused with a message that says so.
func TestClusterNodeAddressWithADatabase(t *testing.T) {
	u := storetest.ClusterNodeURLs(t)[0]
	_, err := store.Open(context.Background(), store.Options{URL: u + "/2"})
	wantCode(t, err, digestbot.EINVALID)
	if msg := digestbot.ErrorMessage(err); !strings.Contains(msg, "Redis Cluster") || !strings.Contains(msg, "database 0") {
		t.Errorf("message %q does not say that a cluster has database 0 only", msg)
	}
}

// TestClusterAddressCarriesPasswordAndTLS: on a cluster whose nodes all
// want a password and speak TLS only (to clients and among themselves),
// one node's rediss:// URL with the password reaches every slot, so the
// other nodes are reached with the same credentials and TLS; without the
// password the store is refused as a credentials problem.
func TestClusterAddressCarriesPasswordAndTLS(t *testing.T) {
	const password = "c1uster/p@ss"
	u := storetest.OwnCluster(t, storetest.ClusterOptions{Password: password, TLS: true})
	st := storetest.OpenOn(t, store.Options{URL: u})
	if _, ok := st.Client().(*redis.ClusterClient); !ok {
		t.Fatalf("a password-protected TLS node's address gave a %T", st.Client())
	}
	writeEverySlot(t, st)
	if si, err := st.ServerInfo(ctx(t)); err != nil || !si.Cluster || si.Masters != 3 {
		t.Fatalf("ServerInfo = %+v, %v", si, err)
	}

	bare := "rediss://" + u[strings.LastIndex(u, "@")+1:]
	_, err := store.Open(context.Background(), store.Options{URL: bare})
	wantCode(t, err, digestbot.EINVALID)
	if !strings.Contains(digestbot.ErrorMessage(err), "password") {
		t.Errorf("without the password: %v", err)
	}
}

package store

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// findCluster turns the client of a single address into a cluster client
// when the server there is a node of a Redis Cluster. A managed cluster is
// often given as one address (a configuration endpoint, or any node); a
// plain client on it would get MOVED for most keys. The node is asked
// CLUSTER INFO: a cluster node answers it, a server without cluster support
// refuses it ("cluster support disabled"), and so does anything that does
// not know the command (the embedded store, some proxies), which are served
// as one server. The cluster client needs the CLUSTER commands anyway (it
// reads the slot map with them), so a server that refuses them could not be
// used as a cluster. The credentials and TLS settings of the URL carry over
// to every node, as for a seed list.
func (s *Store) findCluster(ctx context.Context, uo *redis.UniversalOptions) error {
	ctx, cancel := context.WithTimeout(ctx, openTimeout)
	defer cancel()
	info, err := s.rdb.ClusterInfo(ctx).Result()
	switch {
	case isRedisError(err):
		return nil // not a cluster node
	case err != nil:
		return s.fail("ask whether Redis is a cluster node", err)
	}
	s.log.Info("store: the Redis address is a node of a Redis Cluster; using a cluster client",
		"addr", uo.Addrs[0], "cluster_state", infoField(info, "cluster_state"), "masters", infoField(info, "cluster_size"))
	_ = s.rdb.Close()
	uo.IsClusterMode = true
	s.rdb = redis.NewUniversalClient(uo)
	return s.ping(ctx)
}

// ServerInfo describes the Redis a store is connected to.
type ServerInfo struct {
	// Version is the redis_version of the server (of one node of a
	// cluster), e.g. "7.0.15"; "" when the server does not say.
	Version string
	// Cluster is true for a Redis Cluster (several seeds, or one address
	// of a node that said it is one).
	Cluster bool
	// Masters is the number of masters serving hash slots; 1 for a single
	// server.
	Masters int
	// UsedMemory is used_memory (the bytes Redis's allocator holds),
	// summed over the masters of a cluster; 0 when the server does not say.
	UsedMemory int64
}

// ServerInfo asks Redis what it is: its version, whether it is a Redis
// Cluster and of how many masters, and how much memory it uses.
func (s *Store) ServerInfo(ctx context.Context) (ServerInfo, error) {
	// INFO may be refused (an ACL without @dangerous, the embedded
	// store): the version is then unknown, which is no reason to fail.
	info, err := s.rdb.Info(ctx, "server").Result()
	if err != nil && !isRedisError(err) {
		return ServerInfo{}, s.fail("read the server's version", err)
	}
	si := ServerInfo{Version: infoField(info, "redis_version"), Masters: 1}
	var mu sync.Mutex
	addMemory := func(ctx context.Context, c *redis.Client) error {
		info, err := c.Info(ctx, "memory").Result()
		if err != nil && !isRedisError(err) {
			return err
		}
		n, _ := strconv.ParseInt(infoField(info, "used_memory"), 10, 64)
		mu.Lock()
		si.UsedMemory += n
		mu.Unlock()
		return nil
	}
	cc, ok := s.rdb.(*redis.ClusterClient)
	if !ok {
		if err := addMemory(ctx, s.rdb.(*redis.Client)); err != nil {
			return ServerInfo{}, s.fail("read the server's memory", err)
		}
		return si, nil
	}
	info, err = cc.ClusterInfo(ctx).Result()
	if err != nil {
		return ServerInfo{}, s.fail("read the cluster's state", err)
	}
	si.Cluster = true
	si.Masters, _ = strconv.Atoi(infoField(info, "cluster_size"))
	if err := cc.ForEachMaster(ctx, addMemory); err != nil {
		return ServerInfo{}, s.fail("read the masters' memory", err)
	}
	return si, nil
}

// isRedisError reports whether err is Redis refusing a command, as opposed
// to not answering (or answering "try again later").
func isRedisError(err error) bool {
	var rerr redis.Error
	return errors.As(err, &rerr) && !unavailable(err)
}

// infoField reads one "name:value" line of an INFO or CLUSTER INFO reply;
// "" when it is missing.
func infoField(info, name string) string {
	for line := range strings.SplitSeq(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			return v
		}
	}
	return ""
}

package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/backoff"
	"github.com/digestbot/digestbot/redisurl"
	"github.com/redis/go-redis/v9"
)

// Defaults of Options.
const (
	DefaultPrefix    = "digestbot:"
	DefaultRetention = 30 * 24 * time.Hour
	// DefaultPausedBacklog bounds what a paused channel keeps: a few
	// digests' worth, so a channel that comes back gets its news and one
	// that never does costs little.
	DefaultPausedBacklog = 500
)

// openTimeout bounds the first ping of Open.
const openTimeout = 5 * time.Second

// Options configure a Store.
type Options struct {
	// URL is a redis:// or rediss:// URL, or several comma-separated seed
	// addresses (host:port or URLs) of a Redis Cluster. Ignored by
	// OpenEmbedded.
	URL string
	// Prefix starts every key; default DefaultPrefix.
	Prefix string
	// Retention is how long articles, ingest log entries and delivered
	// markers are kept; default DefaultRetention.
	Retention time.Duration
	// Logger receives start-up and background messages; default slog.Default().
	Logger *slog.Logger
	// PausedBacklog is how many items a paused channel keeps pending; new
	// ones beyond it are dropped and counted. Default DefaultPausedBacklog.
	PausedBacklog int
}

// Store implements digestbot.Store over Redis.
type Store struct {
	rdb       redis.UniversalClient
	prefix    string
	retention time.Duration
	log       *slog.Logger
	// pausedBacklog: see Options.PausedBacklog.
	pausedBacklog int

	// Embedded store only.
	mini    *miniredis.Miniredis
	mu      sync.Mutex    // guards skew
	skew    time.Duration // added to the wall clock by AdvanceClock
	closed  chan struct{}
	once    sync.Once
	ticking bool // guarded by mu
}

var _ digestbot.Store = (*Store)(nil)

// Open connects to the Redis named by opts.URL and pings it. It returns
// EINVALID for a malformed URL and EUNAVAILABLE within a few seconds when the
// server cannot be reached.
func Open(ctx context.Context, opts Options) (*Store, error) {
	uo, err := redisurl.Parse(opts.URL)
	if err != nil {
		return nil, err
	}
	setTimeouts(uo)
	s := newStore(redis.NewUniversalClient(uo), opts)
	if err := s.ping(ctx); err != nil {
		_ = s.rdb.Close()
		return nil, err
	}
	if !uo.IsClusterMode {
		if err := s.findCluster(ctx, uo); err != nil {
			_ = s.rdb.Close()
			return nil, err
		}
	}
	s.log.Info("store: connected to Redis", "addrs", strings.Join(uo.Addrs, ","),
		"cluster", uo.IsClusterMode, "tls", uo.TLSConfig != nil, "prefix", s.prefix)
	return s, nil
}

// openBackoff paces OpenRetry: 0.5 s doubling to 30 s, jittered so that
// replicas restarted together do not knock on Redis in step.
var openBackoff = backoff.Policy{First: 500 * time.Millisecond, Max: 30 * time.Second}

// OpenRetry is Open for a long-running process: while Redis is unavailable
// it logs and tries again with exponential backoff (0.5 s doubling to 30 s),
// until it connects or ctx is done. A malformed URL fails at once.
func OpenRetry(ctx context.Context, opts Options) (*Store, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	for attempt := 0; ; attempt++ {
		s, err := Open(ctx, opts)
		if err == nil || digestbot.ErrorCode(err) != digestbot.EUNAVAILABLE {
			return s, err
		}
		wait := openBackoff.Delay(attempt + 1)
		log.Warn("store: Redis is unavailable; retrying", "attempt", attempt+1, "retry_in", wait, "err", err)
		select {
		case <-ctx.Done():
			return nil, digestbot.WrapError(digestbot.EUNAVAILABLE, err, "the store (Redis) cannot be reached; gave up after %d attempts", attempt+1)
		case <-time.After(wait):
		}
	}
}

// OpenEmbedded starts an in-process Redis (miniredis) on a loopback port and
// returns a Store on it. Nothing is persisted; Close stops the server. TTLs
// follow the wall clock (see the package documentation).
func OpenEmbedded(ctx context.Context, opts Options) (*Store, error) {
	m := miniredis.NewMiniRedis()
	if err := m.Start(); err != nil {
		return nil, digestbot.WrapError(digestbot.EINTERNAL, err, "cannot start the embedded store")
	}
	m.ClockTTL(true)
	uo := &redis.UniversalOptions{Addrs: []string{m.Addr()}}
	setTimeouts(uo)
	s := newStore(redis.NewUniversalClient(uo), opts)
	s.mini = m
	if err := s.ping(ctx); err != nil {
		_ = s.rdb.Close()
		m.Close()
		return nil, err
	}
	s.log.Info("store: embedded in-memory store started; nothing is persisted", "addr", m.Addr(), "prefix", s.prefix)
	return s, nil
}

func setTimeouts(uo *redis.UniversalOptions) {
	uo.DialTimeout = dialTimeout
	uo.ReadTimeout = readTimeout
	uo.WriteTimeout = writeTimeout
	uo.PoolTimeout = poolTimeout
	uo.MaxRetries = maxRetries
	uo.ContextTimeoutEnabled = true
}

func newStore(rdb redis.UniversalClient, opts Options) *Store {
	s := &Store{
		rdb:       rdb,
		prefix:    opts.Prefix,
		retention: opts.Retention,
		log:       opts.Logger,
		closed:    make(chan struct{}),
	}
	if s.prefix == "" {
		s.prefix = DefaultPrefix
	}
	if s.retention <= 0 {
		s.retention = DefaultRetention
	}
	s.pausedBacklog = opts.PausedBacklog
	if s.pausedBacklog <= 0 {
		s.pausedBacklog = DefaultPausedBacklog
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	return s
}

func (s *Store) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, openTimeout)
	defer cancel()
	return s.Ping(ctx)
}

// Client returns the underlying client, for packages that keep their own
// keys under Prefix (the lookup index).
func (s *Store) Client() redis.UniversalClient { return s.rdb }

// Prefix returns the key prefix, e.g. "digestbot:".
func (s *Store) Prefix() string { return s.prefix }

// Retention returns how long articles and log entries are kept.
func (s *Store) Retention() time.Duration { return s.retention }

// Embedded reports whether the store runs on the in-process miniredis.
func (s *Store) Embedded() bool { return s.mini != nil }

// Ping reports whether Redis answers, as EUNAVAILABLE when it does not.
func (s *Store) Ping(ctx context.Context) error {
	return s.fail("ping", s.rdb.Ping(ctx).Err())
}

// Close closes the client, and stops the embedded server if there is one.
func (s *Store) Close() error {
	var err error
	s.once.Do(func() {
		close(s.closed)
		err = s.rdb.Close()
		if s.mini != nil {
			s.mini.Close()
		}
	})
	return err
}

// AdvanceClock moves the embedded store's clock forward by d: keys with a
// TTL age by d, and new log entries carry the later time. It exists for
// tests of expiry; on a real server it returns EINVALID.
func (s *Store) AdvanceClock(d time.Duration) error {
	if s.mini == nil {
		return digestbot.Errorf(digestbot.EINVALID, "the clock of a real Redis server cannot be moved")
	}
	s.mu.Lock()
	first := !s.ticking
	s.ticking = true
	s.skew += d
	s.mini.SetTime(time.Now().Add(s.skew))
	s.mu.Unlock()
	if first {
		// Once set, miniredis' clock stands still; keep it moving with the
		// wall clock plus the skew.
		go s.tickClock()
	}
	return nil
}

func (s *Store) tickClock() {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-s.closed:
			return
		case <-t.C:
			s.mu.Lock()
			s.mini.SetTime(time.Now().Add(s.skew))
			s.mu.Unlock()
		}
	}
}

// now is the store's clock: the wall clock, plus the skew of AdvanceClock.
func (s *Store) now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return time.Now().Add(s.skew)
}

// retentionCutoff is the oldest time still inside the retention window.
func (s *Store) retentionCutoff() time.Time { return s.now().Add(-s.retention) }

// Keys. See the package documentation for the schema.

func (s *Store) articleKey(id string) string { return s.prefix + "a:" + id }
func (s *Store) ingestKey() string           { return s.prefix + "{log}:ingest" }
func (s *Store) changesKey() string          { return s.prefix + "{log}:changes" }
func (s *Store) watermarksKey() string       { return s.prefix + "watermarks" }
func (s *Store) guildsKey() string           { return s.prefix + "guilds" }
func (s *Store) guildsLeftKey() string       { return s.prefix + "guilds:left" }
func (s *Store) feedHealthKey() string       { return s.prefix + "feedhealth" }

func (s *Store) guildKey(guildID, kind string) string {
	return s.prefix + "{g:" + guildID + "}:" + kind
}

func (s *Store) channelKey(guildID, channelID, kind string) string {
	return s.prefix + "{c:" + guildID + ":" + channelID + "}:" + kind
}

// guildKinds and channelKinds list every key of a guild, for DeleteGuild.
var (
	guildKinds   = []string{"subs", "topics", "feeds", "schedules", "channels", "version", "watches", "watchers"}
	channelKinds = []string{"pending", "delivered", "claim", "outbox", "state", "paused", "stats", "placed"}
)

// checkID refuses ids that could break out of a hash tag or a key.
func checkID(kind, id string) error {
	if id == "" {
		return digestbot.Errorf(digestbot.EINVALID, "%s id is empty", kind)
	}
	if len(id) > 100 || strings.ContainsAny(id, "{}: \t\r\n") {
		return digestbot.Errorf(digestbot.EINVALID, "%s id %q is not valid: at most 100 characters, without braces, colons or spaces", kind, id)
	}
	return nil
}

func checkGuildChannel(guildID, channelID string) error {
	if err := checkID("guild", guildID); err != nil {
		return err
	}
	return checkID("channel", channelID)
}

// fail turns a Redis error into a digestbot error: EINVALID when Redis
// refuses the credentials (a configuration error, not worth retrying),
// EUNAVAILABLE when it cannot be reached or did not answer in time,
// EINTERNAL otherwise. Errors
// that already carry a code pass unchanged.
func (s *Store) fail(op string, err error) error {
	if err == nil {
		return nil
	}
	var de *digestbot.Error
	if errors.As(err, &de) {
		return err
	}
	if msg := err.Error(); strings.HasPrefix(msg, "WRONGPASS") || strings.HasPrefix(msg, "NOAUTH") {
		return digestbot.WrapError(digestbot.EINVALID, fmt.Errorf("%s: %w", op, err),
			"Redis refused the user name or password of the Redis URL")
	}
	if strings.Contains(err.Error(), "SELECT is not allowed in cluster mode") {
		return digestbot.WrapError(digestbot.EINVALID, fmt.Errorf("%s: %w", op, err),
			"the Redis URL names a database, but the server is a node of a Redis Cluster, which has database 0 only; drop the /N after the address")
	}
	if unavailable(err) {
		// The message reaches server members (a command that could not
		// read or write); the operator finds the store and the cause in
		// the wrapped error, which the log shows.
		return digestbot.WrapError(digestbot.EUNAVAILABLE, fmt.Errorf("store %s: %w", op, err),
			"the bot cannot reach its database right now; try again in a minute")
	}
	return digestbot.WrapError(digestbot.EINTERNAL, fmt.Errorf("%s: %w", op, err), "store %s failed", op)
}

// unavailable reports whether err means that Redis could not be reached or
// did not answer in time (as opposed to a bad command or data).
func unavailable(err error) bool {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, redis.ErrClosed), errors.Is(err, redis.ErrPoolTimeout),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.As(err, &ne):
		return true
	}
	msg := err.Error()
	for _, p := range []string{"LOADING", "CLUSTERDOWN", "MASTERDOWN", "TRYAGAIN", "READONLY"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return strings.Contains(msg, "connection refused") || strings.Contains(msg, "use of closed network connection")
}

// newToken returns a random hex token (lease tokens, window ids).
func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}

// encode marshals a value that is known to be marshalable.
func encode(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("store: encoding %T: %v", v, err)) // only plain structs are encoded
	}
	return string(b)
}

func decode[T any](op, data string) (*T, error) {
	v := new(T)
	if err := json.Unmarshal([]byte(data), v); err != nil {
		return nil, digestbot.WrapError(digestbot.EINTERNAL, fmt.Errorf("%s: %w", op, err), "stored data is damaged")
	}
	return v, nil
}

// ms converts a time to unix milliseconds.
func ms(t time.Time) int64 { return t.UnixMilli() }

// count writes n with the singular or plural noun.
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

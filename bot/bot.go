// Package bot is the Discord front end of digestbot: it connects with
// discordgo, registers the slash commands of the command core, turns
// INTERACTION_CREATE events into commands.Request values and renders the
// core's responses, and posts digests into channels (it implements
// digest.Transport). discordgo stays inside this package.
package bot

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/commands"
)

// Defaults of Options.
const (
	DefaultCommandsPerMinute = 20
	// CommandBurstFactor sets the default burst: a server's setup runs a
	// few dozen commands in a row.
	CommandBurstFactor      = 3
	DefaultMaxRateLimitWait = 30 * time.Second
	// closeGrace bounds how long Close waits for interactions being answered.
	closeGrace = 5 * time.Second
	// handlerTimeout bounds one command; the interaction token lasts 15 min.
	handlerTimeout = 2 * time.Minute
	// autocompleteTimeout keeps suggestions inside Discord's 3 s window.
	autocompleteTimeout = 2 * time.Second
)

// Options configure a Bot.
type Options struct {
	Token      string // bot token, without the "Bot " prefix
	APIBaseURL string // replaces https://discord.com for every REST call; empty: Discord itself
	GuildID    string // register commands on this guild only; empty: globally
	ShardID    int
	ShardCount int // 0 is taken as 1
	Handler    commands.Handler
	Logger     *slog.Logger
	HTTPClient *http.Client // its Transport (or http.DefaultTransport) carries the REST calls

	// ManagerRole is a role id or name whose members may use the commands
	// that need Manage Channels (DIGESTBOT config permissions.role).
	ManagerRole string
	// CommandsPerMinute is each user's command budget; 0 means
	// DefaultCommandsPerMinute, a negative value no limit.
	CommandsPerMinute int
	// CommandBurst is how many commands a user may run at once before the
	// per-minute budget applies; 0 means CommandBurstFactor times it.
	CommandBurst int
	// MaxRateLimitWait is the longest Post waits on a 429 before it gives
	// up with ELIMIT; 0 means DefaultMaxRateLimitWait.
	MaxRateLimitWait time.Duration

	// OnGuildJoined is called for every GUILD_CREATE (joins, and each guild
	// at connect), OnGuildLeft for a GUILD_DELETE that is a removal rather
	// than an outage. Both may be nil.
	OnGuildJoined func(guildID string)
	OnGuildLeft   func(guildID string)

	// Metric hooks, each may be nil. OnDiscordError counts failed Discord
	// calls by operation and error code (digestbot_discord_errors_total);
	// OnRateLimited counts 429s (digestbot_discord_ratelimited_total);
	// OnCommand observes each command's latency and outcome code, "" for
	// success (digestbot_command_seconds).
	OnDiscordError func(op, code string)
	OnRateLimited  func(route string)
	OnCommand      func(name string, d time.Duration, code string)

	// Now is the clock; nil means time.Now.
	Now func() time.Time

	// RateLimits shares Discord's rate limits with the other replicas
	// (package store); nil: each process paces itself by Discord's answers.
	RateLimits RateStore
	// RequestsPerSecond is the global budget all replicas share; 0 means
	// DefaultRequestsPerSecond.
	RequestsPerSecond int
	// TokenSource reads the token again after Discord refused it (a file
	// an operator replaced); nil: only a restart brings a new token.
	TokenSource func() (string, error)
	// Version is the bot's version, for the User-Agent.
	Version string
	// Process names this process in the User-Agent of every call (Discord
	// and proxies log it), e.g. the host and pid.
	Process string
}

// Bot is a connected (or connectable) Discord front end.
type Bot struct {
	opts    Options
	log     *slog.Logger
	s       *discordgo.Session
	files   *http.Client // downloads attachments; never carries the token
	defs    map[string]commands.Definition
	limiter *limiter
	appID   atomic.Value // string
	token   atomic.Pointer[string]
	refused atomic.Int64 // unix ms when Discord refused the token; 0 while it accepts it

	mu       sync.Mutex
	closed   bool
	inflight sync.WaitGroup
	ctx      context.Context // canceled when Close gives up waiting
	cancel   context.CancelFunc
}

// New validates the options and prepares a session; Open connects.
func New(opts Options) (*Bot, error) {
	if strings.TrimSpace(opts.Token) == "" {
		return nil, digestbot.Errorf(digestbot.EINVALID, "DISCORD_TOKEN is empty: the bot needs a token")
	}
	if opts.Handler == nil {
		return nil, digestbot.Errorf(digestbot.EINVALID, "bot: no command handler")
	}
	if opts.ShardCount == 0 {
		opts.ShardCount = 1
	}
	if opts.ShardCount < 0 || opts.ShardID < 0 || opts.ShardID >= opts.ShardCount {
		return nil, digestbot.Errorf(digestbot.EINVALID, "shard %d of %d is impossible: need 0 <= DIGESTBOT_SHARD_ID < DIGESTBOT_SHARD_COUNT", opts.ShardID, opts.ShardCount)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.CommandsPerMinute == 0 {
		opts.CommandsPerMinute = DefaultCommandsPerMinute
	}
	if opts.CommandBurst <= 0 {
		opts.CommandBurst = CommandBurstFactor * opts.CommandsPerMinute
	}
	if opts.MaxRateLimitWait <= 0 {
		opts.MaxRateLimitWait = DefaultMaxRateLimitWait
	}
	client, err := restClient(opts.APIBaseURL, opts.HTTPClient)
	if err != nil {
		return nil, err
	}
	if opts.RequestsPerSecond <= 0 {
		opts.RequestsPerSecond = DefaultRequestsPerSecond
	}

	s, err := discordgo.New("Bot " + strings.TrimPrefix(strings.TrimSpace(opts.Token), "Bot "))
	if err != nil {
		return nil, fmt.Errorf("new discord session: %w", err)
	}
	s.Client = client
	s.Identify.Intents = discordgo.IntentsGuilds // no message content, no members
	s.ShardID, s.ShardCount = opts.ShardID, opts.ShardCount
	s.Dialer = &websocket.Dialer{Proxy: http.ProxyFromEnvironment, HandshakeTimeout: 15 * time.Second}
	s.StateEnabled = true
	s.LogLevel = discordgo.LogError

	b := &Bot{
		opts:    opts,
		log:     opts.Logger.With("component", "discord", "shard", opts.ShardID),
		s:       s,
		files:   newFileClient(opts.HTTPClient),
		defs:    map[string]commands.Definition{},
		limiter: newLimiter(opts.CommandsPerMinute, time.Minute, opts.CommandBurst),
	}
	tok := strings.TrimPrefix(strings.TrimSpace(opts.Token), "Bot ")
	b.token.Store(&tok)
	version := opts.Version
	if version == "" {
		version = "dev"
	}
	ua := "DiscordBot (https://github.com/digestbot/digestbot, " + version + ")"
	if opts.Process != "" {
		ua += " " + opts.Process
	}
	next := client.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	client.Transport = &botTransport{
		next: next, token: &b.token, userAgent: ua, limits: opts.RateLimits,
		perSecond: opts.RequestsPerSecond, log: b.log, unauthorized: b.tokenRefused,
	}
	s.UserAgent = ua
	b.ctx, b.cancel = context.WithCancel(context.Background())
	b.appID.Store("")
	for _, d := range commands.Definitions() {
		b.defs[d.Name] = d
	}
	s.AddHandler(b.onInteraction)
	s.AddHandler(b.onGuildCreate)
	s.AddHandler(b.onGuildDelete)
	s.AddHandler(func(_ *discordgo.Session, rl *discordgo.RateLimit) {
		b.rateLimited(rl.URL)
	})
	return b, nil
}

// restClient returns an HTTP client whose requests to discord.com go to
// base instead (a REST proxy or a local Discord-compatible server).
func restClient(base string, hc *http.Client) (*http.Client, error) {
	c := &http.Client{Timeout: 20 * time.Second}
	if hc != nil {
		cp := *hc
		c = &cp
	}
	if base == "" {
		return c, nil
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, digestbot.Errorf(digestbot.EINVALID, "DIGESTBOT_DISCORD_API_URL %q is not an http(s) URL with a host", base)
	}
	next := c.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	c.Transport = &rewriteTransport{base: u, next: next}
	return c, nil
}

// rewriteTransport sends requests for discord.com to another base URL,
// keeping the path (prefixed by the base's own path, for proxies mounted
// under one).
type rewriteTransport struct {
	base *url.URL
	next http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t *rewriteTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host != "discord.com" {
		return t.next.RoundTrip(req)
	}
	r := req.Clone(req.Context())
	r.URL.Scheme, r.URL.Host, r.Host = t.base.Scheme, t.base.Host, t.base.Host
	if p := strings.TrimSuffix(t.base.Path, "/"); p != "" {
		r.URL.Path = p + r.URL.Path
		if r.URL.RawPath != "" {
			r.URL.RawPath = p + r.URL.RawPath
		}
	}
	return t.next.RoundTrip(r)
}

// Open connects to the gateway and (on shard 0) registers the commands by
// bulk overwrite, on Options.GuildID or globally.
func (b *Bot) Open(ctx context.Context) error {
	done := make(chan error, 1)
	go func() { done <- b.s.Open() }()
	select {
	case err := <-done:
		if err != nil {
			code := classify(err)
			b.discordError("open", code)
			if code == digestbot.EUNAUTHORIZED || code == digestbot.EFORBIDDEN {
				return digestbot.WrapError(code, err, "Discord refused the bot token (DISCORD_TOKEN)")
			}
			return digestbot.Errorf(digestbot.EUNAVAILABLE, "cannot connect to the Discord gateway through %s: %s", b.apiBase(), b.cause(err))
		}
	case <-ctx.Done():
		// discordgo's Open cannot be canceled; close whatever it opens.
		go func() {
			if <-done == nil {
				_ = b.s.Close()
			}
		}()
		return digestbot.WrapError(digestbot.EUNAVAILABLE, ctx.Err(), "connecting to the Discord gateway through %s took too long", b.apiBase())
	}

	appID := b.readyAppID()
	if appID == "" {
		_ = b.s.Close()
		return digestbot.Errorf(digestbot.EUNAVAILABLE, "the Discord gateway sent READY without an application id")
	}
	b.appID.Store(appID)
	if b.opts.ShardID != 0 {
		// Commands belong to the application, not a shard: shard 0
		// registers them once for all.
		b.log.Info("connected to Discord", "application", appID)
		return nil
	}
	cmds := ApplicationCommands(commands.Definitions(), b.opts.ManagerRole)
	if _, err := b.s.ApplicationCommandBulkOverwrite(appID, b.opts.GuildID, cmds, discordgo.WithContext(ctx)); err != nil {
		code := classify(err)
		b.discordError("register_commands", code)
		_ = b.s.Close()
		if code == digestbot.EFORBIDDEN && b.opts.GuildID != "" {
			return digestbot.WrapError(code, err, "cannot register the slash commands on guild %s (DIGESTBOT_GUILD_ID): the bot is not in that guild or lacks the applications.commands scope", b.opts.GuildID)
		}
		return digestbot.WrapError(code, err, "cannot register the slash commands with Discord")
	}
	where := "globally"
	if b.opts.GuildID != "" {
		where = "on guild " + b.opts.GuildID
	}
	b.log.Info("connected to Discord", "application", appID, "commands", len(cmds), "registered", where)
	return nil
}

// readyAppID reads the application id READY carried; bots share the id of
// their user, the fallback.
func (b *Bot) readyAppID() string {
	st := b.s.State
	st.RLock()
	defer st.RUnlock()
	if st.Application != nil && st.Application.ID != "" {
		return st.Application.ID
	}
	if st.User != nil {
		return st.User.ID
	}
	return ""
}

// ApplicationID returns the application id learned at Open.
func (b *Bot) ApplicationID() string { return b.appID.Load().(string) }

// Connected reports whether the gateway connection is up (for /readyz).
func (b *Bot) Connected() bool {
	b.s.RLock()
	defer b.s.RUnlock()
	return b.s.DataReady
}

// Close stops taking interactions, waits a bounded time for those being
// answered, and closes the gateway.
func (b *Bot) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	b.mu.Unlock()

	idle := make(chan struct{})
	go func() { b.inflight.Wait(); close(idle) }()
	select {
	case <-idle:
	case <-time.After(closeGrace):
		b.log.Warn("closing with interactions still being answered")
	}
	b.cancel()
	if err := b.s.Close(); err != nil {
		return fmt.Errorf("close discord session: %w", err)
	}
	return nil
}

// begin registers an interaction being answered; false once closing.
func (b *Bot) begin() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return false
	}
	b.inflight.Add(1)
	return true
}

func (b *Bot) onGuildCreate(_ *discordgo.Session, g *discordgo.GuildCreate) {
	if g.Guild == nil || g.Unavailable || b.opts.OnGuildJoined == nil {
		return
	}
	b.opts.OnGuildJoined(g.ID)
}

func (b *Bot) onGuildDelete(_ *discordgo.Session, g *discordgo.GuildDelete) {
	if g.Guild == nil {
		return
	}
	// Unavailable means an outage; the bot is still a member.
	if g.Unavailable {
		b.log.Warn("guild unavailable", "guild", g.ID)
		return
	}
	b.log.Info("removed from guild", "guild", g.ID)
	if b.opts.OnGuildLeft != nil {
		b.opts.OnGuildLeft(g.ID)
	}
}

func (b *Bot) discordError(op, code string) {
	if b.opts.OnDiscordError != nil {
		b.opts.OnDiscordError(op, code)
	}
}

func (b *Bot) rateLimited(route string) {
	if b.opts.OnRateLimited != nil {
		b.opts.OnRateLimited(route)
	}
}

// apiBase names where the bot reaches Discord, for messages.
func (b *Bot) apiBase() string {
	if b.opts.APIBaseURL != "" {
		return b.opts.APIBaseURL
	}
	return "https://discord.com"
}

// cause is err as one readable line: discordgo names the URLs it was given
// (https://discord.com) though the transport sends them to APIBaseURL, and
// an error page answered by a proxy can be long.
func (b *Bot) cause(err error) string {
	msg := err.Error()
	if b.opts.APIBaseURL != "" {
		msg = strings.ReplaceAll(msg, "https://discord.com", strings.TrimSuffix(b.opts.APIBaseURL, "/"))
	}
	msg = strings.Join(strings.Fields(msg), " ")
	if r := []rune(msg); len(r) > 300 {
		msg = string(r[:300]) + "…"
	}
	return msg
}

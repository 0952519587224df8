// Package discordtest is a Discord-compatible server for tests: the REST
// routes and the gateway websocket the bot uses, on loopback, so the real
// discordgo client can be driven end to end without the internet.
//
// It keeps what a test wants to assert (IDENTIFY payloads, registered
// commands, interaction callbacks and edits, created messages) and lets a
// test inject what Discord does on a bad day: 429s with retry_after, 5xx,
// 403/404, dropped gateway connections. Every wait is bounded by
// Server.Timeout so a broken bot fails a test instead of hanging it.
package discordtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Permission bits used in member permissions.
const (
	PermAdministrator  int64 = 1 << 3
	PermManageChannels int64 = 1 << 4
	PermViewChannel    int64 = 1 << 10
	PermSendMessages   int64 = 1 << 11
)

// DefaultToken is the bot token the server accepts unless Server.Token is changed.
const DefaultToken = "test-token"

// Guild is a guild the bot is a member of.
type Guild struct {
	ID    string
	Name  string
	Roles map[string]string // role id -> name
}

// Channel is a text channel of a guild.
type Channel struct {
	ID      string
	GuildID string
	Name    string
	// Type is Discord's channel type: ChannelText (0) unless set.
	Type int
	// ParentID is the channel a thread belongs to.
	ParentID string
	// NoThreads makes starting a thread here fail with 403 Missing
	// Permissions (the bot lacks Create Public Threads).
	NoThreads bool
	// Recipient is the user of a direct-message channel (Type ChannelDM).
	Recipient string
}

// Channel types.
const (
	ChannelText   = 0
	ChannelThread = 11 // public thread
	ChannelForum  = 15
)

// Message is a message created in a channel.
type Message struct {
	ID           string          `json:"id"`
	ChannelID    string          `json:"channel_id"`
	Content      string          `json:"content"`
	Embeds       []Embed         `json:"embeds"`
	Components   json.RawMessage `json:"components,omitempty"`
	Nonce        string          `json:"nonce,omitempty"`
	EnforceNonce bool            `json:"enforce_nonce,omitempty"`
	Flags        int             `json:"flags,omitempty"`
	CreatedAt    time.Time       `json:"created_at"`
	// Raw is the request body as received.
	Raw json.RawMessage `json:"-"`
}

// Embed is the part of an embed tests look at.
type Embed struct {
	Title       string `json:"title,omitempty"`
	URL         string `json:"url,omitempty"`
	Description string `json:"description,omitempty"`
	Timestamp   string `json:"timestamp,omitempty"`
	Color       int    `json:"color,omitempty"`
	Footer      *struct {
		Text string `json:"text"`
	} `json:"footer,omitempty"`
	Author *struct {
		Name string `json:"name"`
	} `json:"author,omitempty"`
	Fields []struct {
		Name   string `json:"name"`
		Value  string `json:"value"`
		Inline bool   `json:"inline,omitempty"`
	} `json:"fields,omitempty"`
}

// CommandSet is one bulk overwrite of application commands.
type CommandSet struct {
	GuildID  string            // empty for global commands
	Commands []json.RawMessage // as sent
}

// Server is a Discord-compatible server on 127.0.0.1.
type Server struct {
	// AppID is the application id (also the bot user id), given in READY.
	AppID string
	// Token is the bot token REST calls must carry as "Bot <Token>".
	Token string
	// GuildID and ChannelID name the guild and text channel New creates.
	GuildID, ChannelID string
	// Timeout bounds every Wait method (default 10 s: generous for a loaded
	// CI machine running the race detector, still a bounded failure).
	Timeout time.Duration
	// HeartbeatInterval is sent in HELLO (default 45 s, as Discord).
	HeartbeatInterval time.Duration

	tb  TB
	srv *httptest.Server

	mu            sync.Mutex
	changed       chan struct{} // closed and replaced on every recorded change
	nextID        int64
	lastMessageID int64
	guilds        map[string]*Guild
	channels      map[string]*Channel

	commandSets   []CommandSet
	cmdIDs        map[string]string // command name -> id given at registration
	messages      []Message
	ms            messageState                   // message creates: faults, nonces, rate limits
	cbFaults      []Fault                        // for interaction callbacks
	interactions  map[string]*pendingInteraction // by interaction id
	tokens        map[string]*pendingInteraction // by token
	uploads       map[string]*uploaded           // members' files, by attachment id
	requests      []string                       // "METHOD path" of every REST call
	unknownRoutes []string
	dm            dmState

	gw gateway // guarded by mu
}

// TB is what the server needs of a test: *testing.T and *testing.B
// satisfy it. A failed wait calls Fatalf.
type TB interface {
	Helper()
	Logf(format string, args ...any)
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// New starts a server on a free loopback port and stops it when the test
// ends. It has one guild with one text channel (GuildID, ChannelID) and a
// role "digest-admins".
func New(tb TB) *Server {
	tb.Helper()
	s := newServer(tb)
	s.srv = httptest.NewServer(s.routes())
	tb.Cleanup(s.Close)
	return s
}

// Listen starts a server on addr (for example "127.0.0.1:8099") outside a
// test, for trying the bot by hand; logf receives its log. The control
// API under /_discordtest/ drives it (see the fakediscord command). Close
// stops it.
func Listen(addr string, logf func(format string, args ...any)) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	s := newServer(processTB{logf: logf})
	s.Timeout = 30 * time.Second
	s.srv = httptest.NewUnstartedServer(s.routes())
	_ = s.srv.Listener.Close()
	s.srv.Listener = ln
	s.srv.Start()
	return s, nil
}

func newServer(tb TB) *Server {
	s := &Server{
		AppID:             "1100000000000000001",
		Token:             DefaultToken,
		Timeout:           10 * time.Second,
		HeartbeatInterval: 45 * time.Second,
		tb:                tb,
		changed:           make(chan struct{}),
		nextID:            1200000000000000000,
		guilds:            map[string]*Guild{},
		channels:          map[string]*Channel{},
		cmdIDs:            map[string]string{},
		interactions:      map[string]*pendingInteraction{},
		tokens:            map[string]*pendingInteraction{},
	}
	s.gw.sessions = map[string]*gwSession{}
	s.gw.conns = map[*gwConn]bool{}
	s.GuildID = s.AddGuild("Test Guild")
	s.ChannelID = s.AddChannel(s.GuildID, "general")
	s.AddRole(s.GuildID, "digest-admins")
	return s
}

// processTB is the TB of a server outside a test: it logs, and a fatal
// error panics with controlError, which the control API turns into an
// HTTP error.
type processTB struct{ logf func(string, ...any) }

type controlError string

func (p processTB) Helper()                        {}
func (p processTB) Cleanup(func())                 {}
func (p processTB) Logf(format string, a ...any)   { p.logf(format, a...) }
func (p processTB) Errorf(format string, a ...any) { p.logf(format, a...) }
func (p processTB) Fatalf(format string, a ...any) {
	p.logf(format, a...)
	panic(controlError(fmt.Sprintf(format, a...)))
}

// URL is the base URL that replaces https://discord.com.
func (s *Server) URL() string { return s.srv.URL }

// Close drops every gateway connection and stops the server.
func (s *Server) Close() {
	s.closeGateway()
	s.srv.Close()
}

// ID returns a fresh snowflake-shaped id.
func (s *Server) ID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.newIDLocked()
}

// discordEpoch is the start of Discord's snowflakes (2015-01-01, in ms).
const discordEpoch = 1420070400000

// newMessageIDLocked returns a snowflake for a message: its upper bits are
// the creation time, as Discord's are, so that a client may page a
// channel's history by time; increasing within this server.
func (s *Server) newMessageIDLocked(at time.Time) string {
	id := (at.UnixMilli() - discordEpoch) << 22
	if id <= s.lastMessageID {
		id = s.lastMessageID + 1
	}
	s.lastMessageID = id
	return strconv.FormatInt(id, 10)
}

func (s *Server) newIDLocked() string {
	s.nextID++
	return strconv.FormatInt(s.nextID, 10)
}

// AddGuild adds a guild the bot is a member of and returns its id. Guilds
// added after the bot connected are announced with GUILD_CREATE.
func (s *Server) AddGuild(name string) string { return s.AddGuildWithID(s.ID(), name) }

// AddGuildWithID is AddGuild with a given id, for replayed payloads that
// name their own guild.
func (s *Server) AddGuildWithID(id, name string) string {
	s.mu.Lock()
	s.guilds[id] = &Guild{ID: id, Name: name, Roles: map[string]string{id: "@everyone"}}
	s.mu.Unlock()
	s.dispatchGuild(id, "GUILD_CREATE", s.guildPayload(id))
	return id
}

// AddChannel adds a text channel to a guild and returns its id.
func (s *Server) AddChannel(guildID, name string) string {
	return s.AddChannelWithID(guildID, s.ID(), name)
}

// AddChannelWithID is AddChannel with a given id. A connected bot hears
// of it by CHANNEL_CREATE.
func (s *Server) AddChannelWithID(guildID, id, name string) string {
	return s.addChannel(&Channel{ID: id, GuildID: guildID, Name: name})
}

func (s *Server) addChannel(c *Channel) string {
	id, guildID := c.ID, c.GuildID
	s.mu.Lock()
	s.channels[id] = c
	payload := s.channelJSON(c)
	s.mu.Unlock()
	s.dispatchGuild(guildID, "CHANNEL_CREATE", payload)
	return id
}

// AddRole adds a role to a guild and returns its id.
func (s *Server) AddRole(guildID, name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.newIDLocked()
	if g := s.guilds[guildID]; g != nil {
		g.Roles[id] = name
	}
	return id
}

// RoleID returns the id of a guild's role by name, or "".
func (s *Server) RoleID(guildID, name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g := s.guilds[guildID]; g != nil {
		for id, n := range g.Roles {
			if n == name {
				return id
			}
		}
	}
	return ""
}

// RemoveGuild removes the bot from a guild: its channels are gone and the
// gateway sends GUILD_DELETE without "unavailable", as Discord does when a
// bot is kicked.
func (s *Server) RemoveGuild(guildID string) {
	s.mu.Lock()
	delete(s.guilds, guildID)
	for id, c := range s.channels {
		if c.GuildID == guildID {
			delete(s.channels, id)
		}
	}
	s.mu.Unlock()
	s.dispatchGuild(guildID, "GUILD_DELETE", map[string]any{"id": guildID})
}

// GuildOutage announces a guild as unavailable (GUILD_DELETE with
// "unavailable": true), which must not be taken for a leave.
func (s *Server) GuildOutage(guildID string) {
	s.dispatchGuild(guildID, "GUILD_DELETE", map[string]any{"id": guildID, "unavailable": true})
}

// FailCallbacks makes the next n interaction callbacks answer with f
// (Commit is ignored: a failed callback acknowledges nothing).
func (s *Server) FailCallbacks(n int, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.cbFaults = append(s.cbFaults, f)
	}
}

// CommandSets returns every bulk overwrite received, oldest first.
func (s *Server) CommandSets() []CommandSet {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]CommandSet(nil), s.commandSets...)
}

// WaitCommands waits for a bulk overwrite on guildID ("" = global) and
// returns the commands of the latest one.
func (s *Server) WaitCommands(guildID string) []json.RawMessage {
	s.tb.Helper()
	var out []json.RawMessage
	s.waitFor("commands registered on "+scopeName(guildID), func() bool {
		for i := len(s.commandSets) - 1; i >= 0; i-- {
			if s.commandSets[i].GuildID == guildID {
				out = s.commandSets[i].Commands
				return true
			}
		}
		return false
	})
	return out
}

func scopeName(guildID string) string {
	if guildID == "" {
		return "the application (global)"
	}
	return "guild " + guildID
}

// Requests returns "METHOD path" for every REST call received.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

// notifyLocked wakes every waiter; s.mu must be held.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// waitFor polls cond (called with s.mu held) on every change until it holds
// or Timeout passes, then fails the test.
func (s *Server) waitFor(what string, cond func() bool, detail ...func() string) {
	s.tb.Helper()
	deadline := time.NewTimer(s.Timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		ok := cond()
		ch := s.changed
		s.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			extra := ""
			for _, d := range detail {
				s.mu.Lock()
				extra += "; " + d()
				s.mu.Unlock()
			}
			s.tb.Fatalf("discordtest: timed out after %v waiting for %s%s", s.Timeout, what, extra)
			return
		}
	}
}

// ---- REST ----

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v9/gateway", s.auth(s.getGateway))
	mux.HandleFunc("GET /api/v9/gateway/bot", s.auth(s.getGateway))
	mux.HandleFunc("GET /api/v9/users/@me", s.auth(s.getMe))
	mux.HandleFunc("POST /api/v9/users/@me/channels", s.auth(s.openDM))
	mux.HandleFunc("PUT /api/v9/applications/{app}/commands", s.auth(s.putCommands))
	mux.HandleFunc("PUT /api/v9/applications/{app}/guilds/{guild}/commands", s.auth(s.putCommands))
	mux.HandleFunc("GET /api/v9/channels/{id}", s.auth(s.getChannel))
	mux.HandleFunc("POST /api/v9/channels/{id}/messages", s.auth(s.createMessage))
	mux.HandleFunc("GET /api/v9/channels/{id}/messages", s.auth(s.listMessages))
	mux.HandleFunc("PATCH /api/v9/channels/{id}/messages/{msg}", s.auth(s.editMessage))
	mux.HandleFunc("POST /api/v9/channels/{id}/messages/{msg}/threads", s.auth(s.startThread))
	mux.HandleFunc("POST /api/v9/channels/{id}/threads", s.auth(s.startForumPost))
	mux.HandleFunc("GET /api/v9/guilds/{id}/threads/active", s.auth(s.activeThreads))
	mux.HandleFunc("GET /api/v9/channels/{id}/threads/archived/public", s.auth(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"threads": []any{}, "members": []any{}, "has_more": false})
	}))
	mux.HandleFunc("GET /api/v9/guilds/{id}/roles", s.auth(s.getRoles))
	mux.HandleFunc("GET /api/v9/guilds/{id}/members/{user}", s.auth(s.getMember))
	mux.HandleFunc("POST /api/v9/interactions/{id}/{token}/callback", s.interactionCallback)
	mux.HandleFunc("PATCH /api/v9/webhooks/{app}/{token}/messages/{msg}", s.webhookEdit)
	mux.HandleFunc("DELETE /api/v9/webhooks/{app}/{token}/messages/{msg}", s.webhookDelete)
	mux.HandleFunc("POST /api/v9/webhooks/{app}/{token}", s.webhookFollowup)
	mux.HandleFunc("GET /ephemeral-attachments/{app}/{id}/{name}", s.serveUpload)
	s.controlRoutes(mux)
	mux.HandleFunc("GET /gw", s.gatewayWS)
	mux.HandleFunc("GET /gw/", s.gatewayWS) // discordgo adds a slash
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.unknownRoutes = append(s.unknownRoutes, r.Method+" "+r.URL.Path)
		s.mu.Unlock()
		s.tb.Logf("discordtest: no route for %s %s", r.Method, r.URL.Path)
		writeError(w, http.StatusNotFound, 0, "404: Not Found")
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/") {
			s.mu.Lock()
			s.requests = append(s.requests, r.Method+" "+r.URL.Path)
			limited := s.globalLimited(w, r)
			s.mu.Unlock()
			if limited {
				return
			}
		}
		mux.ServeHTTP(w, r)
	})
}

// auth refuses calls without the bot token, as Discord does.
func (s *Server) auth(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		tok := s.Token
		s.mu.Unlock()
		if r.Header.Get("Authorization") != "Bot "+tok {
			writeError(w, http.StatusUnauthorized, 0, "401: Unauthorized")
			return
		}
		h(w, r)
	}
}

// writeError writes Discord's JSON error shape.
func writeError(w http.ResponseWriter, status, code int, msg string) {
	writeJSON(w, status, map[string]any{"message": msg, "code": code})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) getGateway(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"url":    s.wsURL(),
		"shards": 1,
		"session_start_limit": map[string]int{
			"total": 1000, "remaining": 999, "reset_after": 14400000, "max_concurrency": 1,
		},
	})
}

func (s *Server) wsURL() string { return "ws" + strings.TrimPrefix(s.srv.URL, "http") + "/gw" }

func (s *Server) botUser() map[string]any {
	return map[string]any{"id": s.AppID, "username": "digestbot", "discriminator": "0", "bot": true}
}

func (s *Server) getMe(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.botUser())
}

func (s *Server) putCommands(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("app") != s.AppID {
		writeError(w, http.StatusForbidden, 50001, "Missing Access")
		return
	}
	var cmds []json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&cmds); err != nil {
		writeError(w, http.StatusBadRequest, 50109, "The request body contains invalid JSON.")
		return
	}
	guildID := r.PathValue("guild")
	s.mu.Lock()
	if guildID != "" && s.guilds[guildID] == nil {
		s.mu.Unlock()
		writeError(w, http.StatusForbidden, 50001, "Missing Access")
		return
	}
	out := make([]map[string]any, 0, len(cmds))
	for _, c := range cmds {
		var m map[string]any
		if err := json.Unmarshal(c, &m); err != nil {
			s.mu.Unlock()
			writeError(w, http.StatusBadRequest, 50035, "Invalid Form Body")
			return
		}
		m["id"] = s.newIDLocked()
		if name, ok := m["name"].(string); ok {
			s.cmdIDs[name] = m["id"].(string)
		}
		m["application_id"] = s.AppID
		m["version"] = s.newIDLocked()
		if guildID != "" {
			m["guild_id"] = guildID
		}
		out = append(out, m)
	}
	s.commandSets = append(s.commandSets, CommandSet{GuildID: guildID, Commands: cmds})
	s.notifyLocked()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) channelJSON(c *Channel) map[string]any {
	if c.Type == ChannelDM {
		return dmChannelJSON(c)
	}
	out := map[string]any{"id": c.ID, "type": c.Type, "guild_id": c.GuildID, "name": c.Name, "position": 0}
	if c.ParentID != "" {
		out["parent_id"] = c.ParentID
	}
	return out
}

func (s *Server) getChannel(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	c := s.channels[r.PathValue("id")]
	s.mu.Unlock()
	if c == nil {
		writeError(w, http.StatusNotFound, 10003, "Unknown Channel")
		return
	}
	writeJSON(w, http.StatusOK, s.channelJSON(c))
}

func (s *Server) getRoles(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.guilds[r.PathValue("id")]
	if g == nil {
		writeError(w, http.StatusNotFound, 10004, "Unknown Guild")
		return
	}
	writeJSON(w, http.StatusOK, rolesJSON(g))
}

func rolesJSON(g *Guild) []map[string]any {
	out := []map[string]any{}
	for id, name := range g.Roles {
		out = append(out, map[string]any{"id": id, "name": name, "permissions": "0", "position": 0})
	}
	return out
}

func readBody(r *http.Request) ([]byte, error) {
	defer r.Body.Close()
	return io.ReadAll(io.LimitReader(r.Body, 1<<20))
}

// readJSON decodes a request's JSON body into v.
func readJSON(r *http.Request, v any) error {
	raw, err := readBody(r)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, v)
}

// upgrader accepts the gateway websocket from any origin (loopback only).
var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

package discordtest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Identify is a recorded op 2 IDENTIFY.
type Identify struct {
	Token   string
	Intents int
	Shard   [2]int // [id, count]; [0, 1] when the client sent none
	Raw     json.RawMessage
}

// Resume is a recorded op 6 RESUME.
type Resume struct {
	Token     string
	SessionID string
	Seq       int64
	Accepted  bool // false: the server answered INVALID_SESSION
}

// gateway is the websocket side of the server; its fields are guarded by Server.mu.
type gateway struct {
	conns      map[*gwConn]bool
	sessions   map[string]*gwSession
	identifies []Identify
	resumes    []Resume
	rejectNext bool // the next RESUME gets INVALID_SESSION
	heartbeats int
}

// gwSession is a gateway session: it outlives a connection so a client can
// resume it and get the events it missed.
type gwSession struct {
	id     string
	token  string
	shard  [2]int
	sendMu sync.Mutex // orders seq assignment with writes
	seq    int64
	events []frame // every dispatch, for replay on RESUME
	conn   *gwConn // the live connection, or nil while disconnected
}

type frame struct {
	Op   int             `json:"op"`
	D    json.RawMessage `json:"d"`
	S    *int64          `json:"s"`
	Type *string         `json:"t"`
}

type gwConn struct {
	ws  *websocket.Conn
	wmu sync.Mutex
}

func (c *gwConn) write(v any) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return c.ws.WriteJSON(v)
}

func (s *Server) gatewayWS(w http.ResponseWriter, r *http.Request) {
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &gwConn{ws: ws}
	s.mu.Lock()
	s.gw.conns[c] = true
	s.notifyLocked()
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.gw.conns, c)
		for _, sess := range s.gw.sessions {
			if sess.conn == c {
				sess.conn = nil
			}
		}
		s.notifyLocked()
		s.mu.Unlock()
		_ = ws.Close()
	}()

	if err := c.write(map[string]any{"op": 10, "d": map[string]any{"heartbeat_interval": s.HeartbeatInterval.Milliseconds()}, "s": nil, "t": nil}); err != nil {
		return
	}
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			return
		}
		var f frame
		if err := json.Unmarshal(data, &f); err != nil {
			_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(4002, "Error while decoding payload."), time.Now().Add(time.Second))
			return
		}
		switch f.Op {
		case 1: // heartbeat
			s.mu.Lock()
			s.gw.heartbeats++
			s.notifyLocked()
			s.mu.Unlock()
			if err := c.write(map[string]any{"op": 11, "d": nil, "s": nil, "t": nil}); err != nil {
				return
			}
		case 2:
			if !s.identify(c, f.D) {
				return
			}
		case 6:
			s.resume(c, f.D)
		}
	}
}

func (s *Server) tokenOK(tok string) bool {
	return strings.TrimPrefix(tok, "Bot ") == s.Token
}

func (s *Server) identify(c *gwConn, d json.RawMessage) bool {
	var id struct {
		Token   string `json:"token"`
		Intents int    `json:"intents"`
		Shard   *[2]int
	}
	_ = json.Unmarshal(d, &id)
	rec := Identify{Token: id.Token, Intents: id.Intents, Shard: [2]int{0, 1}, Raw: d}
	if id.Shard != nil {
		rec.Shard = *id.Shard
	}
	s.mu.Lock()
	s.gw.identifies = append(s.gw.identifies, rec)
	s.notifyLocked()
	ok := s.tokenOK(id.Token)
	s.mu.Unlock()
	if !ok {
		_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(4004, "Authentication failed."), time.Now().Add(time.Second))
		return false
	}
	sess := &gwSession{id: randomHex(16), token: id.Token, shard: rec.Shard, conn: c}
	s.mu.Lock()
	s.gw.sessions[sess.id] = sess
	var guilds []map[string]any
	var ids []string
	for gid := range s.guilds {
		if shardOf(gid, sess.shard[1]) == sess.shard[0] {
			guilds = append(guilds, map[string]any{"id": gid, "unavailable": true})
			ids = append(ids, gid)
		}
	}
	s.mu.Unlock()
	s.dispatch(sess, "READY", map[string]any{
		"v":                  9,
		"user":               s.botUser(),
		"guilds":             guilds,
		"session_id":         sess.id,
		"resume_gateway_url": s.wsURL(),
		"shard":              sess.shard,
		"application":        map[string]any{"id": s.AppID, "flags": 0},
		"private_channels":   []any{},
	})
	for _, gid := range ids {
		if p := s.guildPayload(gid); p != nil {
			s.dispatch(sess, "GUILD_CREATE", p)
		}
	}
	return true
}

func (s *Server) resume(c *gwConn, d json.RawMessage) {
	var rp struct {
		Token     string `json:"token"`
		SessionID string `json:"session_id"`
		Seq       int64  `json:"seq"`
	}
	_ = json.Unmarshal(d, &rp)
	s.mu.Lock()
	sess := s.gw.sessions[rp.SessionID]
	ok := sess != nil && s.tokenOK(rp.Token) && !s.gw.rejectNext
	s.gw.rejectNext = false
	if !ok && sess != nil {
		delete(s.gw.sessions, rp.SessionID) // an invalid session is gone for good
	}
	s.gw.resumes = append(s.gw.resumes, Resume{Token: rp.Token, SessionID: rp.SessionID, Seq: rp.Seq, Accepted: ok})
	s.notifyLocked()
	s.mu.Unlock()
	if !ok {
		// d=false: the session cannot be resumed; the client must IDENTIFY.
		_ = c.write(map[string]any{"op": 9, "d": false, "s": nil, "t": nil})
		return
	}
	sess.sendMu.Lock()
	s.mu.Lock()
	sess.conn = c
	var missed []frame
	for _, f := range sess.events {
		if *f.S > rp.Seq {
			missed = append(missed, f)
		}
	}
	s.mu.Unlock()
	for _, f := range missed {
		if c.write(f) != nil {
			break
		}
	}
	sess.sendMu.Unlock()
	s.dispatch(sess, "RESUMED", map[string]any{})
}

// dispatch sends an op 0 event on a session; while the session has no
// connection the event is only kept for replay.
func (s *Server) dispatch(sess *gwSession, t string, d any) {
	raw, err := json.Marshal(d)
	if err != nil {
		s.tb.Errorf("discordtest: encode %s: %v", t, err)
		return
	}
	sess.sendMu.Lock()
	defer sess.sendMu.Unlock()
	s.mu.Lock()
	sess.seq++
	seq := sess.seq
	f := frame{Op: 0, D: raw, S: &seq, Type: &t}
	sess.events = append(sess.events, f)
	c := sess.conn
	s.mu.Unlock()
	if c != nil {
		_ = c.write(f)
	}
}

// dispatchGuild sends an event to every session whose shard holds the guild.
func (s *Server) dispatchGuild(guildID, t string, d any) int {
	if d == nil {
		return 0
	}
	s.mu.Lock()
	var targets []*gwSession
	for _, sess := range s.gw.sessions {
		if shardOf(guildID, sess.shard[1]) == sess.shard[0] {
			targets = append(targets, sess)
		}
	}
	s.mu.Unlock()
	for _, sess := range targets {
		s.dispatch(sess, t, d)
	}
	return len(targets)
}

// shardOf is Discord's sharding formula: (guild_id >> 22) % num_shards.
func shardOf(guildID string, count int) int {
	if count <= 1 {
		return 0
	}
	id, _ := strconv.ParseUint(guildID, 10, 64)
	return int((id >> 22) % uint64(count))
}

// ShardOf returns the shard that holds a guild among count shards.
func ShardOf(guildID string, count int) int { return shardOf(guildID, count) }

func (s *Server) guildPayload(guildID string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.guilds[guildID]
	if g == nil {
		return nil
	}
	channels := []map[string]any{}
	for _, c := range s.channels {
		if c.GuildID == guildID {
			channels = append(channels, s.channelJSON(c))
		}
	}
	return map[string]any{
		"id": g.ID, "name": g.Name, "unavailable": false, "owner_id": "1", "member_count": 3,
		"roles": rolesJSON(g), "channels": channels, "members": []any{}, "threads": []any{},
		"joined_at": "2021-03-20T08:00:00+00:00",
	}
}

func (s *Server) closeGateway() {
	s.mu.Lock()
	conns := make([]*gwConn, 0, len(s.gw.conns))
	for c := range s.gw.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.ws.Close()
	}
}

// DropConnection cuts every gateway connection without a close frame, as a
// network failure would. Sessions stay resumable.
func (s *Server) DropConnection() { s.closeGateway() }

// RejectNextResume makes the next RESUME fail with INVALID_SESSION, so the
// client has to IDENTIFY again.
func (s *Server) RejectNextResume() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gw.rejectNext = true
}

// Connections returns the number of open gateway connections.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.gw.conns)
}

// WaitIdentify waits for at least n IDENTIFY payloads and returns them all.
func (s *Server) WaitIdentify(n int) []Identify {
	s.tb.Helper()
	var out []Identify
	s.waitFor(strconv.Itoa(n)+" IDENTIFY", func() bool {
		out = append([]Identify(nil), s.gw.identifies...)
		return len(out) >= n
	}, s.gatewayStateLocked)
	return out
}

// WaitResume waits for at least n RESUME payloads and returns them all.
func (s *Server) WaitResume(n int) []Resume {
	s.tb.Helper()
	var out []Resume
	s.waitFor(strconv.Itoa(n)+" RESUME", func() bool {
		out = append([]Resume(nil), s.gw.resumes...)
		return len(out) >= n
	}, s.gatewayStateLocked)
	return out
}

// WaitHeartbeats waits until at least n heartbeats arrived in all. A
// client's first heartbeat shows its connection is fully set up: dropping
// it earlier makes discordgo's heartbeat and reader goroutines both
// reconnect, which real Discord would see too, but tests want one path.
func (s *Server) WaitHeartbeats(n int) {
	s.tb.Helper()
	s.waitFor(strconv.Itoa(n)+" heartbeats", func() bool { return s.gw.heartbeats >= n }, s.gatewayStateLocked)
}

// gatewayStateLocked describes the gateway for a failure message.
func (s *Server) gatewayStateLocked() string {
	var b strings.Builder
	fmt.Fprintf(&b, "gateway: %d connections, %d IDENTIFY, %d RESUME, %d heartbeats; sessions:", len(s.gw.conns), len(s.gw.identifies), len(s.gw.resumes), s.gw.heartbeats)
	for id, sess := range s.gw.sessions {
		fmt.Fprintf(&b, " %s(seq %d, live %v)", id[:6], sess.seq, sess.conn != nil)
	}
	for _, r := range s.gw.resumes {
		fmt.Fprintf(&b, " resume(%s, seq %d, accepted %v)", r.SessionID[:min(6, len(r.SessionID))], r.Seq, r.Accepted)
	}
	return b.String()
}

// WaitConnections waits until exactly n gateway connections are open and
// have a session (identified or resumed).
func (s *Server) WaitConnections(n int) {
	s.tb.Helper()
	s.waitFor(strconv.Itoa(n)+" live gateway sessions", func() bool {
		live := 0
		for _, sess := range s.gw.sessions {
			if sess.conn != nil {
				live++
			}
		}
		return live == n && len(s.gw.conns) == n
	}, s.gatewayStateLocked)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

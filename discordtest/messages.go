package discordtest

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Discord's behaviour around message creates that the bot must survive,
// modelled here so that green tests mean something:
//
//   - A nonce with enforce_nonce de-duplicates a create only for a few
//     minutes (NonceTTL); after that the same nonce posts a second copy.
//   - Answers can be lost after the message was stored (Fault.Commit with an
//     error status, Fault.Hang, Fault.Reset), so a bot that retries blindly
//     duplicates.
//   - Rate limits are enforced (SetLimits): the global limit per bot and the
//     per-channel bucket of message creates, with Discord's headers and 429
//     bodies. A 429 the bot caused by exceeding a limit is counted apart
//     from an injected one (Stats).
//   - Bodies that break Discord's limits are refused with 400 / 50035.

// DefaultNonceTTL is how long the server remembers a nonce. Discord keeps
// nonces "for a few minutes"; the bot must not rely on more than two.
const DefaultNonceTTL = 2 * time.Minute

// Fault is what a message create answers instead of success.
type Fault struct {
	Status     int           // 429, 500, 400, 403, 404, ...; 0 with Hang or Reset
	RetryAfter time.Duration // for 429: the body's retry_after and the headers
	// Commit creates the message although the answer is an error or lost:
	// the crash-between-post-and-acknowledgement case.
	Commit bool
	// Hang holds the answer back this long (or until the client gives up)
	// before sending it; with Commit the message is stored first.
	Hang time.Duration
	// Reset closes the connection without an answer.
	Reset bool
}

// Limits are the rate limits the server enforces; zero values disable one.
type Limits struct {
	Global           int           // requests per second of the bot, interactions excepted (Discord: 50)
	PerChannel       int           // message creates per window in one channel (Discord: 5)
	PerChannelWindow time.Duration // default 5 s
}

// DiscordLimits are the limits Discord applies to a bot's message creates.
var DiscordLimits = Limits{Global: 50, PerChannel: 5, PerChannelWindow: 5 * time.Second}

// Chaos injects faults at random into message creates, on top of the
// faults queued by FailMessages. Each field is a probability in [0, 1].
type Chaos struct {
	Seed      uint64
	Status5xx float64 // 500, 502 or 503; half of them after storing the message
	RateLimit float64 // an injected 429 (counted as injected, not exceeded)
	Reset     float64 // the connection is closed; half of them after storing
	Hang      float64 // stored, then the answer is held back for HangFor
	HangFor   time.Duration
}

// Stats counts message creates.
type Stats struct {
	Attempts        int // create requests that reached the server
	Created         int // messages stored
	Deduplicated    int // creates answered with an earlier message (nonce)
	Exceeded429     int // 429s because the bot exceeded a limit (should be 0)
	ExceededGlobal  int // of those, the global limit
	Injected429     int // 429s injected by a fault
	InvalidBodies   int // 400s for a body that breaks Discord's limits
	InjectedFaults  int // faults answered (any kind)
	ForbiddenOrGone int // 403/404 for the channel
	Hung            int // answers held back
}

// HangInfo describes a create whose answer is being held back.
type HangInfo struct {
	ChannelID string
	Nonce     string
	UserAgent string // the caller's User-Agent (the bot names its process there)
	MessageID string // stored message, "" when not stored
}

type nonceEntry struct {
	id string
	at time.Time
}

type bucket struct {
	count int
	reset time.Time
}

// messageState is the server's state for message creates, guarded by s.mu.
type messageState struct {
	nonceTTL  time.Duration
	nonces    map[string]nonceEntry // channel id + nonce -> message
	faults    []Fault
	chaos     *Chaos
	rng       *rand.Rand
	limits    Limits
	global    []time.Time // request times in the last second
	buckets   map[string]*bucket
	forbidden map[string]bool
	reject    []string // body substrings answered by 400
	stats     Stats
	onHang    func(HangInfo)
}

func (m *messageState) init() {
	if m.nonces == nil {
		m.nonces = map[string]nonceEntry{}
		m.buckets = map[string]*bucket{}
		m.forbidden = map[string]bool{}
		m.nonceTTL = DefaultNonceTTL
	}
}

// SetNonceTTL sets how long a nonce de-duplicates creates (tests use seconds).
func (s *Server) SetNonceTTL(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ms.init()
	s.ms.nonceTTL = d
}

// SetLimits makes the server enforce rate limits (DiscordLimits for
// Discord's own).
func (s *Server) SetLimits(l Limits) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ms.init()
	if l.PerChannelWindow <= 0 {
		l.PerChannelWindow = 5 * time.Second
	}
	s.ms.limits = l
}

// SetChaos injects random faults into message creates; nil stops it.
func (s *Server) SetChaos(c *Chaos) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ms.init()
	s.ms.chaos = c
	if c != nil {
		s.ms.rng = rand.New(rand.NewPCG(c.Seed, c.Seed^0x9e3779b97f4a7c15))
		if c.HangFor <= 0 {
			c.HangFor = time.Minute
		}
	}
}

// OnHang is called (without the server's lock) each time an answer starts
// being held back, while the caller still waits for it.
func (s *Server) OnHang(f func(HangInfo)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ms.onHang = f
}

// FailMessages makes the next n message creates (any channel) answer with f.
func (s *Server) FailMessages(n int, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.ms.faults = append(s.ms.faults, f)
	}
}

// RejectBodiesContaining makes every create whose body contains sub fail
// with 400 Invalid Form Body, as Discord does for content it will not take.
func (s *Server) RejectBodiesContaining(sub string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ms.reject = append(s.ms.reject, sub)
}

// ForbidChannel makes posting and reading in a channel answer 403 Missing
// Access (false lifts it).
func (s *Server) ForbidChannel(channelID string, forbidden bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ms.init()
	s.ms.forbidden[channelID] = forbidden
}

// DeleteChannel deletes a channel: it answers 404 Unknown Channel from now on.
func (s *Server) DeleteChannel(channelID string) {
	s.mu.Lock()
	c := s.channels[channelID]
	delete(s.channels, channelID)
	s.mu.Unlock()
	if c != nil {
		s.dispatchGuild(c.GuildID, "CHANNEL_DELETE", s.channelJSON(c))
	}
}

// SetToken changes the bot token the server accepts (a reset in the
// developer portal): calls with the old one get 401.
func (s *Server) SetToken(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Token = tok
}

// Stats returns the message create counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ms.stats
}

// Messages returns the messages created in a channel, oldest first.
func (s *Server) Messages(channelID string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.messages {
		if m.ChannelID == channelID {
			out = append(out, m)
		}
	}
	return out
}

// AllMessages returns every message created, oldest first.
func (s *Server) AllMessages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.messages)
}

// MessageAttempts returns how many message create requests arrived,
// failed ones included.
func (s *Server) MessageAttempts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ms.stats.Attempts
}

// WaitMessages waits until a channel holds at least n messages and returns them.
func (s *Server) WaitMessages(channelID string, n int) []Message {
	s.tb.Helper()
	var out []Message
	s.waitFor(fmt.Sprintf("%d messages in channel %s", n, channelID), func() bool {
		out = nil
		for _, m := range s.messages {
			if m.ChannelID == channelID {
				out = append(out, m)
			}
		}
		return len(out) >= n
	})
	return out
}

// interactionRoute reports whether a path is exempt from the global limit
// (Discord: interaction endpoints are not bound to it).
func interactionRoute(path string) bool {
	return strings.Contains(path, "/interactions/") || strings.Contains(path, "/webhooks/")
}

// globalLimited applies the global limit to a REST call; s.mu held. It
// answers the 429 itself and returns true when the call is over the limit.
func (s *Server) globalLimited(w http.ResponseWriter, r *http.Request) bool {
	s.ms.init()
	l := s.ms.limits.Global
	if l <= 0 || interactionRoute(r.URL.Path) {
		return false
	}
	now := time.Now()
	cut := 0
	for cut < len(s.ms.global) && now.Sub(s.ms.global[cut]) >= time.Second {
		cut++
	}
	s.ms.global = s.ms.global[cut:]
	if len(s.ms.global) >= l {
		wait := time.Second - now.Sub(s.ms.global[0])
		s.ms.stats.Exceeded429++
		s.ms.stats.ExceededGlobal++
		s.notifyLocked()
		h := w.Header()
		h.Set("X-RateLimit-Global", "true")
		h.Set("X-RateLimit-Scope", "global")
		h.Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		writeJSON(w, http.StatusTooManyRequests, map[string]any{
			"message": "You are being rate limited.", "retry_after": wait.Seconds(), "global": true, "code": 0,
		})
		return true
	}
	s.ms.global = append(s.ms.global, now)
	return false
}

// channelBucket applies the per-channel bucket of message creates; s.mu
// held. It sets the rate-limit headers, and answers the 429 itself (true)
// when the bucket is empty.
func (s *Server) channelBucket(w http.ResponseWriter, channelID string) bool {
	l := s.ms.limits
	if l.PerChannel <= 0 {
		return false
	}
	now := time.Now()
	b := s.ms.buckets[channelID]
	if b == nil || !now.Before(b.reset) {
		b = &bucket{reset: now.Add(l.PerChannelWindow)}
		s.ms.buckets[channelID] = b
	}
	resetAfter := b.reset.Sub(now)
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(l.PerChannel))
	h.Set("X-RateLimit-Reset-After", strconv.FormatFloat(resetAfter.Seconds(), 'f', 3, 64))
	h.Set("X-RateLimit-Reset", strconv.FormatFloat(float64(b.reset.UnixMilli())/1000, 'f', 3, 64))
	h.Set("X-RateLimit-Bucket", "channel-messages-create")
	if b.count >= l.PerChannel {
		s.ms.stats.Exceeded429++
		s.notifyLocked()
		h.Set("X-RateLimit-Remaining", "0")
		h.Set("X-RateLimit-Scope", "user")
		h.Set("Retry-After", strconv.Itoa(int(math.Ceil(resetAfter.Seconds()))))
		writeJSON(w, http.StatusTooManyRequests, map[string]any{
			"message": "You are being rate limited.", "retry_after": resetAfter.Seconds(), "global": false, "code": 0,
		})
		return true
	}
	b.count++
	h.Set("X-RateLimit-Remaining", strconv.Itoa(l.PerChannel-b.count))
	return false
}

// nextFault returns the fault for this create, queued or random; s.mu held.
func (s *Server) nextFault() *Fault {
	if len(s.ms.faults) > 0 {
		f := s.ms.faults[0]
		s.ms.faults = s.ms.faults[1:]
		return &f
	}
	c := s.ms.chaos
	if c == nil {
		return nil
	}
	r := s.ms.rng
	switch x := r.Float64(); {
	case x < c.Status5xx:
		return &Fault{Status: []int{500, 502, 503}[r.IntN(3)], Commit: r.IntN(2) == 0}
	case x < c.Status5xx+c.RateLimit:
		return &Fault{Status: http.StatusTooManyRequests, RetryAfter: time.Duration(50+r.IntN(450)) * time.Millisecond}
	case x < c.Status5xx+c.RateLimit+c.Reset:
		return &Fault{Reset: true, Commit: r.IntN(2) == 0}
	case x < c.Status5xx+c.RateLimit+c.Reset+c.Hang:
		return &Fault{Hang: c.HangFor, Commit: true}
	}
	return nil
}

// createBody is a message create as the server reads it.
type createBody struct {
	Content      string          `json:"content"`
	Embeds       []Embed         `json:"embeds"`
	Components   json.RawMessage `json:"components"`
	Nonce        any             `json:"nonce"`
	EnforceNonce bool            `json:"enforce_nonce"`
	Flags        int             `json:"flags"`
}

func (s *Server) createMessage(w http.ResponseWriter, r *http.Request) {
	channelID := r.PathValue("id")
	var body createBody
	raw, err := readBody(r)
	if err == nil {
		err = json.Unmarshal(raw, &body)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, 50109, "The request body contains invalid JSON.")
		return
	}
	nonce := ""
	switch v := body.Nonce.(type) {
	case string:
		nonce = v
	case float64:
		nonce = strconv.FormatFloat(v, 'f', -1, 64)
	}

	s.mu.Lock()
	s.ms.init()
	s.ms.stats.Attempts++
	s.notifyLocked()
	if problem := checkBody(body, nonce, raw, s.ms.reject); problem != "" {
		s.ms.stats.InvalidBodies++
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, 50035, "Invalid Form Body ("+problem+")")
		return
	}
	c := s.channels[channelID]
	switch {
	case c == nil:
		s.ms.stats.ForbiddenOrGone++
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, 10003, "Unknown Channel")
		return
	case s.ms.forbidden[channelID]:
		s.ms.stats.ForbiddenOrGone++
		s.mu.Unlock()
		writeError(w, http.StatusForbidden, 50001, "Missing Access")
		return
	case s.dmRefused(c):
		s.ms.stats.ForbiddenOrGone++
		s.mu.Unlock()
		writeError(w, http.StatusForbidden, errCannotMessageUser, "Cannot send messages to this user")
		return
	}
	if s.channelBucket(w, channelID) {
		s.mu.Unlock()
		return
	}
	fault := s.nextFault()
	if fault != nil && fault.Status == http.StatusTooManyRequests {
		s.ms.stats.Injected429++
	}
	if fault != nil {
		s.ms.stats.InjectedFaults++
	}
	now := time.Now()
	key := channelID + "\x00" + nonce
	msg, dup := Message{}, false
	if nonce != "" && body.EnforceNonce {
		if e, ok := s.ms.nonces[key]; ok && now.Sub(e.at) < s.ms.nonceTTL {
			for _, m := range s.messages {
				if m.ID == e.id {
					msg, dup = m, true
				}
			}
		}
	}
	if dup {
		s.ms.stats.Deduplicated++
	}
	if !dup && (fault == nil || fault.Commit) {
		msg = Message{
			ID: s.newMessageIDLocked(now), ChannelID: channelID, Content: body.Content, Embeds: body.Embeds,
			Components: body.Components, Nonce: nonce, EnforceNonce: body.EnforceNonce, Flags: body.Flags, Raw: raw,
			CreatedAt: now,
		}
		s.messages = append(s.messages, msg)
		s.ms.stats.Created++
		if nonce != "" && body.EnforceNonce {
			s.ms.nonces[key] = nonceEntry{id: msg.ID, at: now}
		}
		s.notifyLocked()
	}
	author := s.botUser()
	var onHang func(HangInfo)
	if fault != nil && fault.Hang > 0 {
		s.ms.stats.Hung++
		onHang = s.ms.onHang
	}
	s.mu.Unlock()

	if fault == nil {
		writeJSON(w, http.StatusOK, messageJSON(msg, author, true))
		return
	}
	if fault.Hang > 0 {
		if onHang != nil {
			onHang(HangInfo{ChannelID: channelID, Nonce: nonce, UserAgent: r.UserAgent(), MessageID: msg.ID})
		}
		t := time.NewTimer(fault.Hang)
		defer t.Stop()
		select {
		case <-r.Context().Done():
			return
		case <-t.C:
		}
		if fault.Status == 0 {
			writeJSON(w, http.StatusOK, messageJSON(msg, author, true))
			return
		}
	}
	if fault.Reset {
		resetConn(w)
		return
	}
	writeFault(w, *fault)
}

// resetConn closes the client's connection without an answer.
func resetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

// checkBody applies Discord's limits on a message create; it returns what
// is wrong, as Discord's error names it, or "".
func checkBody(b createBody, nonce string, raw []byte, reject []string) string {
	chars := func(s string) int { return utf8.RuneCountInString(s) }
	switch {
	case len(nonce) > 25:
		return "nonce: Must be 25 or fewer in length."
	case b.Content == "" && len(b.Embeds) == 0 && len(b.Components) == 0:
		return "Cannot send an empty message"
	case chars(b.Content) > 2000:
		return "content: Must be 2000 or fewer in length."
	case len(b.Embeds) > 10:
		return "embeds: Must be 10 or fewer in length."
	}
	total := 0
	for i, e := range b.Embeds {
		n := chars(e.Title) + chars(e.Description)
		if e.Author != nil {
			n += chars(e.Author.Name)
		}
		if e.Footer != nil {
			n += chars(e.Footer.Text)
			if chars(e.Footer.Text) > 2048 {
				return fmt.Sprintf("embeds.%d.footer.text: Must be 2048 or fewer in length.", i)
			}
		}
		switch {
		case chars(e.Title) > 256:
			return fmt.Sprintf("embeds.%d.title: Must be 256 or fewer in length.", i)
		case chars(e.Description) > 4096:
			return fmt.Sprintf("embeds.%d.description: Must be 4096 or fewer in length.", i)
		case len(e.Fields) > 25:
			return fmt.Sprintf("embeds.%d.fields: Must be 25 or fewer in length.", i)
		case e.URL != "" && !wellFormedURL(e.URL):
			return fmt.Sprintf("embeds.%d.url: Not a well formed URL.", i)
		}
		for j, f := range e.Fields {
			if chars(f.Name) > 256 || chars(f.Value) > 1024 {
				return fmt.Sprintf("embeds.%d.fields.%d: Must be within limits.", i, j)
			}
			n += chars(f.Name) + chars(f.Value)
		}
		total += n
	}
	if total > 6000 {
		return "embeds: Embed size exceeds maximum size of 6000"
	}
	for _, sub := range reject {
		if strings.Contains(string(raw), sub) {
			return "content: refused"
		}
	}
	return ""
}

func wellFormedURL(u string) bool {
	p, err := url.Parse(u)
	return err == nil && (p.Scheme == "http" || p.Scheme == "https") && p.Host != "" && len(u) <= 2048
}

func writeFault(w http.ResponseWriter, f Fault) {
	switch f.Status {
	case http.StatusTooManyRequests:
		secs := f.RetryAfter.Seconds()
		h := w.Header()
		h.Set("Retry-After", strconv.Itoa(int(math.Ceil(secs))))
		h.Set("X-RateLimit-Limit", "5")
		h.Set("X-RateLimit-Remaining", "0")
		h.Set("X-RateLimit-Reset-After", strconv.FormatFloat(secs, 'f', 3, 64))
		h.Set("X-RateLimit-Reset", strconv.FormatFloat(float64(time.Now().Add(f.RetryAfter).UnixMilli())/1000, 'f', 3, 64))
		h.Set("X-RateLimit-Bucket", "digestbot-test-bucket")
		h.Set("X-RateLimit-Scope", "shared")
		writeJSON(w, f.Status, map[string]any{
			"message": "You are being rate limited.", "retry_after": secs, "global": false, "code": 0,
		})
	case http.StatusForbidden:
		writeError(w, f.Status, 50001, "Missing Access")
	case http.StatusNotFound:
		writeError(w, f.Status, 10003, "Unknown Channel")
	case http.StatusBadRequest:
		writeError(w, f.Status, 50035, "Invalid Form Body")
	default:
		writeError(w, f.Status, 0, http.StatusText(f.Status))
	}
}

// messageJSON is a message as Discord returns it. Discord echoes the nonce
// in the create's answer, never in the channel's history.
func messageJSON(m Message, author map[string]any, withNonce bool) map[string]any {
	ts := m.CreatedAt
	if ts.IsZero() {
		ts = time.Now()
	}
	out := map[string]any{
		"id": m.ID, "channel_id": m.ChannelID, "content": m.Content, "embeds": m.Embeds,
		"author": author, "type": 0, "timestamp": ts.UTC().Format(time.RFC3339Nano), "flags": m.Flags,
	}
	if out["embeds"] == nil {
		out["embeds"] = []Embed{}
	}
	if withNonce && m.Nonce != "" {
		out["nonce"] = m.Nonce
	}
	if len(m.Components) > 0 {
		out["components"] = m.Components
	}
	return out
}

// listMessages is GET /channels/{id}/messages: newest first, at most limit
// (default 50, at most 100), before, after or around a message id, as
// Discord answers it.
func (s *Server) listMessages(w http.ResponseWriter, r *http.Request) {
	channelID := r.PathValue("id")
	q := r.URL.Query()
	limit := 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			writeError(w, http.StatusBadRequest, 50035, "Invalid Form Body (limit: int value should be less than or equal to 100.)")
			return
		}
		limit = n
	}
	parse := func(k string) (int64, bool) {
		v := q.Get(k)
		if v == "" {
			return 0, false
		}
		n, err := strconv.ParseInt(v, 10, 64)
		return n, err == nil
	}
	before, hasBefore := parse("before")
	after, hasAfter := parse("after")
	s.mu.Lock()
	s.ms.init()
	if s.channels[channelID] == nil {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, 10003, "Unknown Channel")
		return
	}
	if s.ms.forbidden[channelID] {
		s.mu.Unlock()
		writeError(w, http.StatusForbidden, 50001, "Missing Access")
		return
	}
	var in []Message
	for _, m := range s.messages {
		if m.ChannelID != channelID {
			continue
		}
		id, _ := strconv.ParseInt(m.ID, 10, 64)
		if hasBefore && id >= before || hasAfter && id <= after {
			continue
		}
		in = append(in, m)
	}
	author := s.botUser()
	s.mu.Unlock()
	// With after, Discord gives the messages right after it; otherwise the
	// newest. Either way the answer lists them newest first.
	if hasAfter && len(in) > limit {
		in = in[:limit]
	} else if len(in) > limit {
		in = in[len(in)-limit:]
	}
	out := make([]map[string]any, 0, len(in))
	for i := len(in) - 1; i >= 0; i-- {
		out = append(out, messageJSON(in[i], author, false))
	}
	writeJSON(w, http.StatusOK, out)
}

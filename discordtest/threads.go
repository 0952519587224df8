package discordtest

import (
	"cmp"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Threads and forums, as Discord has them: a thread started from a message
// has the message's id; a forum post is a thread whose first message has
// the thread's id; a thread is a channel of its own, posted to like any
// other. Starting a second thread on a message fails (160004), and a
// channel without the permission refuses threads with 403 (50013).

// AddForum adds a forum channel to a guild and returns its id.
func (s *Server) AddForum(guildID, name string) string {
	return s.addChannel(&Channel{ID: s.ID(), GuildID: guildID, Name: name, Type: ChannelForum})
}

// NoThreads makes starting threads in a channel fail with 403 Missing
// Permissions (true), or work (false).
func (s *Server) NoThreads(channelID string, no bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.channels[channelID]; c != nil {
		c.NoThreads = no
	}
}

// Threads returns the threads of a channel (or forum), oldest first.
func (s *Server) Threads(parentID string) []Channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Channel
	for _, c := range s.channels {
		if c.ParentID == parentID {
			out = append(out, *c)
		}
	}
	sortChannels(out)
	return out
}

// sortChannels orders channels by id: snowflakes of one length sort as
// strings.
func sortChannels(cs []Channel) {
	slices.SortFunc(cs, func(a, b Channel) int {
		return cmp.Or(cmp.Compare(len(a.ID), len(b.ID)), cmp.Compare(a.ID, b.ID))
	})
}

func (s *Server) threadJSON(c *Channel) map[string]any {
	out := s.channelJSON(c)
	out["thread_metadata"] = map[string]any{"archived": false, "auto_archive_duration": 1440, "locked": false}
	return out
}

// startThread is POST /channels/{id}/messages/{msg}/threads.
func (s *Server) startThread(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Name string `json:"name"`
	}
	raw, err := readBody(r)
	if err == nil {
		err = json.Unmarshal(raw, &body)
	}
	if err != nil || strings.TrimSpace(body.Name) == "" || len([]rune(body.Name)) > 100 {
		writeError(w, http.StatusBadRequest, 50035, "Invalid Form Body (name: Must be between 1 and 100 in length.)")
		return
	}
	channelID, msgID := r.PathValue("id"), r.PathValue("msg")
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.channels[channelID]
	switch {
	case c == nil:
		writeError(w, http.StatusNotFound, 10003, "Unknown Channel")
		return
	case s.ms.forbidden[channelID] || c.NoThreads:
		writeError(w, http.StatusForbidden, 50013, "Missing Permissions")
		return
	}
	found := false
	for _, m := range s.messages {
		if m.ID == msgID && m.ChannelID == channelID {
			found = true
		}
	}
	if !found {
		writeError(w, http.StatusNotFound, 10008, "Unknown Message")
		return
	}
	if _, ok := s.channels[msgID]; ok {
		writeError(w, http.StatusBadRequest, 160004, "A thread has already been created for this message")
		return
	}
	t := &Channel{ID: msgID, GuildID: c.GuildID, Name: body.Name, Type: ChannelThread, ParentID: channelID}
	s.channels[msgID] = t
	s.notifyLocked()
	writeJSON(w, http.StatusCreated, s.threadJSON(t))
}

// startForumPost is POST /channels/{forum}/threads: a thread with its
// first message. It has no nonce: a client that lost the answer must find
// the post it made.
func (s *Server) startForumPost(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Name    string     `json:"name"`
		Message createBody `json:"message"`
	}
	raw, err := readBody(r)
	if err == nil {
		err = json.Unmarshal(raw, &body)
	}
	if err != nil || strings.TrimSpace(body.Name) == "" || len([]rune(body.Name)) > 100 {
		writeError(w, http.StatusBadRequest, 50035, "Invalid Form Body (name: Must be between 1 and 100 in length.)")
		return
	}
	forumID := r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.channels[forumID]
	switch {
	case c == nil:
		writeError(w, http.StatusNotFound, 10003, "Unknown Channel")
		return
	case c.Type != ChannelForum:
		writeError(w, http.StatusBadRequest, 50024, "Cannot execute action on this channel type")
		return
	case s.ms.forbidden[forumID] || c.NoThreads:
		writeError(w, http.StatusForbidden, 50013, "Missing Permissions")
		return
	}
	msgRaw, _ := json.Marshal(body.Message)
	if problem := checkBody(body.Message, "", msgRaw, s.ms.reject); problem != "" {
		s.ms.stats.InvalidBodies++
		writeError(w, http.StatusBadRequest, 50035, "Invalid Form Body ("+problem+")")
		return
	}
	now := time.Now()
	id := s.newMessageIDLocked(now)
	t := &Channel{ID: id, GuildID: c.GuildID, Name: body.Name, Type: ChannelThread, ParentID: forumID}
	s.channels[id] = t
	m := Message{ID: id, ChannelID: id, Content: body.Message.Content, Embeds: body.Message.Embeds,
		Components: body.Message.Components, Flags: body.Message.Flags, Raw: msgRaw, CreatedAt: now}
	s.messages = append(s.messages, m)
	s.ms.stats.Created++
	s.notifyLocked()
	out := s.threadJSON(t)
	out["message"] = messageJSON(m, s.botUser(), false)
	writeJSON(w, http.StatusCreated, out)
}

// activeThreads is GET /guilds/{id}/threads/active.
func (s *Server) activeThreads(w http.ResponseWriter, r *http.Request) {
	guildID := r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	threads := []map[string]any{}
	for _, c := range s.channels {
		if c.GuildID == guildID && c.Type == ChannelThread {
			threads = append(threads, s.threadJSON(c))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"threads": threads, "members": []any{}})
}

// editMessage is PATCH /channels/{id}/messages/{msg}: the bot edits its
// own message (content, embeds, components).
func (s *Server) editMessage(w http.ResponseWriter, r *http.Request) {
	var body map[string]json.RawMessage
	raw, err := readBody(r)
	if err == nil {
		err = json.Unmarshal(raw, &body)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, 50109, "The request body contains invalid JSON.")
		return
	}
	channelID, msgID := r.PathValue("id"), r.PathValue("msg")
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.channels[channelID] == nil {
		writeError(w, http.StatusNotFound, 10003, "Unknown Channel")
		return
	}
	for i := range s.messages {
		m := &s.messages[i]
		if m.ID != msgID || m.ChannelID != channelID {
			continue
		}
		if v, ok := body["content"]; ok {
			_ = json.Unmarshal(v, &m.Content)
		}
		if v, ok := body["embeds"]; ok {
			_ = json.Unmarshal(v, &m.Embeds)
		}
		if v, ok := body["components"]; ok {
			m.Components = v
		}
		s.notifyLocked()
		writeJSON(w, http.StatusOK, messageJSON(*m, s.botUser(), false))
		return
	}
	writeError(w, http.StatusNotFound, 10008, "Unknown Message")
}

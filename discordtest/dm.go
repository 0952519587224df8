package discordtest

import (
	"net/http"
	"strings"
)

// Direct messages, as Discord has them for a bot: POST /users/@me/channels
// with {"recipient_id"} opens the DM channel with a user (type 1, no guild)
// and returns the same channel every time; opening it always works, but a
// user who does not accept the bot's direct messages (direct messages
// from server members turned off, or the bot blocked) makes every message
// create there fail with 403 and code 50007 "Cannot send messages to this
// user". Interactions in a DM carry no guild_id and no member, only the
// user.

// ChannelDM is Discord's type of a direct-message channel.
const ChannelDM = 1

// errCannotMessageUser is Discord's code for a DM the user does not accept.
const errCannotMessageUser = 50007

// dmState is the server's state for direct messages, guarded by s.mu.
type dmState struct {
	byUser  map[string]string // user id -> DM channel id
	blocked map[string]bool   // user id -> refuses the bot's DMs
	left    map[string]bool   // guild id + "/" + user id -> no longer a member
}

func (d *dmState) init() {
	if d.byUser == nil {
		d.byUser, d.blocked, d.left = map[string]string{}, map[string]bool{}, map[string]bool{}
	}
}

// RemoveMember makes a user leave a guild: GET /guilds/{id}/members/{user}
// answers 404 Unknown Member from now on. Every other user is a member.
func (s *Server) RemoveMember(guildID, userID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dm.init()
	s.dm.left[guildID+"/"+userID] = true
}

// getMember is GET /guilds/{id}/members/{user}.
func (s *Server) getMember(w http.ResponseWriter, r *http.Request) {
	guildID, userID := r.PathValue("id"), r.PathValue("user")
	s.mu.Lock()
	s.dm.init()
	known, left := s.guilds[guildID] != nil, s.dm.left[guildID+"/"+userID]
	s.mu.Unlock()
	switch {
	case !known:
		writeError(w, http.StatusNotFound, 10004, "Unknown Guild")
	case left:
		writeError(w, http.StatusNotFound, 10007, "Unknown Member")
	default:
		writeJSON(w, http.StatusOK, map[string]any{
			"user":  map[string]any{"id": userID, "username": "member" + userID[max(0, len(userID)-3):], "discriminator": "0"},
			"roles": []string{}, "joined_at": "2021-03-20T08:00:00.000000+00:00", "deaf": false, "mute": false, "flags": 0,
		})
	}
}

// DMChannel returns the id of the DM channel the bot opened with a user,
// "" when it has not opened one.
func (s *Server) DMChannel(userID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dm.init()
	return s.dm.byUser[userID]
}

// BlockDMs makes a user refuse (true) or accept (false) the bot's direct
// messages.
func (s *Server) BlockDMs(userID string, blocked bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dm.init()
	s.dm.blocked[userID] = blocked
}

// dmRefused reports whether a message create in channelID is one the
// recipient does not accept; s.mu held.
func (s *Server) dmRefused(c *Channel) bool {
	s.dm.init()
	return c.Type == ChannelDM && s.dm.blocked[c.Recipient]
}

// openDM is POST /users/@me/channels.
func (s *Server) openDM(w http.ResponseWriter, r *http.Request) {
	var body struct {
		RecipientID string `json:"recipient_id"`
	}
	if err := readJSON(r, &body); err != nil {
		writeError(w, http.StatusBadRequest, 50109, "The request body contains invalid JSON.")
		return
	}
	if body.RecipientID == "" || strings.Trim(body.RecipientID, "0123456789") != "" {
		writeError(w, http.StatusBadRequest, 50035, "Invalid Form Body (recipient_id: Value is not snowflake.)")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dm.init()
	id := s.dm.byUser[body.RecipientID]
	if id == "" {
		id = s.newIDLocked()
		s.dm.byUser[body.RecipientID] = id
		s.channels[id] = &Channel{ID: id, Type: ChannelDM, Recipient: body.RecipientID}
		s.notifyLocked()
	}
	writeJSON(w, http.StatusOK, s.channelJSON(s.channels[id]))
}

// dmChannelJSON is a DM channel as Discord returns it.
func dmChannelJSON(c *Channel) map[string]any {
	return map[string]any{
		"id": c.ID, "type": ChannelDM, "last_message_id": nil, "flags": 0,
		"recipients": []map[string]any{{"id": c.Recipient, "username": "member" + c.Recipient[max(0, len(c.Recipient)-3):], "discriminator": "0", "global_name": "Member"}},
	}
}

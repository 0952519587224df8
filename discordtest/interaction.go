package discordtest

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// Interaction types (Discord's numbering).
const (
	TypeCommand      = 2
	TypeComponent    = 3
	TypeAutocomplete = 4
)

// Option types (Discord's numbering).
const (
	OptSubcommand = 1
	OptString     = 3
	OptInteger    = 4
	OptBoolean    = 5
	OptChannel    = 7
	OptRole       = 8
)

// Callback types (Discord's numbering).
const (
	CallbackMessage      = 4
	CallbackDeferred     = 5
	CallbackDeferUpdate  = 6
	CallbackUpdate       = 7
	CallbackAutocomplete = 8
)

// FlagEphemeral marks a reply only the caller sees.
const FlagEphemeral = 1 << 6

// Option is an option value in an interaction.
type Option struct {
	Name    string
	Type    int
	Value   any
	Focused bool
}

// Str is a string option.
func Str(name, value string) Option { return Option{Name: name, Type: OptString, Value: value} }

// Chan is a channel option.
func Chan(name, channelID string) Option {
	return Option{Name: name, Type: OptChannel, Value: channelID}
}

// Role is a role option: the role's id.
func Role(name, roleID string) Option { return Option{Name: name, Type: OptRole, Value: roleID} }

// Focus is the string option being typed in an autocomplete interaction.
func Focus(name, partial string) Option {
	return Option{Name: name, Type: OptString, Value: partial, Focused: true}
}

// Interaction describes an INTERACTION_CREATE to send. Zero fields take
// defaults: a slash command, in the server's guild and channel, from a
// member without Manage Channels.
type Interaction struct {
	Type        int    // TypeCommand (default), TypeComponent, TypeAutocomplete
	GuildID     string // default Server.GuildID
	ChannelID   string // default Server.ChannelID
	UserID      string // default "1300000000000000001"
	Permissions int64  // the member's permissions in the channel
	Roles       []string
	Command     string // "subscribe", "digest now" (a subcommand), ...
	Options     []Option
	CustomID    string // for TypeComponent: the button's custom id
	// DM sends the interaction from the direct-message channel between the
	// bot and UserID (opened by the bot before): no guild, no member.
	DM bool
}

// Sent names an interaction that was dispatched.
type Sent struct {
	ID, Token string
}

// ReplyData is the message part of a callback, an edit or a followup.
type ReplyData struct {
	Content    string          `json:"content"`
	Flags      int             `json:"flags"`
	Embeds     []Embed         `json:"embeds"`
	Components json.RawMessage `json:"components"`
	Choices    []Choice        `json:"choices"`
	// Files are the files sent with the message (multipart/form-data).
	Files []File `json:"-"`
}

// Ephemeral reports whether the ephemeral flag is set.
func (d ReplyData) Ephemeral() bool { return d.Flags&FlagEphemeral != 0 }

// Buttons returns the custom ids (or URLs for link buttons) of the buttons.
func (d ReplyData) Buttons() []string {
	var rows []struct {
		Components []struct {
			CustomID string `json:"custom_id"`
			URL      string `json:"url"`
		} `json:"components"`
	}
	_ = json.Unmarshal(d.Components, &rows)
	var out []string
	for _, r := range rows {
		for _, c := range r.Components {
			if c.CustomID != "" {
				out = append(out, c.CustomID)
			} else {
				out = append(out, c.URL)
			}
		}
	}
	return out
}

// Choice is an autocomplete choice.
type Choice struct {
	Name  string `json:"name"`
	Value any    `json:"value"`
}

// Callback is a recorded interaction callback.
type Callback struct {
	Type int
	Data ReplyData
	Raw  json.RawMessage
}

// Reply is what the user ends up seeing for an interaction.
type Reply struct {
	ReplyData
	// Via says how it arrived: "callback" (type 4), "edit" (of the
	// deferred original) or "followup".
	Via string
}

type pendingInteraction struct {
	id, token string
	callbacks []Callback
	edits     []ReplyData // of @original
	followups []ReplyData
	deleted   bool // @original deleted
}

// SendInteraction builds an INTERACTION_CREATE shaped like Discord's and
// dispatches it on the gateway session that holds the guild.
func (s *Server) SendInteraction(in Interaction) Sent {
	s.tb.Helper()
	if in.Type == 0 {
		in.Type = TypeCommand
	}
	if in.UserID == "" {
		in.UserID = "1300000000000000001"
	}
	if in.DM {
		in.GuildID, in.ChannelID = "", s.DMChannel(in.UserID)
		if in.ChannelID == "" {
			s.tb.Fatalf("discordtest: user %s has no DM channel with the bot", in.UserID)
		}
	}
	if in.GuildID == "" && !in.DM {
		in.GuildID = s.GuildID
	}
	if in.ChannelID == "" {
		in.ChannelID = s.ChannelID
	}
	roles := in.Roles
	if roles == nil {
		roles = []string{}
	}
	id, token := s.ID(), "itoken-"+randomHex(20)
	p := map[string]any{
		"id":             id,
		"application_id": s.AppID,
		"type":           in.Type,
		"token":          token,
		"version":        1,
		"guild_id":       in.GuildID,
		"channel_id":     in.ChannelID,
		"channel":        map[string]any{"id": in.ChannelID, "type": 0, "guild_id": in.GuildID, "name": "general"},
		"member": map[string]any{
			"user":        map[string]any{"id": in.UserID, "username": "member" + in.UserID[max(0, len(in.UserID)-3):], "discriminator": "0", "global_name": "Member"},
			"roles":       roles,
			"permissions": strconv.FormatInt(in.Permissions, 10),
			"joined_at":   "2021-03-20T08:00:00.000000+00:00",
			"deaf":        false, "mute": false, "flags": 0, "pending": false,
		},
		"app_permissions":                strconv.FormatInt(PermViewChannel|PermSendMessages, 10),
		"locale":                         "en-US",
		"guild_locale":                   "en-US",
		"entitlements":                   []any{},
		"context":                        0,
		"authorizing_integration_owners": map[string]any{"0": in.GuildID},
	}
	if in.DM {
		// Discord: no guild, the user instead of a member, the bot DM context.
		for _, k := range []string{"guild_id", "member", "guild_locale"} {
			delete(p, k)
		}
		p["user"] = map[string]any{"id": in.UserID, "username": "member" + in.UserID[max(0, len(in.UserID)-3):], "discriminator": "0", "global_name": "Member"}
		p["channel"] = map[string]any{"id": in.ChannelID, "type": ChannelDM}
		p["context"] = 1
		p["authorizing_integration_owners"] = map[string]any{"0": "0"}
	}
	switch in.Type {
	case TypeComponent:
		p["data"] = map[string]any{"custom_id": in.CustomID, "component_type": 2}
		p["message"] = map[string]any{
			"id": s.ID(), "channel_id": in.ChannelID, "type": 20, "content": "", "flags": FlagEphemeral,
			"author": s.botUser(), "embeds": []any{}, "timestamp": "2021-03-20T08:00:00.000000+00:00",
		}
	default:
		p["data"] = s.commandData(in)
	}
	raw, err := json.Marshal(p)
	if err != nil {
		s.tb.Fatalf("discordtest: encode interaction: %v", err)
	}
	return s.DispatchInteraction(raw)
}

func (s *Server) commandData(in Interaction) map[string]any {
	parts := strings.Fields(in.Command)
	if len(parts) == 0 {
		s.tb.Fatalf("discordtest: interaction without a command name")
	}
	opts := []map[string]any{}
	resolved, roles := map[string]any{}, map[string]any{}
	attachments := map[string]any{}
	for _, o := range in.Options {
		m := map[string]any{"name": o.Name, "type": o.Type, "value": o.Value}
		if o.Focused {
			m["focused"] = true
		}
		if f, ok := o.Value.(Upload); ok && o.Type == OptAttachment {
			id, att := s.upload(f)
			m["value"], attachments[id] = id, att
		}
		opts = append(opts, m)
		if o.Type == OptRole {
			if id, ok := o.Value.(string); ok {
				roles[id] = map[string]any{"id": id, "name": s.roleName(in.GuildID, id), "permissions": "0", "position": 1, "mentionable": true}
			}
		}
		if o.Type == OptChannel {
			if id, ok := o.Value.(string); ok {
				s.mu.Lock()
				if c := s.channels[id]; c != nil {
					resolved[id] = map[string]any{"id": id, "name": c.Name, "type": 0, "permissions": "2147483647"}
				}
				s.mu.Unlock()
			}
		}
	}
	top := parts[0]
	if len(parts) > 1 {
		opts = []map[string]any{{"name": parts[1], "type": OptSubcommand, "options": opts}}
	}
	data := map[string]any{"id": s.commandID(top), "name": top, "type": 1, "options": opts}
	if len(resolved) > 0 || len(attachments) > 0 {
		res := map[string]any{}
		if len(resolved) > 0 {
			res["channels"] = resolved
		}
		if len(attachments) > 0 {
			res["attachments"] = attachments
		}
		data["resolved"] = res
	}
	if len(roles) > 0 {
		if data["resolved"] == nil {
			data["resolved"] = map[string]any{}
		}
		data["resolved"].(map[string]any)["roles"] = roles
	}
	return data
}

// roleName is the name of a guild's role, "" when it has none by that id.
func (s *Server) roleName(guildID, roleID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g := s.guilds[guildID]; g != nil {
		return g.Roles[roleID]
	}
	return ""
}

// commandID returns the id the last bulk overwrite gave a command, so that
// interactions carry the ids Discord would send.
func (s *Server) commandID(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := s.cmdIDs[name]; ok {
		return id
	}
	return s.newIDLocked()
}

// DispatchInteraction sends a raw INTERACTION_CREATE payload (for example a
// recorded one from testdata) on the gateway. Its application_id is replaced
// by the server's, so the bot's callbacks reach this server; its id and
// token are registered so callbacks can be asserted.
func (s *Server) DispatchInteraction(raw json.RawMessage) Sent {
	s.tb.Helper()
	var p map[string]any
	if err := json.Unmarshal(raw, &p); err != nil {
		s.tb.Fatalf("discordtest: interaction payload: %v", err)
	}
	p["application_id"] = s.AppID
	id, _ := p["id"].(string)
	token, _ := p["token"].(string)
	guildID, _ := p["guild_id"].(string)
	s.mu.Lock()
	pi := &pendingInteraction{id: id, token: token}
	s.interactions[id] = pi
	s.tokens[token] = pi
	s.mu.Unlock()
	if s.dispatchGuild(guildID, "INTERACTION_CREATE", p) == 0 {
		s.tb.Fatalf("discordtest: no gateway session holds guild %s", guildID)
	}
	return Sent{ID: id, Token: token}
}

func (s *Server) interactionCallback(w http.ResponseWriter, r *http.Request) {
	raw, files, err := readMessage(r)
	var body struct {
		Type int       `json:"type"`
		Data ReplyData `json:"data"`
	}
	if err == nil {
		err = json.Unmarshal(raw, &body)
	}
	if err != nil {
		writeBodyError(w, err)
		return
	}
	body.Data.Files = files
	s.mu.Lock()
	defer s.mu.Unlock()
	pi := s.interactions[r.PathValue("id")]
	if pi == nil || pi.token != r.PathValue("token") {
		writeError(w, http.StatusNotFound, 10062, "Unknown interaction")
		return
	}
	if len(s.cbFaults) > 0 {
		f := s.cbFaults[0]
		s.cbFaults = s.cbFaults[1:]
		writeFault(w, f)
		return
	}
	if len(pi.callbacks) > 0 {
		writeError(w, http.StatusBadRequest, 40060, "Interaction has already been acknowledged.")
		return
	}
	if body.Type == CallbackAutocomplete && len(body.Data.Choices) > 25 {
		writeError(w, http.StatusBadRequest, 50035, "Invalid Form Body (data.choices: Must be 25 or fewer in length.)")
		return
	}
	pi.callbacks = append(pi.callbacks, Callback{Type: body.Type, Data: body.Data, Raw: raw})
	s.notifyLocked()
	w.WriteHeader(http.StatusNoContent)
}

// webhookInteraction finds the acknowledged interaction a webhook call is for.
func (s *Server) webhookInteraction(w http.ResponseWriter, r *http.Request) *pendingInteraction {
	pi := s.tokens[r.PathValue("token")]
	if r.PathValue("app") != s.AppID || pi == nil {
		writeError(w, http.StatusNotFound, 10015, "Unknown Webhook")
		return nil
	}
	if len(pi.callbacks) == 0 {
		writeError(w, http.StatusNotFound, 10008, "Unknown Message")
		return nil
	}
	return pi
}

// readReplyData decodes a message body of an edit or followup, answering
// 400 as Discord does when it is not JSON.
func readReplyData(w http.ResponseWriter, r *http.Request) (ReplyData, bool) {
	raw, files, err := readMessage(r)
	var d ReplyData
	if err == nil {
		err = json.Unmarshal(raw, &d)
	}
	if err != nil {
		writeBodyError(w, err)
		return d, false
	}
	d.Files = files
	return d, true
}

func (s *Server) webhookEdit(w http.ResponseWriter, r *http.Request) {
	d, ok := readReplyData(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	pi := s.webhookInteraction(w, r)
	if pi == nil {
		return
	}
	if r.PathValue("msg") == "@original" {
		if pi.deleted {
			writeError(w, http.StatusNotFound, 10008, "Unknown Message")
			return
		}
		d.Flags = pi.callbacks[0].Data.Flags
		pi.edits = append(pi.edits, d)
	}
	s.notifyLocked()
	writeJSON(w, http.StatusOK, s.replyMessageJSON(d))
}

func (s *Server) webhookDelete(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pi := s.webhookInteraction(w, r)
	if pi == nil {
		return
	}
	if r.PathValue("msg") == "@original" {
		pi.deleted = true
	}
	s.notifyLocked()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) webhookFollowup(w http.ResponseWriter, r *http.Request) {
	d, ok := readReplyData(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	pi := s.webhookInteraction(w, r)
	if pi == nil {
		return
	}
	pi.followups = append(pi.followups, d)
	s.notifyLocked()
	writeJSON(w, http.StatusOK, s.replyMessageJSON(d))
}

// WaitCallback waits for the callback of an interaction.
func (s *Server) WaitCallback(in Sent) Callback {
	s.tb.Helper()
	var cb Callback
	s.waitFor("the callback of interaction "+in.ID, func() bool {
		pi := s.interactions[in.ID]
		if pi == nil || len(pi.callbacks) == 0 {
			return false
		}
		cb = pi.callbacks[0]
		return true
	})
	return cb
}

// WaitReply waits for what the user sees: the message of a type 4
// callback, or after a deferral the first edit of the original response
// or the first followup.
func (s *Server) WaitReply(in Sent) Reply {
	s.tb.Helper()
	var rep Reply
	s.waitFor("the reply to interaction "+in.ID, func() bool {
		pi := s.interactions[in.ID]
		if pi == nil || len(pi.callbacks) == 0 {
			return false
		}
		cb := pi.callbacks[0]
		switch {
		case cb.Type == CallbackMessage || cb.Type == CallbackUpdate:
			rep = Reply{ReplyData: cb.Data, Via: "callback"}
		case len(pi.followups) > 0:
			rep = Reply{ReplyData: pi.followups[0], Via: "followup"}
		case len(pi.edits) > 0 && !pi.deleted:
			rep = Reply{ReplyData: pi.edits[0], Via: "edit"}
		default:
			return false
		}
		return true
	})
	return rep
}

// Callbacks returns how many callbacks an interaction got (more than one
// is a bug: Discord refuses the second).
func (s *Server) Callbacks(in Sent) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if pi := s.interactions[in.ID]; pi != nil {
		return len(pi.callbacks)
	}
	return 0
}

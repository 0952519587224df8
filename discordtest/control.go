package discordtest

import (
	"encoding/json"
	"net/http"
	"strings"
)

// The control API lets a person or a script drive a server started with
// Listen: send interactions as a user would, then read the bot's replies
// and the messages it posted.
//
//	POST /_discordtest/interactions        {"command":"subscribe","options":{"query":"Confucius"},"permissions":16}
//	                                       (?wait: answer with the bot's reply once it is there)
//	GET  /_discordtest/interactions/{id}   the reply, 404 until there is one
//	GET  /_discordtest/channels/{id}/messages
//	GET  /_discordtest/state               ids of the app, guild and channel; registered commands
//	GET  /_discordtest/stats               message creates, 429s for exceeded limits, injected faults
func (s *Server) controlRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /_discordtest/interactions", s.controlInteraction)
	mux.HandleFunc("GET /_discordtest/interactions/{id}", s.controlReply)
	mux.HandleFunc("GET /_discordtest/channels/{id}/messages", func(w http.ResponseWriter, r *http.Request) {
		msgs := s.Messages(r.PathValue("id"))
		if msgs == nil {
			msgs = []Message{}
		}
		writeJSON(w, http.StatusOK, msgs)
	})
	mux.HandleFunc("GET /_discordtest/stats", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Stats())
	})
	mux.HandleFunc("GET /_discordtest/state", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		sets := append([]CommandSet(nil), s.commandSets...)
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{
			"application_id": s.AppID, "guild_id": s.GuildID, "channel_id": s.ChannelID,
			"api_url": s.URL(), "command_sets": sets, "gateway_connections": s.Connections(),
		})
	})
}

// controlRequest is an interaction in the control API: option values by
// name; "channel" options are channel ids.
type controlRequest struct {
	Type        int               `json:"type"` // 2 command (default), 3 button, 4 autocomplete
	Command     string            `json:"command"`
	Options     map[string]string `json:"options"`
	Focused     string            `json:"focused"` // autocomplete: the option being typed
	CustomID    string            `json:"custom_id"`
	GuildID     string            `json:"guild_id"`
	ChannelID   string            `json:"channel_id"`
	UserID      string            `json:"user_id"`
	Permissions int64             `json:"permissions"`
	Roles       []string          `json:"roles"`
}

func (s *Server) controlInteraction(w http.ResponseWriter, r *http.Request) {
	var cr controlRequest
	if err := json.NewDecoder(r.Body).Decode(&cr); err != nil {
		writeError(w, http.StatusBadRequest, 0, "bad interaction: "+err.Error())
		return
	}
	in := Interaction{
		Type: cr.Type, Command: strings.TrimPrefix(cr.Command, "/"), CustomID: cr.CustomID, GuildID: cr.GuildID,
		ChannelID: cr.ChannelID, UserID: cr.UserID, Permissions: cr.Permissions, Roles: cr.Roles,
	}
	for name, v := range cr.Options {
		o := Str(name, v)
		if name == "channel" {
			o = Chan(name, v)
		}
		o.Focused = name == cr.Focused
		in.Options = append(in.Options, o)
	}
	defer func() {
		if v := recover(); v != nil {
			e, ok := v.(controlError)
			if !ok {
				panic(v)
			}
			writeError(w, http.StatusConflict, 0, string(e))
		}
	}()
	sent := s.SendInteraction(in)
	if r.URL.Query().Has("wait") {
		// Answer with what the user would see, so a walkthrough by hand
		// reads the bot's reply from one curl: the choices of an
		// autocomplete, else the message (with its buttons).
		if in.Type == TypeAutocomplete {
			cb := s.WaitCallback(sent)
			writeJSON(w, http.StatusOK, map[string]any{"id": sent.ID, "token": sent.Token, "choices": cb.Data.Choices})
			return
		}
		rep := s.WaitReply(sent)
		writeJSON(w, http.StatusOK, map[string]any{"id": sent.ID, "token": sent.Token,
			"reply": map[string]any{"content": rep.Content, "embeds": rep.Embeds, "components": rep.Components, "ephemeral": rep.Ephemeral(), "via": rep.Via}})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"id": sent.ID, "token": sent.Token})
}

func (s *Server) controlReply(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pi := s.interactions[r.PathValue("id")]
	if pi == nil {
		writeError(w, http.StatusNotFound, 10062, "Unknown interaction")
		return
	}
	out := map[string]any{"callbacks": pi.callbacks, "edits": pi.edits, "followups": pi.followups, "deleted": pi.deleted}
	if len(pi.callbacks) == 0 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_ = json.NewEncoder(w).Encode(out)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

package discordtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
)

// Files, as Discord handles them:
//
//   - A member attaches a file to an attachment option (type 11): the
//     option's value is the attachment's id, and the interaction's
//     resolved data names the file, its size, type and CDN URL. The CDN
//     serves it without the bot token (here under /ephemeral-attachments/).
//     Discord refuses a member's file over MaxUploadBytes before it is sent.
//   - A reply (callback, edit, followup) carries files as multipart/form-data:
//     the message as JSON in the part "payload_json", each file in a part
//     "files[N]", named in the payload's "attachments" by id N. More than
//     MaxFilesPerMessage files is 400 / 50035; a file over MaxUploadBytes is
//     413 / 40005; an attachment id without its part is 400 / 50035.

// OptAttachment is Discord's option type of an uploaded file.
const OptAttachment = 11

// Discord's file limits for a bot in a server without boosts.
const (
	MaxUploadBytes     = 10 << 20
	MaxFilesPerMessage = 10
)

// Upload is a file a member attaches to a command's attachment option.
type Upload struct {
	Filename    string
	ContentType string // default application/octet-stream
	Data        []byte
}

// Attach is an attachment option holding a file.
func Attach(name string, f Upload) Option { return Option{Name: name, Type: OptAttachment, Value: f} }

// File is a file the bot sent with a reply.
type File struct {
	Name        string
	ContentType string
	Data        []byte
}

// uploaded is a member's file the CDN serves.
type uploaded struct {
	Upload
	fetches int
}

// upload stores a member's file and returns its id and its entry for the
// interaction's resolved data.
func (s *Server) upload(f Upload) (string, map[string]any) {
	s.tb.Helper()
	if len(f.Data) > MaxUploadBytes {
		s.tb.Fatalf("discordtest: Discord does not let a member attach %d bytes; the limit is %d", len(f.Data), MaxUploadBytes)
	}
	if f.ContentType == "" {
		f.ContentType = "application/octet-stream"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.newIDLocked()
	if s.uploads == nil {
		s.uploads = map[string]*uploaded{}
	}
	s.uploads[id] = &uploaded{Upload: f}
	u := fmt.Sprintf("%s/ephemeral-attachments/%s/%s/%s?ex=1&is=1&hm=%s", s.srv.URL, s.AppID, id, pathEscape(f.Filename), randomHex(8))
	return id, map[string]any{
		"id": id, "filename": f.Filename, "size": len(f.Data), "content_type": f.ContentType,
		"url": u, "proxy_url": u, "ephemeral": true,
	}
}

func pathEscape(name string) string {
	return strings.NewReplacer("/", "_", "?", "_", "#", "_", "%", "_", " ", "_").Replace(name)
}

// serveUpload is the CDN: it needs no token (a bot that sent one would leak it).
func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	f := s.uploads[r.PathValue("id")]
	if f != nil {
		f.fetches++
	}
	s.mu.Unlock()
	if f == nil || r.Header.Get("Authorization") != "" {
		// The CDN does not know the bot; a token here is a leak.
		http.Error(w, "This content is no longer available.", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", f.ContentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(f.Data)))
	_, _ = w.Write(f.Data)
}

// UploadFetches returns how many times the bot downloaded a member's
// file, by file name.
func (s *Server) UploadFetches(filename string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, f := range s.uploads {
		if f.Filename == filename {
			n += f.fetches
		}
	}
	return n
}

// errBody is a request Discord refuses, with its status and code.
type errBody struct {
	status, code int
	msg          string
}

func (e *errBody) Error() string { return e.msg }

// readMessage reads the body of a callback, edit or followup: JSON, or
// multipart/form-data with payload_json and files. It returns the JSON and
// the files, or an *errBody as Discord would answer.
func readMessage(r *http.Request) (json.RawMessage, []File, error) {
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		raw, err := readBody(r)
		if err != nil || !json.Valid(raw) {
			return nil, nil, &errBody{http.StatusBadRequest, 50109, "The request body contains invalid JSON."}
		}
		return raw, nil, nil
	}
	defer r.Body.Close()
	body := io.LimitReader(r.Body, MaxFilesPerMessage*MaxUploadBytes+(1<<20))
	mr := multipart.NewReader(body, params["boundary"])
	var raw json.RawMessage
	byField := map[string]File{}
	var order []string
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, &errBody{http.StatusBadRequest, 50035, "Invalid Form Body (malformed multipart body)"}
		}
		data, err := io.ReadAll(io.LimitReader(p, MaxUploadBytes+1))
		if err != nil {
			return nil, nil, &errBody{http.StatusBadRequest, 50035, "Invalid Form Body (malformed multipart body)"}
		}
		switch name := p.FormName(); {
		case name == "payload_json":
			raw = data
		case strings.HasPrefix(name, "files["):
			if len(data) > MaxUploadBytes {
				return nil, nil, &errBody{http.StatusRequestEntityTooLarge, 40005, "Request entity too large"}
			}
			byField[name] = File{Name: p.FileName(), ContentType: p.Header.Get("Content-Type"), Data: data}
			order = append(order, name)
		}
	}
	if len(order) > MaxFilesPerMessage {
		return nil, nil, &errBody{http.StatusBadRequest, 50035, fmt.Sprintf("Invalid Form Body (files: Must be %d or fewer in length.)", MaxFilesPerMessage)}
	}
	if raw == nil || !json.Valid(raw) {
		return nil, nil, &errBody{http.StatusBadRequest, 50109, "The request body contains invalid JSON."}
	}
	// The payload names its files by id; a callback nests them in "data".
	var p struct {
		Attachments []struct {
			ID json.RawMessage `json:"id"`
		} `json:"attachments"`
		Data *struct {
			Attachments []struct {
				ID json.RawMessage `json:"id"`
			} `json:"attachments"`
		} `json:"data"`
	}
	_ = json.Unmarshal(raw, &p)
	atts := p.Attachments
	if p.Data != nil {
		atts = p.Data.Attachments
	}
	for i, a := range atts {
		id := strings.Trim(string(a.ID), `"`)
		if _, ok := byField["files["+id+"]"]; !ok {
			return nil, nil, &errBody{http.StatusBadRequest, 50035, fmt.Sprintf("Invalid Form Body (attachments.%d: no file was sent for attachment %s)", i, id)}
		}
	}
	files := make([]File, 0, len(order))
	for _, f := range order {
		files = append(files, byField[f])
	}
	return raw, files, nil
}

// writeBodyError answers a refused body.
func writeBodyError(w http.ResponseWriter, err error) {
	var eb *errBody
	if errors.As(err, &eb) {
		writeError(w, eb.status, eb.code, eb.msg)
		return
	}
	writeError(w, http.StatusBadRequest, 50109, "The request body contains invalid JSON.")
}

// attachmentsJSON is the attachments of a message as Discord returns them.
func (s *Server) attachmentsJSON(files []File) []map[string]any {
	out := make([]map[string]any, 0, len(files))
	for _, f := range files {
		id := s.newIDLocked()
		u := fmt.Sprintf("%s/attachments/%s/%s", s.srv.URL, id, pathEscape(f.Name))
		out = append(out, map[string]any{"id": id, "filename": f.Name, "size": len(f.Data), "content_type": f.ContentType, "url": u, "proxy_url": u})
	}
	return out
}

// replyMessageJSON is the message an edit or followup answers with;
// s.mu must be held.
func (s *Server) replyMessageJSON(d ReplyData) map[string]any {
	m := messageJSON(Message{ID: s.newIDLocked(), Content: d.Content, Embeds: d.Embeds, Flags: d.Flags}, s.botUser(), true)
	m["attachments"] = s.attachmentsJSON(d.Files)
	return m
}

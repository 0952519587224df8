package discordtest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"testing"

	"github.com/bwmarrin/discordgo"

	"github.com/digestbot/digestbot/discordtest"
)

// multipartBody builds a message with n files of size bytes each, the
// payload naming the attachment ids in names.
func multipartBody(t *testing.T, payload any, n, size int) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	pj, _ := json.Marshal(payload)
	if err := w.WriteField("payload_json", string(pj)); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		fw, err := w.CreateFormFile(fmt.Sprintf("files[%d]", i), fmt.Sprintf("f%d.bin", i))
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(bytes.Repeat([]byte{'x'}, size))
	}
	w.Close()
	return w.FormDataContentType(), buf.Bytes()
}

// TestReplyFileLimits sends interaction callbacks with files past
// Discord's limits and checks the refusals Discord gives, then one within
// them.
func TestReplyFileLimits(t *testing.T) {
	srv := discordtest.New(t)
	s := session(t, srv)
	if err := s.Open(); err != nil {
		t.Fatalf("open: %v", err)
	}
	defer s.Close()
	srv.WaitIdentify(1)
	attachments := func(n int) []map[string]any {
		out := []map[string]any{}
		for i := range n {
			out = append(out, map[string]any{"id": i, "filename": fmt.Sprintf("f%d.bin", i)})
		}
		return out
	}
	msg := func(n int) map[string]any {
		return map[string]any{"type": 4, "data": map[string]any{"content": "files", "attachments": attachments(n)}}
	}
	tests := []struct {
		name          string
		payload       any
		files, size   int
		status, code  int
		recordedFiles int
	}{
		{"eleven files", msg(11), 11, 10, http.StatusBadRequest, 50035, 0},
		{"a file over the upload limit", msg(1), 1, discordtest.MaxUploadBytes + 1, http.StatusRequestEntityTooLarge, 40005, 0},
		{"an attachment without its file", msg(2), 1, 10, http.StatusBadRequest, 50035, 0},
		{"ten files", msg(10), 10, 100, http.StatusNoContent, 0, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sent := srv.SendInteraction(discordtest.Interaction{Command: "help"})
			ct, body := multipartBody(t, tt.payload, tt.files, tt.size)
			req, _ := http.NewRequest(http.MethodPost, srv.URL()+"/api/v9/interactions/"+sent.ID+"/"+sent.Token+"/callback", bytes.NewReader(body))
			req.Header.Set("Content-Type", ct)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, raw, tt.status)
			}
			if tt.code != 0 {
				var e discordgo.APIErrorMessage
				if json.Unmarshal(raw, &e) != nil || e.Code != tt.code {
					t.Errorf("error body %s, want code %d", raw, tt.code)
				}
				if srv.Callbacks(sent) != 0 {
					t.Errorf("a refused callback was recorded")
				}
				return
			}
			if got := srv.WaitReply(sent); len(got.Files) != tt.recordedFiles {
				t.Errorf("reply has %d files, want %d", len(got.Files), tt.recordedFiles)
			}
		})
	}
}

package bot

import (
	"bytes"
	"context"
	"strings"
	"testing"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/commands"
	"github.com/digestbot/digestbot/discordtest"
)

// TestReplyFilesReachDiscord sends files with a reply on both paths a reply
// takes after a deferral: an edit of the original response, and a followup
// when the visibility differs from the deferral's.
func TestReplyFilesReachDiscord(t *testing.T) {
	t.Parallel()
	hs := start(t, nil)
	png := []byte("\x89PNG\r\n\x1a\nnot really")
	tests := []struct {
		name, command string
		ephemeral     bool
		via           string
	}{
		{"edit of an ephemeral deferral", "trend", true, "edit"},
		{"followup after a public deferral", "feeds import", true, "followup"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs.h.set(func(ctx context.Context, req *commands.Request) (*commands.Response, error) {
				return &commands.Response{Content: "chart", Ephemeral: tt.ephemeral, Files: []commands.File{
					{Name: "trend.png", ContentType: "image/png", Data: png},
					{Name: "notes.txt", ContentType: "text/plain", Data: []byte("two files")},
				}}, nil
			})
			var opts []discordtest.Option
			if tt.command == "feeds import" {
				opts = append(opts, discordtest.Attach("file", discordtest.Upload{Filename: "feeds.opml", Data: []byte("<opml/>")}))
			}
			sent := hs.srv.SendInteraction(discordtest.Interaction{Command: tt.command, Options: opts, Permissions: discordtest.PermManageChannels})
			rep := hs.srv.WaitReply(sent)
			<-hs.h.called
			if rep.Via != tt.via || rep.Content != "chart" {
				t.Fatalf("reply %q via %s, want %q via %s", rep.Content, rep.Via, "chart", tt.via)
			}
			if len(rep.Files) != 2 || rep.Files[0].Name != "trend.png" || !bytes.Equal(rep.Files[0].Data, png) ||
				rep.Files[0].ContentType != "image/png" || string(rep.Files[1].Data) != "two files" {
				t.Errorf("files = %+v", rep.Files)
			}
		})
	}
}

// TestAttachmentOption checks that the core gets the file of an attachment
// option: named by the option, downloaded from the CDN without the bot
// token (the test CDN refuses a request that carries one), and refused
// without reading past the handler's limit.
func TestAttachmentOption(t *testing.T) {
	t.Parallel()
	hs := start(t, nil)
	content := []byte(`<?xml version="1.0"?><opml version="2.0"><body/></opml>`)
	type got struct {
		name, option string
		data         []byte
		err, small   error
	}
	results := make(chan got, 1)
	hs.h.set(func(ctx context.Context, req *commands.Request) (*commands.Response, error) {
		a := req.Attachments["file"]
		if a == nil {
			results <- got{}
			return nil, digestbot.Errorf(digestbot.EINVALID, "no file")
		}
		data, err := a.Fetch(ctx, 1<<20)
		_, small := a.Fetch(ctx, 10)
		results <- got{name: a.Filename, option: req.Options["file"], data: data, err: err, small: small}
		return &commands.Response{Content: "read"}, nil
	})
	sent := hs.srv.SendInteraction(discordtest.Interaction{Command: "feeds import", Permissions: discordtest.PermManageChannels,
		Options: []discordtest.Option{discordtest.Attach("file", discordtest.Upload{Filename: "my feeds.opml", ContentType: "text/x-opml", Data: content})}})
	hs.srv.WaitReply(sent)
	<-hs.h.called
	g := <-results
	if g.err != nil || !bytes.Equal(g.data, content) {
		t.Fatalf("fetch = %q, %v; want the uploaded file", g.data, g.err)
	}
	if g.name != "my feeds.opml" || g.option != "my feeds.opml" {
		t.Errorf("file name %q, option value %q; want the uploaded file's name", g.name, g.option)
	}
	if digestbot.ErrorCode(g.small) != digestbot.ELIMIT || !strings.Contains(digestbot.ErrorMessage(g.small), "larger than 10 bytes") {
		t.Errorf("fetch with a 10-byte limit: %v, want ELIMIT naming the limit", g.small)
	}
	if n := hs.srv.UploadFetches("my feeds.opml"); n != 2 {
		t.Errorf("the CDN served the file %d times without a token, want 2", n)
	}
}

// TestOversizedReplyFileIsNotSent checks that a reply Discord would refuse
// for its file becomes an error the user can report, not a lost answer.
func TestOversizedReplyFileIsNotSent(t *testing.T) {
	t.Parallel()
	hs := start(t, nil)
	hs.h.set(func(ctx context.Context, req *commands.Request) (*commands.Response, error) {
		return &commands.Response{Content: "huge", Ephemeral: true, Files: []commands.File{
			{Name: "big.bin", Data: make([]byte, discordtest.MaxUploadBytes+1)},
		}}, nil
	})
	sent := hs.srv.SendInteraction(discordtest.Interaction{Command: "trend", Options: []discordtest.Option{discordtest.Str("query", "x")}})
	rep := hs.srv.WaitReply(sent)
	<-hs.h.called
	if !strings.Contains(rep.Content, "something went wrong (ref ") || len(rep.Files) != 0 {
		t.Errorf("reply %q with %d files, want an error with a reference and no file", rep.Content, len(rep.Files))
	}
}

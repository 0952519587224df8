package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	digestbot "github.com/digestbot/digestbot"
	botcommands "github.com/digestbot/digestbot/commands"
)

// Files at the prompt: an attachment option names a local file (the
// terminal's user is the operator), and files of a reply are saved to a
// temporary directory, since a terminal cannot show a chart.

// promptAttachments turns the attachment options of req into files read
// from the paths typed.
func promptAttachments(req *botcommands.Request) {
	for _, d := range botcommands.Definitions() {
		if d.Name != req.Name {
			continue
		}
		for _, o := range d.Options {
			path, ok := req.Options[o.Name]
			if o.Type != botcommands.AttachmentOption || !ok {
				continue
			}
			if req.Attachments == nil {
				req.Attachments = map[string]*botcommands.Attachment{}
			}
			req.Options[o.Name] = filepath.Base(path)
			req.Attachments[o.Name] = &botcommands.Attachment{
				Filename: filepath.Base(path),
				Fetch: func(_ context.Context, limit int64) ([]byte, error) {
					f, err := os.Open(path)
					if err != nil {
						return nil, digestbot.Errorf(digestbot.EINVALID, "cannot read %s: %v", path, err)
					}
					defer f.Close()
					data, err := io.ReadAll(io.LimitReader(f, limit+1))
					if err != nil {
						return nil, digestbot.Errorf(digestbot.EINVALID, "cannot read %s: %v", path, err)
					}
					if int64(len(data)) > limit {
						return nil, digestbot.Errorf(digestbot.ELIMIT, "the file %s is larger than %d bytes, the limit", path, limit)
					}
					return data, nil
				},
			}
		}
	}
}

// saveReplyFiles writes the files of a reply to a new temporary directory
// and says where.
func saveReplyFiles(out io.Writer, fs []botcommands.File) {
	if len(fs) == 0 {
		return
	}
	dir, err := os.MkdirTemp("", "digestbot-reply-")
	if err != nil {
		fmt.Fprintf(out, "✗ cannot save the reply's files: %v\r\n", err)
		return
	}
	for _, f := range fs {
		path := filepath.Join(dir, filepath.Base(f.Name))
		if err := os.WriteFile(path, f.Data, 0o600); err != nil {
			fmt.Fprintf(out, "✗ cannot save %s: %v\r\n", f.Name, err)
			continue
		}
		fmt.Fprintf(out, "📎 %s (%d bytes): %s\r\n", f.Name, len(f.Data), path)
	}
}

package commands

import (
	"context"
	"fmt"
)

// Attachment is a file a user gave to an attachment option. The front end
// fills in what the chat service says of it; Fetch reads it.
type Attachment struct {
	Filename    string
	ContentType string // as the chat service reports it; may be empty
	Size        int64  // bytes, as the chat service reports it
	// Fetch reads the file, at most limit bytes: a longer file is an
	// ELIMIT error, so a handler never holds more than it allows.
	Fetch func(ctx context.Context, limit int64) ([]byte, error)
}

// File is a file sent with a reply.
type File struct {
	Name        string // shown to users, e.g. "trend.png"
	ContentType string // e.g. "image/png"
	Data        []byte
}

// MaxReplyFileBytes is the largest file a reply may carry: Discord's upload
// limit for a bot in a server without boosts.
const MaxReplyFileBytes = 10 << 20

// MaxReplyFiles is how many files one reply may carry (Discord's limit).
const MaxReplyFiles = 10

// CheckFiles refuses files a chat service would refuse: too many, too
// large, or without a name.
func CheckFiles(fs []File) error {
	if len(fs) > MaxReplyFiles {
		return fmt.Errorf("a reply carries %d files, the limit is %d", len(fs), MaxReplyFiles)
	}
	for _, f := range fs {
		if f.Name == "" {
			return fmt.Errorf("a reply file has no name")
		}
		if len(f.Data) > MaxReplyFileBytes {
			return fmt.Errorf("reply file %s is %d bytes, the limit is %d", f.Name, len(f.Data), MaxReplyFileBytes)
		}
	}
	return nil
}

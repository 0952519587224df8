package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/bwmarrin/discordgo"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/commands"
)

// Files in both directions. Discord sends an attachment option as the
// attachment's id, with the file's name, size and CDN URL in the
// interaction's resolved data; a reply carries files as multipart/form-data
// (a payload_json part and one files[n] part per file), which discordgo
// builds with MultipartBodyWithJSON.

// fileDownloadTimeout bounds one download of an attachment.
const fileDownloadTimeout = 30 * time.Second

// newFileClient returns the client that downloads attachments. It is not
// the session's client: that one's transport adds the bot token to every
// request, and the token must never reach the CDN (or whatever host an
// attachment URL names).
func newFileClient(hc *http.Client) *http.Client {
	var rt http.RoundTripper = http.DefaultTransport
	if hc != nil && hc.Transport != nil {
		rt = hc.Transport
	}
	return &http.Client{Timeout: fileDownloadTimeout, Transport: rt}
}

// attachments reads the attachment options of a command from the resolved
// data and replaces each option's value (the attachment id) by the file
// name. EINVALID when Discord sent an id without its file.
func (b *Bot) attachments(def commands.Definition, inv invocation, resolved *discordgo.ApplicationCommandInteractionDataResolved) (map[string]*commands.Attachment, error) {
	var out map[string]*commands.Attachment
	for _, o := range def.Options {
		id, given := inv.options[o.Name]
		if o.Type != commands.AttachmentOption || !given || inv.focused != "" {
			continue
		}
		var ma *discordgo.MessageAttachment
		if resolved != nil {
			ma = resolved.Attachments[id]
		}
		if ma == nil || ma.URL == "" {
			return nil, digestbot.Errorf(digestbot.EINVALID, "Discord did not send the file of the option %s; attach it again.", o.Name)
		}
		if out == nil {
			out = map[string]*commands.Attachment{}
		}
		inv.options[o.Name] = ma.Filename
		fileURL := ma.URL
		out[o.Name] = &commands.Attachment{
			Filename:    ma.Filename,
			ContentType: ma.ContentType,
			Size:        int64(ma.Size),
			Fetch: func(ctx context.Context, limit int64) ([]byte, error) {
				return b.download(ctx, fileURL, ma.Filename, limit)
			},
		}
	}
	return out, nil
}

// download reads an attachment, refusing one longer than limit bytes
// without reading past the limit.
func (b *Bot) download(ctx context.Context, rawURL, name string, limit int64) ([]byte, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, digestbot.Errorf(digestbot.EINVALID, "the file %s has no address the bot can read", name)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("attachment request: %w", err)
	}
	req.Header.Set("User-Agent", b.s.UserAgent)
	resp, err := b.files.Do(req)
	if err != nil {
		return nil, digestbot.WrapError(digestbot.EUNAVAILABLE, err, "could not download the file %s from Discord; try again", name)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, digestbot.Errorf(digestbot.EUNAVAILABLE, "Discord answered %s for the file %s; attach it again", resp.Status, name)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, digestbot.WrapError(digestbot.EUNAVAILABLE, err, "could not download the file %s from Discord; try again", name)
	}
	if int64(len(data)) > limit {
		return nil, digestbot.Errorf(digestbot.ELIMIT, "the file %s is larger than %d bytes, the limit", name, limit)
	}
	return data, nil
}

// replyFiles converts a reply's files and the attachment list that names
// them in the message payload.
func replyFiles(fs []commands.File) ([]*discordgo.File, []*discordgo.MessageAttachment) {
	if len(fs) == 0 {
		return nil, nil
	}
	files := make([]*discordgo.File, len(fs))
	atts := make([]*discordgo.MessageAttachment, len(fs))
	for i, f := range fs {
		files[i] = &discordgo.File{Name: f.Name, ContentType: f.ContentType, Reader: bytes.NewReader(f.Data)}
		atts[i] = &discordgo.MessageAttachment{ID: fmt.Sprint(i), Filename: f.Name}
	}
	return files, atts
}

// encodeAnswer encodes an interaction answer: JSON, or multipart/form-data
// when it carries files.
func encodeAnswer(body any, files []*discordgo.File) (contentType string, data []byte, err error) {
	if len(files) > 0 {
		contentType, data, err = discordgo.MultipartBodyWithJSON(body, files)
		if err != nil {
			return "", nil, fmt.Errorf("encode interaction answer with files: %w", err)
		}
		return contentType, data, nil
	}
	if body == nil {
		return "", nil, nil
	}
	data, err = json.Marshal(body)
	if err != nil {
		return "", nil, fmt.Errorf("encode interaction answer: %w", err)
	}
	return "application/json", data, nil
}

// uploadTime is the extra time a reply's files may take to send: a second
// per MiB, as a slow link to Discord still manages that.
func uploadTime(fs []commands.File) time.Duration {
	n := 0
	for _, f := range fs {
		n += len(f.Data)
	}
	return time.Duration(n>>20) * time.Second
}

package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/bwmarrin/discordgo"
)

// Interaction answers (callback, edits, followups) go straight through the
// session's HTTP client rather than discordgo's rate limiter: discordgo
// keys the callback bucket by interaction token and never drops it, so its
// bucket map would grow with every interaction for the life of the
// process, and it funnels every original-response edit of every user
// through one shared bucket. Interaction tokens carry their own limits,
// which a 429 here still honours.

// maxAnswerWait bounds a wait on a 429 while answering: a user is waiting.
const maxAnswerWait = 2 * time.Second

// respond sends the initial response to an interaction, with files when
// given (named in resp.Data.Attachments).
func (b *Bot) respond(ctx context.Context, i *discordgo.Interaction, resp *discordgo.InteractionResponse, files ...*discordgo.File) error {
	return b.interactionCall(ctx, http.MethodPost, discordgo.EndpointInteractionResponse(i.ID, i.Token), resp, files)
}

// editOriginal replaces the deferred original response.
func (b *Bot) editOriginal(ctx context.Context, i *discordgo.Interaction, edit *discordgo.WebhookEdit, files ...*discordgo.File) error {
	return b.interactionCall(ctx, http.MethodPatch, discordgo.EndpointInteractionResponseActions(i.AppID, i.Token), edit, files)
}

// deleteOriginal removes the deferred original response.
func (b *Bot) deleteOriginal(ctx context.Context, i *discordgo.Interaction) error {
	return b.interactionCall(ctx, http.MethodDelete, discordgo.EndpointInteractionResponseActions(i.AppID, i.Token), nil, nil)
}

// followup sends a further message for an interaction.
func (b *Bot) followup(ctx context.Context, i *discordgo.Interaction, p *discordgo.WebhookParams, files ...*discordgo.File) error {
	return b.interactionCall(ctx, http.MethodPost, discordgo.EndpointWebhookToken(i.AppID, i.Token)+"?wait=true", p, files)
}

// interactionCall makes one call, retrying once after a short 429. Errors
// are *discordgo.RESTError for HTTP failures, so classify reads them.
func (b *Bot) interactionCall(ctx context.Context, method, url string, body any, files []*discordgo.File) error {
	contentType, data, err := encodeAnswer(body, files)
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(data))
		if err != nil {
			return fmt.Errorf("interaction answer request: %w", err)
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		req.Header.Set("User-Agent", b.s.UserAgent)
		resp, err := b.s.Client.Do(req)
		if err != nil {
			return fmt.Errorf("interaction answer: %w", err)
		}
		respBody, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if resp.StatusCode < 300 {
			return nil
		}
		if resp.StatusCode == http.StatusTooManyRequests && attempt == 0 {
			b.rateLimited(url)
			var tm discordgo.TooManyRequests
			if json.Unmarshal(respBody, &tm) == nil && tm.RetryAfter <= maxAnswerWait {
				t := time.NewTimer(tm.RetryAfter)
				select {
				case <-t.C:
					continue
				case <-ctx.Done():
					t.Stop()
					return fmt.Errorf("interaction answer: %w", ctx.Err())
				}
			}
		}
		rest := &discordgo.RESTError{Request: req, Response: resp, ResponseBody: respBody}
		var msg discordgo.APIErrorMessage
		if json.Unmarshal(respBody, &msg) == nil {
			rest.Message = &msg
		}
		return rest
	}
}

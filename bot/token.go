package bot

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/digestbot/digestbot/backoff"
)

// tokenCheck paces the checks of a refused token: soon at first (an
// operator who just replaced the file wants to see it work), then at most
// once a minute.
var tokenCheck = backoff.Policy{First: 5 * time.Second, Max: time.Minute}

// tokenRefused is called on every 401. The first one holds digest
// delivery (TokenOK turns false; the scheduler takes no work), says so in
// the log and in /readyz, and starts checking for a valid token; nothing
// is paused, so delivery resumes where it was once one is in place.
func (b *Bot) tokenRefused() {
	if !b.refused.CompareAndSwap(0, b.opts.Now().UnixMilli()) {
		return
	}
	how := "restart with a valid DISCORD_TOKEN"
	if b.opts.TokenSource != nil {
		how = "replace the token file (it is read again until Discord accepts it)"
	}
	b.log.Error("Discord refused the bot token (401): digest delivery is held, nothing is paused; reset the token in the Discord developer portal and " + how)
	go b.watchToken()
}

// watchToken reads the token again (when it comes from a file) and asks
// Discord whether it accepts it, until it does.
func (b *Bot) watchToken() {
	for attempt := 1; ; attempt++ {
		if backoff.Wait(b.ctx, tokenCheck.Delay(attempt)) != nil {
			return
		}
		if b.opts.TokenSource != nil {
			tok, err := b.opts.TokenSource()
			if err != nil {
				b.log.Warn("cannot read the bot token again", "err", err)
			} else if tok = strings.TrimPrefix(strings.TrimSpace(tok), "Bot "); tok != "" {
				b.token.Store(&tok)
			}
		}
		ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
		_, err := b.s.User("@me", discordgo.WithContext(ctx))
		cancel()
		if err == nil {
			b.refused.Store(0)
			b.log.Info("Discord accepts the bot token again; digest delivery resumes")
			return
		}
	}
}

// TokenOK reports whether Discord accepts the bot's token: false from a
// 401 until a check with the (re-read) token succeeds. Digest delivery
// waits while it is false.
func (b *Bot) TokenOK() bool { return b.refused.Load() == 0 }

// TokenProblem says why the token is not usable, for /readyz; nil when it is.
func (b *Bot) TokenProblem() error {
	at := b.refused.Load()
	if at == 0 {
		return nil
	}
	return fmt.Errorf("Discord refused the bot token (401) at %s; digest delivery is held until a valid token is in place",
		time.UnixMilli(at).UTC().Format(time.RFC3339))
}

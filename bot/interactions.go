package bot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/commands"
)

// exchange is one interaction being answered; it remembers whether the
// initial response was sent, so a late failure (or a panic) still reaches
// the user the right way.
type exchange struct {
	i         *discordgo.Interaction
	name      string // for logs and metrics
	responded bool   // an initial response went out
	deferred  bool   // ... and it was a deferral (type 5 or 6)
	ephemeral bool   // ... flagged ephemeral
	update    bool   // ... of an update of the message the button is on (type 6)
}

// onInteraction answers every interaction: slash commands, autocomplete
// and buttons. discordgo calls it on its own goroutine per event.
func (b *Bot) onInteraction(_ *discordgo.Session, ic *discordgo.InteractionCreate) {
	if ic == nil || ic.Interaction == nil {
		return
	}
	ex := &exchange{i: ic.Interaction}
	if !b.begin() {
		if ic.Type != discordgo.InteractionApplicationCommandAutocomplete {
			b.finish(ex, nil, digestbot.Errorf(digestbot.EUNAVAILABLE, "The bot is restarting; try again in a minute."))
		}
		return
	}
	defer b.inflight.Done()
	defer func() {
		if r := recover(); r != nil {
			err := digestbot.WrapError(digestbot.EINTERNAL, fmt.Errorf("panic: %v\n%s", r, debug.Stack()), "")
			if ic.Type == discordgo.InteractionApplicationCommandAutocomplete {
				b.log.Error("autocomplete panicked", "command", ex.name, "err", err)
				return
			}
			b.finish(ex, nil, err)
		}
	}()
	ctx, cancel := context.WithTimeout(b.ctx, handlerTimeout)
	defer cancel()

	switch ic.Type {
	case discordgo.InteractionApplicationCommand:
		b.command(ctx, ex)
	case discordgo.InteractionApplicationCommandAutocomplete:
		b.autocomplete(ctx, ex)
	case discordgo.InteractionMessageComponent:
		b.component(ctx, ex)
	case discordgo.InteractionPing:
		// Only used by HTTP interactions; the gateway never sends it.
	default:
		b.log.Debug("interaction type not handled", "type", ic.Type)
	}
}

func (b *Bot) command(ctx context.Context, ex *exchange) {
	data, ok := ex.i.Data.(discordgo.ApplicationCommandInteractionData)
	if !ok {
		return
	}
	inv := readCommand(data)
	ex.name = inv.name
	def, ok := b.defs[inv.name]
	if !ok {
		// Left over from an older registration; it goes away at the next bulk overwrite.
		b.finish(ex, nil, digestbot.Errorf(digestbot.ENOTFOUND, "/%s is not a command of this bot any more.", inv.name))
		return
	}
	req, err := b.request(ex, inv, data.Resolved)
	if err != nil {
		b.finish(ex, nil, err)
		return
	}
	if err := b.admit(req); err != nil {
		b.finish(ex, nil, err)
		return
	}
	if def.Manage && !req.CanManage {
		b.finish(ex, nil, digestbot.Errorf(digestbot.EFORBIDDEN, "/%s changes this server's digests: it needs the Manage Channels permission%s.", inv.name, b.roleHint()))
		return
	}
	// Changes are announced in the channel; lookups, listings, previews
	// and help concern only the caller.
	if !b.deferReply(ex, !def.Manage) {
		return
	}
	b.run(ctx, ex, req)
}

func (b *Bot) component(ctx context.Context, ex *exchange) {
	data, ok := ex.i.Data.(discordgo.MessageComponentInteractionData)
	if !ok || data.CustomID == "" {
		return
	}
	ex.name = "button"
	req, err := b.request(ex, invocation{name: "button", options: map[string]string{"id": data.CustomID}}, nil)
	if err != nil {
		b.finish(ex, nil, err)
		return
	}
	if err := b.admit(req); err != nil {
		b.finish(ex, nil, err)
		return
	}
	// Previous and Next turn the pages of the message they are on.
	if commands.UpdatesMessage(data.CustomID) {
		if !b.deferUpdate(ex) {
			return
		}
		b.run(ctx, ex, req)
		return
	}
	// A button answers the one who pressed it unless the core says
	// otherwise (a "share in channel" button), see finish.
	if !b.deferReply(ex, true) {
		return
	}
	b.run(ctx, ex, req)
}

// run calls the core and delivers its answer, observing latency.
func (b *Bot) run(ctx context.Context, ex *exchange, req *commands.Request) {
	start := time.Now()
	resp, err := b.opts.Handler.Handle(ctx, req)
	if b.opts.OnCommand != nil {
		b.opts.OnCommand(ex.name, time.Since(start), digestbot.ErrorCode(err))
	}
	b.finish(ex, resp, err)
}

func (b *Bot) autocomplete(ctx context.Context, ex *exchange) {
	data, ok := ex.i.Data.(discordgo.ApplicationCommandInteractionData)
	if !ok {
		return
	}
	inv := readCommand(data)
	ex.name = inv.name
	var cs []commands.Choice
	if _, known := b.defs[inv.name]; known && inv.focused != "" {
		if req, err := b.request(ex, inv, data.Resolved); err == nil {
			actx, cancel := context.WithTimeout(ctx, autocompleteTimeout)
			cs, err = b.opts.Handler.Autocomplete(actx, req)
			cancel()
			if err != nil {
				// Suggestions are a convenience: show none, log real failures.
				if digestbot.ErrorCode(err) == digestbot.EINTERNAL {
					b.log.Error("autocomplete failed", "command", inv.name, "option", inv.focused, "err", err)
				}
				cs = nil
			}
		}
	}
	err := b.respond(ctx, ex.i, &discordgo.InteractionResponse{
		Type: discordgo.InteractionApplicationCommandAutocompleteResult,
		Data: &discordgo.InteractionResponseData{Choices: choices(cs)},
	})
	if err != nil {
		b.replyFailed("autocomplete", ex, err)
	}
}

// request builds the core's request from an interaction.
func (b *Bot) request(ex *exchange, inv invocation, resolved *discordgo.ApplicationCommandInteractionDataResolved) (*commands.Request, error) {
	i := ex.i
	if i.GuildID == "" && inv.name == "button" && i.User != nil {
		// A button in a direct message (the "More" of a watch's digest):
		// no server, no member; the core decides what it may show.
		return &commands.Request{Name: inv.name, Options: inv.options, ChannelID: i.ChannelID, UserID: i.User.ID, Now: b.opts.Now()}, nil
	}
	if i.GuildID == "" || i.Member == nil || i.Member.User == nil {
		return nil, digestbot.Errorf(digestbot.EINVALID, "Use the digest bot's commands in a server channel.")
	}
	files, err := b.attachments(b.defs[inv.name], inv, resolved)
	if err != nil {
		return nil, err
	}
	req := &commands.Request{
		Name:      inv.name,
		Options:   inv.options,
		GuildID:   i.GuildID,
		ChannelID: i.ChannelID,
		UserID:    i.Member.User.ID,
		CanManage: memberCanManage(b.permissionsFor(i, inv.options["channel"]), i.Member.Roles, b.opts.ManagerRole, func() map[string]string {
			return b.roleNames(i.GuildID)
		}),
		ChannelInGuild: b.channelInGuild(i.GuildID, i.ChannelID, resolved),
		Focused:        inv.focused,
		Now:            b.opts.Now(),
	}
	req.Attachments = files
	return req, nil
}

// permissionsFor returns the member's permissions in the channel a command
// is about. Discord computes member.permissions for the channel the command
// was used in; a `channel` option naming another channel needs the
// member's permissions there, computed from the gateway state (roles and
// that channel's overwrites). When they cannot be computed, only an
// administrator passes.
func (b *Bot) permissionsFor(i *discordgo.Interaction, target string) int64 {
	target = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(target), "<#"), ">")
	// Administrator is server-wide: no channel overwrite takes it away.
	if target == "" || target == i.ChannelID || i.Member.Permissions&discordgo.PermissionAdministrator != 0 {
		return i.Member.Permissions
	}
	m := *i.Member
	m.GuildID = i.GuildID
	if err := b.s.State.MemberAdd(&m); err == nil {
		if p, err := b.s.State.UserChannelPermissions(m.User.ID, target); err == nil {
			return p
		}
	}
	return 0
}

// admit applies the per-user command rate limit.
func (b *Bot) admit(req *commands.Request) error {
	ok, wait := b.limiter.allow(req.UserID, b.opts.Now())
	if ok {
		return nil
	}
	return digestbot.Errorf(digestbot.ELIMIT, "Easy there — that is more commands than the bot takes from one person at a time (%d a minute once the first %d are used). Try again in %d s.",
		b.opts.CommandsPerMinute, b.opts.CommandBurst, int(wait.Seconds()))
}

func (b *Bot) roleHint() string {
	if b.opts.ManagerRole == "" {
		return ""
	}
	return " or the manager role"
}

// roleNames maps a guild's role ids to names, from the gateway's state or,
// failing that, the API.
func (b *Bot) roleNames(guildID string) map[string]string {
	names := map[string]string{}
	if g, err := b.s.State.Guild(guildID); err == nil {
		b.s.State.RLock()
		for _, r := range g.Roles {
			names[r.ID] = r.Name
		}
		b.s.State.RUnlock()
	}
	if len(names) > 0 {
		return names
	}
	ctx, cancel := context.WithTimeout(b.ctx, time.Second)
	defer cancel()
	roles, err := b.s.GuildRoles(guildID, discordgo.WithContext(ctx))
	if err != nil {
		b.log.Warn("cannot read guild roles", "guild", guildID, "err", err)
		return names
	}
	for _, r := range roles {
		names[r.ID] = r.Name
	}
	return names
}

// channelInGuild answers the core's question "does this channel belong to
// the calling guild?" from the interaction's resolved data, the gateway
// state, or the API, in that order.
func (b *Bot) channelInGuild(guildID, here string, resolved *discordgo.ApplicationCommandInteractionDataResolved) func(context.Context, string) (bool, error) {
	return func(ctx context.Context, channelID string) (bool, error) {
		if channelID == "" {
			return false, nil
		}
		if channelID == here {
			return true, nil // Discord says the interaction came from this guild's channel
		}
		if resolved != nil {
			if c := resolved.Channels[channelID]; c != nil && c.GuildID != "" {
				return c.GuildID == guildID, nil
			}
		}
		if c, err := b.s.State.Channel(channelID); err == nil {
			b.s.State.RLock()
			owner := c.GuildID
			b.s.State.RUnlock()
			return owner == guildID, nil
		}
		c, err := b.s.Channel(channelID, discordgo.WithContext(ctx))
		if err != nil {
			switch code := classify(err); code {
			case digestbot.ENOTFOUND, digestbot.EFORBIDDEN:
				return false, nil // gone, or not visible to the bot: not this guild's
			default:
				b.discordError("get_channel", code)
				return false, digestbot.WrapError(code, err, "Discord could not tell whether channel %s belongs to this server; try again later.", channelID)
			}
		}
		return c.GuildID == guildID, nil
	}
}

// deferReply acknowledges the interaction (type 5) so the core has 15
// minutes instead of 3 s. It reports whether the acknowledgement went out.
func (b *Bot) deferReply(ex *exchange, ephemeral bool) bool {
	resp := &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource}
	if ephemeral {
		resp.Data = &discordgo.InteractionResponseData{Flags: discordgo.MessageFlagsEphemeral}
	}
	ctx, cancel := context.WithTimeout(b.ctx, 3*time.Second)
	defer cancel()
	if err := b.respond(ctx, ex.i, resp); err != nil {
		b.replyFailed("defer", ex, err)
		return false
	}
	ex.responded, ex.deferred, ex.ephemeral = true, true, ephemeral
	return true
}

// deferUpdate acknowledges a button whose answer replaces the message it
// is on (type 6); the message stays as it is until the edit.
func (b *Bot) deferUpdate(ex *exchange) bool {
	ctx, cancel := context.WithTimeout(b.ctx, 3*time.Second)
	defer cancel()
	if err := b.respond(ctx, ex.i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredMessageUpdate}); err != nil {
		b.replyFailed("defer", ex, err)
		return false
	}
	ex.responded, ex.deferred, ex.update = true, true, true
	return true
}

// finish delivers the core's answer, or an error as a reply, whatever
// state the interaction is in.
func (b *Bot) finish(ex *exchange, resp *commands.Response, err error) {
	if err != nil {
		resp = b.errorResponse(ex, err)
	}
	if resp == nil {
		resp = &commands.Response{Content: "Done.", Ephemeral: true}
	}
	if ferr := commands.CheckFiles(resp.Files); ferr != nil {
		// A core bug, not the user's: say so rather than have Discord refuse.
		resp = b.errorResponse(ex, digestbot.WrapError(digestbot.EINTERNAL, ferr, ""))
	}
	r := render(resp)
	files, atts := replyFiles(resp.Files)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second+uploadTime(resp.Files))
	defer cancel()
	var flags discordgo.MessageFlags
	if resp.Ephemeral {
		flags = discordgo.MessageFlagsEphemeral
	}

	switch {
	case ex.update && err == nil:
		// The new page takes the place of the old one, buttons included.
		err = b.editOriginal(ctx, ex.i, &discordgo.WebhookEdit{
			Content: &r.content, Embeds: &r.embeds, Components: &r.components,
			AllowedMentions: noMentions(),
		})
		if err != nil {
			b.replyFailed("edit", ex, err)
		}
	case ex.update:
		// An error (the pages expired) must not replace the page on screen.
		err = b.followup(ctx, ex.i, &discordgo.WebhookParams{
			Content: r.content, Flags: discordgo.MessageFlagsEphemeral, AllowedMentions: noMentions(),
		})
		if err != nil {
			b.replyFailed("followup", ex, err)
		}
	case !ex.responded:
		data := &discordgo.InteractionResponseData{
			Content: r.content, Embeds: r.embeds, Components: r.components, Flags: flags,
			AllowedMentions: noMentions(),
		}
		if atts != nil {
			data.Attachments = &atts
		}
		err = b.respond(ctx, ex.i, &discordgo.InteractionResponse{
			Type: discordgo.InteractionResponseChannelMessageWithSource,
			Data: data,
		}, files...)
		ex.responded = err == nil
		if err != nil {
			b.replyFailed("respond", ex, err)
		}
	case resp.Ephemeral == ex.ephemeral:
		edit := &discordgo.WebhookEdit{
			Content: &r.content, Embeds: &r.embeds, Components: &r.components,
			AllowedMentions: noMentions(),
		}
		if atts != nil {
			edit.Attachments = &atts
		}
		err = b.editOriginal(ctx, ex.i, edit, files...)
		if err != nil {
			b.replyFailed("edit", ex, err)
		}
	default:
		// The deferral promised the other visibility, which an edit cannot
		// change: replace the placeholder by a followup.
		if err := b.deleteOriginal(ctx, ex.i); err != nil {
			b.replyFailed("delete", ex, err)
		}
		err = b.followup(ctx, ex.i, &discordgo.WebhookParams{
			Content: r.content, Embeds: r.embeds, Components: r.components, Flags: flags,
			AllowedMentions: noMentions(), Attachments: atts,
		}, files...)
		if err != nil {
			b.replyFailed("followup", ex, err)
		}
	}
}

// errorResponse turns an error into an ephemeral reply; internal errors
// are logged with a reference the user can quote.
func (b *Bot) errorResponse(ex *exchange, err error) *commands.Response {
	ref := ""
	if digestbot.ErrorCode(err) == digestbot.EINTERNAL {
		ref = newRef()
		b.log.Error("command failed", "ref", ref, "command", ex.name, "guild", ex.i.GuildID, "err", err)
	} else {
		b.log.Debug("command refused", "command", ex.name, "code", digestbot.ErrorCode(err), "err", err)
	}
	return &commands.Response{Content: userMessage(err, ref), Ephemeral: true}
}

// replyFailed logs a failed answer; an expired or already answered
// interaction is the user's lost reply, not an outage.
func (b *Bot) replyFailed(op string, ex *exchange, err error) {
	code := classify(err)
	b.discordError("interaction_"+op, code)
	lvl := b.log.Warn
	if errors.Is(err, context.Canceled) || strings.Contains(err.Error(), "10062") {
		lvl = b.log.Info
	}
	lvl("cannot answer interaction", "op", op, "command", ex.name, "interaction", ex.i.ID, "code", code, "err", err)
}

// newRef returns a short random reference for an error report.
func newRef() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// noMentions keeps replies and digests from pinging anyone: text quoted
// from articles or typed by users may hold @everyone or role mentions.
func noMentions() *discordgo.MessageAllowedMentions {
	return &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}}
}

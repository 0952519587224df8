package bot

import (
	"context"
	"errors"

	"github.com/bwmarrin/discordgo"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/digest"
)

// Threads, forum posts and buttons on digests: a digest past its channel's
// number of stories continues in a thread started on its first message; in
// a forum the digest is a post; where the bot may not start threads, a
// "More" button on the digest pages through the rest.

// threadArchiveMinutes keeps a digest's thread open for a day of quiet.
const threadArchiveMinutes = 1440

// errThreadExists is Discord's code for a second thread on one message.
const errThreadExists = 160004

// ChannelKind says what kind of channel ch is; it implements
// digest.Transport. The gateway's cache answers; a channel it does not
// know is read from Discord.
func (b *Bot) ChannelKind(ctx context.Context, ch digestbot.ChannelRef) (string, error) {
	c, err := b.s.State.Channel(ch.ChannelID)
	if err != nil || c == nil {
		c, err = b.s.Channel(ch.ChannelID, discordgo.WithContext(ctx))
		if err != nil {
			code := classify(err)
			b.discordError("channel", code)
			return "", digestbot.WrapError(code, err, "%s", postMessage(code, ch.ChannelID))
		}
	}
	switch c.Type {
	case discordgo.ChannelTypeDM:
		return b.directKind(ctx, ch, c)
	case discordgo.ChannelTypeGuildForum:
		return digest.KindForum, nil
	case discordgo.ChannelTypeGuildText, discordgo.ChannelTypeGuildNews:
		return digest.KindText, nil
	default:
		return digest.KindOther, nil
	}
}

// StartThread starts a public thread on the bot's message and returns its
// id; a thread started on it before is returned too (Discord gives a
// thread started on a message the message's id).
func (b *Bot) StartThread(ctx context.Context, ch digestbot.ChannelRef, messageID, name string) (string, error) {
	t, err := b.s.MessageThreadStartComplex(ch.ChannelID, messageID, &discordgo.ThreadStart{
		Name: clip(name, 100), AutoArchiveDuration: threadArchiveMinutes,
	}, discordgo.WithContext(ctx), discordgo.WithRetryOnRatelimit(false))
	if err != nil {
		var rest *discordgo.RESTError
		if errors.As(err, &rest) && rest.Message != nil && rest.Message.Code == errThreadExists {
			return messageID, nil
		}
		code := classify(err)
		b.discordError("thread", code)
		return "", digestbot.WrapError(code, err, "cannot start a thread in channel %s", ch.ChannelID)
	}
	return t.ID, nil
}

// PostForum opens a post in a forum with its first message.
func (b *Bot) PostForum(ctx context.Context, ch digestbot.ChannelRef, name string, msg digest.Message) (string, error) {
	embeds, err := digestEmbeds(msg)
	if err != nil {
		return "", err
	}
	t, err := b.s.ForumThreadStartComplex(ch.ChannelID,
		&discordgo.ThreadStart{Name: clip(name, 100), AutoArchiveDuration: threadArchiveMinutes},
		&discordgo.MessageSend{Content: clip(msg.Content, maxContent), Embeds: embeds, AllowedMentions: rolesOnly(msg.Mentions)},
		discordgo.WithContext(ctx), discordgo.WithRetryOnRatelimit(false))
	if err != nil {
		code := classify(err)
		b.discordError("forum_post", code)
		return "", digestbot.WrapError(code, err, "cannot open a post in forum %s", ch.ChannelID)
	}
	return t.ID, nil
}

// FindForumPost returns the bot's post of that name in the forum, among
// the active and the archived ones; "" when there is none.
func (b *Bot) FindForumPost(ctx context.Context, ch digestbot.ChannelRef, name string) (string, error) {
	name = clip(name, 100)
	fail := func(err error) (string, error) {
		code := classify(err)
		b.discordError("forum_find", code)
		return "", digestbot.WrapError(code, err, "cannot list the posts of forum %s", ch.ChannelID)
	}
	active, err := b.s.GuildThreadsActive(ch.GuildID, discordgo.WithContext(ctx))
	if err != nil {
		return fail(err)
	}
	for _, t := range active.Threads {
		if t.ParentID == ch.ChannelID && t.Name == name {
			return t.ID, nil
		}
	}
	archived, err := b.s.ThreadsArchived(ch.ChannelID, nil, 100, discordgo.WithContext(ctx))
	if err != nil {
		return fail(err)
	}
	for _, t := range archived.Threads {
		if t.Name == name {
			return t.ID, nil
		}
	}
	return "", nil
}

// rolesOnly is mentionsOnly for discordgo's own message types.
func rolesOnly(roles []string) *discordgo.MessageAllowedMentions {
	m := mentionsOnly(roles)
	return &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}, Roles: m.Roles}
}

// AddButton edits the bot's message to msg with one button.
func (b *Bot) AddButton(ctx context.Context, ch digestbot.ChannelRef, messageID string, msg digest.Message, label, customID string) error {
	embeds, err := digestEmbeds(msg)
	if err != nil {
		return err
	}
	content := clip(msg.Content, maxContent)
	row := []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
		discordgo.Button{Label: clip(label, 80), Style: discordgo.SecondaryButton, CustomID: customID},
	}}}
	_, err = b.s.ChannelMessageEditComplex(&discordgo.MessageEdit{
		Channel: ch.ChannelID, ID: messageID, Content: &content, Embeds: &embeds, Components: &row,
		AllowedMentions: rolesOnly(msg.Mentions),
	}, discordgo.WithContext(ctx))
	if err != nil {
		code := classify(err)
		b.discordError("edit", code)
		return digestbot.WrapError(code, err, "cannot add a button to message %s in channel %s", messageID, ch.ChannelID)
	}
	return nil
}

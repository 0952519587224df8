package bot

import (
	"context"

	"github.com/bwmarrin/discordgo"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/digest"
)

// errUnknownMember is Discord's code for a user who is not a member of
// the guild.
const errUnknownMember = 10007

// directKind is ChannelKind of a direct-message channel: it takes messages
// only, and it is the channel of a member's watches, which belong to the
// server they were made in (ref's guild). A member who has left that
// server no longer receives what it may see: the answer is ENOTFOUND, so
// the delivery pauses (and the watches are removed after the grace for
// channels that are gone) instead of posting. Reading one member needs no
// privileged intent.
func (b *Bot) directKind(ctx context.Context, ref digestbot.ChannelRef, c *discordgo.Channel) (string, error) {
	if len(c.Recipients) == 0 || c.Recipients[0] == nil {
		return digest.KindOther, nil
	}
	_, err := b.s.GuildMember(ref.GuildID, c.Recipients[0].ID, discordgo.WithContext(ctx))
	if err == nil {
		return digest.KindOther, nil
	}
	code := classify(err)
	b.discordError("member", code)
	if restCode(err) == errUnknownMember {
		return "", digestbot.WrapError(digestbot.ENOTFOUND, err, "the member is no longer in the server the watch was made in")
	}
	return "", digestbot.WrapError(code, err, "cannot check that the member of a watch is still in the server")
}

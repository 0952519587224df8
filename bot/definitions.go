package bot

import (
	"strings"

	"github.com/bwmarrin/discordgo"

	"github.com/digestbot/digestbot/commands"
)

// groupDescriptions describe the parent of subcommands ("digest now" is
// subcommand "now" of command "digest"); Discord needs one per command.
var groupDescriptions = map[string]string{
	"digest": "Preview or post a channel's digest",
	"feeds":  "Feeds this server polls",
	"topics": "Named queries to subscribe to",
	"watch":  "Follow queries yourself, by direct message",
}

// permManage is the DefaultMemberPermissions of commands that change a
// server's setup: Manage Channels.
const permManage int64 = discordgo.PermissionManageChannels

// ApplicationCommands converts the core's definitions to Discord commands:
// "digest now" and "digest preview" become subcommands of one "digest".
//
// DefaultMemberPermissions (which hides a command from members who lack
// the permission) is Manage Channels on the commands whose every part
// changes something: /subscribe, /unsubscribe, /schedule. Discord can only
// hide whole commands, and the mixed groups hold what members may use —
// /digest preview, /feeds list, /topics list (lookups and listings are open
// to members) — so those stay visible, and their changing subcommands are
// refused by the server-side check, which is made for every command
// whatever Discord shows. With a manager role configured no command is
// hidden, since Discord cannot express "this role" here and the role's
// members must see the commands; the server-side check then does all the
// work.
func ApplicationCommands(defs []commands.Definition, managerRole string) []*discordgo.ApplicationCommand {
	var out []*discordgo.ApplicationCommand
	byName := map[string]*discordgo.ApplicationCommand{}
	guildOnly := []discordgo.InteractionContextType{discordgo.InteractionContextGuild}
	manageOnly := map[string]bool{} // top-level name -> every part needs Manage
	for _, d := range defs {
		if parts := strings.Fields(d.Name); len(parts) > 0 {
			top := parts[0]
			if _, seen := manageOnly[top]; !seen {
				manageOnly[top] = true
			}
			manageOnly[top] = manageOnly[top] && d.Manage
		}
	}
	for _, d := range defs {
		parts := strings.Fields(d.Name)
		if len(parts) == 0 {
			continue
		}
		top := parts[0]
		cmd := byName[top]
		if cmd == nil {
			cmd = &discordgo.ApplicationCommand{
				Type:     discordgo.ChatApplicationCommand,
				Name:     top,
				Options:  []*discordgo.ApplicationCommandOption{},
				Contexts: &guildOnly,
			}
			byName[top] = cmd
			out = append(out, cmd)
		}
		if managerRole == "" && manageOnly[top] {
			p := permManage
			cmd.DefaultMemberPermissions = &p
		}
		if len(parts) == 1 {
			cmd.Description = clip(d.Description, 100)
			cmd.Options = append(cmd.Options, options(d.Options)...)
			continue
		}
		cmd.Description = groupDescriptions[top]
		if cmd.Description == "" {
			cmd.Description = "The " + top + " commands"
		}
		cmd.Options = append(cmd.Options, &discordgo.ApplicationCommandOption{
			Type:        discordgo.ApplicationCommandOptionSubCommand,
			Name:        parts[1],
			Description: clip(d.Description, 100),
			Options:     options(d.Options),
		})
	}
	return out
}

func options(opts []commands.Option) []*discordgo.ApplicationCommandOption {
	out := []*discordgo.ApplicationCommandOption{}
	for _, o := range opts {
		do := &discordgo.ApplicationCommandOption{
			Name:         o.Name,
			Description:  clip(o.Description, 100),
			Required:     o.Required,
			Autocomplete: o.Autocomplete,
		}
		switch o.Type {
		case commands.Channel:
			do.Type = discordgo.ApplicationCommandOptionChannel
			// Digests go to text and announcement channels only.
			do.ChannelTypes = []discordgo.ChannelType{discordgo.ChannelTypeGuildText, discordgo.ChannelTypeGuildNews}
		case commands.Integer:
			do.Type = discordgo.ApplicationCommandOptionInteger
		case commands.Boolean:
			do.Type = discordgo.ApplicationCommandOptionBoolean
		case commands.Role:
			do.Type = discordgo.ApplicationCommandOptionRole
		case commands.AttachmentOption:
			do.Type = discordgo.ApplicationCommandOptionAttachment
		default:
			do.Type = discordgo.ApplicationCommandOptionString
		}
		for _, c := range o.Choices {
			do.Choices = append(do.Choices, &discordgo.ApplicationCommandOptionChoice{Name: c, Value: c})
		}
		out = append(out, do)
	}
	return out
}

package bot

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/bwmarrin/discordgo"
)

// permManager are the permissions that let a member manage subscriptions.
const permManager = discordgo.PermissionManageChannels | discordgo.PermissionAdministrator

// invocation is what a slash command or autocomplete interaction asks for,
// read without discordgo's option helpers (they panic on a type mismatch
// and may call the API).
type invocation struct {
	name    string            // "subscribe", "digest now"
	options map[string]string // values as text; channels as ids
	focused string            // option being typed (autocomplete)
}

// readCommand flattens subcommands ("digest" + "now" -> "digest now") and
// turns option values into text.
func readCommand(d discordgo.ApplicationCommandInteractionData) invocation {
	inv := invocation{name: d.Name, options: map[string]string{}}
	opts := d.Options
	// Discord nests at most a group and a subcommand.
	for depth := 0; depth < 2 && len(opts) == 1 && opts[0] != nil; depth++ {
		t := opts[0].Type
		if t != discordgo.ApplicationCommandOptionSubCommand && t != discordgo.ApplicationCommandOptionSubCommandGroup {
			break
		}
		inv.name += " " + opts[0].Name
		opts = opts[0].Options
	}
	for _, o := range opts {
		if o == nil || o.Name == "" {
			continue
		}
		inv.options[o.Name] = optionText(o.Value)
		if o.Focused {
			inv.focused = o.Name
		}
	}
	return inv
}

// optionText renders an option value as the core expects it: strings as
// they are, numbers without exponent, booleans as true/false.
func optionText(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	case json.Number:
		return v.String()
	default:
		return fmt.Sprint(v)
	}
}

// memberCanManage reads a member's rights: Manage Channels or
// Administrator in the channel, or the manager role given by id or by
// name (roleNames maps the guild's role ids to names; it may be nil).
func memberCanManage(perms int64, roles []string, managerRole string, roleNames func() map[string]string) bool {
	if perms&permManager != 0 {
		return true
	}
	managerRole = strings.TrimSpace(managerRole)
	if managerRole == "" {
		return false
	}
	for _, r := range roles {
		if r == managerRole {
			return true
		}
	}
	if roleNames == nil || len(roles) == 0 {
		return false
	}
	names := roleNames()
	for _, r := range roles {
		if n, ok := names[r]; ok && strings.EqualFold(n, managerRole) {
			return true
		}
	}
	return false
}

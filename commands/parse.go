package commands

import (
	"sort"
	"strings"

	digestbot "github.com/digestbot/digestbot"
)

// ParseLine reads a slash command typed as text, as on the demo prompt:
//
//	/subscribe query:"facial recognition" OR surveillance schedule:daily 08:00
//	/digest now
//	/lookup query:drones since:7d
//
// An option's value runs to the next " NAME:" that names another option of
// the same command, so values may hold spaces without quotes. Quotes are
// kept in query values (they make phrases there) and stripped from others
// when they wrap the whole value. It returns a Request with Name and Options
// set; the caller fills in who and where.
func ParseLine(line string) (*Request, error) {
	line = strings.TrimSpace(line)
	if !strings.HasPrefix(line, "/") {
		return nil, digestbot.Errorf(digestbot.EINVALID, "commands start with /, e.g. /help")
	}
	words := strings.Fields(line[1:])
	if len(words) == 0 {
		return nil, digestbot.Errorf(digestbot.EINVALID, "type a command after /, e.g. /help")
	}
	name := strings.ToLower(words[0])
	rest := strings.TrimSpace(line[1+strings.Index(line[1:], words[0])+len(words[0]):])
	def, ok := definition(name)
	if !ok && len(words) > 1 {
		if d, ok2 := definition(name + " " + strings.ToLower(words[1])); ok2 {
			def, ok = d, true
			name = d.Name
			rest = strings.TrimSpace(rest[strings.Index(rest, words[1])+len(words[1]):])
		}
	}
	if !ok {
		return nil, digestbot.Errorf(digestbot.EINVALID, "unknown command /%s; /help lists them", strings.Join(words[:min(2, len(words))], " "))
	}
	req := &Request{Name: name, Options: map[string]string{}}
	if rest == "" {
		return req, nil
	}
	starts := optionStarts(rest, def)
	if len(starts) == 0 || starts[0].at != 0 {
		return nil, digestbot.Errorf(digestbot.EINVALID, "/%s: expected an option such as %s:, got %q", name, firstOption(def), firstWord(rest))
	}
	for i, st := range starts {
		end := len(rest)
		if i+1 < len(starts) {
			end = starts[i+1].at
		}
		v := strings.TrimSpace(rest[st.at+len(st.name)+1 : end])
		if st.name != "query" && len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' && strings.Count(v, `"`) == 2 {
			v = v[1 : len(v)-1]
		}
		if _, dup := req.Options[st.name]; dup {
			return nil, digestbot.Errorf(digestbot.EINVALID, "/%s: option %s given twice", name, st.name)
		}
		req.Options[st.name] = v
	}
	return req, nil
}

type optStart struct {
	name string
	at   int
}

// optionStarts finds "NAME:" at the start of rest or after white space,
// outside double quotes, for the options of def.
func optionStarts(rest string, def Definition) []optStart {
	var out []optStart
	inQuote := false
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if c == '"' {
			inQuote = !inQuote
			continue
		}
		if inQuote || (i > 0 && rest[i-1] != ' ' && rest[i-1] != '\t') {
			continue
		}
		for _, o := range def.Options {
			if strings.HasPrefix(rest[i:], o.Name+":") {
				out = append(out, optStart{o.Name, i})
				break
			}
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a].at < out[b].at })
	return out
}

func firstOption(def Definition) string {
	if len(def.Options) == 0 {
		return "(none)"
	}
	return def.Options[0].Name
}

func firstWord(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return s
}

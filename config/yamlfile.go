package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// fileCheck collects the problems of the configuration file, each at the
// line of the key it names, so that check-config lists them all, in the
// order of the file.
type fileCheck struct {
	file   string
	lines  map[string]int  // key path ("polling.timeout", "topics[1].query") -> line
	failed map[string]bool // key paths whose value the walk refused (and set to null)
	probs  []problem
}

type problem struct {
	line int // 0: not known
	msg  string
}

// at records a problem at a line (0 when not known).
func (fc *fileCheck) at(line int, format string, args ...any) {
	fc.probs = append(fc.probs, problem{line, fmt.Sprintf(format, args...)})
}

// bad records a problem with the value of key: the message is key followed
// by the formatted rest ("=\"10m\": want ..." or ": empty; ..."), at the
// key's line.
func (fc *fileCheck) bad(key, format string, args ...any) {
	for k := key; k != ""; k = parentKey(k) {
		if fc.failed[k] {
			return // its value was refused already, as the wrong kind of value
		}
	}
	fc.at(fc.line(key), "%s", key+fmt.Sprintf(format, args...))
}

// parentKey is the key path that holds key: feeds[0] for feeds[0].url,
// feeds for feeds[0], "" for feeds.
func parentKey(key string) string {
	if i := strings.LastIndexAny(key, ".["); i >= 0 {
		return key[:i]
	}
	return ""
}

// line returns the line of key, or of the nearest enclosing key the file
// has (a missing feeds[0].url is reported at feeds[0]).
func (fc *fileCheck) line(key string) int {
	for ; key != ""; key = parentKey(key) {
		if l, ok := fc.lines[key]; ok {
			return l
		}
	}
	return 0
}

// errors renders the problems, sorted by line, each prefixed with the file
// name and its line.
func (fc *fileCheck) errors() Errors {
	sort.SliceStable(fc.probs, func(i, j int) bool {
		a, b := fc.probs[i].line, fc.probs[j].line
		return a != 0 && (b == 0 || a < b)
	})
	var errs Errors
	probs := fc.probs
	if len(probs) > maxProblems {
		probs = probs[:maxProblems]
	}
	for _, p := range probs {
		if p.line > 0 {
			errs = append(errs, fmt.Sprintf("%s: line %d: %s", fc.file, p.line, p.msg))
		} else {
			errs = append(errs, fmt.Sprintf("%s: %s", fc.file, p.msg))
		}
	}
	if n := len(fc.probs) - len(probs); n > 0 {
		errs = append(errs, fmt.Sprintf("%s: %d more problems after line %d, not shown", fc.file, n, probs[len(probs)-1].line))
	}
	return errs
}

// maxProblems bounds the problems listed for one file: a list of a thousand
// wrong entries needs its first few named, not all.
const maxProblems = 50

// maxNodeVisits bounds the walk through the file: anchors and aliases can
// make a small file stand for billions of values (yaml refuses those when
// decoding; the walk must not expand them first).
const maxNodeVisits = 1_000_000

// decodeFile decodes data into f (a pointer to a struct with yaml tags).
// It reads the file as a yaml.Node tree first and walks it against f's
// shape, so every unknown key and every value of the wrong kind is named by
// its key path and line, in words rather than yaml's Go type names. The
// walk takes each refused key or value out of the tree (a value becomes
// null, so the key keeps its default), and then the rest is decoded: yaml
// alone would drop a bad list entry and shift the entries after it, so the
// checks that follow would name the wrong ones. It also records the line
// of every key in fc.lines for those checks.
func decodeFile(data []byte, f any, fc *fileCheck) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if !errors.Is(err, io.EOF) { // an empty file is no error
			fc.yamlError(err)
		}
		return
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		fc.yamlError(err)
		return
	case next.Kind == yaml.DocumentNode && len(next.Content) > 0 && !isNull(next.Content[0]):
		// A second document would be ignored without a word.
		fc.at(next.Line, "a second YAML document starts here (after ---); put every key in one document")
	}
	if len(doc.Content) == 0 || isNull(doc.Content[0]) { // comments only
		return
	}
	w := walker{fc: fc}
	w.walk(&doc.Content[0], reflect.TypeOf(f).Elem(), "")
	if w.visits > maxNodeVisits {
		fc.at(doc.Content[0].Line, "the file expands to more than %d values through anchors and aliases (&name, *name); write the values out", maxNodeVisits)
		return
	}
	if err := doc.Decode(f); err != nil {
		fc.yamlError(err)
	}
}

// yamlLineRE matches the "line N: " that yaml puts before its messages.
var yamlLineRE = regexp.MustCompile(`^line (\d+): (.*)$`)

// goTypeRE matches the Go types that yaml names in its messages ("into
// int", "in type struct { ... }"), which mean nothing to an operator.
var goTypeRE = regexp.MustCompile(` (into|in type) .*$`)

// yamlError records an error from the yaml package, one problem per line it
// reports, with "yaml: " and Go type names taken out. The walk catches the
// errors of values; what reaches here is the file's syntax, excessive
// aliasing, or what the walk did not foresee.
func (fc *fileCheck) yamlError(err error) {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	for _, m := range msgs {
		line := 0
		if sm := yamlLineRE.FindStringSubmatch(m); sm != nil {
			line, _ = strconv.Atoi(sm[1])
			m = sm[2]
		}
		m = strings.ReplaceAll(goTypeRE.ReplaceAllString(m, ""), "`", `"`)
		if te == nil {
			m = "not valid YAML: " + m
		}
		fc.at(line, "%s", m)
	}
}

// walker walks a yaml.Node tree against a Go type.
type walker struct {
	fc     *fileCheck
	visits int
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// describe says what a node holds, for "want X, not Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a group of keys"
	case yaml.SequenceNode:
		return "a list"
	}
	return strconv.Quote(n.Value)
}

// keyName is the name of key path p for a message: the top level has none.
func keyName(p string) string {
	if p == "" {
		return "the top level of the file"
	}
	return p
}

// refuse records a problem with the value in *slot (of type t), at key
// path, and puts an empty value in its place, so that decoding keeps the
// key's default and the checks of its value are skipped. An entry of a
// list becomes an empty group of keys rather than null, which yaml would
// drop, shifting the entries after it. Only the slot changes: an alias's
// target may be used well elsewhere.
func (w *walker) refuse(slot **yaml.Node, t reflect.Type, path string, line int, format string, args ...any) {
	w.fc.at(line, format, args...)
	w.fc.failed[path] = true
	empty := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: line, Column: (*slot).Column}
	if t.Kind() == reflect.Struct {
		empty.Kind, empty.Tag = yaml.MappingNode, "!!map"
	}
	*slot = empty
}

// walk checks the value in *slot against type t at key path.
func (w *walker) walk(slot **yaml.Node, t reflect.Type, path string) {
	n := *slot
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if w.visits++; w.visits > maxNodeVisits {
		return
	}
	if isNull(n) {
		return // an empty value keeps the default
	}
	switch t.Kind() {
	case reflect.Pointer:
		w.walk(slot, t.Elem(), path)
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			w.refuse(slot, t, path, n.Line, "%s: want keys under it (%s), not %s", keyName(path), strings.Join(yamlKeys(t), ", "), describe(n))
			return
		}
		w.walkMapping(n, t, path, map[string]int{})
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			w.refuse(slot, t, path, n.Line, "%s: want a list (one entry per line, each starting with -), not %s", path, describe(n))
			return
		}
		for i := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			w.fc.lines[p] = n.Content[i].Line
			w.walk(&n.Content[i], t.Elem(), p)
		}
	default:
		if n.Kind != yaml.ScalarNode {
			w.refuse(slot, t, path, n.Line, "%s: want a single value, not %s", path, describe(n))
			return
		}
		switch t.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			// yaml's own resolver says what is an integer (0x10, 1_000);
			// it would also take 1.5 as 1.
			if n.Tag != "!!int" && !digitsRE.MatchString(n.Value) {
				w.refuse(slot, t, path, n.Line, "%s: %q is not a whole number", path, n.Value)
			} else if n.Tag != "!!int" && n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
				w.refuse(slot, t, path, n.Line, "%s: %q is quoted, which makes it text; write the number without quotes", path, n.Value)
			} else if n.Tag != "!!int" || n.Decode(reflect.New(t).Interface()) != nil {
				w.refuse(slot, t, path, n.Line, "%s: %q is too large", path, n.Value)
			}
		default:
			if n.Decode(reflect.New(t).Interface()) != nil {
				w.refuse(slot, t, path, n.Line, "%s: %q is not a valid value here", path, n.Value)
			}
		}
	}
}

// digitsRE matches a whole number too large for yaml to take as one.
var digitsRE = regexp.MustCompile(`^[-+]?[0-9_]+$`)

// walkMapping checks the keys of mapping n against the yaml tags of struct
// type t, and takes each unknown or repeated key out of n; seen holds the
// keys given so far, with their lines.
func (w *walker) walkMapping(n *yaml.Node, t reflect.Type, path string, seen map[string]int) {
	fields := map[string]reflect.Type{}
	for i := range t.NumField() {
		if name := yamlName(t.Field(i)); name != "" {
			fields[name] = t.Field(i).Type
		}
	}
	kept := n.Content[:0:0]
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" { // <<: *defaults
			v := n.Content[i+1]
			for v.Kind == yaml.AliasNode && v.Alias != nil {
				v = v.Alias
			}
			merged := []*yaml.Node{v}
			if v.Kind == yaml.SequenceNode {
				merged = v.Content
			}
			ok := true
			for _, m := range merged {
				for m.Kind == yaml.AliasNode && m.Alias != nil {
					m = m.Alias
				}
				if m.Kind != yaml.MappingNode {
					w.fc.at(k.Line, "%s: << merges a group of keys, not %s", keyName(path), describe(m))
					ok = false
					continue
				}
				// Keys given next to << override the merged ones: not repeats.
				w.walkMapping(m, t, path, map[string]int{})
			}
			if ok {
				kept = append(kept, k, n.Content[i+1])
			}
			continue
		}
		if k.Kind != yaml.ScalarNode {
			w.fc.at(k.Line, "%s: a key must be a plain name, not %s", keyName(path), describe(k))
			continue
		}
		p := k.Value
		if path != "" {
			p = path + "." + k.Value
		}
		ft, ok := fields[k.Value]
		if !ok {
			w.fc.at(k.Line, "unknown key %s (known: %s)", p, strings.Join(yamlKeys(t), ", "))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			w.fc.at(k.Line, "%s is given twice (first on line %d)", p, first)
			continue
		}
		seen[k.Value] = k.Line
		w.fc.lines[p] = k.Line
		w.walk(&n.Content[i+1], ft, p)
		kept = append(kept, k, n.Content[i+1])
	}
	n.Content = kept
}

// yamlName is the key of a struct field ("" for an untagged field).
func yamlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "-" {
		return ""
	}
	return name
}

// yamlKeys lists the keys of struct type t, in the order of its fields
// (which is the order of the example file).
func yamlKeys(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		if name := yamlName(t.Field(i)); name != "" {
			out = append(out, name)
		}
	}
	return out
}

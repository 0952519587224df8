package ingest

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/mmcdole/gofeed"
	"github.com/mmcdole/gofeed/atom"
	jsonfeed "github.com/mmcdole/gofeed/json"
	"github.com/mmcdole/gofeed/rss"
	"golang.org/x/net/html/charset"
	"golang.org/x/text/language"

	digestbot "github.com/digestbot/digestbot"
)

// rssTranslator skips gofeed's scan of item HTML for images (a full HTML
// parse per item that ingest has no use for).
var rssTranslator = &gofeed.DefaultRSSTranslator{DisableContentImageScan: true}

// parseFeed parses an RSS, Atom or JSON feed and normalises its items.
func parseFeed(data []byte, name, format string, opts LoadOptions) ([]*digestbot.Article, error) {
	if format == FormatJSON {
		data = bytes.TrimPrefix(data, []byte("\ufeff"))
		if err := checkJSONFeed(data, name); err != nil {
			return nil, err
		}
	} else {
		var err error
		if data, err = prepareXML(data, opts.ContentType); err != nil {
			return nil, digestbot.WrapError(digestbot.EINVALID, err, "%s: cannot decode the feed's characters", name)
		}
	}
	var (
		feed *gofeed.Feed
		err  error
	)
	switch format {
	case FormatRSS:
		feed, err = parseWith(rssTranslator, func() (any, error) { return rssParse(data) })
	case FormatAtom:
		feed, err = parseWith(&gofeed.DefaultAtomTranslator{}, func() (any, error) { return atomParse(data) })
	case FormatJSON:
		feed, err = parseWith(&gofeed.DefaultJSONTranslator{}, func() (any, error) { return jsonParse(data) })
	}
	if err != nil {
		return nil, feedError(data, name, format, err)
	}
	base := ""
	if isHTTPURL(name) {
		base = name
	} else if isHTTPURL(feed.Link) {
		base = feed.Link
	}
	source := opts.SourceName
	if source == "" {
		source = FoldSpace(HTMLToText(feed.Title))
	}
	if source == "" {
		if u, ok := CanonicalURL(feed.Link, base); ok {
			source = hostOf(u)
		} else if isHTTPURL(name) {
			source = hostOf(name)
		}
	}
	lang := languageTag(feed.Language)
	now := opts.now()
	arts := make([]*digestbot.Article, 0, len(feed.Items))
	for _, it := range feed.Items {
		if it == nil {
			continue
		}
		text := it.Content
		if strings.TrimSpace(text) == "" {
			text = it.Description
		}
		link := it.Link
		if link == "" && len(it.Links) > 0 {
			link = it.Links[0]
		}
		if link == "" && isHTTPURL(it.GUID) {
			link = it.GUID // RSS permalink GUIDs double as links
		}
		var pub time.Time
		var dateOnly bool
		switch {
		case it.PublishedParsed != nil:
			pub, dateOnly = *it.PublishedParsed, !hasClock(it.Published)
		case it.UpdatedParsed != nil:
			pub, dateOnly = *it.UpdatedParsed, !hasClock(it.Updated)
		}
		a := newArticle(rawArticle{
			title:     it.Title,
			text:      text,
			html:      true,
			url:       link,
			base:      base,
			guid:      it.GUID,
			source:    source,
			published: pub,
			dateOnly:  dateOnly,
			tags:      it.Categories,
			language:  lang,
			feed:      name,
		}, now)
		if a != nil {
			arts = append(arts, a)
		}
	}
	return arts, nil
}

// clockTime finds a time of day (08:00, 8:00:00) in a written date.
var clockTime = regexp.MustCompile(`\d:\d\d`)

// hasClock reports whether a feed's date as written holds a time of day:
// "2026-03-20" and "Fri, 20 Mar 2026" are dates only, which a parser
// turns into midnight (UTC or another zone) that no one wrote.
func hasClock(written string) bool { return clockTime.MatchString(written) }

// translator is gofeed.Translator, named here to keep parseWith short.
type translator = gofeed.Translator

// parseWith runs a format parser and its translator to the universal feed.
func parseWith(t translator, parse func() (any, error)) (*gofeed.Feed, error) {
	native, err := parse()
	if err != nil {
		return nil, err
	}
	return t.Translate(native)
}

// formatName names a feed format in errors: "Atom feed".
func formatName(format string) string {
	switch format {
	case FormatRSS:
		return "RSS feed"
	case FormatAtom:
		return "Atom feed"
	case FormatJSON:
		return "JSON Feed"
	}
	return format
}

// feedKind is formatName with its article: "an Atom feed".
func feedKind(format string) string {
	if format == FormatRSS || format == FormatAtom {
		return "an " + formatName(format)
	}
	return "a " + formatName(format)
}

// invalidAt is an EINVALID error about the document name, at line when
// line > 0, caused by err (which may be nil).
func invalidAt(err error, name string, line int, msg string, args ...any) error {
	where := name
	if line > 0 {
		where = fmt.Sprintf("%s:%d", name, line)
	}
	return digestbot.WrapError(digestbot.EINVALID, err, "%s: %s", where, fmt.Sprintf(msg, args...))
}

// feedRoots are the root elements of the XML feed formats, as xmlRoot
// names them, and how errors show them.
var feedRoots = map[string]struct{ root, shown string }{
	FormatRSS:  {"rss rdf", "<rss> or <rdf:RDF>"},
	FormatAtom: {"feed", "<feed>"},
}

// feedError explains why data, parsed as format, is not a feed: what the
// document is instead, or where it breaks, with the line when it is known.
// The parsers' own messages ("xpp: expected space:* name:feed
// event:StartTag but got ... at offset 159") speak of their internals and
// of byte offsets; a user needs the format, the line and the cause.
func feedError(data []byte, name, format string, err error) error {
	if format == FormatJSON {
		return jsonFeedError(data, name, err)
	}
	kind, valid := feedKind(format), "not a valid "+formatName(format)
	fail := func(line int, msg string, args ...any) error {
		return invalidAt(err, name, line, msg, args...)
	}
	trimmed := bytes.TrimLeft(bytes.TrimPrefix(data, []byte("\ufeff")), " \t\r\n")
	want := feedRoots[format]
	if len(trimmed) == 0 {
		return fail(0, "not %s: the document is empty", kind)
	}
	if trimmed[0] != '<' {
		return fail(lineOf(data, trimmed), "not %s: this is not XML (%s starts with %s)", kind, kind, want.shown)
	}
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return fail(se.Line, "%s: broken XML: %s", valid, se.Msg)
	}
	root, line := xmlRootAt(data)
	switch {
	case root == "":
		return fail(lineOf(data, trimmed), "not %s: no readable XML root element (%s starts with %s)", kind, kind, want.shown)
	case !strings.Contains(" "+want.root+" ", " "+root+" "):
		return fail(line, "not %s: its root element is <%s>%s, where %s has %s", kind, root, rootKind(root), kind, want.shown)
	}
	// The root fits: the structure below it does not.
	if m := xppExpect.FindStringSubmatch(err.Error()); m != nil {
		off, _ := strconv.Atoi(m[3])
		return fail(lineAt(data, off), "%s: found <%s> where <%s> was expected", valid, m[2], m[1])
	}
	return fail(0, "%s: %v", valid, err)
}

// xppExpect reads the parser's "expected X but got Y at offset N" error;
// only its first alternative when it lists several ("... or ...").
var xppExpect = regexp.MustCompile(`expected space:\S* name:(\S+) event:\w+ but got space:\S* name:(\S*) event:\w+ at offset (\d+)`)

// rootKind says what a document with root element root is, when known.
func rootKind(root string) string {
	switch root {
	case "rss", "rdf":
		return " (an RSS feed)"
	case "feed":
		return " (an Atom feed)"
	case "html":
		return " (an HTML page)"
	}
	return ""
}

// lineAt returns the 1-based line of byte offset off in data.
func lineAt(data []byte, off int) int {
	off = min(max(off, 0), len(data))
	return bytes.Count(data[:off], []byte("\n")) + 1
}

// jsonFeedVersion starts the "version" of every JSON Feed (1, 1.1).
const jsonFeedVersion = "https://jsonfeed.org/version/"

// checkJSONFeed refuses JSON that is not a JSON Feed, which gofeed reads as
// a feed of zero items: a user who pointed at the wrong URL would be told
// the feed was added and simply never see an article. A document is a JSON
// Feed when it is an object with the JSON Feed "version" or an "items"
// array (some feeds omit or misspell the version); with "items": [] it is
// a JSON Feed that is empty for now.
func checkJSONFeed(data []byte, name string) error {
	const notFeed = `a JSON document, but not a JSON Feed (`
	var doc struct {
		Version json.RawMessage `json:"version"`
		Items   json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field == "" {
			return digestbot.Errorf(digestbot.EINVALID, "%s: %s%s, where a JSON Feed is an object with \"version\": \"%s1.1\" and \"items\")",
				name, notFeed, jsonValueKind(te.Value), jsonFeedVersion)
		}
		return jsonFeedError(data, name, err)
	}
	var version string
	_ = json.Unmarshal(doc.Version, &version)
	hasVersion := strings.HasPrefix(strings.ToLower(version), jsonFeedVersion) ||
		strings.HasPrefix(strings.ToLower(version), "http://jsonfeed.org/version/")
	items := bytes.TrimSpace(doc.Items)
	hasItems := len(items) > 0 && !bytes.Equal(items, []byte("null"))
	switch {
	case hasItems && items[0] != '[':
		return digestbot.Errorf(digestbot.EINVALID, "%s: not a valid JSON Feed: \"items\" is %s; it must be an array of items",
			name, jsonValueKind(jsonKindOf(items)))
	case !hasVersion && !hasItems:
		return digestbot.Errorf(digestbot.EINVALID, "%s: %sno \"version\": \"%s1.1\" and no \"items\")", name, notFeed, jsonFeedVersion)
	}
	return nil
}

// jsonFeedError explains a JSON decoding error: broken JSON at a line, or
// a field of the wrong type, named as in the document ("items.title").
func jsonFeedError(data []byte, name string, err error) error {
	fail := func(line int, msg string, args ...any) error {
		return invalidAt(err, name, line, msg, args...)
	}
	var (
		se *json.SyntaxError
		te *json.UnmarshalTypeError
	)
	switch {
	case len(bytes.TrimSpace(data)) == 0:
		return fail(0, "not a JSON Feed: the document is empty")
	case errors.As(err, &se):
		// At the end of the input, the line of the last character, not of
		// the final newline.
		off := min(int(se.Offset), len(bytes.TrimRight(data, " \t\r\n")))
		return fail(lineAt(data, off), "not a JSON Feed: this is not valid JSON: %s", se.Error())
	case errors.As(err, &te):
		// No line: gofeed decodes each item by itself, so te.Offset counts
		// from the start of the item, not of the document.
		return fail(0, "not a valid JSON Feed: %q is %s; it must be %s",
			jsonFieldPath(te.Field), jsonValueKind(te.Value), goTypeKind(te.Type))
	}
	return fail(0, "not a valid JSON Feed: %v", err)
}

// jsonFieldPath is the document's path to a field from the path
// encoding/json reports, without the "alias" steps of gofeed's types
// ("alias.items.alias.title" is "items.title").
func jsonFieldPath(field string) string {
	var path []string
	for _, f := range strings.Split(field, ".") {
		if f != "" && f != "alias" {
			path = append(path, f)
		}
	}
	return strings.Join(path, ".")
}

// jsonKindOf names the JSON type of a raw value the way
// json.UnmarshalTypeError.Value does.
func jsonKindOf(raw []byte) string {
	switch raw[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "bool"
	}
	return "number"
}

// jsonValueKind turns json.UnmarshalTypeError.Value into words.
func jsonValueKind(v string) string {
	switch {
	case v == "object" || v == "array":
		return "an " + v
	case v == "bool":
		return "true or false"
	case strings.HasPrefix(v, "number"):
		return "a number"
	}
	return "a " + v
}

// goTypeKind names the JSON a Go type is read from.
func goTypeKind(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Bool:
		return "true or false"
	}
	return "a number"
}

func hostOf(u string) string {
	s := u[strings.Index(u, "://")+3:]
	if i := strings.IndexAny(s, "/?#"); i >= 0 {
		s = s[:i]
	}
	return strings.TrimPrefix(s, "www.")
}

// languageTag returns the canonical BCP 47 form of a feed's language, or ""
// when it is absent or not a language tag.
func languageTag(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	t, err := language.Parse(s)
	if err != nil {
		return ""
	}
	return t.String()
}

// xmlRoot returns the lower-cased local name of the root element of an XML
// document, or "" when none can be read from its start.
func xmlRoot(data []byte) string {
	root, _ := xmlRootAt(data)
	return root
}

// xmlRootAt is xmlRoot with the 1-based line of the root element.
func xmlRootAt(data []byte) (string, int) {
	if len(data) > 64<<10 {
		data = data[:64<<10]
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = false
	d.CharsetReader = charset.NewReaderLabel
	for {
		tok, err := d.RawToken()
		if err != nil {
			return "", 0
		}
		if se, ok := tok.(xml.StartElement); ok {
			line, _ := d.InputPos()
			return strings.ToLower(se.Name.Local), line
		}
	}
}

// The format parsers. With the format known (detected or forced), they run
// directly: gofeed's universal Parse would detect it a second time.
func rssParse(data []byte) (any, error)  { return (&rss.Parser{}).Parse(bytes.NewReader(data)) }
func atomParse(data []byte) (any, error) { return (&atom.Parser{}).Parse(bytes.NewReader(data)) }
func jsonParse(data []byte) (any, error) { return (&jsonfeed.Parser{}).Parse(bytes.NewReader(data)) }

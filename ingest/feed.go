package ingest

import (
	"bytes"
	"encoding/xml"
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
	if format != FormatJSON {
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
		return nil, digestbot.WrapError(digestbot.EINVALID, err, "%s: not a valid %s feed: %s", name, formatName(format), err)
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
		switch {
		case it.PublishedParsed != nil:
			pub = *it.PublishedParsed
		case it.UpdatedParsed != nil:
			pub = *it.UpdatedParsed
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

func formatName(format string) string {
	switch format {
	case FormatRSS:
		return "RSS"
	case FormatAtom:
		return "Atom"
	case FormatJSON:
		return "JSON Feed"
	}
	return format
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
	if len(data) > 64<<10 {
		data = data[:64<<10]
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = false
	d.CharsetReader = charset.NewReaderLabel
	for {
		tok, err := d.RawToken()
		if err != nil {
			return ""
		}
		if se, ok := tok.(xml.StartElement); ok {
			return strings.ToLower(se.Name.Local)
		}
	}
}

// The format parsers. With the format known (detected or forced), they run
// directly: gofeed's universal Parse would detect it a second time.
func rssParse(data []byte) (any, error)  { return (&rss.Parser{}).Parse(bytes.NewReader(data)) }
func atomParse(data []byte) (any, error) { return (&atom.Parser{}).Parse(bytes.NewReader(data)) }
func jsonParse(data []byte) (any, error) { return (&jsonfeed.Parser{}).Parse(bytes.NewReader(data)) }

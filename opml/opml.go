// Package opml reads and writes OPML subscription lists, the file feed
// readers import and export (OPML 1.0 and 2.0: an <opml> root, a <body>
// of <outline> elements, a feed being an outline with an xmlUrl; folders
// are outlines that hold others). Reading is bounded: the file's size, the
// number of outlines and their nesting have limits, and a file past one
// is refused whole.
package opml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html/charset"

	digestbot "github.com/digestbot/digestbot"
)

// Limits of a file Parse reads.
const (
	MaxBytes    = 1 << 20 // 1 MiB
	MaxOutlines = 1000    // outline elements, folders included
	MaxDepth    = 16      // outlines within outlines
	// MaxTitleLen bounds a feed's title; a longer one is cut.
	MaxTitleLen = 200 // characters
	// maxElementDepth bounds the nesting of any elements, so that a file
	// of deeply nested unknown elements costs no more than outlines do.
	maxElementDepth = MaxDepth + 8
)

// Feed is one feed of a list.
type Feed struct {
	URL   string // the xmlUrl, trimmed; not checked further
	Title string // the outline's title, else its text; may be empty
	// Folder is the title of the outline that holds the feed, if any.
	Folder string
}

// Parse reads an OPML document and returns its feeds in document order,
// duplicates included. Errors are EINVALID (not OPML, not well-formed XML,
// no feed at all) or ELIMIT (past a limit), with the line where it applies.
func Parse(data []byte) ([]Feed, error) {
	if len(data) > MaxBytes {
		return nil, digestbot.Errorf(digestbot.ELIMIT, "the file is %d bytes, the limit is %d (1 MiB)", len(data), MaxBytes)
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	d.CharsetReader = charset.NewReaderLabel
	// Feed readers write entities of HTML (&nbsp;) and bare ampersands in
	// URLs; a lenient decoder reads them as a browser would.
	d.Strict = false
	d.Entity = xml.HTMLEntity
	var (
		feeds    []Feed
		stack    []string // local names of the open elements
		folders  []string // titles of the open outlines
		outlines int
		inBody   bool
		rootSeen bool
	)
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			line, _ := d.InputPos()
			return nil, digestbot.Errorf(digestbot.EINVALID, "not a readable OPML file: line %d: %s", line, xmlProblem(err))
		}
		switch t := tok.(type) {
		case xml.StartElement:
			name := strings.ToLower(t.Name.Local)
			line, _ := d.InputPos()
			if !rootSeen {
				if name != "opml" {
					return nil, digestbot.Errorf(digestbot.EINVALID, "not an OPML file: it starts with <%s>, not <opml>", t.Name.Local)
				}
				rootSeen = true
			}
			if len(stack) >= maxElementDepth {
				return nil, digestbot.Errorf(digestbot.ELIMIT, "line %d: elements are nested more than %d deep", line, maxElementDepth)
			}
			stack = append(stack, name)
			if name == "body" && len(stack) == 2 {
				inBody = true
			}
			if name != "outline" || !inBody {
				continue
			}
			if outlines++; outlines > MaxOutlines {
				return nil, digestbot.Errorf(digestbot.ELIMIT, "line %d: the file has more than %d outlines, the limit", line, MaxOutlines)
			}
			if len(folders) >= MaxDepth {
				return nil, digestbot.Errorf(digestbot.ELIMIT, "line %d: outlines are nested more than %d deep", line, MaxDepth)
			}
			f := outlineFeed(t.Attr)
			if len(folders) > 0 {
				f.Folder = folders[len(folders)-1]
			}
			if f.URL != "" {
				feeds = append(feeds, f)
			}
			folders = append(folders, f.Title)
		case xml.EndElement:
			if len(stack) == 0 {
				continue
			}
			name := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			switch {
			case name == "outline" && inBody && len(folders) > 0:
				folders = folders[:len(folders)-1]
			case name == "body" && len(stack) == 1:
				inBody = false
			}
		}
	}
	if !rootSeen {
		return nil, digestbot.Errorf(digestbot.EINVALID, "not an OPML file: it holds no <opml> element")
	}
	if len(feeds) == 0 {
		return nil, digestbot.Errorf(digestbot.EINVALID, "the OPML file lists no feeds (no outline with an xmlUrl)")
	}
	return feeds, nil
}

// outlineFeed reads an outline's attributes; names are matched without
// regard to case (xmlUrl, xmlurl and XMLURL are all seen in the wild).
func outlineFeed(attrs []xml.Attr) Feed {
	var f Feed
	var text string
	for _, a := range attrs {
		switch strings.ToLower(a.Name.Local) {
		case "xmlurl":
			f.URL = strings.TrimSpace(a.Value)
		case "title":
			f.Title = cleanTitle(a.Value)
		case "text":
			text = cleanTitle(a.Value)
		}
	}
	if f.Title == "" {
		f.Title = text
	}
	return f
}

// cleanTitle keeps a title to one line of printable text within
// MaxTitleLen characters.
func cleanTitle(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r == utf8.RuneError, !unicode.IsPrint(r) && !unicode.IsSpace(r):
			return -1
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > MaxTitleLen {
		s = strings.TrimSpace(string(r[:MaxTitleLen-1])) + "…"
	}
	return s
}

// xmlProblem is the decoder's complaint without its own line prefix.
func xmlProblem(err error) string {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return se.Msg
	}
	return err.Error()
}

// Encode writes an OPML 2.0 document that lists feeds, one outline each,
// in the order given.
func Encode(title string, created time.Time, feeds []Feed) []byte {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	b.WriteString("<opml version=\"2.0\">\n  <head>\n")
	fmt.Fprintf(&b, "    <title>%s</title>\n", escape(title))
	if !created.IsZero() {
		fmt.Fprintf(&b, "    <dateCreated>%s</dateCreated>\n", created.UTC().Format(time.RFC1123Z))
	}
	b.WriteString("  </head>\n  <body>\n")
	for _, f := range feeds {
		label := f.Title
		if label == "" {
			label = f.URL
		}
		fmt.Fprintf(&b, "    <outline type=\"rss\" text=\"%s\"", escape(label))
		if f.Title != "" {
			fmt.Fprintf(&b, " title=\"%s\"", escape(f.Title))
		}
		fmt.Fprintf(&b, " xmlUrl=\"%s\"/>\n", escape(f.URL))
	}
	b.WriteString("  </body>\n</opml>\n")
	return b.Bytes()
}

// escape is XML text fit for an attribute or an element: markup escaped,
// and the characters XML cannot hold (control characters) left out.
func escape(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' {
			return -1
		}
		return r
	}, s)))
	return b.String()
}

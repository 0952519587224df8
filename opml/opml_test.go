package opml

import (
	"bytes"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	digestbot "github.com/digestbot/digestbot"
)

func read(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestParseReaderExport(t *testing.T) {
	feeds, err := Parse(read(t, "reader-export.opml"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Feed{
		{URL: "https://harbourwire.example/feed.xml", Title: "Harbour Wire", Folder: "Harbour"},
		{URL: "https://coastal-ledger.example/rss?lang=en&section=port", Title: "Coastal Ledger & Review", Folder: "Harbour"},
		{URL: "https://vellmar-courier.example/campus/feed", Title: "Vellmar Courier", Folder: "Vellmar"},
		{URL: "https://northsound-radio.example/news.rss", Title: "Northsound Radio"},
	}
	if !reflect.DeepEqual(feeds, want) {
		t.Errorf("feeds\n got %+v\nwant %+v", feeds, want)
	}
}

func TestParseDeclaredCharset(t *testing.T) {
	feeds, err := Parse(read(t, "latin1.opml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(feeds) != 1 || feeds[0].Title != "Blåvand Avis" {
		t.Errorf("feeds %+v, want the title decoded from ISO-8859-1", feeds)
	}
}

func TestParseRefusesBadFiles(t *testing.T) {
	nested := "<opml><body>" + strings.Repeat("<outline text='f'>", MaxDepth+1) + strings.Repeat("</outline>", MaxDepth+1) + "</body></opml>"
	many := "<opml><body>" + strings.Repeat("<outline xmlUrl='https://a.example/f'/>", MaxOutlines+1) + "</body></opml>"
	deepJunk := "<opml>" + strings.Repeat("<x>", 100) + "</opml>"
	tests := []struct {
		name string
		data []byte
		code string
		msg  string
	}{
		{"an HTML page", read(t, "not-opml.html"), digestbot.EINVALID, "not an OPML file: it starts with <html>"},
		{"no feeds", read(t, "no-feeds.opml"), digestbot.EINVALID, "lists no feeds"},
		{"not XML", []byte("url1\nurl2\n"), digestbot.EINVALID, "not an OPML file"},
		{"broken XML", []byte("<opml><body><outline xmlUrl=\"https://a.example/f\"/></body></op"), digestbot.EINVALID, "not a readable OPML file: line 1"},
		{"too large", bytes.Repeat([]byte(" "), MaxBytes+1), digestbot.ELIMIT, "the limit is 1048576 (1 MiB)"},
		{"too many outlines", []byte(many), digestbot.ELIMIT, fmt.Sprintf("more than %d outlines", MaxOutlines)},
		{"nested too deep", []byte(nested), digestbot.ELIMIT, fmt.Sprintf("nested more than %d deep", MaxDepth)},
		{"other elements nested too deep", []byte(deepJunk), digestbot.ELIMIT, "nested more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			feeds, err := Parse(tt.data)
			if digestbot.ErrorCode(err) != tt.code || !strings.Contains(digestbot.ErrorMessage(err), tt.msg) {
				t.Errorf("Parse = %d feeds, %v; want %s %q", len(feeds), err, tt.code, tt.msg)
			}
		})
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	feeds := []Feed{
		{URL: "https://harbourwire.example/feed.xml?a=1&b=<2>", Title: `Harbour "Wire" & Co`},
		{URL: "https://untitled.example/rss"},
	}
	data := Encode("Feeds of a server", time.Date(2026, 3, 20, 9, 0, 0, 0, time.UTC), feeds)
	back, err := Parse(data)
	if err != nil {
		t.Fatalf("Parse(Encode) = %v\n%s", err, data)
	}
	// An untitled feed is written with its URL as the text readers show.
	want := []Feed{feeds[0], {URL: feeds[1].URL, Title: feeds[1].URL}}
	if !reflect.DeepEqual(back, want) {
		t.Errorf("round trip\n got %+v\nwant %+v", back, want)
	}
}

// FuzzParse feeds Parse arbitrary bytes: it must not panic, must keep its
// limits, and what it accepts must survive Encode and Parse again.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"reader-export.opml", "latin1.opml", "not-opml.html", "no-feeds.opml"} {
		f.Add(read(f, name))
	}
	f.Add([]byte(`<opml><body><outline xmlUrl="x" title="a&#1;b"/></body></opml>`))
	f.Add([]byte(`<opml><body><outline xmlUrl="x"><outline xmlUrl="y"/></outline></body></opml>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		feeds, err := Parse(data)
		if err != nil {
			return
		}
		if len(feeds) == 0 || len(feeds) > MaxOutlines {
			t.Fatalf("%d feeds accepted", len(feeds))
		}
		for _, fd := range feeds {
			if fd.URL == "" || len([]rune(fd.Title)) > MaxTitleLen {
				t.Fatalf("feed %+v breaks the limits", fd)
			}
		}
		back, err := Parse(Encode("t", time.Time{}, feeds))
		if err != nil {
			t.Fatalf("Parse(Encode(%+v)) = %v", feeds, err)
		}
		for i := range feeds {
			if back[i].URL != feeds[i].URL || (feeds[i].Title != "" && back[i].Title != feeds[i].Title) {
				t.Fatalf("round trip changed %+v into %+v", feeds[i], back[i])
			}
		}
	})
}

package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/digestbot/digestbot/discordtest"
	"github.com/digestbot/digestbot/opml"
	"github.com/digestbot/digestbot/store/storetest"
)

// feedSite serves two feeds, a missing one and an HTML page, on loopback.
func feedSite(t *testing.T) *httptest.Server {
	t.Helper()
	rss := func(title string) string {
		pub := time.Now().UTC().Add(-time.Hour).Format(time.RFC1123Z)
		return fmt.Sprintf(`<?xml version="1.0"?><rss version="2.0"><channel><title>%s</title><link>https://news.example/</link>
<item><title>%s reports a ferry strike</title><link>https://news.example/%s/1</link><pubDate>%s</pubDate><description>The crews stopped.</description></item>
</channel></rss>`, title, title, strings.ToLower(strings.Fields(title)[0]), pub)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/harbour.xml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml")
		fmt.Fprint(w, rss("Harbour Wire"))
	})
	mux.HandleFunc("/ledger.xml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml")
		fmt.Fprint(w, rss("Coastal Ledger"))
	})
	mux.HandleFunc("/page.html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<!DOCTYPE html><html><body>Not a feed</body></html>")
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// TestFeedsImportAndExport imports an OPML file of good, broken and
// duplicate feeds through Discord, exports the server's feeds, and checks
// that a file that cannot be read changes nothing.
func TestFeedsImportAndExport(t *testing.T) { storetest.EachBackend(t, testFeedsImportAndExport) }

func testFeedsImportAndExport(t *testing.T, b *storetest.Backend) {
	site := feedSite(t)
	ch := startChat(t, b, map[string]string{"DIGESTBOT_ALLOW_PRIVATE_FEEDS": "true"})
	ctx := context.Background()
	if rep := ch.command(t, "feeds add", discordtest.Str("url", site.URL+"/ledger.xml")); !strings.Contains(rep.Content, "Added the feed") {
		t.Fatalf("/feeds add answered %q", rep.Content)
	}
	file := opml.Encode("A reader's feeds", time.Time{}, []opml.Feed{
		{URL: site.URL + "/harbour.xml", Title: "Harbour Wire"},
		{URL: site.URL + "/ledger.xml", Title: "Coastal Ledger"},
		{URL: site.URL + "/gone.xml", Title: "Gone"},
		{URL: site.URL + "/page.html", Title: "A web page"},
		{URL: "ftp://files.example/feed", Title: "Not the web"},
		{URL: site.URL + "/harbour.xml", Title: "Harbour Wire again"},
	})
	rep := ch.command(t, "feeds import", discordtest.Attach("file", discordtest.Upload{Filename: "reader.opml", Data: file}))
	// Links come in <> so that Discord shows no preview of them.
	rep.Content = strings.NewReplacer("<", "", ">", "").Replace(rep.Content)
	for _, want := range []string{
		"Imported reader.opml: 1 added, 1 already there, 3 refused, 1 listed twice.",
		"✅ Harbour Wire — " + site.URL + "/harbour.xml: added (1 article now)",
		"➖ Coastal Ledger — " + site.URL + "/ledger.xml: already there",
		"❌ Gone — " + site.URL + "/gone.xml: refused: ",
		"❌ A web page — " + site.URL + "/page.html: refused: ",
		"❌ Not the web — ftp://files.example/feed: refused: ",
		"➖ Harbour Wire again — " + site.URL + "/harbour.xml: listed twice in the file",
	} {
		if !strings.Contains(rep.Content, want) {
			t.Errorf("import reply lacks %q:\n%s", want, rep.Content)
		}
	}
	if rep.Ephemeral() {
		t.Errorf("an import changes the server's feeds: the reply should be public")
	}
	feeds, err := ch.st.Feeds(ctx, ch.dc.GuildID)
	if err != nil {
		t.Fatal(err)
	}
	var urls []string
	for _, f := range feeds {
		urls = append(urls, f.URL)
	}
	slices.Sort(urls)
	if want := []string{site.URL + "/harbour.xml", site.URL + "/ledger.xml"}; !slices.Equal(urls, want) {
		t.Errorf("the server's feeds are %v, want %v", urls, want)
	}

	// Export: an OPML attachment that lists exactly the server's feeds.
	rep = ch.command(t, "feeds export")
	if len(rep.Files) != 1 || rep.Files[0].Name != "feeds.opml" {
		t.Fatalf("/feeds export answered %q with files %+v", rep.Content, rep.Files)
	}
	exported, err := opml.Parse(rep.Files[0].Data)
	if err != nil {
		t.Fatalf("the export does not parse: %v", err)
	}
	var got []string
	for _, f := range exported {
		got = append(got, f.URL)
	}
	slices.Sort(got)
	if !slices.Equal(got, urls) {
		t.Errorf("export lists %v, want %v", got, urls)
	}
	// Importing the export again adds nothing.
	rep = ch.command(t, "feeds import", discordtest.Attach("file", discordtest.Upload{Filename: "feeds.opml", Data: rep.Files[0].Data}))
	if !strings.Contains(rep.Content, "0 added, 2 already there, 0 refused") {
		t.Errorf("re-importing the export answered %q", rep.Content)
	}

	// A file that is not OPML, or one past a limit, changes nothing.
	for _, bad := range []struct{ name, data, want string }{
		{"links.txt", site.URL + "/harbour.xml\n", "not an OPML file"},
		{"deep.opml", "<opml><body>" + strings.Repeat("<outline>", opml.MaxDepth+1) + "<outline xmlUrl='" + site.URL + "/x.xml'/></body></opml>", "nested more than"},
	} {
		rep := ch.command(t, "feeds import", discordtest.Attach("file", discordtest.Upload{Filename: bad.name, Data: []byte(bad.data)}))
		if !strings.Contains(rep.Content, bad.want) || !strings.Contains(rep.Content, "Nothing was imported") {
			t.Errorf("importing %s answered %q, want %q and nothing imported", bad.name, rep.Content, bad.want)
		}
	}
	if after, _ := ch.st.Feeds(ctx, ch.dc.GuildID); len(after) != len(feeds) {
		t.Errorf("%d feeds after refused imports, want %d", len(after), len(feeds))
	}
}

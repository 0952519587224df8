package commands

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/archive"
	"github.com/digestbot/digestbot/digest"
	"github.com/digestbot/digestbot/store"
	"github.com/digestbot/digestbot/store/storetest"
)

// withArchive gives s the lookup index over its store, as the bot wires
// it, and a clock at the present (the index's keys expire in real time on
// a real Redis). add stores and indexes articles, as ingest does.
func withArchive(t *testing.T, s *Service) (add func(...*digestbot.Article), now time.Time) {
	t.Helper()
	st := s.Store.(*store.Store)
	idx := archive.New(st.Client(), st.Prefix(), archive.Options{Retention: st.Retention(), Articles: st})
	s.Search = ArchiveSearch(idx, st)
	now = time.Now().UTC().Truncate(time.Second)
	s.Now = func() time.Time { return now }
	return func(as ...*digestbot.Article) {
		t.Helper()
		ctx := context.Background()
		if _, err := st.PutArticles(ctx, as); err != nil {
			t.Fatal(err)
		}
		if err := idx.Add(ctx, as); err != nil {
			t.Fatal(err)
		}
	}, now
}

// kelpStory is a story as relevant to "kelp" as every other one: they
// rank by how new they are.
func kelpStory(id string, published time.Time, guilds ...string) *digestbot.Article {
	return &digestbot.Article{ID: id, Title: "Kelp farm " + id, URL: "https://news.example/" + id, Source: "Harbour Wire",
		Text: "A kelp farm opened in the bay.", Published: published, Ingested: time.Now(), Guilds: guilds}
}

func titles(r *Response) []string {
	var out []string
	for _, e := range r.Embeds {
		out = append(out, e.Title)
	}
	return out
}

// press clicks the button of r with this label, as the member who ran the
// lookup, in the same server.
func press(t *testing.T, s *Service, r *Response, label string) *Response {
	t.Helper()
	for _, b := range r.Buttons {
		if b.Label == label {
			return mustHandle(t, s, req("button", "id", b.CustomID))
		}
	}
	t.Fatalf("no %q button on %q (buttons %+v)", label, r.Content, r.Buttons)
	return nil
}

func labels(r *Response) []string {
	var out []string
	for _, b := range r.Buttons {
		out = append(out, b.Label)
	}
	return out
}

func TestLookupPagesStayPut(t *testing.T) { storetest.EachBackend(t, testLookupPagesStayPut) }

func testLookupPagesStayPut(t *testing.T, b *storetest.Backend) {
	s := newService(t, b)
	add, now := withArchive(t, s)
	var arts []*digestbot.Article
	for i := 1; i <= 12; i++ {
		arts = append(arts, kelpStory(fmt.Sprintf("k%02d", i), now.Add(-time.Duration(i)*time.Hour)))
	}
	// Another server's own feed brought this one in: not ours to see.
	arts = append(arts, kelpStory("private", now.Add(-30*time.Minute), "999"))
	add(arts...)
	storyTitles := func(from, to int) []string {
		var out []string
		for i := from; i <= to; i++ {
			out = append(out, fmt.Sprintf("Kelp farm k%02d", i))
		}
		return out
	}

	first := mustHandle(t, s, req("lookup", "query", "kelp"))
	if want := "12 articles match `kelp`:\nPage 1 of 3"; first.Content != want || !first.Ephemeral {
		t.Errorf("first page %q (ephemeral %v), want %q, to the caller only", first.Content, first.Ephemeral, want)
	}
	if got := titles(first); !slices.Equal(got, storyTitles(1, 5)) {
		t.Errorf("page 1 shows %v", got)
	}
	if got := labels(first); !slices.Equal(got, []string{"Next ▶", "Share in channel"}) {
		t.Errorf("page 1 buttons %v", got)
	}
	if !strings.Contains(first.Embeds[0].Description, "**kelp**") {
		t.Errorf("snippet %q lacks the matched word in bold", first.Embeds[0].Description)
	}

	second := press(t, s, first, "Next ▶")
	if got := titles(second); !strings.HasPrefix(second.Content, "12 articles match `kelp`:\nPage 2 of 3") || !slices.Equal(got, storyTitles(6, 10)) {
		t.Errorf("page 2: %q %v", second.Content, got)
	}
	if got := labels(second); !slices.Equal(got, []string{"◀ Previous", "Next ▶", "Share in channel"}) {
		t.Errorf("page 2 buttons %v", got)
	}

	// Four newer stories arrive between two clicks: a new search would
	// put them first and push every page back by four.
	for i := 1; i <= 4; i++ {
		add(kelpStory(fmt.Sprintf("new%d", i), now.Add(-time.Duration(i)*time.Minute)))
	}
	third := press(t, s, second, "Next ▶")
	if got := titles(third); third.Content != "12 articles match `kelp`:\nPage 3 of 3" || !slices.Equal(got, storyTitles(11, 12)) {
		t.Errorf("page 3 after new stories: %q %v", third.Content, got)
	}
	if got := labels(third); !slices.Equal(got, []string{"◀ Previous", "Share in channel"}) {
		t.Errorf("last page buttons %v", got)
	}
	if back := press(t, s, third, "◀ Previous"); back.Content != second.Content || !slices.Equal(titles(back), titles(second)) {
		t.Errorf("Previous from page 3 shows %q %v, not page 2 as it was", back.Content, titles(back))
	}
	if again := press(t, s, first, "Next ▶"); !slices.Equal(titles(again), titles(second)) {
		t.Errorf("page 2 again: %v, want %v", titles(again), titles(second))
	}
	if back := press(t, s, second, "◀ Previous"); !slices.Equal(titles(back), titles(first)) {
		t.Errorf("page 1 again: %v, want %v", titles(back), titles(first))
	}

	// Share posts the page on screen for everyone.
	share := press(t, s, second, "Share in channel")
	if share.Ephemeral || !strings.Contains(share.Content, "<@300> shared results for `kelp` (page 2 of 3)") || !slices.Equal(titles(share), titles(second)) {
		t.Errorf("share of page 2: ephemeral %v, %q %v", share.Ephemeral, share.Content, titles(share))
	}

	// A new lookup sees the new stories.
	if fresh := mustHandle(t, s, req("lookup", "query", "kelp")); !strings.HasPrefix(fresh.Content, "16 articles match") {
		t.Errorf("a new lookup: %q", fresh.Content)
	}

	// Another replica, with its own connection to the same Redis, answers
	// the buttons; another server cannot use them.
	replica := *s
	replica.Store = b.Replica(t, s.Store.(*store.Store))
	if got := press(t, &replica, first, "Next ▶"); !slices.Equal(titles(got), titles(second)) {
		t.Errorf("page 2 through another replica: %v", titles(got))
	}
	foreign := req("button", "id", first.Buttons[0].CustomID)
	foreign.GuildID = "555"
	if _, err := s.Handle(context.Background(), foreign); digestbot.ErrorCode(err) != digestbot.ENOTFOUND {
		t.Errorf("another server pressed our lookup's button: %v", err)
	}
	if !b.Embedded() {
		return // a real server's clock stays; the store suite waits out a short lifetime there
	}
	// The buttons stop working with the interaction token, after 15 minutes.
	if err := s.Store.(*store.Store).AdvanceClock(16 * time.Minute); err != nil {
		t.Fatal(err)
	}
	_, err := s.Handle(context.Background(), req("button", "id", first.Buttons[0].CustomID))
	if digestbot.ErrorCode(err) != digestbot.ENOTFOUND || !strings.Contains(digestbot.ErrorMessage(err), "expired; run /lookup again") {
		t.Errorf("button after 16 minutes: %v, want 'expired'", err)
	}
}

// An article that leaves the store between two clicks is left out of its
// page, which says so.
func TestLookupPageLeavesOutAnExpiredArticle(t *testing.T) {
	storetest.EachBackend(t, testLookupPageLeavesOutAnExpiredArticle)
}

func testLookupPageLeavesOutAnExpiredArticle(t *testing.T, b *storetest.Backend) {
	s := newService(t, b)
	add, now := withArchive(t, s)
	for i := 1; i <= 7; i++ {
		add(kelpStory(fmt.Sprintf("k%02d", i), now.Add(-time.Duration(i)*time.Hour)))
	}
	first := mustHandle(t, s, req("lookup", "query", "kelp"))
	// As the store does at the end of the retention.
	st := s.Store.(*store.Store)
	if err := st.Client().Del(context.Background(), st.Prefix()+"a:k06").Err(); err != nil {
		t.Fatal(err)
	}
	second := press(t, s, first, "Next ▶")
	if got := titles(second); !slices.Equal(got, []string{"Kelp farm k07"}) || !strings.Contains(second.Content, "Left out: 1 story of this page that expired since the lookup ran.") {
		t.Errorf("page 2 without k06: %q %v", second.Content, got)
	}
	if !strings.HasPrefix(second.Content, "7 articles match `kelp`:\nPage 2 of 2") {
		t.Errorf("page 2 heading %q", second.Content)
	}
}

// The filters are echoed on every page; since takes weeks; a date still to
// come is refused before anything is searched or kept.
func TestLookupFilters(t *testing.T) { storetest.EachBackend(t, testLookupFilters) }

func testLookupFilters(t *testing.T, b *storetest.Backend) {
	s := newService(t, b)
	add, now := withArchive(t, s)
	for i := 1; i <= 6; i++ {
		add(kelpStory(fmt.Sprintf("w%d", i), now.Add(-time.Duration(i)*24*time.Hour)))
	}
	add(kelpStory("old", now.Add(-20*24*time.Hour)))
	other := kelpStory("other", now.Add(-time.Hour))
	other.Source = "Coastal Ledger"
	add(other)

	r := mustHandle(t, s, req("lookup", "query", "kelp", "since", "2w", "source", "Harbour Wire"))
	if want := "6 articles match `kelp` (since 2w, source: Harbour Wire):\nPage 1 of 2"; r.Content != want {
		t.Errorf("lookup since 2w: %q, want %q", r.Content, want)
	}
	if next := press(t, s, r, "Next ▶"); !strings.HasPrefix(next.Content, "6 articles match `kelp` (since 2w, source: Harbour Wire):\nPage 2 of 2") {
		t.Errorf("page 2 does not echo the filters: %q", next.Content)
	}
	if r := mustHandle(t, s, req("lookup", "query", "kelp", "since", "3w")); !strings.HasPrefix(r.Content, "8 articles match `kelp` (since 3w):") {
		t.Errorf("since 3w: %q", r.Content)
	}
	none := mustHandle(t, s, req("lookup", "query", "kelp", "since", "30m"))
	if none.Content != "No article matches `kelp` (since 30m)." || len(none.Buttons) != 0 {
		t.Errorf("nothing found: %q %v", none.Content, none.Buttons)
	}

	searched := 0
	search := s.Search
	s.Search = func(ctx context.Context, q LookupQuery) (*LookupPage, error) {
		searched++
		return search(ctx, q)
	}
	for _, since := range []string{now.Add(48 * time.Hour).Format("2006-01-02"), "2x", "-2w"} {
		_, err := s.Handle(context.Background(), req("lookup", "query", "kelp", "since", since))
		if digestbot.ErrorCode(err) != digestbot.EINVALID {
			t.Errorf("since %s: %v, want EINVALID", since, err)
		}
	}
	future := now.Add(48 * time.Hour).Format("2006-01-02")
	_, err := s.Handle(context.Background(), req("lookup", "query", "kelp", "since", future))
	if want := "since " + future + " is in the future"; !strings.Contains(digestbot.ErrorMessage(err), want) {
		t.Errorf("future since: %v, want %q", err, want)
	}
	if searched != 0 {
		t.Errorf("a refused since still searched %d times", searched)
	}
}

// More matches than a lookup keeps: the reply says how many it pages
// through, and the last page is the 100th result.
func TestLookupSaysWhenItKeepsTheFirstResults(t *testing.T) {
	storetest.EachBackend(t, testLookupSaysWhenItKeepsTheFirstResults)
}

func testLookupSaysWhenItKeepsTheFirstResults(t *testing.T, b *storetest.Backend) {
	s := newService(t, b)
	var all []LookupResult
	for i := 0; i < 1234; i++ {
		all = append(all, LookupResult{ID: fmt.Sprint(i), Title: fmt.Sprintf("Story %03d", i), URL: fmt.Sprint("https://news.example/", i), Source: "S"})
	}
	s.Search = func(_ context.Context, q LookupQuery) (*LookupPage, error) {
		if len(q.IDs) > 0 {
			p := &LookupPage{}
			for _, id := range q.IDs {
				var i int
				fmt.Sscan(id, &i)
				p.Results = append(p.Results, all[i])
			}
			return p, nil
		}
		return &LookupPage{Results: all[:min(q.Limit, len(all))], Total: len(all)}, nil
	}
	first := mustHandle(t, s, req("lookup", "query", "story"))
	if want := "1,234 articles match `story`:\nPage 1 of 20 · the first 100 of 1,234, best first; narrow the query or since to see the rest"; first.Content != want {
		t.Errorf("capped lookup: %q, want %q", first.Content, want)
	}
	id := strings.TrimSuffix(strings.TrimPrefix(first.Buttons[0].CustomID, "lookup-next:"), ":1")
	last := mustHandle(t, s, req("button", "id", "lookup-next:"+id+":19"))
	if got := titles(last); !strings.HasPrefix(last.Content, "1,234 articles match `story`:\nPage 20 of 20") || !slices.Equal(got, []string{"Story 095", "Story 096", "Story 097", "Story 098", "Story 099"}) {
		t.Errorf("last page: %q %v", last.Content, got)
	}
	// A page past the end, and the buttons of lookups made before pages
	// were numbered, say the lookup has expired.
	for _, button := range []string{"lookup-next:" + id + ":20", "lookup-next:" + id, "lookup-share:" + id} {
		_, err := s.Handle(context.Background(), req("button", "id", button))
		if digestbot.ErrorCode(err) != digestbot.ENOTFOUND || !strings.Contains(digestbot.ErrorMessage(err), "run /lookup again") {
			t.Errorf("button %s: %v", button, err)
		}
	}
}

// The /subscribe preview counts the week's matches the server may see with
// the lookup's search, and shows the three newest.
func TestSubscribePreviewShowsTheNewestMatches(t *testing.T) {
	storetest.EachBackend(t, testSubscribePreviewShowsTheNewestMatches)
}

func testSubscribePreviewShowsTheNewestMatches(t *testing.T, b *storetest.Backend) {
	s := newService(t, b)
	add, now := withArchive(t, s)
	// Ingested in any order, more relevant or not: the three newest are shown.
	for _, h := range []int{50, 3, 100, 1, 20, 2, 150} {
		a := kelpStory(fmt.Sprintf("h%d", h), now.Add(-time.Duration(h)*time.Hour))
		if h == 100 {
			a.Title = "Kelp, kelp and more kelp"
		}
		add(a)
	}
	add(kelpStory("private", now.Add(-30*time.Minute), "999"), kelpStory("last-week", now.Add(-8*24*time.Hour)))
	r := mustHandle(t, s, req("subscribe", "query", "kelp"))
	if !strings.Contains(r.Content, "Of the articles published in the last 7 days, 7 match") {
		t.Errorf("preview count: %q", r.Content)
	}
	var shown []string
	for _, l := range strings.Split(r.Content, "\n") {
		if strings.HasPrefix(l, "• ") {
			shown = append(shown, l)
		}
	}
	want := []string{
		"• [Kelp farm h1](https://news.example/h1) — Harbour Wire",
		"• [Kelp farm h2](https://news.example/h2) — Harbour Wire",
		"• [Kelp farm h3](https://news.example/h3) — Harbour Wire",
	}
	if !slices.Equal(shown, want) {
		t.Errorf("examples %q, want %q", shown, want)
	}
}

// A story known only by its date shows that date and no timestamp: Discord
// shows a timestamp in the reader's zone, the evening before in the
// Americas.
func TestLookupShowsADateOnlyStoryByItsDate(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, b *storetest.Backend) {
		s := newService(t, b)
		add, now := withArchive(t, s)
		day := now.UTC().Truncate(24 * time.Hour).Add(-24 * time.Hour)
		dated := kelpStory("dated", day)
		dated.DateOnly = true
		timed := kelpStory("timed", now.Add(-3*time.Hour))
		add(dated, timed)
		r := mustHandle(t, s, req("lookup", "query", "kelp"))
		if len(r.Embeds) != 2 {
			t.Fatalf("%d results, want 2", len(r.Embeds))
		}
		for _, e := range r.Embeds {
			switch {
			case strings.Contains(e.Title, "dated"):
				if !e.Timestamp.IsZero() || !strings.HasSuffix(e.Footer, day.Format("2006-01-02")) {
					t.Errorf("date-only story: timestamp %v, footer %q; want no timestamp, the date %s", e.Timestamp, e.Footer, day.Format("2006-01-02"))
				}
			case e.Timestamp.IsZero():
				t.Errorf("a story with a time lost its timestamp")
			}
		}
	})
}

// Outlets' copies of one story are one result, as in a digest: the best
// report leads, the others are listed under it with their links, and the
// pages count stories. A story whose leading report expired between two
// clicks is led by its next one.
func TestLookupShowsAStoryOnce(t *testing.T) { storetest.EachBackend(t, testLookupShowsAStoryOnce) }

func testLookupShowsAStoryOnce(t *testing.T, b *storetest.Backend) {
	s := newService(t, b)
	add, now := withArchive(t, s)
	ferry := func(id, title, source string, age time.Duration) *digestbot.Article {
		return &digestbot.Article{ID: id, Title: title, URL: "https://" + id + ".example/ferry", Source: source,
			Text: "The ferry crews walked out at dawn.", Published: now.Add(-age), Ingested: now}
	}
	// The gazette's story names a second outlet with its own link, as a
	// newsletter does.
	gazette := ferry("gazette", "Ferry crews strike over night shifts, gazette hears", "Bay Gazette", 3*time.Hour)
	gazette.Sources = []digestbot.Source{{Name: "Bay Gazette", URL: gazette.URL, Published: gazette.Published}, {Name: "Pier Radio", URL: "https://pierradio.example/ferry"}}
	add(
		ferry("wire", "Ferry crews strike over night shifts", "Harbour Wire", time.Hour),
		ferry("ledger", "Ferry crews strike over night shifts, stranding commuters", "Coastal Ledger", 2*time.Hour),
		gazette,
		// The same subject, another event: a story of its own.
		ferry("talks", "Ferry owners invite unions to pay talks", "Harbour Wire", 4*time.Hour),
	)
	for i := 1; i <= 5; i++ {
		add(ferry(fmt.Sprintf("f%d", i), fmt.Sprintf("Pier p%d works", i), "Port Notices", time.Duration(10+i)*time.Hour))
	}

	first := mustHandle(t, s, req("lookup", "query", "ferry"))
	if want := "9 articles (7 stories) match `ferry`:\nPage 1 of 2"; first.Content != want {
		t.Errorf("heading %q, want %q (7 stories, 5 a page)", first.Content, want)
	}
	shown := titles(first)
	if n := strings.Count(strings.Join(shown, "\n"), "crews strike"); n != 1 || !slices.Contains(shown, "Ferry owners invite unions to pay talks") {
		t.Fatalf("page 1 %q: want the strike once and the talks as a story of their own", shown)
	}
	// Whichever report ranks best leads; the other two are listed under
	// it with their links, the leading one not again.
	reports := map[string]string{
		"https://wire.example/ferry":    "[Harbour Wire](https://wire.example/ferry)",
		"https://ledger.example/ferry":  "[Coastal Ledger](https://ledger.example/ferry)",
		"https://gazette.example/ferry": "[Bay Gazette](https://gazette.example/ferry)",
	}
	strike := first.Embeds[slices.IndexFunc(first.Embeds, func(e digest.Embed) bool { return strings.Contains(e.Title, "strike") })]
	if _, ok := reports[strike.URL]; !ok || !strings.Contains(strike.Description, "Also reported by:") {
		t.Fatalf("the strike: %s %q", strike.URL, strike.Description)
	}
	for u, link := range reports {
		if listed := strings.Contains(strike.Description, link); listed == (u == strike.URL) {
			t.Errorf("the strike led by %s: %s listed %v in %q", strike.URL, link, listed, strike.Description)
		}
	}
	// Every outlet of a report is listed with its own link. (The
	// gazette's longer, older report ranks below the wire's.)
	if strike.URL == gazette.URL {
		t.Fatalf("the gazette leads the strike; this test needs another lead")
	}
	if radio := "[Pier Radio](https://pierradio.example/ferry)"; !strings.Contains(strike.Description, radio) {
		t.Errorf("the gazette's second outlet is missing from %q", strike.Description)
	}
	second := press(t, s, first, "Next ▶")
	if got := titles(second); len(got) != 2 || slices.ContainsFunc(got, func(t string) bool { return slices.Contains(shown, t) }) {
		t.Errorf("page 2 %q repeats or misses stories of page 1 %q", got, shown)
	}

	// The leading report expires: the story stays, led by the next.
	st := s.Store.(*store.Store)
	lead := strings.TrimSuffix(strings.TrimPrefix(strike.URL, "https://"), ".example/ferry")
	if err := st.Client().Del(context.Background(), st.Prefix()+"a:"+lead).Err(); err != nil {
		t.Fatal(err)
	}
	again := press(t, s, second, "◀ Previous")
	i := slices.IndexFunc(again.Embeds, func(e digest.Embed) bool { return strings.Contains(e.Title, "strike") })
	if i < 0 || again.Embeds[i].URL == strike.URL || reports[again.Embeds[i].URL] == "" || strings.Contains(again.Content, "Left out") ||
		strings.Count(again.Embeds[i].Description, "](https://") != 2 { // the other report: the gazette and Pier Radio
		t.Errorf("page 1 after the leading report expired: %q %+v", again.Content, again.Embeds)
	}
}

// When outlets' reports were merged, the heading says how many stories
// the articles make: of all matches, or of the ones kept when the list
// was cut.
func TestLookupHeadingCountsStories(t *testing.T) {
	st := &lookupState{Query: LookupQuery{Query: "ferry"}, IDs: []string{"a", "b", "c"}, Also: map[string][]string{"a": {"a2", "a3"}}, Total: 5}
	if got, want := st.heading(0), "5 articles (3 stories) match `ferry`:"; got != want {
		t.Errorf("all kept: %q, want %q", got, want)
	}
	st.Total = 40
	if got, want := st.heading(0), "40 articles match `ferry`:\nPage 1 of 1 · the first 5 of 40 (3 stories), best first; narrow the query or since to see the rest"; got != want {
		t.Errorf("cut: %q, want %q", got, want)
	}
	st.Also = nil
	st.Total = 3
	if got, want := st.heading(0), "3 articles match `ferry`:"; got != want {
		t.Errorf("nothing merged: %q, want %q", got, want)
	}
}

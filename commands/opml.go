package commands

import (
	"context"
	"fmt"
	"sync"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/opml"
	"github.com/digestbot/digestbot/schedule"
)

// /feeds import and /feeds export: a server's feeds as an OPML file, the
// subscription list feed readers import and export.
//
// Import reads the whole file first. A file that cannot be read (not
// OPML, past a limit of package opml, larger than opml.MaxBytes) changes
// nothing. In a readable file each feed stands on its own, checked as
// /feeds add checks it (URL rules, private addresses refused, fetched and
// parsed): the good ones are added and every other one is listed with its
// reason (in pages when the list is long), so one dead feed among forty
// does not stop the rest. Only if the
// good feeds would take the server past its feed limit is nothing added.

// importChecks is how many feeds of a file are fetched at once: enough
// that a file at the feed limit is checked within the command's time.
const importChecks = 8

// maxImportedName bounds the source name an imported feed gets from its
// title in the file.
const maxImportedName = 100

// Outcomes of one feed of an imported file.
const (
	importAdded   = "added"
	importThere   = "already there"
	importTwice   = "listed twice in the file"
	importRefused = "refused"
)

// importLine is what became of one feed of a file.
type importLine struct {
	feed    opml.Feed
	outcome string
	reason  string // why it was refused
	count   int    // articles found by the check; -1 unknown
	title   string // the feed's own title, found by the check
}

func (s *Service) feedsImport(ctx context.Context, req *Request) (*Response, error) {
	a := req.Attachments["file"]
	if a == nil || a.Fetch == nil {
		return nil, digestbot.Errorf(digestbot.EINVALID, "attach an OPML file to the option file")
	}
	if a.Size > opml.MaxBytes {
		return nil, digestbot.Errorf(digestbot.ELIMIT, "%s is %d bytes; an OPML file may have at most %d (1 MiB). Nothing was imported.", a.Filename, a.Size, opml.MaxBytes)
	}
	data, err := a.Fetch(ctx, opml.MaxBytes)
	if err != nil {
		return nil, err
	}
	feeds, err := opml.Parse(data)
	if err != nil {
		return nil, digestbot.WrapError(digestbot.ErrorCode(err), err, "%s: %s. Nothing was imported.", a.Filename, digestbot.ErrorMessage(err))
	}
	existing, err := s.Store.Feeds(ctx, req.GuildID)
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, f := range existing {
		have[f.URL] = true
	}
	lines := make([]importLine, len(feeds))
	var check []int // lines of the feeds to fetch
	seen := map[string]bool{}
	for i, f := range feeds {
		if f.Title == f.URL {
			f.Title = "" // a reader's way of writing an untitled feed
		}
		lines[i] = importLine{feed: f, count: -1}
		switch err := checkFeedURL(f.URL); {
		case err != nil:
			lines[i].outcome, lines[i].reason = importRefused, digestbot.ErrorMessage(err)
		case seen[f.URL]:
			lines[i].outcome = importTwice
		case have[f.URL]:
			lines[i].outcome = importThere
		default:
			check = append(check, i)
		}
		seen[f.URL] = true
	}
	limit := s.Config.Limits.FeedsPerGuild
	if room := limit - len(existing); len(check) > room {
		return nil, digestbot.Errorf(digestbot.ELIMIT, "%s lists %s new to this server; it has room for %d more (the limit is %d). Nothing was imported; remove feeds or split the file.",
			a.Filename, count(len(check), "feed", "feeds"), max(room, 0), limit)
	}
	s.checkImported(ctx, lines, check)
	for _, i := range check {
		l := &lines[i]
		if l.outcome == importRefused {
			continue
		}
		f := s.newFeed(req, l.feed.URL, clip(l.feed.Title, maxImportedName))
		f.Title = clip(l.title, 200)
		created, err := s.Store.AddFeed(ctx, f, limit)
		switch {
		case err != nil && digestbot.ErrorCode(err) == digestbot.EINTERNAL:
			return nil, err
		case err != nil:
			l.outcome, l.reason = importRefused, digestbot.ErrorMessage(err)
		case created:
			l.outcome = importAdded
		default:
			l.outcome = importThere // added meanwhile, by someone else
		}
	}
	// A long list comes in pages, as every list does.
	head, items := importReply(a.Filename, lines, schedule.DurationText(s.Config.Polling.Interval))
	return s.paged(ctx, req.GuildID, listPages(head, items, ""), false)
}

// checkImported fetches the feeds of lines[check], a few at a time, and
// marks those that fail as refused.
func (s *Service) checkImported(ctx context.Context, lines []importLine, check []int) {
	if s.CheckFeed == nil {
		return
	}
	slots := make(chan struct{}, importChecks)
	var wg sync.WaitGroup
	for _, i := range check {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer func() { <-slots; wg.Done() }()
			check, err := s.CheckFeed(ctx, lines[i].feed.URL)
			if err != nil {
				lines[i].outcome, lines[i].reason = importRefused, digestbot.ErrorMessage(err)
				return
			}
			lines[i].count, lines[i].title = check.Articles, check.Title
		}()
	}
	wg.Wait()
}

// importReply words what became of each feed: a head line that counts
// them, and a line per feed of the file.
func importReply(file string, lines []importLine, interval string) (head string, items []string) {
	n := map[string]int{}
	for _, l := range lines {
		n[l.outcome]++
		label := l.feed.URL
		if l.feed.Title != "" {
			label = l.feed.Title + " — " + l.feed.URL
		}
		var item string
		switch l.outcome {
		case importAdded:
			item = fmt.Sprintf("✅ %s: added", label)
			if l.count >= 0 {
				item += fmt.Sprintf(" (%s now)", count(l.count, "article", "articles"))
			}
		case importRefused:
			item = fmt.Sprintf("❌ %s: refused: %s", label, l.reason)
		default:
			item = fmt.Sprintf("➖ %s: %s", label, l.outcome)
		}
		items = append(items, item)
	}
	head = fmt.Sprintf("Imported %s: %d added, %d already there, %d refused", file, n[importAdded], n[importThere], n[importRefused])
	if n[importTwice] > 0 {
		head += fmt.Sprintf(", %d listed twice", n[importTwice])
	}
	head += "."
	if n[importAdded] > 0 {
		head += fmt.Sprintf(" New feeds are polled every %s; they bring stories published from now on.", interval)
	}
	return head, items
}

func (s *Service) feedsExport(ctx context.Context, req *Request) (*Response, error) {
	feeds, err := s.Store.Feeds(ctx, req.GuildID)
	if err != nil {
		return nil, err
	}
	if len(feeds) == 0 {
		return &Response{Content: "This server has no feeds of its own to export. Add one with /feeds add url:…", Ephemeral: true}, nil
	}
	list := make([]opml.Feed, len(feeds))
	for i, f := range feeds {
		list[i] = opml.Feed{URL: f.URL, Title: f.Name}
	}
	data := opml.Encode("digestbot: this server's feeds", s.now(), list)
	msg := fmt.Sprintf("This server's %s, as OPML (the operator's feeds are not in it).", count(len(feeds), "feed", "feeds"))
	return &Response{Content: msg, Ephemeral: true, Files: []File{{Name: "feeds.opml", ContentType: "text/x-opml; charset=utf-8", Data: data}}}, nil
}

package trend

import (
	"context"
	"fmt"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/subscriptions"
)

// Defaults of Counter.
const (
	// DefaultMaxOutlets is how many of the newest stories have their outlet
	// read (one small read per story).
	DefaultMaxOutlets = 5000
	// DefaultMaxVerify is how many matches the index could not decide alone
	// (phrases) are checked on the stored article (a read of the whole
	// article each); the rest are counted as matches.
	DefaultMaxVerify = 500
)

// HourCount is how many articles a query matches that were published in
// one hour: Sure of them decided by the index, Unsure only maybe (a
// phrase: the words are there, maybe not side by side).
type HourCount struct {
	Hour         time.Time
	Sure, Unsure int
}

// Occurrence is one article a query matches, as the index knows it.
type Occurrence struct {
	Hour time.Time // the hour it was published in (else ingested)
	Sure bool      // false: the index could not decide (a phrase); read the article
	ID   string
}

// Found is what an index finds for a trend: the matches per hour, and the
// newest of them by article.
type Found struct {
	Hours  []HourCount
	Newest []Occurrence // newest first, at most Find.IDs
}

// Find asks the index which articles a query matches.
type Find struct {
	Query *subscriptions.Query
	Since time.Time
	Guild string // the server asking: public articles and its own
	IDs   int    // how many of the newest occurrences need their article id
}

// Finder counts the articles a query matches since a time, from an index
// of the archive (package archive, through the wiring). It is an interface
// so that another index can take its place.
type Finder interface {
	Occurrences(ctx context.Context, f Find) (*Found, error)
}

// Articles reads stored articles: whole, to check a match the index could
// not decide, and only their outlet, to count outlets; *store.Store is one.
type Articles interface {
	GetArticles(ctx context.Context, ids []string) ([]*digestbot.Article, error)
	ArticleOutlets(ctx context.Context, ids []string) ([]string, error)
}

// Request is one trend.
type Request struct {
	Query    *subscriptions.Query // parsed, topics resolved
	Label    string               // the query as the user wrote it, for the chart
	Since    time.Time
	Now      time.Time
	Guild    string         // the server asking: public articles and its own
	Location *time.Location // days begin at midnight here; nil: UTC
}

// Counter makes trends from an index and the store.
type Counter struct {
	Finder   Finder
	Articles Articles
	// MaxOutlets and MaxVerify bound the reads of one trend; zero takes
	// the defaults.
	MaxOutlets int
	MaxVerify  int
}

// Series counts the stories req.Query matched since req.Since that
// req.Guild may see.
func (c *Counter) Series(ctx context.Context, req Request) (*Series, error) {
	maxOutlets, maxVerify := c.MaxOutlets, c.MaxVerify
	if maxOutlets <= 0 {
		maxOutlets = DefaultMaxOutlets
	}
	if maxVerify <= 0 {
		maxVerify = DefaultMaxVerify
	}
	found, err := c.Finder.Occurrences(ctx, Find{Query: req.Query, Since: req.Since, Guild: req.Guild, IDs: maxOutlets})
	if err != nil {
		return nil, err
	}
	// The newest matches carry their ids: read their outlets, and the
	// whole article of those the index could not decide, within budget.
	var ids, unsure []string
	for _, o := range found.Newest {
		ids = append(ids, o.ID)
		if !o.Sure && len(unsure) < maxVerify {
			unsure = append(unsure, o.ID)
		}
	}
	outlets, err := c.Articles.ArticleOutlets(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("read outlets: %w", err)
	}
	outletOf := make(map[string]string, len(ids))
	for i, id := range ids {
		outletOf[id] = outlets[i]
	}
	refused, err := c.verify(ctx, req, unsure, outletOf)
	if err != nil {
		return nil, err
	}
	// A match found not to be one leaves its hour's count.
	less := map[time.Time]int{}
	var hits []Hit
	for _, o := range found.Newest {
		if refused[o.ID] {
			less[o.Hour]++
			continue
		}
		hits = append(hits, Hit{At: o.Hour, Outlet: outletOf[o.ID]})
	}
	counts := make([]Count, 0, len(found.Hours))
	unchecked := -len(unsure)
	for _, h := range found.Hours {
		counts = append(counts, Count{At: h.Hour, Stories: h.Sure + h.Unsure - less[h.Hour]})
		unchecked += h.Unsure
	}
	return Build(req.Label, counts, hits, req.Since, req.Now, req.Location, unchecked > 0), nil
}

// verify reads the articles of ids and checks the query on each; it
// returns those that do not match (or are gone, or not the server's), and
// fills in outlets the store did not keep apart.
func (c *Counter) verify(ctx context.Context, req Request, ids []string, outletOf map[string]string) (map[string]bool, error) {
	refused := map[string]bool{}
	if len(ids) == 0 {
		return refused, nil
	}
	arts, err := c.Articles.GetArticles(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("read articles to check: %w", err)
	}
	for i, a := range arts {
		if a == nil || (req.Guild != "" && !a.VisibleTo(req.Guild)) {
			refused[ids[i]] = true
			continue
		}
		if _, ok := req.Query.Match(subscriptions.DocFromArticle(a)); !ok {
			refused[ids[i]] = true
			continue
		}
		if outletOf[a.ID] == "" {
			outletOf[a.ID] = a.Source
		}
	}
	return refused, nil
}

package commands

import (
	"context"
	"strings"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/archive"
	"github.com/digestbot/digestbot/subscriptions"
)

// ArticleGetter reads stored articles: nil for one no longer kept.
type ArticleGetter interface {
	GetArticles(ctx context.Context, ids []string) ([]*digestbot.Article, error)
}

// ArchiveSearch is Service.Search over the lookup index: a search for up
// to q.Limit results, or the articles q.IDs of a page of a lookup already
// ranked, read from arts.
func ArchiveSearch(idx *archive.Index, arts ArticleGetter) func(ctx context.Context, q LookupQuery) (*LookupPage, error) {
	return func(ctx context.Context, q LookupQuery) (*LookupPage, error) {
		if len(q.IDs) > 0 {
			return lookupShow(ctx, arts, q)
		}
		req := archive.Request{Query: q.Query, Since: q.Since, Source: q.Source, Guild: q.Guild}
		var page *archive.Page
		var err error
		if q.Limit > archive.MaxLimit {
			page, err = idx.SearchUpTo(ctx, req, min(q.Limit, archive.MaxUpTo))
		} else {
			req.Limit = q.Limit
			page, err = idx.Search(ctx, req)
		}
		if err != nil {
			return nil, err
		}
		out := &LookupPage{Total: page.Total}
		for _, r := range page.Results {
			out.Results = append(out.Results, lookupResult(r.Article, r.Snippet))
		}
		return out, nil
	}
}

// lookupShow reads the articles q.IDs in order, with their snippets for
// q.Query; one no longer kept, or no longer visible to q.Guild, is counted
// as gone. One that no longer matches (its story was updated) is still
// shown: the page lists what the lookup found.
func lookupShow(ctx context.Context, arts ArticleGetter, q LookupQuery) (*LookupPage, error) {
	query, err := subscriptions.Parse(q.Query)
	if err != nil {
		return nil, err
	}
	as, err := arts.GetArticles(ctx, q.IDs)
	if err != nil {
		return nil, err
	}
	out := &LookupPage{}
	for _, a := range as {
		if a == nil || (q.Guild != "" && !a.VisibleTo(q.Guild)) {
			out.Gone++
			continue
		}
		matched, _ := query.Match(subscriptions.DocFromArticle(a))
		out.Results = append(out.Results, lookupResult(a, archive.Snippet(a, matched)))
	}
	out.Total = len(out.Results)
	return out, nil
}

// lookupResult names every outlet, so that a story found by its second
// outlet (source: or the source option) shows that outlet.
func lookupResult(a *digestbot.Article, snippet string) LookupResult {
	return LookupResult{ID: a.ID, Title: a.Title, URL: a.URL, Source: strings.Join(a.SourceNames(), ", "), Published: a.Published, DateOnly: a.DateOnly, Snippet: snippet, Sources: a.AllSources()}
}

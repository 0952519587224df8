package ingest

import (
	"context"
	"slices"
	"sync"

	digestbot "github.com/digestbot/digestbot"
)

// memSink is an in-memory ArticleSink with the store's outcome rules: new
// by id, updated when title, text, summary or tags changed, else unchanged.
type memSink struct {
	mu    sync.Mutex
	byID  map[string]*digestbot.Article
	calls int
	err   error
}

// memSink keeps the last put of each article (the store merges Guilds;
// the tests here look at what the poller sends).
func newMemSink() *memSink { return &memSink{byID: map[string]*digestbot.Article{}} }

func (m *memSink) PutArticles(_ context.Context, arts []*digestbot.Article) ([]digestbot.PutOutcome, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	if m.err != nil {
		return nil, m.err
	}
	outs := make([]digestbot.PutOutcome, len(arts))
	for i, a := range arts {
		old, ok := m.byID[a.ID]
		switch {
		case !ok:
			outs[i] = digestbot.PutNew
		case old.Title != a.Title || old.Text != a.Text || old.Summary != a.Summary || !slices.Equal(old.Tags, a.Tags) ||
			!slices.Equal(old.Guilds, a.Guilds):
			outs[i] = digestbot.PutUpdated
		default:
			outs[i] = digestbot.PutUnchanged
			continue
		}
		c := *a
		m.byID[a.ID] = &c
	}
	return outs, nil
}

func (m *memSink) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.byID)
}

// memFeeds is an in-memory FeedSource.
type memFeeds struct {
	mu     sync.Mutex
	feeds  []*digestbot.Feed
	health map[string]digestbot.FeedHealth
}

func (m *memFeeds) AllFeeds(context.Context) ([]*digestbot.Feed, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.feeds), nil
}

func (m *memFeeds) FeedHealth(_ context.Context, url string) (*digestbot.FeedHealth, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	h, ok := m.health[url]
	if !ok {
		return &digestbot.FeedHealth{URL: url}, nil
	}
	return &h, nil
}

func (m *memFeeds) FeedHealths(ctx context.Context, urls []string) ([]*digestbot.FeedHealth, error) {
	out := make([]*digestbot.FeedHealth, len(urls))
	for i, u := range urls {
		out[i], _ = m.FeedHealth(ctx, u)
	}
	return out, nil
}

func (m *memFeeds) SetFeedHealth(_ context.Context, h *digestbot.FeedHealth) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.health == nil {
		m.health = map[string]digestbot.FeedHealth{}
	}
	m.health[h.URL] = *h
	return nil
}

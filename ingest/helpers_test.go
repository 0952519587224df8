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

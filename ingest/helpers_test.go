package ingest

import (
	"context"
	"fmt"
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

// memFeeds is an in-memory FeedSource. Its resume requests follow the
// store's rules: a request replaces the pending one with a new id, and
// DropFeedResume deletes a request only while it is still the given id.
type memFeeds struct {
	mu      sync.Mutex
	feeds   []*digestbot.Feed
	health  map[string]digestbot.FeedHealth
	resumes map[string]string // URL -> pending resume request id
	seq     int
	// afterRead, when set, runs in FeedHealths after the health has been
	// read and before it is returned, so a test can make the read stale.
	afterRead func()
}

func (m *memFeeds) AllFeeds(context.Context) ([]*digestbot.Feed, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.feeds), nil
}

func (m *memFeeds) FeedHealth(_ context.Context, url string) (*digestbot.FeedHealth, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.healthLocked(url), nil
}

func (m *memFeeds) healthLocked(url string) *digestbot.FeedHealth {
	h, ok := m.health[url]
	if !ok {
		return &digestbot.FeedHealth{URL: url}
	}
	return &h
}

func (m *memFeeds) FeedHealths(_ context.Context, urls []string) ([]*digestbot.FeedHealth, error) {
	m.mu.Lock()
	out := make([]*digestbot.FeedHealth, len(urls))
	for i, u := range urls {
		out[i] = m.healthLocked(u)
	}
	hook := m.afterRead
	m.mu.Unlock()
	if hook != nil {
		hook()
	}
	return out, nil
}

func (m *memFeeds) setAfterRead(f func()) {
	m.mu.Lock()
	m.afterRead = f
	m.mu.Unlock()
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

func (m *memFeeds) RequestFeedResume(_ context.Context, url string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.resumes == nil {
		m.resumes = map[string]string{}
	}
	m.seq++
	m.resumes[url] = fmt.Sprint(m.seq)
	return nil
}

func (m *memFeeds) FeedResumes(_ context.Context, urls []string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, len(urls))
	for i, u := range urls {
		out[i] = m.resumes[u]
	}
	return out, nil
}

func (m *memFeeds) DropFeedResume(_ context.Context, url, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.resumes[url] == id {
		delete(m.resumes, url)
	}
	return nil
}

// pendingResumes counts the resume requests not applied yet.
func (m *memFeeds) pendingResumes() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.resumes)
}

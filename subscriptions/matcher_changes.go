package subscriptions

// The matcher's view of the stored subscriptions and topics: a full load
// now and then, and in between the change feed, applied in each guild's
// order (see digestbot.SubscriptionChange).

import (
	"context"
	"fmt"
	"time"

	digestbot "github.com/digestbot/digestbot"
)

// readFeed reads the change feed from after seq to its end and returns the
// last seq, and the entries when keep is set.
func (m *Matcher) readFeed(ctx context.Context, seq string, keep bool) (string, []digestbot.SubscriptionChange, error) {
	const page = 1000
	var all []digestbot.SubscriptionChange
	for {
		chs, err := m.st.SubscriptionChanges(ctx, seq, page)
		if err != nil {
			return "", nil, fmt.Errorf("read subscription changes: %w", err)
		}
		if len(chs) > 0 {
			seq = chs[len(chs)-1].Seq
			if keep {
				all = append(all, chs...)
			}
		}
		if len(chs) < page {
			return seq, all, nil
		}
	}
}

// load reads every subscription and topic and brings the index to exactly
// that state (adding, replacing and removing; never rebuilding). The feed
// position is taken first, so a change made during the load is applied
// again by the next run, which is harmless. The load is not one atomic
// read, so no guild's version is known after it: each guild's next change
// reloads that guild.
func (m *Matcher) load(ctx context.Context, now time.Time) error {
	seq, _, err := m.readFeed(ctx, m.feedSeq, false)
	if err != nil {
		return err
	}
	topics, err := m.st.AllTopics(ctx)
	if err != nil {
		return fmt.Errorf("load topics: %w", err)
	}
	subs, err := m.st.AllSubscriptions(ctx)
	if err != nil {
		return fmt.Errorf("load subscriptions: %w", err)
	}
	// A subscription missing here is new to a loaded matcher: its add_sub
	// entry was missed.
	m.adopt(subs, topics, func(string) bool { return true }, m.loaded)
	clear(m.versions)
	m.feedSeq, m.loaded, m.lastLoad = seq, true, now
	m.log.Debug("matcher: loaded subscriptions", "subscriptions", len(subs), "topics", len(topics), "indexed", m.index.Len())
	return nil
}

// reloadGuild brings one guild to the state of an atomic snapshot, and
// notes the version it reflects: the snapshot's, or that of the change
// that led here when larger (a deleted guild's snapshot has none).
func (m *Matcher) reloadGuild(ctx context.Context, ch digestbot.SubscriptionChange) error {
	snap, err := m.st.GuildSnapshot(ctx, ch.GuildID)
	if err != nil {
		return fmt.Errorf("reload the subscriptions of guild %s: %w", ch.GuildID, err)
	}
	m.adopt(snap.Subscriptions, snap.Topics, func(g string) bool { return g == ch.GuildID }, true)
	m.versions[ch.GuildID] = max(snap.Version, ch.Version)
	m.log.Debug("matcher: reloaded a guild whose changes arrived out of order or were lost",
		"guild", ch.GuildID, "version", m.versions[ch.GuildID])
	return nil
}

// adopt makes the subscriptions and topics of the guilds in scope exactly
// subs and topics, re-indexing only what may have changed. With markNew, a
// subscription the matcher did not have is caught up on past articles.
func (m *Matcher) adopt(subs []*digestbot.Subscription, topics []*digestbot.Topic, inScope func(guildID string) bool, markNew bool) {
	for g := range m.guildTopics {
		if inScope(g) {
			delete(m.guildTopics, g)
			delete(m.topicCache, g)
		}
	}
	for _, t := range topics {
		m.putTopic(t)
	}
	old := map[string]*digestbot.Subscription{}
	for id, s := range m.subs {
		if inScope(s.GuildID) {
			old[id] = s
			delete(m.subs, id)
		}
	}
	for _, s := range subs {
		m.subs[s.ID] = s
		o := old[s.ID]
		if o != nil && sameSubscription(o, s) && !usesTopics(s) && m.unindexed[s.ID] == "" && m.index.Has(s.ID) {
			continue // indexed already, and nothing it depends on can have changed
		}
		m.indexSub(s)
		if markNew && o == nil {
			m.catchUp[s.ID] = true
		}
	}
	for id := range old {
		if m.subs[id] == nil {
			m.index.Remove(id)
			delete(m.unindexed, id)
			delete(m.catchUp, id)
		}
	}
}

// applyChanges applies the change feed since the last run.
func (m *Matcher) applyChanges(ctx context.Context) (int, error) {
	seq, chs, err := m.readFeed(ctx, m.feedSeq, true)
	if err != nil || len(chs) == 0 {
		return 0, err
	}
	dirty := map[string]bool{}       // subscriptions to re-index
	topicGuilds := map[string]bool{} // guilds whose topics changed ("" never)
	for _, ch := range chs {
		if ch.Version != 0 { // entries written before versions apply as they come
			cur, known := m.versions[ch.GuildID]
			switch {
			case known && ch.Version <= cur:
				continue // in the index already (a reload read it)
			case !known || ch.PrevVersion != cur:
				// An earlier change of the guild is still to come (another
				// replica appended it later) or was lost: read the guild.
				if err := m.reloadGuild(ctx, ch); err != nil {
					return 0, err
				}
				continue
			}
			m.versions[ch.GuildID] = ch.Version
		}
		switch ch.Op {
		case "add_sub":
			if s := ch.Subscription; s != nil {
				if m.subs[s.ID] == nil {
					m.catchUp[s.ID] = true
				}
				m.subs[s.ID] = s
				dirty[s.ID] = true
			}
		case "remove_sub":
			if s := ch.Subscription; s != nil {
				m.dropSub(s.ID)
				delete(dirty, s.ID)
			}
		case "put_topic":
			if t := ch.Topic; t != nil {
				m.putTopic(t)
				topicGuilds[t.GuildID] = true
			}
		case "delete_topic":
			if t := ch.Topic; t != nil {
				if g := m.guildTopics[t.GuildID]; g != nil {
					name := digestbot.NormalizeTopicName(t.Name)
					delete(g, name)
					delete(m.topicCache[t.GuildID], name)
				}
				topicGuilds[t.GuildID] = true
			}
		case "delete_guild":
			for id, s := range m.subs {
				if s.GuildID == ch.GuildID {
					m.dropSub(id)
					delete(dirty, id)
				}
			}
			delete(m.guildTopics, ch.GuildID)
			delete(m.topicCache, ch.GuildID)
		default:
			m.log.Warn("matcher: unknown subscription change", "op", ch.Op, "seq", ch.Seq)
		}
	}
	for _, s := range m.subs {
		if dirty[s.ID] || (topicGuilds[s.GuildID] && usesTopics(s)) {
			m.indexSub(s)
		}
	}
	m.feedSeq = seq
	return len(chs), nil
}

func sameSubscription(a, b *digestbot.Subscription) bool {
	return a.GuildID == b.GuildID && a.ChannelID == b.ChannelID && a.Query == b.Query &&
		a.Topic == b.Topic && a.CreatedAt.Equal(b.CreatedAt)
}

func usesTopics(s *digestbot.Subscription) bool {
	return s.Topic != "" || containsFold(s.Query, "topic:")
}

func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if equalFoldASCII(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}

func equalFoldASCII(a, b string) bool {
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

func (m *Matcher) dropSub(id string) {
	delete(m.subs, id)
	delete(m.unindexed, id)
	delete(m.catchUp, id)
	m.index.Remove(id)
}

func (m *Matcher) putTopic(t *digestbot.Topic) {
	name := digestbot.NormalizeTopicName(t.Name)
	if m.guildTopics[t.GuildID] == nil {
		m.guildTopics[t.GuildID] = map[string]*digestbot.Topic{}
	}
	m.guildTopics[t.GuildID][name] = t
	delete(m.topicCache[t.GuildID], name)
}

package commands

import (
	"context"
	"fmt"
	"strings"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/subscriptions"
)

// topic returns the topic a guild sees under name: its own, else the operator's.
func (s *Service) topic(ctx context.Context, guildID, name string) (*digestbot.Topic, error) {
	name = digestbot.NormalizeTopicName(name)
	own, err := s.ownTopic(ctx, guildID, name)
	if err != nil {
		return nil, err
	}
	if own != nil {
		return own, nil
	}
	if t := s.operatorTopic(name); t != nil {
		return t, nil
	}
	return nil, digestbot.Errorf(digestbot.ENOTFOUND, "there is no topic %q; /topics list shows them", name)
}

// operatorTopic returns the operator topic called name, or nil.
func (s *Service) operatorTopic(name string) *digestbot.Topic {
	name = digestbot.NormalizeTopicName(name)
	for _, t := range s.GlobalTopics {
		if digestbot.NormalizeTopicName(t.Name) == name {
			return t
		}
	}
	return nil
}

// ownTopic returns the server's own topic called name, or nil.
func (s *Service) ownTopic(ctx context.Context, guildID, name string) (*digestbot.Topic, error) {
	name = digestbot.NormalizeTopicName(name)
	own, err := s.Store.Topics(ctx, guildID)
	if err != nil {
		return nil, err
	}
	for _, t := range own {
		if t.Name == name {
			return t, nil
		}
	}
	return nil, nil
}

func (s *Service) topicsList(ctx context.Context, req *Request) (*Response, error) {
	own, err := s.Store.Topics(ctx, req.GuildID)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	seen := map[string]bool{}
	for _, t := range own {
		seen[t.Name] = true
		fmt.Fprintf(&b, "• **%s** — `%s`\n", t.Name, t.Query)
	}
	for _, t := range s.GlobalTopics {
		if !seen[t.Name] {
			fmt.Fprintf(&b, "• **%s** — `%s` (operator)\n", t.Name, t.Query)
		}
	}
	if b.Len() == 0 {
		return &Response{Content: "No topics yet. Create one with /topics create name:… query:…", Ephemeral: true}, nil
	}
	return &Response{Content: b.String(), Ephemeral: true}, nil
}

func (s *Service) topicsCreate(ctx context.Context, req *Request) (*Response, error) {
	name := digestbot.NormalizeTopicName(req.Options["name"])
	if err := digestbot.ValidateTopicName(name); err != nil {
		return nil, err
	}
	q, err := subscriptions.Parse(req.Options["query"])
	if err != nil {
		return nil, err
	}
	for _, ref := range q.Topics() {
		if ref == name {
			return nil, digestbot.Errorf(digestbot.EINVALID, "topic %s cannot refer to itself", name)
		}
	}
	// A server topic of an operator topic's name would take its place for
	// this server: every topic:NAME subscription would silently follow the
	// new query and the operator's would vanish from /topics list. A topic
	// the server already has under that name (made before this check) stays
	// its own to change.
	if s.operatorTopic(name) != nil {
		own, err := s.ownTopic(ctx, req.GuildID, name)
		if err != nil {
			return nil, err
		}
		if own == nil {
			return nil, digestbot.Errorf(digestbot.ECONFLICT, "%s is one of the bot's own topics; choose another name", name)
		}
	}
	if _, err := s.resolve(ctx, req.GuildID, q.String()); err != nil {
		return nil, err
	}
	t := &digestbot.Topic{GuildID: req.GuildID, Name: name, Query: q.String(), CreatedBy: req.UserID, UpdatedAt: s.now().UTC()}
	if err := s.Store.PutTopic(ctx, t, s.Config.Limits.TopicsPerGuild); err != nil {
		return nil, limitError(err, s.Config.Limits.TopicsPerGuild, "topic", "topics", "delete one first")
	}
	return &Response{Content: fmt.Sprintf("Topic **%s** is `%s`. Subscriptions to it follow this query from now on.", name, t.Query)}, nil
}

func (s *Service) topicsDelete(ctx context.Context, req *Request) (*Response, error) {
	name := digestbot.NormalizeTopicName(req.Options["name"])
	// Checked first: the subscriptions that use an operator topic are no
	// reason to give, as deleting it is not the server's to do anyway.
	if s.operatorTopic(name) != nil {
		own, err := s.ownTopic(ctx, req.GuildID, name)
		if err != nil {
			return nil, err
		}
		if own == nil {
			return nil, digestbot.Errorf(digestbot.EFORBIDDEN, "%s is one of the bot's own topics; only the operator can change it", name)
		}
	}
	subs, err := s.Store.Subscriptions(ctx, req.GuildID, "")
	if err != nil {
		return nil, err
	}
	users := 0
	for _, sub := range subs {
		if sub.Topic == name || refersTo(sub.Query, name) {
			users++
		}
	}
	if users > 0 {
		return nil, digestbot.Errorf(digestbot.ECONFLICT, "topic %s is used by %s; unsubscribe %s first", name, count(users, "subscription", "subscriptions"), plural(users, "it", "them"))
	}
	topics, err := s.Store.Topics(ctx, req.GuildID)
	if err != nil {
		return nil, err
	}
	for _, t := range topics {
		if t.Name != name && refersTo(t.Query, name) {
			return nil, digestbot.Errorf(digestbot.ECONFLICT, "topic %s is used by the topic %s; change that one first", name, t.Name)
		}
	}
	if err := s.Store.DeleteTopic(ctx, req.GuildID, name); err != nil {
		return nil, err
	}
	return &Response{Content: fmt.Sprintf("Deleted the topic %s.", name)}, nil
}

// refersTo reports whether query text holds a topic:name reference.
func refersTo(query, name string) bool {
	if query == "" {
		return false
	}
	q, err := subscriptions.Parse(query)
	if err != nil {
		return false
	}
	for _, t := range q.Topics() {
		if t == name {
			return true
		}
	}
	return false
}

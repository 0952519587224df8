package commands

import (
	"context"
	"fmt"
	"sort"
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

// visibleTopics returns the topics a guild sees, by name: its own, and the
// operator's it has none of its own of the name of.
func (s *Service) visibleTopics(ctx context.Context, guildID string) (map[string]*digestbot.Topic, error) {
	own, err := s.Store.Topics(ctx, guildID)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*digestbot.Topic, len(own)+len(s.GlobalTopics))
	for _, t := range s.GlobalTopics {
		out[digestbot.NormalizeTopicName(t.Name)] = t
	}
	for _, t := range own {
		out[t.Name] = t
	}
	return out, nil
}

// resolveIn expands the topic references of q with the topics given by
// name, as the matcher will: a reference to an unknown topic, a circle of
// topics or a chain too deep is an error.
func resolveIn(topics map[string]*digestbot.Topic, q *subscriptions.Query) (*subscriptions.Query, error) {
	var parseErr error
	rq, err := q.ResolveTopics(func(name string) (*subscriptions.Query, bool) {
		t := topics[name]
		if t == nil {
			return nil, false
		}
		tq, err := subscriptions.Parse(t.Query)
		if err != nil {
			parseErr = digestbot.WrapError(digestbot.EINVALID, err, "the query of topic %s no longer reads: %s", name, digestbot.ErrorMessage(err))
			return nil, false
		}
		return tq, true
	})
	if parseErr != nil {
		return nil, parseErr
	}
	return rq, err
}

// topicRef is the query of the topic called name alone.
func topicRef(name string) *subscriptions.Query {
	return &subscriptions.Query{Root: &subscriptions.TopicRef{Name: name}}
}

func (s *Service) topicsList(ctx context.Context, req *Request) (*Response, error) {
	own, err := s.Store.Topics(ctx, req.GuildID)
	if err != nil {
		return nil, err
	}
	topics, err := s.visibleTopics(ctx, req.GuildID)
	if err != nil {
		return nil, err
	}
	var items []string
	line := func(t *digestbot.Topic, origin string) {
		item := fmt.Sprintf("• **%s** — `%s`%s", t.Name, t.Query, origin)
		if _, err := resolveIn(topics, topicRef(t.Name)); err != nil {
			item += " ⚠ matches nothing: " + digestbot.ErrorMessage(err)
		}
		items = append(items, item)
	}
	seen := map[string]bool{}
	for _, t := range own {
		seen[t.Name] = true
		line(t, "")
	}
	for _, t := range s.GlobalTopics {
		if !seen[t.Name] {
			line(t, " (operator)")
		}
	}
	if len(items) == 0 {
		return &Response{Content: "No topics yet. Create one with /topics create name:… query:…", Ephemeral: true}, nil
	}
	head := fmt.Sprintf("%s:", count(len(items), "topic", "topics"))
	return s.paged(ctx, req.GuildID, listPages(head, items, ""), true)
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
	// Checked with the new query in place: a topic that refers to itself
	// through others (ports → ports2 → ports) would match nothing, and
	// neither could be deleted while the other refers to it.
	topics, err := s.visibleTopics(ctx, req.GuildID)
	if err != nil {
		return nil, err
	}
	topics[name] = &digestbot.Topic{Name: name, Query: q.String()}
	if _, err := resolveIn(topics, topicRef(name)); err != nil {
		if digestbot.ErrorCode(err) != digestbot.EINVALID {
			return nil, err
		}
		return nil, digestbot.WrapError(digestbot.EINVALID, err, "topic %s cannot be `%s`: %s", name, q, digestbot.ErrorMessage(err))
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
	topics, err := s.visibleTopics(ctx, req.GuildID)
	if err != nil {
		return nil, err
	}
	// A topic on a circle with this one (ports → ports2 → ports) does not
	// keep it: the circle matches nothing, and otherwise neither could go.
	circle := reachable(topics, name)
	var left []string
	for _, t := range topics {
		if t.Name == name || t.GuildID == "" || !refersTo(t.Query, name) {
			continue
		}
		if !circle[t.Name] {
			return nil, digestbot.Errorf(digestbot.ECONFLICT, "topic %s is used by the topic %s; change that one first", name, t.Name)
		}
		left = append(left, t.Name)
	}
	_, broken := resolveIn(topics, topicRef(name))
	if err := s.Store.DeleteTopic(ctx, req.GuildID, name); err != nil {
		return nil, err
	}
	msg := fmt.Sprintf("Deleted the topic %s.", name)
	if broken != nil {
		msg += fmt.Sprintf(" It matched nothing: %s.", digestbot.ErrorMessage(broken))
	}
	if len(left) > 0 {
		sort.Strings(left)
		them := plural(len(left), "it", "them")
		msg += fmt.Sprintf(" %s referred to it and now %s to a topic that no longer exists: change %s with /topics create or delete %s too.",
			strings.Join(left, ", "), plural(len(left), "refers", "refer"), them, them)
	}
	return &Response{Content: msg}, nil
}

// reachable returns the topics that the topic called name refers to,
// directly or through others.
func reachable(topics map[string]*digestbot.Topic, name string) map[string]bool {
	seen := map[string]bool{}
	next := []string{name}
	for len(next) > 0 {
		t := topics[next[0]]
		next = next[1:]
		if t == nil {
			continue
		}
		q, err := subscriptions.Parse(t.Query)
		if err != nil {
			continue
		}
		for _, ref := range q.Topics() {
			if !seen[ref] {
				seen[ref] = true
				next = append(next, ref)
			}
		}
	}
	return seen
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

package commands

import (
	"context"
	"strings"
	"testing"

	digestbot "github.com/digestbot/digestbot"
)

// TestTopicsRefuseCircles: a topic that would refer to itself, directly or
// through other topics, is refused with the path, and nothing changes.
func TestTopicsRefuseCircles(t *testing.T) {
	ctx := context.Background()
	s := newEmbeddedService(t)
	mustHandle(t, s, req("topics create", "name", "ports", "query", "harbour OR ferry"))
	mustHandle(t, s, req("topics create", "name", "ports2", "query", "topic:ports OR crane"))
	mustHandle(t, s, req("topics create", "name", "ports3", "query", "topic:ports2 dock"))
	tests := []struct{ name, query, want string }{
		{"ports", "topic:ports OR quay", "topic ports cannot be `topic:ports OR quay`: topics cannot refer to each other in a circle (ports → ports)"},
		{"ports", "topic:ports2 OR quay", "topic ports cannot be `topic:ports2 OR quay`: topics cannot refer to each other in a circle (ports → ports2 → ports)"},
		{"ports", "quay -topic:ports3", "topic ports cannot be `quay -topic:ports3`: topics cannot refer to each other in a circle (ports → ports3 → ports2 → ports)"},
	}
	for _, tt := range tests {
		_, err := s.Handle(ctx, req("topics create", "name", tt.name, "query", tt.query))
		if digestbot.ErrorCode(err) != digestbot.EINVALID || digestbot.ErrorMessage(err) != tt.want {
			t.Errorf("/topics create %s %s: %v\nwant %q", tt.name, tt.query, err, tt.want)
		}
	}
	own, _ := s.Store.Topics(ctx, "100")
	for _, tp := range own {
		if tp.Name == "ports" && tp.Query != "harbour OR ferry" {
			t.Errorf("a refused /topics create changed ports to %q", tp.Query)
		}
	}
}

// TestTopicsInACircleCanBeDeleted: topics stored in a circle before it was
// refused match nothing; /topics list says so, and each can be deleted,
// the reply saying what is left.
func TestTopicsInACircleCanBeDeleted(t *testing.T) {
	ctx := context.Background()
	s := newEmbeddedService(t)
	for _, tp := range []*digestbot.Topic{
		{GuildID: "100", Name: "ports", Query: "topic:ports2 OR ferry"},
		{GuildID: "100", Name: "ports2", Query: "topic:ports OR crane"},
		{GuildID: "100", Name: "docks", Query: "topic:ports2 quay"}, // outside the circle, but uses it
	} {
		if err := s.Store.PutTopic(ctx, tp, 0); err != nil {
			t.Fatal(err)
		}
	}
	list := mustHandle(t, s, req("topics list"))
	if !strings.Contains(list.Content, "matches nothing: topics cannot refer to each other in a circle (ports → ports2 → ports)") {
		t.Errorf("/topics list does not show the circle:\n%s", list.Content)
	}
	// docks is not on the circle: it still keeps ports2.
	if _, err := s.Handle(ctx, req("topics delete", "name", "ports2")); digestbot.ErrorCode(err) != digestbot.ECONFLICT {
		t.Errorf("deleting ports2, which docks uses: %v, want conflict", err)
	}
	r := mustHandle(t, s, req("topics delete", "name", "ports"))
	want := "Deleted the topic ports. It matched nothing: topics cannot refer to each other in a circle (ports → ports2 → ports). " +
		"ports2 referred to it and now refers to a topic that no longer exists: change it with /topics create or delete it too."
	if r.Content != want {
		t.Errorf("/topics delete ports:\n%s\nwant\n%s", r.Content, want)
	}
	mustHandle(t, s, req("topics create", "name", "ports2", "query", "crane"))
	mustHandle(t, s, req("topics delete", "name", "docks"))
	if r := mustHandle(t, s, req("topics delete", "name", "ports2")); r.Content != "Deleted the topic ports2." {
		t.Errorf("/topics delete ports2: %s", r.Content)
	}
	if own, _ := s.Store.Topics(ctx, "100"); len(own) != 0 {
		t.Errorf("topics left: %+v", own)
	}
}

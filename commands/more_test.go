package commands

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/digestbot/digestbot/digest"
	"github.com/digestbot/digestbot/store/storetest"
)

// A digest's "More" button pages through the stories kept for it, for the
// server it was posted in only, with Previous and Next; an expired one
// says where the stories can still be found.
func TestMoreButtonPagesThroughTheRest(t *testing.T) {
	storetest.EachBackend(t, testMoreButtonPagesThroughTheRest)
}

func testMoreButtonPagesThroughTheRest(t *testing.T, be *storetest.Backend) {
	s := newService(t, be)
	ctx := context.Background()
	var pages []digest.Message
	for p := range 3 {
		var m digest.Message
		for i := range 10 {
			m.Embeds = append(m.Embeds, digest.Embed{Title: fmt.Sprintf("story %d", p*10+i), URL: fmt.Sprintf("https://example.org/%d", p*10+i)})
		}
		pages = append(pages, m)
	}
	pages[2].Embeds = pages[2].Embeds[:5]
	b, _ := json.Marshal(pages)
	state := digest.MoreStateID("w1")
	if err := s.Store.SaveLookup(ctx, "g1", state, b, time.Hour); err != nil {
		t.Fatal(err)
	}
	press := func(guild string, page int) (*Response, error) {
		r := req("button")
		r.GuildID = guild
		r.Options = map[string]string{"id": digest.MoreButtonID(state, page)}
		return s.Handle(ctx, r)
	}
	r, err := press("g1", 1)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Ephemeral || len(r.Embeds) != 10 || r.Embeds[0].Title != "story 10" || !strings.Contains(r.Content, "11–20 of 25") ||
		!strings.Contains(r.Content, "page 2 of 3") || len(r.Buttons) != 2 {
		t.Fatalf("page 2: %+v", r)
	}
	if r.Buttons[0].CustomID != digest.MoreButtonID(state, 0) || r.Buttons[1].CustomID != digest.MoreButtonID(state, 2) {
		t.Errorf("buttons %+v", r.Buttons)
	}
	if r, _ := press("g1", 2); len(r.Embeds) != 5 || len(r.Buttons) != 1 || r.Buttons[0].Label != "Previous" {
		t.Errorf("last page: %+v", r)
	}
	if _, err := press("g2", 0); err == nil || !strings.Contains(err.Error(), "no longer kept") {
		t.Errorf("another server pressed it: %v, want not found", err)
	}
}

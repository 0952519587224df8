package digest

import (
	"testing"

	digestbot "github.com/digestbot/digestbot"
)

func story(ids ...string) Embed { return Embed{Title: "story " + ids[0], ArticleIDs: ids} }

// TestPlacements: each article of a finished delivery is placed on the
// message that carried its story, wherever the layout put it.
func TestPlacements(t *testing.T) {
	ref := digestbot.ChannelRef{GuildID: "g", ChannelID: "c"}
	items := func(ids ...string) []digestbot.PendingItem {
		var out []digestbot.PendingItem
		for _, id := range ids {
			out = append(out, digestbot.PendingItem{GuildID: "g", ChannelID: "c", ArticleID: id})
		}
		return out
	}
	l := Layout{
		Channel: []Message{{Embeds: []Embed{story("a1", "a2")}}, {Embeds: []Embed{story("a3")}}},
		Thread:  []Message{{Embeds: []Embed{story("a4")}}},
	}
	for _, tc := range []struct {
		name string
		kind string
		post func(parts []digestbot.DeliveryPart) // what the chat service answered
		want map[string]digestbot.Placement
	}{
		{"text channel with a thread", KindText, func(p []digestbot.DeliveryPart) {
			p[0].Posted, p[1].Posted, p[2].Posted, p[3].Posted = "m0", "m1", "th", "m2"
		}, map[string]digestbot.Placement{
			"a1": {ChannelID: "c", MessageID: "m0"}, "a2": {ChannelID: "c", MessageID: "m0"},
			"a3": {ChannelID: "c", MessageID: "m1"}, "a4": {ChannelID: "th", MessageID: "m2"},
			"a5": {ChannelID: "c", MessageID: "m0", How: digestbot.PlacedNotShown},
		}},
		{"forum", KindForum, func(p []digestbot.DeliveryPart) {
			p[0].Posted, p[1].Posted, p[2].Posted = "post", "m1", "m2"
		}, map[string]digestbot.Placement{
			"a1": {ChannelID: "post", MessageID: "post"}, "a3": {ChannelID: "post", MessageID: "m1"},
			"a4": {ChannelID: "post", MessageID: "m2"}, "a5": {ChannelID: "post", MessageID: "post", How: digestbot.PlacedNotShown},
		}},
		{"more button, a part set aside", KindOther, func(p []digestbot.DeliveryPart) {
			p[0].SetAside, p[1].Posted, p[2].Posted = "refused", "m1", "button"
		}, map[string]digestbot.Placement{
			"a1": {ChannelID: "c", How: digestbot.PlacedSetAside}, "a2": {ChannelID: "c", How: digestbot.PlacedSetAside},
			"a3": {ChannelID: "c", MessageID: "m1"}, "a4": {ChannelID: "c", MessageID: "m1", How: digestbot.PlacedBehindMore},
			"a5": {ChannelID: "c", MessageID: "m1", How: digestbot.PlacedNotShown},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			del := &digestbot.Delivery{GuildID: "g", ChannelID: "c", Items: items("a1", "a2", "a3", "a4", "a5"), Parts: buildParts(l, tc.kind)}
			tc.post(del.Parts)
			got := map[string]digestbot.Placement{}
			for _, p := range placements(ref, del) {
				if _, dup := got[p.ArticleID]; dup {
					t.Errorf("%s placed twice", p.ArticleID)
				}
				id := p.ArticleID
				p.ArticleID = ""
				got[id] = p
			}
			if len(got) != 5 {
				t.Errorf("%d articles placed, want every item's: %v", len(got), got)
			}
			for id, want := range tc.want {
				if got[id] != want {
					t.Errorf("%s placed %+v, want %+v", id, got[id], want)
				}
			}
		})
	}
}

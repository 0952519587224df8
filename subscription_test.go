package digestbot

import "testing"

// TestSubscriptionIDFromKeyOrQuery: a subscription's id comes from its
// query's normalised key, or, for one stored before keys were kept, from
// the query text; any other id is refused.
func TestSubscriptionIDFromKeyOrQuery(t *testing.T) {
	keyed := &Subscription{GuildID: "1", ChannelID: "2", Query: "Huawei OR ZTE", Key: "huawei OR zte"}
	keyed.ID = SubscriptionID("1", "2", keyed.Key, "")
	legacy := &Subscription{GuildID: "1", ChannelID: "2", Query: "Huawei OR ZTE"}
	legacy.ID = SubscriptionID("1", "2", legacy.Query, "")
	for name, s := range map[string]*Subscription{"keyed": keyed, "legacy": legacy} {
		if err := s.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	wrong := *keyed
	wrong.ID = legacy.ID
	if err := wrong.Validate(); ErrorCode(err) != EINVALID {
		t.Errorf("a keyed subscription with the id of its text: %v, want invalid", err)
	}
	keyOnly := &Subscription{GuildID: "1", ChannelID: "2", Key: "x", Topic: "t"}
	keyOnly.ID = SubscriptionID("1", "2", "x", "t")
	if err := keyOnly.Validate(); ErrorCode(err) != EINVALID {
		t.Errorf("a key without a query: %v, want invalid", err)
	}
}

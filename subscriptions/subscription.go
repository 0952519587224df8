package subscriptions

import (
	digestbot "github.com/digestbot/digestbot"
)

// NewSubscription returns the subscription of a channel to q: its Query is
// q's canonical text (what users see), its Key q's normalised form, and
// its id derived from the key, so that the same query written another
// way is the same subscription.
func NewSubscription(guildID, channelID string, q *Query) *digestbot.Subscription {
	s := &digestbot.Subscription{GuildID: guildID, ChannelID: channelID, Query: q.String(), Key: q.Key()}
	s.ID = digestbot.SubscriptionID(guildID, channelID, s.Key, "")
	return s
}

// SameAs returns what identifies a subscription's query or topic, for
// telling whether two are the same however they were written:
// "topic:NAME" for a topic, the query's Key otherwise (parsed again for
// a subscription stored before keys were kept, whose id is derived from
// its text as written). It is "" for a query that no longer parses.
func SameAs(s *digestbot.Subscription) string {
	switch {
	case s.Topic != "":
		return "topic:" + digestbot.NormalizeTopicName(s.Topic)
	case s.Key != "":
		return s.Key
	}
	q, err := Parse(s.Query)
	if err != nil {
		return ""
	}
	return q.Key()
}

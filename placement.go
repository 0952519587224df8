package digestbot

import "time"

// How an article of a delivered digest was shown (Placement.How).
const (
	PlacedInMessage  = ""       // as a story of the message
	PlacedBehindMore = "more"   // behind the message's "More stories" button
	PlacedNotShown   = "hidden" // counted in its section's "+N more", not shown
	PlacedSetAside   = "aside"  // its message was given up (the chat service refused it)
)

// Placement says where one article of a delivered digest went: the
// message that carries it (in the channel, or in the digest's thread or
// forum post, whose id is then ChannelID), and how. MessageID is "" when
// the article reached no message (How PlacedSetAside, or PlacedNotShown in
// a digest none of whose messages were posted).
type Placement struct {
	ArticleID string `json:"-"`
	ChannelID string `json:"c"`
	MessageID string `json:"m,omitempty"`
	How       string `json:"h,omitempty"`
}

// ArticleStatus is what a channel's queues know of one article, for
// explaining what became of it (see package why). The store keeps
// delivered articles and their placements for the retention window.
type ArticleStatus struct {
	// Pending is the article's item while it waits for the channel's
	// next digest (and while that digest is being posted), with the hits
	// of the channel's subscriptions.
	Pending *PendingItem
	// Delivering is set while a digest that holds the article is being
	// posted.
	Delivering bool
	// DeliveredAt is when the digest that carried it was acknowledged;
	// zero when it was not delivered here (or longer ago than the
	// retention window).
	DeliveredAt time.Time
	// Placement is where it went; nil when the delivery did not record
	// one (a digest delivered before placements were recorded).
	Placement *Placement
}

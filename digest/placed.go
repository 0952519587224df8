package digest

import (
	digestbot "github.com/digestbot/digestbot"
)

// placements says where each item of a finished delivery went, from its
// parts as posted: the message whose story carries the article (in the
// channel, or in the digest's thread or forum post), the message with the
// "More stories" button for what went behind it, nothing for a part set
// aside. An item that no story shows (counted in its section's "+N more",
// or whose article expired) is placed on the digest's first message.
func placements(ref digestbot.ChannelRef, del *digestbot.Delivery) []digestbot.Placement {
	run := &partRun{del: del}
	thread := run.threadID()
	firstCh, first := ref.ChannelID, "" // the digest's first message
	placed := map[string]bool{}
	var out []digestbot.Placement
	place := func(msg Message, channel, message, how string) {
		for _, e := range msg.Embeds {
			for _, id := range e.ArticleIDs {
				if !placed[id] {
					placed[id] = true
					out = append(out, digestbot.Placement{ArticleID: id, ChannelID: channel, MessageID: message, How: how})
				}
			}
		}
	}
	for _, p := range del.Parts {
		b, err := decodeBody(p.Body)
		if err != nil {
			continue
		}
		switch {
		case p.SetAside != "":
			place(b.Message, ref.ChannelID, "", digestbot.PlacedSetAside)
			for _, m := range b.Overflow {
				place(m, ref.ChannelID, "", digestbot.PlacedSetAside)
			}
		case b.Kind == partMore:
			for _, m := range b.Overflow {
				place(m, ref.ChannelID, run.postedOf(run.lastChannelMessage()), digestbot.PlacedBehindMore)
			}
		case b.Kind == partForum:
			// A forum post is a thread whose first message has the
			// thread's id.
			firstCh, first = p.Posted, p.Posted
			place(b.Message, p.Posted, p.Posted, digestbot.PlacedInMessage)
		case b.Kind == partMessage && b.Thread:
			place(b.Message, thread, p.Posted, digestbot.PlacedInMessage)
		case b.Kind == partMessage:
			if first == "" {
				first = p.Posted
			}
			place(b.Message, ref.ChannelID, p.Posted, digestbot.PlacedInMessage)
		}
	}
	for _, it := range del.Items {
		if !placed[it.ArticleID] {
			placed[it.ArticleID] = true
			out = append(out, digestbot.Placement{ArticleID: it.ArticleID, ChannelID: firstCh, MessageID: first, How: digestbot.PlacedNotShown})
		}
	}
	return out
}

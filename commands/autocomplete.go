package commands

import (
	"context"
	"strings"

	"github.com/digestbot/digestbot/schedule"
)

// Autocomplete suggests values for the focused option.
func (s *Service) Autocomplete(ctx context.Context, req *Request) ([]Choice, error) {
	typed := strings.ToLower(strings.TrimSpace(req.Options[req.Focused]))
	var out []Choice
	add := func(name, value string) {
		if len(out) < 25 && (typed == "" || strings.Contains(strings.ToLower(name), typed)) {
			out = append(out, Choice{Name: clip(name, 100), Value: clip(value, 100)})
		}
	}
	switch req.Focused {
	case "topic", "name":
		own, err := s.Store.Topics(ctx, req.GuildID)
		if err != nil {
			return nil, err
		}
		seen := map[string]bool{}
		for _, t := range own {
			seen[t.Name] = true
			add(t.Name+" — "+t.Query, t.Name)
		}
		if req.Focused == "topic" {
			for _, t := range s.GlobalTopics {
				if !seen[t.Name] {
					add(t.Name+" — "+t.Query, t.Name)
				}
			}
		}
	case "subscription":
		ch := req.ChannelID
		if c := req.Options["channel"]; c != "" {
			ch = c
		}
		subs, err := s.Store.Subscriptions(ctx, req.GuildID, ch)
		if err != nil {
			return nil, err
		}
		for _, sub := range subs {
			add(sub.Label(), sub.ID)
		}
	case "watch":
		ws, err := s.Store.Watches(ctx, req.GuildID, req.UserID)
		if err != nil {
			return nil, err
		}
		for _, w := range ws {
			add(w.Query, w.ID)
		}
	case "timezone":
		// By city, country or abbreviation too: "new y", "Beijing", "CET".
		for _, z := range schedule.SearchZones(req.Options["timezone"], 25) {
			out = append(out, Choice{Name: clip(z.Label, 100), Value: z.Zone})
		}
	case "url":
		feeds, err := s.Store.Feeds(ctx, req.GuildID)
		if err != nil {
			return nil, err
		}
		for _, f := range feeds {
			add(f.URL, f.URL)
		}
	}
	return out, nil
}

package commands

import (
	"context"
	"strings"
	"testing"
)

// TestTimezoneAsPeopleKnowIt: the timezone option suggests zones by city,
// country and abbreviation, takes a city that names one zone, and warns
// when the zone set is an abbreviation rather than a place.
func TestTimezoneAsPeopleKnowIt(t *testing.T) {
	s := newEmbeddedService(t)
	for typed, want := range map[string]string{"new y": "America/New_York", "Beijing": "Asia/Shanghai", "CET": "Europe/Paris"} {
		cs, err := s.Autocomplete(context.Background(), &Request{GuildID: "100", Focused: "timezone", Options: map[string]string{"timezone": typed}})
		if err != nil || len(cs) == 0 || cs[0].Value != want {
			t.Errorf("timezone %q suggests %+v, %v; want %s first", typed, cs, err, want)
		}
	}
	r := mustHandle(t, s, req("schedule", "when", "daily 08:00", "timezone", "Beijing"))
	if !strings.Contains(r.Content, "every day at 08:00, Asia/Shanghai") || strings.Contains(r.Content, "⚠") {
		t.Errorf("timezone:Beijing: %s", r.Content)
	}
	r = mustHandle(t, s, req("schedule", "when", "daily 08:00", "timezone", "EST"))
	if !strings.Contains(r.Content, "⚠ EST is a fixed offset, UTC−05:00 all year, with no summer time") || !strings.Contains(r.Content, "timezone:America/New_York") {
		t.Errorf("timezone:EST does not warn: %s", r.Content)
	}
	r = mustHandle(t, s, req("schedule", "when", "hourly"))
	if strings.Contains(r.Content, "⚠") {
		t.Errorf("a schedule that keeps the zone warns again: %s", r.Content)
	}
}

package schedule

import (
	"strings"
	"testing"

	digestbot "github.com/digestbot/digestbot"
)

// TestSearchZonesByPlace: zones are found by IANA name, city, country and
// abbreviation, best first, at most max.
func TestSearchZonesByPlace(t *testing.T) {
	tests := []struct {
		typed, first, label string
	}{
		{"new y", "America/New_York", "America/New_York"},
		{"New_York", "America/New_York", "America/New_York"},
		{"Beijing", "Asia/Shanghai", "Asia/Shanghai — Beijing"},
		{"china", "Asia/Shanghai", "Asia/Shanghai — China"},
		{"mumbai", "Asia/Kolkata", "Asia/Kolkata — Mumbai"},
		{"CET", "Europe/Paris", "Europe/Paris — CET"},
		{"eastern", "America/New_York", "America/New_York — Eastern"},
		{"norway", "Europe/Oslo", "Europe/Oslo — Norway"},
		{"europe/par", "Europe/Paris", "Europe/Paris"},
		{"sao paulo", "America/Sao_Paulo", "America/Sao_Paulo"},
	}
	for _, tt := range tests {
		got := SearchZones(tt.typed, 25)
		if len(got) == 0 || got[0].Zone != tt.first || got[0].Label != tt.label {
			t.Errorf("SearchZones(%q) = %+v; want first %s labelled %q", tt.typed, got, tt.first, tt.label)
		}
	}
	for _, z := range SearchZones("cet", 25) {
		if !strings.HasPrefix(z.Zone, "Europe/") {
			t.Errorf("CET offers %s", z.Zone)
		}
	}
	if n := len(SearchZones("", 25)); n != 25 {
		t.Errorf("nothing typed: %d zones, want 25", n)
	}
	if got := SearchZones("zzzz", 25); len(got) != 0 {
		t.Errorf("nonsense finds %+v", got)
	}
}

// TestZonesByPlaceName: a city, country or abbreviation that names one
// zone (or zones that keep the same time) is that zone; one that names
// zones of different times is refused with them.
func TestZonesByPlaceName(t *testing.T) {
	for in, want := range map[string]string{
		"Beijing": "Asia/Shanghai", "new york": "America/New_York", "PST": "America/Los_Angeles",
		"Eastern": "America/New_York", "India": "Asia/Kolkata", "EST": "EST", "CET": "CET",
	} {
		loc, err := LoadZone(in)
		if err != nil || loc.String() != want {
			t.Errorf("LoadZone(%q) = %v, %v; want %s", in, loc, err, want)
		}
	}
	_, err := LoadZone("CST")
	if digestbot.ErrorCode(err) != digestbot.EINVALID || !strings.Contains(digestbot.ErrorMessage(err), `"CST" could mean America/Chicago, Asia/Shanghai`) {
		t.Errorf("CST: %v", err)
	}
}

// TestZoneNoteWarnsAboutAbbreviations: a zone that is not a place gets a
// note that says what it does and names a place's zone instead.
func TestZoneNoteWarnsAboutAbbreviations(t *testing.T) {
	tests := map[string]string{
		"EST":         "EST is a fixed offset, UTC−05:00 all year, with no summer time. For a place's own time, summer time included, set its zone, e.g. timezone:America/New_York.",
		"CET":         "CET is an abbreviation, not a place. For a place's own time, summer time included, set its zone, e.g. timezone:Europe/Paris.",
		"GMT":         "GMT is a fixed offset, UTC+00:00 all year, with no summer time. For a place's own time, summer time included, set its zone, e.g. timezone:Europe/London.",
		"Etc/GMT+5":   "Etc/GMT+5 is a fixed offset, UTC−05:00 all year, with no summer time. For a place's own time, summer time included, set its zone, e.g. timezone:Europe/Paris or America/New_York.",
		"UTC":         "",
		"Europe/Oslo": "",
	}
	for tz, want := range tests {
		loc, err := LoadZone(tz)
		if err != nil {
			t.Fatal(err)
		}
		if got := ZoneNote(loc); got != want {
			t.Errorf("ZoneNote(%s) = %q\nwant %q", tz, got, want)
		}
	}
}

package schedule

import (
	"fmt"
	"slices"
	"strings"
	"time"

	digestbot "github.com/digestbot/digestbot"
)

// placeZones are the time zones people look for by name, most used first:
// each with the cities, countries and abbreviations it is known by. The
// IANA names hold one city per zone; people type the city they live in
// ("Beijing" is Asia/Shanghai), their country, or what their clock says
// ("CET", "Eastern").
var placeZones = []struct{ zone, names string }{
	{"UTC", "UTC, Coordinated Universal Time, Zulu"},
	{"Europe/London", "London, United Kingdom, UK, Britain, England, Scotland, Wales, Edinburgh, Manchester, GMT, BST"},
	{"America/New_York", "New York, United States, USA, US, Eastern, EST, EDT, ET, Washington, Boston, Miami, Atlanta, Philadelphia, Detroit"},
	{"America/Los_Angeles", "Los Angeles, United States, USA, US, Pacific, PST, PDT, PT, San Francisco, Seattle, San Diego, Portland, Las Vegas"},
	{"America/Chicago", "Chicago, United States, USA, US, Central, CST, CDT, CT, Houston, Dallas, Austin, Minneapolis, New Orleans"},
	{"America/Denver", "Denver, United States, USA, US, Mountain, MST, MDT, MT, Salt Lake City, Albuquerque"},
	{"America/Phoenix", "Phoenix, Arizona, United States, USA, MST"},
	{"America/Anchorage", "Anchorage, Alaska, AKST, AKDT"},
	{"Pacific/Honolulu", "Honolulu, Hawaii, HST"},
	{"America/Toronto", "Toronto, Canada, Ottawa, Montreal, Quebec, Eastern, EST, EDT"},
	{"America/Vancouver", "Vancouver, Canada, British Columbia, Pacific, PST, PDT"},
	{"America/Edmonton", "Edmonton, Calgary, Alberta, Canada, Mountain"},
	{"America/Winnipeg", "Winnipeg, Manitoba, Canada, Central"},
	{"America/Halifax", "Halifax, Nova Scotia, Canada, Atlantic, AST, ADT"},
	{"America/St_Johns", "St. John's, Newfoundland, Canada, NST"},
	{"America/Mexico_City", "Mexico City, Mexico, Guadalajara, Monterrey"},
	{"America/Bogota", "Bogotá, Bogota, Colombia, Medellín"},
	{"America/Lima", "Lima, Peru"},
	{"America/Santiago", "Santiago, Chile"},
	{"America/Caracas", "Caracas, Venezuela"},
	{"America/Sao_Paulo", "São Paulo, Sao Paulo, Brazil, Rio de Janeiro, Brasília, Brasilia, BRT"},
	{"America/Argentina/Buenos_Aires", "Buenos Aires, Argentina, ART"},
	{"Europe/Paris", "Paris, France, Lyon, Marseille, CET, CEST, Central European"},
	{"Europe/Berlin", "Berlin, Germany, Deutschland, Munich, München, Hamburg, Frankfurt, Cologne, CET, CEST, Central European"},
	{"Europe/Madrid", "Madrid, Spain, España, Barcelona, Valencia, Seville, CET, CEST"},
	{"Europe/Rome", "Rome, Italy, Italia, Milan, Milano, Naples, Turin, CET, CEST"},
	{"Europe/Amsterdam", "Amsterdam, Netherlands, Holland, Rotterdam, The Hague, CET, CEST"},
	{"Europe/Brussels", "Brussels, Belgium, Antwerp, CET, CEST"},
	{"Europe/Zurich", "Zurich, Zürich, Switzerland, Geneva, Genève, Bern, Basel, CET, CEST"},
	{"Europe/Vienna", "Vienna, Wien, Austria, CET, CEST"},
	{"Europe/Stockholm", "Stockholm, Sweden, Gothenburg, CET, CEST"},
	{"Europe/Oslo", "Oslo, Norway, Norge, Bergen, Trondheim, CET, CEST"},
	{"Europe/Copenhagen", "Copenhagen, Denmark, CET, CEST"},
	{"Europe/Warsaw", "Warsaw, Poland, Kraków, Krakow, CET, CEST"},
	{"Europe/Prague", "Prague, Czechia, Czech Republic, CET, CEST"},
	{"Europe/Budapest", "Budapest, Hungary, CET, CEST"},
	{"Europe/Dublin", "Dublin, Ireland, Cork, IST, GMT"},
	{"Europe/Lisbon", "Lisbon, Portugal, Porto, WET, WEST"},
	{"Europe/Helsinki", "Helsinki, Finland, EET, EEST, Eastern European"},
	{"Europe/Athens", "Athens, Greece, EET, EEST"},
	{"Europe/Bucharest", "Bucharest, Romania, EET, EEST"},
	{"Europe/Kyiv", "Kyiv, Kiev, Ukraine, EET, EEST"},
	{"Europe/Istanbul", "Istanbul, Turkey, Türkiye, Ankara, TRT"},
	{"Europe/Moscow", "Moscow, Russia, Saint Petersburg, St Petersburg, MSK"},
	{"Africa/Cairo", "Cairo, Egypt, EET"},
	{"Africa/Johannesburg", "Johannesburg, South Africa, Cape Town, Pretoria, SAST"},
	{"Africa/Lagos", "Lagos, Nigeria, Abuja, WAT"},
	{"Africa/Nairobi", "Nairobi, Kenya, EAT"},
	{"Africa/Casablanca", "Casablanca, Morocco, Rabat"},
	{"Asia/Jerusalem", "Jerusalem, Israel, Tel Aviv, IST"},
	{"Asia/Riyadh", "Riyadh, Saudi Arabia, Jeddah, AST"},
	{"Asia/Dubai", "Dubai, United Arab Emirates, UAE, Abu Dhabi, GST"},
	{"Asia/Tehran", "Tehran, Iran"},
	{"Asia/Karachi", "Karachi, Pakistan, Lahore, Islamabad, PKT"},
	{"Asia/Kolkata", "Kolkata, Calcutta, India, New Delhi, Delhi, Mumbai, Bombay, Bangalore, Bengaluru, Chennai, Hyderabad, IST"},
	{"Asia/Kathmandu", "Kathmandu, Nepal"},
	{"Asia/Dhaka", "Dhaka, Bangladesh"},
	{"Asia/Bangkok", "Bangkok, Thailand, Hanoi, ICT"},
	{"Asia/Ho_Chi_Minh", "Ho Chi Minh City, Saigon, Vietnam, Viet Nam"},
	{"Asia/Jakarta", "Jakarta, Indonesia, WIB"},
	{"Asia/Singapore", "Singapore, SGT"},
	{"Asia/Kuala_Lumpur", "Kuala Lumpur, Malaysia"},
	{"Asia/Manila", "Manila, Philippines, PHT"},
	{"Asia/Shanghai", "Shanghai, China, Beijing, Peking, Shenzhen, Guangzhou, Chengdu, Wuhan, CST, China Standard Time"},
	{"Asia/Hong_Kong", "Hong Kong, HKT"},
	{"Asia/Taipei", "Taipei, Taiwan"},
	{"Asia/Seoul", "Seoul, South Korea, Korea, Busan, KST"},
	{"Asia/Tokyo", "Tokyo, Japan, Osaka, Kyoto, JST"},
	{"Australia/Perth", "Perth, Western Australia, AWST"},
	{"Australia/Adelaide", "Adelaide, South Australia, ACST, ACDT"},
	{"Australia/Brisbane", "Brisbane, Queensland, AEST"},
	{"Australia/Sydney", "Sydney, Australia, Canberra, New South Wales, AEST, AEDT"},
	{"Australia/Melbourne", "Melbourne, Victoria, Australia, AEST, AEDT"},
	{"Pacific/Auckland", "Auckland, New Zealand, Wellington, NZST, NZDT"},
}

// ZoneChoice is a time zone offered for what someone typed.
type ZoneChoice struct {
	Zone  string // IANA name, what is stored
	Label string // the zone and the names it was found by: "Asia/Shanghai — Beijing, China"
}

// SearchZones returns up to max zones for what someone has typed so far,
// by IANA name, city, country or abbreviation, best first: a name typed
// whole ("beijing", "cet"), then names that start with it ("new y"), then
// those with a word that does, then zone names that hold it.
func SearchZones(typed string, max int) []ZoneChoice {
	q := foldZone(typed)
	type hit struct {
		rank, order int
		choice      ZoneChoice
	}
	var hits []hit
	for i, pz := range placeZones {
		rank, via := zoneRank(q, pz.zone, pz.names)
		if rank < 0 {
			continue
		}
		label := pz.zone
		if via != "" && !strings.Contains(foldZone(pz.zone), foldZone(via)) {
			label += " — " + via
		}
		hits = append(hits, hit{rank, i, ZoneChoice{Zone: pz.zone, Label: label}})
	}
	slices.SortStableFunc(hits, func(a, b hit) int { return a.rank - b.rank })
	out := make([]ZoneChoice, 0, min(max, len(hits)))
	for _, h := range hits[:min(max, len(hits))] {
		out = append(out, h.choice)
	}
	return out
}

// zoneRank ranks how well q finds a zone (-1: not at all) and returns the
// name that found it, "" when it was the zone's own name or q is empty.
func zoneRank(q, zone, names string) (int, string) {
	if q == "" {
		return 0, ""
	}
	best, via := -1, ""
	better := func(rank int, name string) {
		if best < 0 || rank < best {
			best, via = rank, name
		}
	}
	for _, n := range strings.Split(names, ", ") {
		f := foldZone(n)
		switch {
		case f == q:
			better(0, n)
		case strings.HasPrefix(f, q):
			better(1, n)
		case strings.Contains(" "+f, " "+q):
			better(2, n)
		}
	}
	z := foldZone(zone)
	city := z[strings.LastIndexByte(z, '/')+1:]
	switch {
	case z == q || city == q:
		better(0, "")
	case strings.HasPrefix(city, q):
		better(1, "")
	case strings.Contains(z, q):
		better(3, "")
	}
	if best >= 0 && via == "" {
		return best, ""
	}
	return best, via
}

// foldZone is how names are compared: lower case, underscores as spaces,
// spaces collapsed.
func foldZone(s string) string {
	return strings.Join(strings.Fields(strings.ToLower(strings.ReplaceAll(s, "_", " "))), " ")
}

// zonesNamed returns the zones known by exactly the name s (a city, a
// country, an abbreviation), most used first.
func zonesNamed(s string) []string {
	q := foldZone(s)
	var out []string
	for _, pz := range placeZones {
		if rank, _ := zoneRank(q, pz.zone, pz.names); rank == 0 {
			out = append(out, pz.zone)
		}
	}
	return out
}

// resolveAlias loads the zone a city, country or abbreviation stands for
// when it stands for one zone; several are an error that names them.
func resolveAlias(tz string) (*time.Location, error) {
	zones := zonesNamed(tz)
	switch {
	case len(zones) == 1, len(zones) > 1 && sameClocks(zones):
		// Zones that keep the same time (Los Angeles and Vancouver for
		// "PST") are one answer.
		return time.LoadLocation(zones[0])
	case len(zones) > 1:
		if len(zones) > 4 {
			zones = append(zones[:4], "…")
		}
		return nil, digestbot.Errorf(digestbot.EINVALID, "%q could mean %s: give the zone, e.g. %s", tz, strings.Join(zones, ", "), zones[0])
	}
	return nil, nil
}

// sameClocks reports whether zones keep the same time in winter and in
// summer.
func sameClocks(zones []string) bool {
	offsets := func(z string) [2]int {
		loc, err := time.LoadLocation(z)
		if err != nil {
			return [2]int{-1, -1}
		}
		w, s := clocks(loc)
		return [2]int{w, s}
	}
	first := offsets(zones[0])
	for _, z := range zones[1:] {
		if offsets(z) != first {
			return false
		}
	}
	return true
}

// ZoneNote warns about a zone that is not a place: an abbreviation or a
// fixed offset (EST, CET, Etc/GMT+5), which people set meaning their city
// and which may not follow its summer time. It is "" for a place's zone
// and for UTC.
func ZoneNote(loc *time.Location) string {
	name := loc.String()
	if name == "UTC" || (strings.Contains(name, "/") && !strings.HasPrefix(name, "Etc/")) {
		return ""
	}
	winter, summer := clocks(loc)
	what := fmt.Sprintf("%s is an abbreviation, not a place", name)
	if winter == summer {
		what = fmt.Sprintf("%s is a fixed offset, UTC%s all year, with no summer time", name, offsetText(winter))
	}
	example := "Europe/Paris or America/New_York"
	abbr := strings.TrimPrefix(name, "Etc/")
	if zs := zonesNamed(abbr); len(zs) > 0 {
		example = zs[0]
	}
	return fmt.Sprintf("%s. For a place's own time, summer time included, set its zone, e.g. timezone:%s.", what, example)
}

// clocks returns loc's offsets from UTC, in seconds, in the middle of
// January and of July: the two sides of summer time in either hemisphere.
func clocks(loc *time.Location) (january, july int) {
	_, january = time.Date(2026, time.January, 15, 12, 0, 0, 0, loc).Zone()
	_, july = time.Date(2026, time.July, 15, 12, 0, 0, 0, loc).Zone()
	return january, july
}

// offsetText writes an offset in seconds as "+01:00" or "−05:00".
func offsetText(off int) string {
	sign := "+"
	if off < 0 {
		sign, off = "−", -off
	}
	return fmt.Sprintf("%s%02d:%02d", sign, off/3600, off%3600/60)
}

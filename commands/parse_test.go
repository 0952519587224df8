package commands

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseLine(t *testing.T) {
	tests := []struct {
		line string
		name string
		opts map[string]string
	}{
		{`/help`, "help", map[string]string{}},
		{`/digest now`, "digest now", map[string]string{}},
		{`/digest preview channel:123`, "digest preview", map[string]string{"channel": "123"}},
		{`/subscribe query:"facial recognition" OR surveillance schedule:daily 08:00`, "subscribe",
			map[string]string{"query": `"facial recognition" OR surveillance`, "schedule": "daily 08:00"}},
		{`/subscribe query:"title: not an option" topic:x`, "subscribe", map[string]string{"query": `"title: not an option"`, "topic": "x"}},
		{`/schedule when:"weekly mon 08:00" timezone:Europe/Paris`, "schedule", map[string]string{"when": "weekly mon 08:00", "timezone": "Europe/Paris"}},
		{`/lookup query:source:Xinhua drones since:7d`, "lookup", map[string]string{"query": "source:Xinhua drones", "since": "7d"}},
		{`  /Topics   create name:drones query:drone OR uav`, "topics create", map[string]string{"name": "drones", "query": "drone OR uav"}},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			r, err := ParseLine(tt.line)
			if err != nil {
				t.Fatal(err)
			}
			if r.Name != tt.name || !reflect.DeepEqual(r.Options, tt.opts) {
				t.Errorf("got %q %v, want %q %v", r.Name, r.Options, tt.name, tt.opts)
			}
		})
	}
}

func TestParseLineErrors(t *testing.T) {
	for _, tt := range []struct{ line, want string }{
		{"help", "start with /"},
		{"/", "type a command"},
		{"/frobnicate", "unknown command /frobnicate"},
		{"/digest later", "unknown command /digest later"},
		{"/subscribe drones", "expected an option such as query:"},
		{"/subscribe query:a query:b", "given twice"},
	} {
		_, err := ParseLine(tt.line)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: err %v, want %q", tt.line, err, tt.want)
		}
	}
}

func FuzzParseLine(f *testing.F) {
	for _, s := range []string{`/subscribe query:"a b" OR c schedule:hourly`, `/digest now channel:1`, `/lookup query:x since:7d source:y`, "/", `/topics create name:"x query:y`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		r, err := ParseLine(line)
		if err != nil {
			return
		}
		def, ok := definition(r.Name)
		if !ok {
			t.Fatalf("parsed unknown command %q", r.Name)
		}
		for k := range r.Options {
			found := false
			for _, o := range def.Options {
				found = found || o.Name == k
			}
			if !found {
				t.Fatalf("option %q is not an option of /%s", k, r.Name)
			}
		}
	})
}

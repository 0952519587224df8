package archive

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/digestbot/digestbot"
)

func TestVisibilityTermsAndHash(t *testing.T) {
	x := New(nil, "t:", Options{})
	pub := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	public := &digestbot.Article{ID: "x", Title: "Harbour cranes", Text: "New cranes at the harbour.", Source: "Coastal Ledger", Published: pub}
	private := *public
	private.Guilds = []string{"2002", "1001", "2002"}

	dp, dv := x.analyse(public, pub), x.analyse(&private, pub)
	for _, term := range dp.terms {
		if strings.HasPrefix(term, "\x01v:") {
			t.Errorf("public article has the term %q", term)
		}
	}
	var vis []string
	for i, term := range dv.terms {
		if strings.HasPrefix(term, "\x01v:") {
			vis = append(vis, term)
			continue
		}
		// Same words, same statistics: the servers add no length.
		j := slices.Index(dp.terms, term)
		if j < 0 || dp.stats[j] != dv.stats[i] {
			t.Errorf("term %q: stats %v, public %v", term, dv.stats[i], dp.stats[max(j, 0)])
		}
	}
	if want := []string{visPrivate, visTerm("1001"), visTerm("2002")}; !slices.Equal(vis, want) {
		t.Errorf("visibility terms %q, want %q", vis, want)
	}
	if dv.length != dp.length || len(dv.terms) != len(dp.terms)+3 {
		t.Errorf("private: length %d, %d terms; public: length %d, %d terms", dv.length, len(dv.terms), dp.length, len(dp.terms))
	}

	// The set, not its order or repeats, is part of the hash; a public
	// article hashes as it did before servers were indexed (the value is
	// that of the earlier contentHash), so its index entry stays valid.
	reordered := private
	reordered.Guilds = []string{"1001", "2002"}
	empty := *public
	empty.Guilds = []string{}
	switch {
	case contentHash(&private) == contentHash(public):
		t.Error("making an article private keeps its hash")
	case contentHash(&private) != contentHash(&reordered):
		t.Error("the order of the servers changes the hash")
	case contentHash(&empty) != contentHash(public):
		t.Error("an empty set of servers is not public")
	case contentHash(public) != "828480c474a65d2addf06020":
		t.Errorf("a public article's hash changed: %s", contentHash(public))
	}
}

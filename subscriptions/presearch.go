package subscriptions

import "unicode/utf8"

// key is one term a query registers under: a document that contains none of
// a query's keys cannot match it.
type key struct {
	field  uint8
	prefix bool
	text   string
}

// extract returns keys such that every document n matches contains at least
// one of them; ok is false when there is no such set (n can match by
// exclusion alone, or holds an unresolved topic).
func extract(n Node) (keys []key, ok bool) { return extractIn(n, true) }

// extractIn is extract for a node that is (inConj) or is not reached from
// the root through ANDs only. Below such ANDs every positive term is needed
// by the whole query, so the index can check one of them (a posting's also
// term) before it looks at the query: the best key there is the one whose
// cost times that of the cheapest term left for also is lowest. For
// (Huawei OR ZTE OR "China Mobile") phones, registering the names with
// phones as also makes a candidate only of a document with both, where
// registering phones alone would make one of every document about phones.
func extractIn(n Node, inConj bool) (keys []key, ok bool) {
	switch n := n.(type) {
	case *Term:
		return []key{{field: uint8(keyField(n.Field)), prefix: n.Prefix, text: n.Text}}, true
	case *Phrase:
		best := n.Terms[0]
		for _, t := range n.Terms[1:] {
			if termCost(kBody, t, false) < termCost(kBody, best, false) {
				best = t
			}
		}
		return []key{{field: uint8(keyField(n.Field)), text: best}}, true
	case *And:
		// Any one positive child is required; register the one least likely
		// to be in a document, so fewest documents make this a candidate.
		var best []key
		bestCost := 0.0
		for i, c := range n.Children {
			k, ok := extractIn(c, inConj)
			if !ok {
				continue
			}
			cost := keysCost(k)
			if inConj {
				also := 1.0
				for j, o := range n.Children {
					if j != i {
						also = min(also, conjCost(o))
					}
				}
				cost *= also
			}
			if best == nil || cost < bestCost {
				best, bestCost = k, cost
			}
		}
		return best, best != nil
	case *Or:
		for _, c := range n.Children {
			k, ok := extractIn(c, false)
			if !ok {
				return nil, false
			}
			keys = append(keys, k...)
		}
		return dedupeKeys(keys), true
	}
	return nil, false
}

// conjCost is the cost of the cheapest term every match of n contains, 1
// when there is none.
func conjCost(n Node) float64 {
	switch n := n.(type) {
	case *Term:
		return termCost(keyField(n.Field), n.Text, n.Prefix)
	case *Phrase:
		c := 1.0
		for _, t := range n.Terms {
			c = min(c, termCost(kBody, t, false))
		}
		return c
	case *And:
		c := 1.0
		for _, ch := range n.Children {
			c = min(c, conjCost(ch))
		}
		return c
	}
	return 1
}

func dedupeKeys(keys []key) []key {
	out := keys[:0]
	for _, k := range keys {
		dup := false
		for _, o := range out {
			if o == k {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, k)
		}
	}
	return out
}

func keysCost(keys []key) float64 {
	c := 0.0
	for _, k := range keys {
		c += termCost(int(k.field), k.text, k.prefix)
	}
	return c
}

// termCost estimates how likely a document is to contain a term of a
// field, without corpus statistics: very common words are likely, longer
// words rarer (Zipf's law of abbreviation), prefixes likelier than their
// words. A site is likely: everything it publishes has it.
func termCost(field int, t string, prefix bool) float64 {
	if field == kSite {
		return siteCost
	}
	if field == kLang {
		return langCost
	}
	if commonWords[t] {
		return 10
	}
	n := utf8.RuneCountInString(t)
	c := 1.0 / float64(n)
	if n == 1 && len(t) > 1 { // one CJK character: frequent characters are very common
		c = 0.5
	}
	if prefix {
		c *= 4
	}
	return c
}

// siteCost is the cost of a site: as likely as a word of two letters.
const siteCost = 0.5

// commonWords are frequent English function words; a query that needs
// "the" and "huawei" should be found through huawei.
var commonWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range []string{
		"a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "from",
		"has", "have", "he", "her", "his", "in", "is", "it", "its", "not", "of",
		"on", "or", "she", "that", "the", "their", "they", "this", "to", "was",
		"were", "which", "will", "with", "said", "new", "more", "after", "also",
		"been", "who", "one", "would", "about", "can", "all", "there", "than",
	} {
		m[w] = true
	}
	return m
}()

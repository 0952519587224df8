package subscriptions

import "hash/maphash"

// wordTable maps document words to their wordEntry. It is the matcher's
// busiest lookup (once per token), so it keeps words of up to
// wordInline bytes inside the table: a lookup then touches one cache line
// instead of a map group and the key's own memory. Longer words go to a
// plain map.
type wordTable struct {
	slots []wordSlot // a power of two, at most three quarters full
	n     int
	long  map[string]wordEntry
	seed  maphash.Seed
}

const wordInline = 19

// wordSlot is 32 bytes: two per cache line.
type wordSlot struct {
	tag  uint32 // high bits of the hash, never 0 in a used slot
	klen uint8
	key  [wordInline]byte
	e    wordEntry
}

func (w *wordTable) len() int { return w.n + len(w.long) }

func (w *wordTable) reset() {
	clear(w.slots)
	w.n = 0
	clear(w.long)
}

func (w *wordTable) hash(s string) (idx int, tag uint32) {
	h := maphash.String(w.seed, s)
	tag = uint32(h>>32) | 1
	return int(h) & (len(w.slots) - 1), tag
}

func (w *wordTable) get(s string) (wordEntry, bool) {
	if len(s) > wordInline {
		e, ok := w.long[s]
		return e, ok
	}
	if w.slots == nil {
		return wordEntry{}, false
	}
	i, tag := w.hash(s)
	mask := len(w.slots) - 1
	for {
		sl := &w.slots[i]
		if sl.tag == 0 {
			return wordEntry{}, false
		}
		if sl.tag == tag && int(sl.klen) == len(s) && string(sl.key[:sl.klen]) == s {
			return sl.e, true
		}
		i = (i + 1) & mask
	}
}

// put adds s, which is not in the table. It copies s, so the table does not
// keep the document's text alive.
func (w *wordTable) put(s string, e wordEntry) {
	if len(s) > wordInline {
		if w.long == nil {
			w.long = make(map[string]wordEntry)
		}
		w.long[string([]byte(s))] = e
		return
	}
	if w.slots == nil {
		w.seed = maphash.MakeSeed()
		w.slots = make([]wordSlot, 1<<12)
	}
	if (w.n+1)*4 > len(w.slots)*3 {
		w.grow()
	}
	w.insert(s, e)
	w.n++
}

func (w *wordTable) insert(s string, e wordEntry) {
	i, tag := w.hash(s)
	mask := len(w.slots) - 1
	for w.slots[i].tag != 0 {
		i = (i + 1) & mask
	}
	sl := &w.slots[i]
	sl.tag, sl.klen, sl.e = tag, uint8(len(s)), e
	copy(sl.key[:], s)
}

func (w *wordTable) grow() {
	old := w.slots
	w.slots = make([]wordSlot, 2*len(old))
	for i := range old {
		if sl := &old[i]; sl.tag != 0 {
			w.insert(string(sl.key[:sl.klen]), sl.e)
		}
	}
}

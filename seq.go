package digestbot

import (
	"cmp"
	"strconv"
	"strings"
)

// CompareSeq orders two positions of a log (LogEntry.Seq,
// SubscriptionChange.Seq): -1 when a is before b, 0 when equal, +1 after.
// The store's positions are Redis stream ids, "MS-N", compared as two
// numbers; positions of another form compare by length, then byte by byte,
// which orders fixed-width and unpadded counters alike.
func CompareSeq(a, b string) int {
	am, an, aok := splitSeq(a)
	bm, bn, bok := splitSeq(b)
	if aok && bok {
		return cmp.Or(cmp.Compare(am, bm), cmp.Compare(an, bn))
	}
	return cmp.Or(cmp.Compare(len(a), len(b)), strings.Compare(a, b))
}

func splitSeq(s string) (ms, n uint64, ok bool) {
	a, b, found := strings.Cut(s, "-")
	if !found {
		return 0, 0, false
	}
	ms, err1 := strconv.ParseUint(a, 10, 64)
	n, err2 := strconv.ParseUint(b, 10, 64)
	return ms, n, err1 == nil && err2 == nil
}

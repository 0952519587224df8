package archive

import (
	"encoding/base64"
	"hash/fnv"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/digestbot/digestbot"
)

// cursor is the position after the last result of a page: its score,
// publication time and article id (the order of before), the reference time the scores were computed for (so later
// pages rank the same way), and a hash of the request it belongs to.
type cursor struct {
	now   time.Time
	score float64
	pub   int64 // see ranked.pub
	id    string
	req   uint64
}

// cursorVersion "c2" added the publication time; a "c1" cursor (ties by id
// alone) is refused like any stale cursor.
const cursorVersion = "c2"

// requestKey identifies what a cursor may continue: the same query and
// filters, asked by the same server (a cursor carries a score and an id
// from its server's results, so another server is refused it).
func requestKey(query string, since time.Time, source, guild string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(query))
	h.Write([]byte{0})
	h.Write([]byte(strconv.FormatInt(since.UnixNano(), 10)))
	h.Write([]byte{0})
	h.Write([]byte(source))
	h.Write([]byte{0})
	h.Write([]byte(guild))
	return h.Sum64()
}

// encode returns the opaque text form of c.
func (c cursor) encode() string {
	s := strings.Join([]string{
		cursorVersion,
		strconv.FormatInt(c.now.UnixNano(), 36),
		strconv.FormatUint(math.Float64bits(c.score), 36),
		strconv.FormatUint(c.req, 36),
		strconv.FormatInt(c.pub, 36),
		c.id, // last: an id may hold any character
	}, ".")
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

// decodeCursor parses s and checks that it belongs to the request with key
// req. Anything else is EINVALID.
func decodeCursor(s string, req uint64) (cursor, error) {
	bad := digestbot.Errorf(digestbot.EINVALID, "the page cursor is not valid for this search; start again from the first page")
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(raw) > 200 {
		return cursor{}, bad
	}
	f := strings.SplitN(string(raw), ".", 6)
	if len(f) != 6 || f[0] != cursorVersion || f[5] == "" {
		return cursor{}, bad
	}
	now, err1 := strconv.ParseInt(f[1], 36, 64)
	bits, err2 := strconv.ParseUint(f[2], 36, 64)
	key, err3 := strconv.ParseUint(f[3], 36, 64)
	pub, err4 := strconv.ParseInt(f[4], 36, 64)
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil || key != req {
		return cursor{}, bad
	}
	score := math.Float64frombits(bits)
	if math.IsNaN(score) || math.IsInf(score, 0) || score < 0 {
		return cursor{}, bad
	}
	return cursor{now: time.Unix(0, now), score: score, pub: pub, id: f[5], req: key}, nil
}

// after reports whether r comes after c in the order of before.
func (c cursor) after(r *ranked) bool {
	return before(&ranked{score: c.score, pub: c.pub, id: c.id}, r)
}

package archive

import (
	"crypto/rand"
	"encoding/hex"
	"sync"
)

// docTables keeps the part of each bucket's document table a search has
// already read, so the next search reads only what was appended since
// (GETRANGE from the end of the copy) instead of the whole table: 4 bytes
// per article of the bucket, 4 MB per search at a million articles.
//
// A table is append-only while its key lives: an entry is written once,
// by the script that takes its document number, and a re-indexed article
// gets a new number. Only a key deleted and made again (Clear, a
// generation number used anew after the pointer was lost) starts over, so
// each table's bucket carries a birth mark ("born" in P{archive:G:B}:n, a
// random value set by the script that creates the bucket): a copy is only
// extended when the mark it was read under is still there.
type docTables struct {
	mu     sync.Mutex
	tables map[string]docTable // by document table key
}

type docTable struct {
	born  string
	table string
}

// known returns the copy of the table at key, if any.
func (c *docTables) known(key string) docTable {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tables[key]
}

// keep stores the copies of one search's buckets, dropping every other
// (those of buckets gone out of the window or of an older generation).
func (c *docTables) keep(tables map[string]docTable) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tables = tables
}

// newBirthMark is the mark a script creating a bucket leaves in it.
func newBirthMark() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

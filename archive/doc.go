// Package archive is the on-demand lookup over the article archive: an
// inverted index in Redis, ranked search with the subscription query
// language, and paging for the chat and command-line lookups.
//
// # How a search runs
//
// The query is parsed by package subscriptions (its errors are returned
// unchanged). Its words become posting lists; a prefix (word*) is first
// expanded through the vocabulary. One pipelined round trip reads every
// posting list, then the plan picks the cheapest word of each AND to
// generate candidates and evaluates the whole query on the postings:
// a NOT, an OR, field scopes and single words are decided exactly. Positions
// are not indexed; instead each posting carries 8-bit signatures of the
// words that follow and precede the term in the document, so a phrase (or a
// CJK word, a phrase of characters) is ruled out when its words are there
// but a neighbour bit is missing, and is otherwise a "maybe" for the
// verifier. Candidates are scored
// (see Scoring: BM25F over title and text, the title weighted 3, times a
// recency boost), sorted by score, then newest first (publication, else
// ingest, time of the stored article: the postings hold only the hour, so
// equal scores are common), then article id, and the page is verified
// in that order on the stored article with subscriptions.Query.Match, which
// also names the matched terms for the bolded snippet. Articles that fail
// verification, or have expired, are skipped.
//
// The page cursor holds the last result's score, time and id, the reference time
// of the first page (so every page ranks alike) and a hash of the query,
// filters and asking server; it is opaque and validated. Paging returns
// every result once as long as the archive does not change in between.
// SearchUpTo returns up to MaxUpTo results in one go, for a caller that
// keeps the ranked list (the chat /lookup pages from it, so its pages stay
// put while articles arrive).
//
// # Visibility
//
// An article brought in only by servers' own feeds is private to them
// (digestbot.Article.Guilds). Indexing gives such an article the posting
// terms "\x01v:private" and "\x01v:GUILD" for each of its servers; a public
// article, the common case, gets none. A search for a server (Request.Guild)
// evaluates root AND (NOT "\x01v:private" OR "\x01v:GUILD"): those leaves
// never count towards the score, so public articles rank exactly as without
// the filter, and as the OR holds a NOT it is never chosen to generate
// candidates. Total therefore never counts another server's articles, and
// each article of a page is checked again on its stored copy (VisibleTo).
// The command line (Guild "") sees every article. The servers are part of
// the content hash, so an article whose visibility changed is indexed anew.
//
// # Writing: from the ingest log
//
// The index is written from the store's ingest log, as the matcher is:
// CatchUp reads the log after the index's watermark, a batch at a time,
// indexes each entry's article as the store holds it now (GetArticles) and
// only then moves the watermark, so a batch that fails is indexed again by
// the next pass and no entry is ever skipped (indexing is idempotent: an
// unchanged article is skipped by its content hash). The store appends an
// entry again when an article's audience widens (a second server's feed
// brings it), so the article is indexed anew with the wider set of
// servers; as one writer indexes the log in order, a stale read of the
// audience is always followed by the entry that widened it. The bot runs
// an Indexer (woken after every store, and every few seconds) in one
// replica at a time, under the "lookup-index" lease, and retries a failed
// pass with backoff. Lag is the age of the oldest entry not yet indexed.
// Add indexes given articles directly, for the demo and tests.
//
// # Generations and rebuild
//
// The index lives in generations, each a complete index with its own
// watermark. P{archive}:gen names the live one (1 when unset), which
// searches read and CatchUp writes. Rebuild builds generation G+1 beside
// it from the start of the log while searches keep reading G, reads the
// log to its end once more (what was stored meanwhile), switches the
// pointer from G to G+1 (atomically, only if it is still G), and deletes
// G's keys and watermark. Whatever is stored after Rebuild's last read is
// past G+1's watermark, so the indexer takes it up after the switch:
// nothing stored during a rebuild is missing once it is done. An indexer
// pass that read the pointer just before the switch may still write to G;
// its watermark write is refused (G is older than the live generation),
// and the keys it wrote expire with their buckets. The bot serialises
// rebuilds under the "lookup-rebuild" lease.
//
// # Key schema
//
// P is the store's prefix, G a generation, B a bucket: ingest time (Unix
// seconds) divided by Options.Bucket (a day by default). Every key of a
// bucket carries the hash tag {archive:G:B}, so each bucket is one Redis
// Cluster hash slot, the buckets spread over the cluster's nodes, and the
// indexing script of a batch (all of one bucket) is atomic there. A
// search reads every bucket in one pipelined round trip (go-redis splits
// it by node). A document table only grows (an entry is written once, with
// its document number), so an Index keeps what its searches read of each
// live bucket's table and then reads only what was appended (GETRANGE):
// 4 bytes per article held by the process, not read by every search. A
// table deleted and made anew (Clear) has another birth mark in its
// bucket's n hash, and is then read whole again. An article is filed in the bucket of its ingest time, which
// the store keeps when it updates the article, so its record and its old
// document stay in one bucket; should an article be added twice without
// an ingest time (Add files it under now), a search keeps its best
// document only. Every key of bucket B expires at (B+1)·Bucket +
// Retention, so postings leave the index at most one bucket after their
// article leaves the store, with no sweeper to run.
//
//	P{archive}:gen         string  the live generation
//	P{archive}:wm          hash    generation -> last ingest log entry indexed into it
//	P{archive:G:B}:p:TERM  string  postings of TERM for articles ingested in B: 6-byte
//	                               records (3-byte doc number, one byte of title and body
//	                               tf, next/previous word signatures); source and tag
//	                               words are the terms "\x01s:WORD" and "\x01g:WORD"; a
//	                               private article's servers are "\x01v:private" and
//	                               "\x01v:GUILD" (no length, no score)
//	P{archive:G:B}:d       string  document table: 4 bytes at offset 4·doc, the length
//	                               norm and the publication hour (3 bytes)
//	P{archive:G:B}:v       zset    every TERM of B (score 0), for prefix expansion by lex range;
//	                               a query prefix is a token or "\x01s:"/"\x01g:" + token,
//	                               so it never reaches the "\x01v:" terms
//	P{archive:G:B}:m       hash    doc number -> article id (live documents only)
//	P{archive:G:B}:a       hash    article id -> "doc:len:contenthash" of its document
//	P{archive:G:B}:n       hash    seq (last doc number), docs, len (sum of weighted lengths),
//	                               born (a random mark set by the bucket's first indexing)
//	P{archive:G:B}:x       set     doc numbers retired by Remove or a re-index
//
// Add runs one Lua script per 32 articles of a bucket (four scripts per
// round trip): it skips an article whose content hash is unchanged,
// retires the article's old document (dead set, document ids and
// statistics) when it changed, takes a new doc number, appends one record
// per term and writes the document table. Retired records stay in their
// posting strings, filtered out by the dead set, until the bucket expires.
package archive

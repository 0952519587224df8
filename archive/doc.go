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
// are not indexed; instead each posting carries 16-bit signatures of the
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
// # Key schema
//
// Every key is P{archive}:... where P is the store's prefix, so the whole
// index is on one Redis Cluster hash slot and the indexing scripts are
// atomic there. B is a bucket: ingest time (Unix seconds) divided by
// Options.Bucket (a day by default). Every key of bucket B expires at
// (B+1)·Bucket + Retention, so postings leave the index at most one bucket
// after their article leaves the store, with no sweeper to run.
//
//	P{archive}:p:B:TERM   string  postings of TERM for articles ingested in B: 14-byte
//	                              records (doc number, title tf, body tf, length norm,
//	                              publication hour, next/previous word signatures);
//	                              source and tag words are the terms "\x01s:WORD" and
//	                              "\x01g:WORD"; a private article's servers are
//	                              "\x01v:private" and "\x01v:GUILD" (no length, no score)
//	P{archive}:v:B        zset    every TERM of B (score 0), for prefix expansion by lex range;
//	                              a query prefix is a token or "\x01s:"/"\x01g:" + token,
//	                              so it never reaches the "\x01v:" terms
//	P{archive}:m:B        hash    doc number -> article id (live documents only)
//	P{archive}:n:B        hash    seq (last doc number), docs, len (sum of weighted lengths)
//	P{archive}:x:B        set     doc numbers retired by Remove or a re-index
//	P{archive}:a:ID       string  "B:doc:len:contenthash" of the indexed article ID
//
// Add runs one Lua script per 32 articles (four scripts per round trip): it
// skips an article whose content hash is unchanged, retires the article's
// old document (dead set, document table and statistics) when it changed,
// takes a new doc number and appends one record per term. Retired records
// stay in their posting strings, filtered out by the dead set, until the
// bucket expires. Rebuild clears the index and walks the store's ingest
// log.
package archive

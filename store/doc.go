// Package store keeps everything the bot knows in Redis: it implements
// digestbot.Store over go-redis (a redis.UniversalClient, so a single server,
// TLS, or a Redis Cluster), or over an embedded in-process miniredis when no
// Redis is configured.
//
// Open connects (EINVALID for a bad URL, EUNAVAILABLE within a few seconds
// when Redis does not answer); OpenRetry keeps trying with backoff, for the
// long-running bot; OpenEmbedded starts the in-process store. Several
// comma-separated seeds are a Redis Cluster; one address is asked CLUSTER
// INFO, and a node of a cluster gets a cluster client all the same (with
// the URL's credentials and TLS for every node), so a managed cluster's
// single endpoint works; ServerInfo says what was found. Every call is
// bounded by dial, read and write timeouts; network failures and timeouts
// come back as EUNAVAILABLE, never as a hang or a panic. Client and Prefix
// let other packages keep their own keys next to the store's.
//
// # Key schema
//
// Every key starts with the configured prefix P ("digestbot:" by default).
// Keys that take part in one atomic operation (a Lua script or a
// WATCH/MULTI/EXEC transaction) share a hash tag, so each such operation
// touches exactly one Redis Cluster hash slot. Pipelines may span slots
// (go-redis splits them per node); transactions never do.
//
//	P a:ARTICLE                  hash    "body" = article JSON, "h" = content hash, "ing" =
//	                                     first ingest time (RFC 3339), "unlogged" while its
//	                                     ingest log entry is not written yet, "g" = the servers
//	                                     that may see it (space separated) or "*" for all
//	                                     (missing: all), "f" = its source (name and feed),
//	                                     "relog" = who could see it before its audience
//	                                     widened, until it is announced again; TTL = retention
//	P{log}:ingest                stream  ingest log: field "a" = article id, "s" = the servers
//	                                     that could see it before (an announcement after its
//	                                     audience widened); the entry id is the LogEntry Seq and
//	                                     its time the ingest time;
//	                                     trimmed by MINID to the retention window
//	P{log}:changes               stream  subscription/topic change feed: fields "op", "g", "d" (JSON),
//	                                     "v" and "pv" (the guild's change counter after and before);
//	                                     trimmed by MINID to the retention window
//	P watermarks                 hash    cursor name -> seq
//	P guilds                     set     guilds that have (or had) data, for the All* listings
//	P guilds:left                zset    guild -> unix ms when the bot left it
//	P lease:NAME                 string  holder of a process-wide job lease ("matcher"),
//	                                     PX = lease ttl
//	P{ratelimit}:global          string  next free slot of Discord's global budget (unix µs),
//	                                     shared by every replica; PX 60 s
//	P{ratelimit}:global:block    string  unix µs until which Discord blocked every request
//	                                     (a global 429); one slot with the above, read together
//	P{rl:ROUTE}                  hash    a Discord route's bucket as last reported: "rem",
//	                                     "reset" (unix µs), "probe"; one slot per route
//	P{due:QUEUE:N}               zset    due queue QUEUE ("digests", "alerts", "feeds"), shard N of 16:
//	                                     member -> unix ms when due; a taken member carries the
//	                                     end of its take instead (see DueQueue)
//	P{due:QUEUE:N}:failures      hash    member -> consecutive failed runs
//	P channels:gone              zset    "GUILD/CHANNEL" -> unix ms since the chat service
//	                                     said the channel no longer exists
//	P{due:feeds:N}:f:ID          hash    a polled feed URL, ID = FeedID(url), on its queue
//	                                     shard's slot: "url", "health" = FeedHealth JSON
//	                                     (written under the poller's take, see feedqueue.go),
//	                                     "g:GUILD" = a server that follows the URL (an index
//	                                     of the servers' feeds hashes, checked against them)
//	P{g:GUILD}:subs              hash    subscription id -> Subscription JSON
//	P{g:GUILD}:watches           hash    "OWNER/ID" -> a member's personal watch (Subscription
//	                                     JSON with Owner; its channel is the member's DM channel)
//	P{g:GUILD}:watchers          hash    member id -> how many watches the member has
//	P{g:GUILD}:topics            hash    topic name -> Topic JSON
//	P{g:GUILD}:feeds             hash    feed URL -> Feed JSON (its deliver_since and, once its first
//	                                     poll for the guild has stored what it found, first_polled:
//	                                     see MarkFeedPolled)
//	P{g:GUILD}:version           string  the guild's change counter: moved by every change of its
//	                                     subscriptions and topics, in the script that makes it
//	P{g:GUILD}:schedules         hash    channel id ("" = guild default) -> ChannelSchedule JSON
//	P{g:GUILD}:channels          set     channels that have per-channel keys (for DeleteGuild)
//	P{g:GUILD}:lookup:ID         string  a lookup's paging state (JSON) for its buttons; TTL 15 min,
//	                                     so DeleteGuild leaves it to expire
//	P{g:GUILD}:reply:ID          string  the pages of a reply (a list, a digest preview) for its
//	                                     Previous and Next buttons (JSON); TTL 15 min, as lookup
//	P{g:GUILD}:spike:SUB         zset    a spike rule's outlets: name -> unix ms of its latest matching
//	                                     story within the window; PX = the rule's window (at most 72 h),
//	                                     so DeleteGuild leaves it to expire
//	P{g:GUILD}:spike:SUB:alerted string  set for a window once the rule's alert was queued
//	P{c:GUILD:CHANNEL}:pending   hash    article id -> PendingItem JSON
//	P{c:GUILD:CHANNEL}:delivered zset    article id -> unix ms delivered; entries and key
//	                                     expire after the retention window
//	P{c:GUILD:CHANNEL}:claim     string  delivery claim token, PX = claim time (seconds,
//	                                     renewed while the delivery runs)
//	P{c:GUILD:CHANNEL}:outbox    hash    unfinished delivery: "window", "ids" (article ids,
//	                                     newline separated), "data" (items JSON, and whether
//	                                     it is an alert), "parts"
//	                                     (rendered messages JSON), "try:KEY" (unix ms of each
//	                                     post attempt), "posted:KEY" -> message id,
//	                                     "aside:KEY" -> why the part was given up,
//	                                     "strike:KEY" -> its failures while others got through
//	P{c:GUILD:CHANNEL}:paused    string  set while the channel is paused (bounds its backlog)
//	P{c:GUILD:CHANNEL}:stats     hash    "dropped" (items not queued while paused), "aside"
//	                                     (parts given up), "last_aside" (why)
//	P{c:GUILD:CHANNEL}:state     string  ChannelState JSON
//
// All suites run on a single redis-server, on a three-master Redis Cluster
// and on the embedded store (storetest.EachBackend), so a multi-key
// operation that crossed slots would fail in the tests.
//
// Guild and channel ids may not contain '{', '}', ':' or white space, so a
// key of one guild can never be read as a key of another.
//
// # Atomicity
//
// AddSubscription, AddWatch, PutTopic and AddFeed check their limits and write
// in one Lua script on the guild's slot, so concurrent adders cannot exceed
// it. EnqueuePending writes every channel with one Lua call per channel
// (pipelined, one round trip for the batch); only an article that is already
// pending falls back to a WATCH transaction that merges the hits. The delivery
// protocol (ClaimChannel, BeginDelivery, SetDeliveryParts, RecordAttempt,
// MarkPartPosted, SetPartAside, AckDelivery) works on the channel's slot
// only: the claim is SET NX PX with a random token, and every later step
// checks the token inside the same script or transaction that writes,
// returning ECONFLICT when the claim has passed to someone else.
//
// Cross-slot bookkeeping (the guilds set, a guild's channel set, the change
// feed, a feed URL's followers) is written in the same pipeline or right
// after the atomic step; the order is chosen so that a crash in between
// leaves an extra index entry, never a missing one, except for the change
// feed. Replicas append to the change feed after their change, so two
// changes of one guild can reach it in the other order, or a crash can lose
// an entry; each change therefore moves the guild's change counter in the
// script that makes it and carries the counter's values, and a reader that
// finds a gap reads the guild anew (GuildSnapshot, one transaction).
//
// # Embedded store
//
// OpenEmbedded starts miniredis in-process. Miniredis does not age TTLs by
// itself; the embedded store turns on its wall-clock TTL mode
// (miniredis ClockTTL), so articles and delivered-markers expire in a
// long-running demo or single-process deployment just as on a real server.
// Nothing is persisted: the data is gone when the process exits.
// AdvanceClock moves the embedded clock forward for tests.
package store

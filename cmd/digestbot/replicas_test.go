package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/discordtest"
	"github.com/digestbot/digestbot/store"
	"github.com/digestbot/digestbot/store/storetest"
)

// The replica harness runs several `digestbot run` processes, built from
// this package, against one Redis and one Discord-compatible server on
// loopback, so that tests can kill them the way production kills them
// (SIGKILL, SIGTERM) and check what reached the channels.

var buildOnce struct {
	sync.Once
	bin string
	err error
}

// buildBinary builds digestbot once per test binary.
func buildBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "digestbot-bin")
		if err != nil {
			buildOnce.err = err
			return
		}
		bin := filepath.Join(dir, "digestbot")
		out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
		if err != nil {
			buildOnce.err = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		buildOnce.bin = bin
	})
	if buildOnce.err != nil {
		t.Fatal(buildOnce.err)
	}
	return buildOnce.bin
}

// tailBuffer keeps the last part of a process's output.
type tailBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (w *tailBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b = append(w.b, p...)
	if len(w.b) > 256<<10 {
		w.b = w.b[len(w.b)-128<<10:]
	}
	return len(p), nil
}

func (w *tailBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(w.b)
}

// replica is one `digestbot run` process, restarted as often as a test
// likes.
type replica struct {
	name string
	env  []string
	log  *tailBuffer
	mu   sync.Mutex
	cmd  *exec.Cmd
	addr string
	done chan struct{}
}

// cluster is a set of replicas sharing a configuration.
type cluster struct {
	t        testing.TB
	bin      string
	replicas []*replica
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startCluster starts n replicas with the given environment (and
// DIGESTBOT_HTTP_ADDR of their own); Cleanup kills what still runs.
func startCluster(t testing.TB, n int, env map[string]string) *cluster {
	t.Helper()
	c := &cluster{t: t, bin: buildBinary(t)}
	base := os.Environ()
	for k, v := range env {
		base = append(base, k+"="+v)
	}
	for i := range n {
		r := &replica{name: fmt.Sprint("replica-", i), env: base, log: &tailBuffer{}}
		c.replicas = append(c.replicas, r)
		c.start(r)
	}
	t.Cleanup(func() {
		for _, r := range c.replicas {
			r.signal(syscall.SIGKILL)
			r.wait(5 * time.Second)
		}
	})
	return c
}

func (c *cluster) start(r *replica) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.addr = freeAddr(c.t)
	cmd := exec.Command(c.bin, "run")
	cmd.Env = append(append([]string(nil), r.env...), "DIGESTBOT_HTTP_ADDR="+r.addr)
	cmd.Stdout, cmd.Stderr = r.log, r.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		c.t.Fatalf("start %s: %v", r.name, err)
	}
	r.cmd, r.done = cmd, make(chan struct{})
	done := r.done
	go func() { _ = cmd.Wait(); close(done) }()
}

func (r *replica) pid() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil || r.cmd.Process == nil {
		return 0
	}
	return r.cmd.Process.Pid
}

func (r *replica) signal(sig syscall.Signal) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd != nil && r.cmd.Process != nil {
		_ = r.cmd.Process.Signal(sig)
	}
}

// wait waits for the process to exit; false when it did not within d.
func (r *replica) wait(d time.Duration) bool {
	r.mu.Lock()
	done := r.done
	r.mu.Unlock()
	if done == nil {
		return true
	}
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

// ready waits until the replica's /readyz answers 200.
func (r *replica) ready(t testing.TB, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		addr := r.addr
		r.mu.Unlock()
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s not ready within %v; its log:\n%s", r.name, d, r.log.String())
}

// byPID returns the replica whose process has this pid, or nil.
func (c *cluster) byPID(pid int) *replica {
	for _, r := range c.replicas {
		if r.pid() == pid {
			return r
		}
	}
	return nil
}

// logs returns every replica's log tail, for a failed test.
func (c *cluster) logs() string {
	var b strings.Builder
	for _, r := range c.replicas {
		fmt.Fprintf(&b, "==== %s\n%s\n", r.name, r.log.String())
	}
	return b.String()
}

// pidOfUserAgent reads the pid the bot puts in its User-Agent
// ("... host/PID/random").
func pidOfUserAgent(ua string) int {
	f := strings.Fields(ua)
	if len(f) == 0 {
		return 0
	}
	parts := strings.Split(f[len(f)-1], "/")
	if len(parts) < 3 {
		return 0
	}
	pid, _ := strconv.Atoi(parts[len(parts)-2])
	return pid
}

// digestLoad is the work of a delivery test: channels, each with a
// digest of stories queued and due now.
type digestLoad struct {
	st       *store.Store
	channels []string
	stories  map[string][]string // channel -> article URLs queued for it
}

// loadDigests creates channels on the Discord server and, in the store,
// one subscription per channel and perChannel stories queued for each
// (under three subscription labels, so a digest has several sections),
// from a pool of articles. Nothing is due yet: see due.
func loadDigests(t testing.TB, st *store.Store, dc *discordtest.Server, channels, perChannel int) *digestLoad {
	t.Helper()
	ctx := context.Background()
	l := &digestLoad{st: st, stories: map[string][]string{}}
	now := time.Now().UTC()
	pool := 3 * perChannel
	var arts []*digestbot.Article
	rng := rand.New(rand.NewPCG(uint64(perChannel), 7))
	for i := range pool {
		// Titles of made-up words, so that no two stories read as the
		// same story from two outlets (which a digest merges).
		a := &digestbot.Article{
			Title:     fmt.Sprintf("%s %s %s %s", madeUpWord(rng), madeUpWord(rng), madeUpWord(rng), madeUpWord(rng)),
			URL:       fmt.Sprintf("https://harbour-news.example/reports/%d", i),
			Source:    "Harbour News",
			Published: now.Add(-time.Duration(i) * time.Minute),
			Text:      fmt.Sprintf("Report %d says the ferries keep their winter schedule. The harbour authority met on Monday.", i),
		}
		a.ID = digestbot.ArticleID(a.URL, "", "", "")
		arts = append(arts, a)
	}
	if _, err := st.PutArticles(ctx, arts); err != nil {
		t.Fatal(err)
	}
	labels := []string{"ferry", "harbour", "schedule"}
	var items []digestbot.PendingItem
	for c := range channels {
		ch := dc.AddChannel(dc.GuildID, fmt.Sprint("news-", c))
		l.channels = append(l.channels, ch)
		sub := &digestbot.Subscription{GuildID: dc.GuildID, ChannelID: ch, Query: "harbour", CreatedAt: now}
		sub.ID = digestbot.SubscriptionID(sub.GuildID, sub.ChannelID, sub.Query, "")
		if _, err := st.AddSubscription(ctx, sub, 1_000_000); err != nil {
			t.Fatal(err)
		}
		for k := range perChannel {
			a := arts[(c*7+k)%pool]
			lab := labels[k%len(labels)]
			items = append(items, digestbot.PendingItem{GuildID: dc.GuildID, ChannelID: ch, ArticleID: a.ID, QueuedAt: now,
				Hits: []digestbot.Hit{{SubscriptionID: "s-" + lab, Label: lab, Terms: []string{lab}}}})
			l.stories[ch] = append(l.stories[ch], a.URL)
		}
	}
	for i := 0; i < len(items); i += 1000 {
		if err := st.EnqueuePending(ctx, items[i:min(i+1000, len(items))]); err != nil {
			t.Fatal(err)
		}
	}
	return l
}

// madeUpWord returns a pronounceable word that no language has.
func madeUpWord(rng *rand.Rand) string {
	const cons, vows = "bdfgklmnprstvz", "aeiou"
	var b strings.Builder
	for range 2 + rng.IntN(2) {
		b.WriteByte(cons[rng.IntN(len(cons))])
		b.WriteByte(vows[rng.IntN(len(vows))])
	}
	return b.String()
}

// due makes every channel's digest due now.
func (l *digestLoad) due(t testing.TB, guildID string) {
	t.Helper()
	q := l.st.DueQueue("digests")
	for _, ch := range l.channels {
		if err := q.Put(context.Background(), digestbot.ChannelRef{GuildID: guildID, ChannelID: ch}.Key(), time.Now(), digestbot.PutAlways); err != nil {
			t.Fatal(err)
		}
	}
}

// remaining counts the channels with items pending or a delivery unfinished.
func (l *digestLoad) remaining(t testing.TB, guildID string) int {
	t.Helper()
	ctx := context.Background()
	n := 0
	for _, ch := range l.channels {
		p, err := l.st.Pending(ctx, guildID, ch)
		if err != nil {
			continue // Redis busy: count as remaining
		}
		if len(p) > 0 {
			n++
		}
	}
	return n
}

// check reports every story not shown exactly once in its channel (with
// the thread its digest continues in).
func (l *digestLoad) check(dc *discordtest.Server) (problems []string, messages int) {
	for _, ch := range l.channels {
		seen := map[string]int{}
		msgs := dc.Messages(ch)
		for _, th := range dc.Threads(ch) { // a digest continues in a thread
			msgs = append(msgs, dc.Messages(th.ID)...)
		}
		messages += len(msgs)
		for _, m := range msgs {
			for _, e := range m.Embeds {
				seen[e.URL]++
			}
		}
		for _, u := range l.stories[ch] {
			if seen[u] != 1 {
				problems = append(problems, fmt.Sprintf("channel %s: %s shown %d times", ch, u, seen[u]))
			}
		}
	}
	return problems, messages
}

// replicaEnv is the environment of replicas on one Redis and Discord server.
func replicaEnv(t testing.TB, redisURL, prefix string, dc *discordtest.Server, delivery string) map[string]string {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "digestbot.yaml")
	yaml := fmt.Sprintf("redis:\n  prefix: %q\nschedule:\n  match: \"@every 1h\"\ndelivery:\n%s", prefix, delivery)
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return map[string]string{
		"DISCORD_TOKEN":             dc.Token,
		"DIGESTBOT_DISCORD_API_URL": dc.URL(),
		"DIGESTBOT_REDIS_URL":       redisURL,
		"DIGESTBOT_GUILD_ID":        dc.GuildID,
		"DIGESTBOT_CONFIG":          cfg,
	}
}

// TestDeliveryFaults is the delivery fault test: three replicas of
// `digestbot run` on one real redis-server, then on a Redis Cluster named by
// one node's address, deliver 200 channels' digests of
// several messages each against a Discord-compatible server that enforces
// Discord's rate limits, forgets nonces after a few seconds, fails 10 % of
// posts with 5xx (half of them after storing the message), resets some
// connections, injects some 429s and holds some answers back after storing
// the message; meanwhile replicas are killed with SIGKILL or stopped with
// SIGTERM 20 times, among them replicas waiting for an answer to a message
// Discord has already stored. At the end every story appears exactly once
// in every channel, and no 429 was caused by exceeding a limit.
func TestDeliveryFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("the delivery fault test runs three bot processes for about a minute; not with -short")
	}
	storetest.EachRealBackend(t, testDeliveryFaults)
}

func testDeliveryFaults(t *testing.T, b *storetest.Backend) {
	redisURL := cliURL(t, b)
	prefix := storetest.UniquePrefix()
	st := storetest.OpenOn(t, store.Options{URL: redisURL, Prefix: prefix})
	dc := discordtest.New(t)
	dc.Timeout = time.Minute
	dc.SetLimits(discordtest.DiscordLimits)
	dc.SetNonceTTL(5 * time.Second)
	load := loadDigests(t, st, dc, 200, 24)

	// Three bot processes, Redis and this test (with the race detector)
	// share two cores here: a process starved of CPU between taking a slot
	// of the global budget and sending can land two requests in one
	// slot's place. 40 of Discord's 50 leaves room for that; the
	// throughput benchmark measures the default.
	env := replicaEnv(t, redisURL, prefix, dc, "  claim_time: 4s\n  nonce_window: 4s\n  requests_per_second: 40\n")
	c := startCluster(t, 3, env)
	for _, r := range c.replicas {
		r.ready(t, 60*time.Second)
	}

	// Kill points: a replica waiting for the answer to a message Discord
	// has stored is killed there (the first few times it happens).
	var mu sync.Mutex
	kills, hangKills, terms := 0, 0, 0
	restart := func(r *replica) {
		r.wait(15 * time.Second)
		time.Sleep(time.Duration(200+rand.IntN(400)) * time.Millisecond)
		c.start(r)
	}
	var restarts sync.WaitGroup
	dc.OnHang(func(h discordtest.HangInfo) {
		mu.Lock()
		defer mu.Unlock()
		if kills+terms >= 20 {
			return
		}
		if r := c.byPID(pidOfUserAgent(h.UserAgent)); r != nil {
			hangKills++
			kills++
			r.signal(syscall.SIGKILL)
			restarts.Add(1)
			go func() { defer restarts.Done(); restart(r) }()
		}
	})
	dc.SetChaos(&discordtest.Chaos{Seed: uint64(time.Now().UnixNano()), Status5xx: 0.10, RateLimit: 0.01, Reset: 0.02, Hang: 0.01, HangFor: 30 * time.Second})

	start := time.Now()
	load.due(t, dc.GuildID)
	// 20 kills and stops in all, spread over the delivery; every fourth
	// one where Discord has stored a message and holds its answer back.
	for event := 1; ; event++ {
		time.Sleep(time.Duration(150+rand.IntN(450)) * time.Millisecond)
		mu.Lock()
		done := kills+terms >= 20
		mu.Unlock()
		if done || load.remaining(t, dc.GuildID) == 0 {
			break
		}
		if event%4 == 0 {
			dc.FailMessages(1, discordtest.Fault{Hang: 30 * time.Second, Commit: true})
			continue
		}
		r := c.replicas[rand.IntN(len(c.replicas))]
		if !r.wait(0) && r.pid() != 0 {
			mu.Lock()
			if rand.IntN(2) == 0 {
				kills++
				r.signal(syscall.SIGKILL)
			} else {
				terms++
				r.signal(syscall.SIGTERM)
			}
			mu.Unlock()
			restarts.Add(1)
			go func() { defer restarts.Done(); restart(r) }()
		}
	}
	restarts.Wait()
	deadline := time.Now().Add(4 * time.Minute)
	for load.remaining(t, dc.GuildID) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d channels still have undelivered stories after 4 minutes; logs:\n%s", load.remaining(t, dc.GuildID), c.logs())
		}
		time.Sleep(200 * time.Millisecond)
	}
	took := time.Since(start)
	for _, r := range c.replicas {
		r.signal(syscall.SIGTERM)
	}
	// What went wrong is reported after the replicas' logs, so that the
	// end of a long failing output says it.
	var failures []string
	for _, r := range c.replicas {
		if !r.wait(15 * time.Second) {
			failures = append(failures, fmt.Sprintf("%s did not stop within 15 s of SIGTERM", r.name))
		}
	}
	if hangKills == 0 {
		failures = append(failures, "no replica was killed while Discord held back the answer to a stored message")
	}
	problems, messages := load.check(dc)
	for i, p := range problems {
		if i == 20 {
			failures = append(failures, fmt.Sprintf("... and %d more stories not shown exactly once", len(problems)-20))
			break
		}
		failures = append(failures, p)
	}
	stats := dc.Stats()
	if stats.Exceeded429 != 0 {
		failures = append(failures, fmt.Sprintf("Discord counted %d 429s for exceeding a limit (%d of them global), want none", stats.Exceeded429, stats.ExceededGlobal))
	}
	found := strings.Count(c.logs(), "already in the channel")
	summary := fmt.Sprintf("delivered %d channels, %d messages in %v with %d SIGKILLs (%d while an answer was held back) and %d SIGTERMs; "+
		"Discord: %d creates, %d faults injected (%d 429s), %d hung answers, %d deduplicated by nonce; %d parts found in the channel after the nonce window",
		len(load.channels), messages, took.Round(100*time.Millisecond), kills, hangKills, terms,
		stats.Attempts, stats.InjectedFaults, stats.Injected429, stats.Hung, stats.Deduplicated, found)
	if len(failures) > 0 {
		t.Logf("replica logs:\n%s", c.logs())
	}
	t.Log(summary)
	for _, f := range failures {
		t.Error(f)
	}
}

// BenchmarkDeliveryThroughput measures how fast 1, 2 and 3 replicas post
// the digests of 2,000 channels that fall due at once, against a
// Discord-compatible server that enforces Discord's limits (50 requests a
// second per bot, 5 messages per 5 s per channel): messages per second
// (Discord's global limit caps it at 50) and 429s for exceeding a limit
// (the goal is none). Run it with
//
//	go test ./cmd/digestbot -run '^$' -bench DeliveryThroughput -benchtime 1x -timeout 30m
func BenchmarkDeliveryThroughput(b *testing.B) {
	for _, n := range []int{1, 2, 3} {
		b.Run(fmt.Sprintf("replicas=%d", n), func(b *testing.B) {
			for range b.N {
				redisURL := storetest.Shared(b).URL
				prefix := storetest.UniquePrefix()
				st := storetest.OpenOn(b, store.Options{URL: redisURL, Prefix: prefix})
				dc := discordtest.New(b)
				dc.Timeout = 10 * time.Minute
				dc.SetLimits(discordtest.DiscordLimits)
				load := loadDigests(b, st, dc, 2000, 5)
				c := startCluster(b, n, replicaEnv(b, redisURL, prefix, dc, "  workers: 16\n"))
				for _, r := range c.replicas {
					r.ready(b, 60*time.Second)
				}
				before := dc.Stats()
				start := time.Now()
				load.due(b, dc.GuildID)
				for load.remaining(b, dc.GuildID) > 0 {
					if time.Since(start) > 10*time.Minute {
						b.Fatalf("not delivered within 10 minutes; logs:\n%s", c.logs())
					}
					time.Sleep(100 * time.Millisecond)
				}
				took := time.Since(start)
				after := dc.Stats()
				problems, messages := load.check(dc)
				if len(problems) > 0 {
					b.Fatalf("%d stories not shown exactly once, e.g. %s", len(problems), problems[0])
				}
				b.ReportMetric(float64(messages)/took.Seconds(), "msgs/s")
				b.ReportMetric(float64(after.Exceeded429-before.Exceeded429), "429s")
				b.ReportMetric(float64(after.ExceededGlobal-before.ExceededGlobal), "global-429s")
				b.ReportMetric(took.Seconds(), "s/2000ch")
				for _, r := range c.replicas {
					r.signal(syscall.SIGTERM)
				}
				for _, r := range c.replicas {
					r.wait(15 * time.Second)
				}
			}
		})
	}
}

// BenchmarkTakeoverAfterKill measures the time from a SIGKILL of the
// replica that is posting a channel's digest (killed while Discord holds
// back the answer to a message it has stored) to another replica having
// finished that delivery, with the default claim time (15 s). Run it with
//
//	go test ./cmd/digestbot -run '^$' -bench TakeoverAfterKill -benchtime 3x -timeout 30m
func BenchmarkTakeoverAfterKill(b *testing.B) {
	redisURL := storetest.Shared(b).URL
	for range b.N {
		prefix := storetest.UniquePrefix()
		st := storetest.OpenOn(b, store.Options{URL: redisURL, Prefix: prefix})
		dc := discordtest.New(b)
		dc.Timeout = 10 * time.Minute
		dc.SetLimits(discordtest.DiscordLimits)
		load := loadDigests(b, st, dc, 1, 24)
		c := startCluster(b, 2, replicaEnv(b, redisURL, prefix, dc, "  workers: 8\n"))
		for _, r := range c.replicas {
			r.ready(b, 60*time.Second)
		}
		killed := make(chan time.Time, 1)
		dc.OnHang(func(h discordtest.HangInfo) {
			if r := c.byPID(pidOfUserAgent(h.UserAgent)); r != nil {
				r.signal(syscall.SIGKILL)
				select {
				case killed <- time.Now():
				default:
				}
			}
		})
		dc.FailMessages(1, discordtest.Fault{Hang: time.Minute, Commit: true})
		load.due(b, dc.GuildID)
		var at time.Time
		select {
		case at = <-killed:
		case <-time.After(2 * time.Minute):
			b.Fatalf("no replica posted; logs:\n%s", c.logs())
		}
		for load.remaining(b, dc.GuildID) > 0 {
			if time.Since(at) > 5*time.Minute {
				b.Fatalf("the killed replica's delivery was not finished within 5 minutes; logs:\n%s", c.logs())
			}
			time.Sleep(50 * time.Millisecond)
		}
		b.ReportMetric(time.Since(at).Seconds(), "s-to-finish")
		if problems, _ := load.check(dc); len(problems) > 0 {
			b.Fatalf("%d stories not shown exactly once, e.g. %s", len(problems), problems[0])
		}
		for _, r := range c.replicas {
			r.signal(syscall.SIGTERM)
		}
		for _, r := range c.replicas {
			r.wait(15 * time.Second)
		}
	}
}

package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	digestbot "github.com/digestbot/digestbot"
	"github.com/digestbot/digestbot/subscriptions"
)

// checkTopics validates the operator topics of the file: every name, every
// query, and the references between them. A subscription to an operator
// topic resolves its topic:NAME references among the operator topics
// (subscriptions.Query.ResolveTopics), so an unknown name, a topic that
// includes itself, a cycle or a chain deeper than ResolveTopics follows
// would only fail later, at /subscribe or in the matcher; here each is named
// on the topic whose query holds it. It returns the topics with a valid name.
func checkTopics(in []TopicConfig, bad func(key, format string, args ...any)) []TopicConfig {
	type topic struct {
		key   string // topics[i].query
		name  string
		text  string
		q     *subscriptions.Query // nil: the query is empty or does not parse
		graph bool                 // a valid name, defined here first: part of the reference graph
	}
	var out []TopicConfig
	var all []*topic
	byName := map[string]*topic{} // first definition of each valid name
	var names []string            // valid names, in file order
	for i, t := range in {
		key := fmt.Sprintf("topics[%d]", i)
		tp := &topic{key: key + ".query", name: digestbot.NormalizeTopicName(t.Name), text: t.Query}
		nameOK := true
		if err := digestbot.ValidateTopicName(tp.name); err != nil {
			bad(key+".name", ": %s", digestbot.ErrorMessage(err))
			nameOK = false
		} else if first := byName[tp.name]; first != nil {
			bad(key+".name", "=%q: defined twice (first at %s)", tp.name, strings.TrimSuffix(first.key, ".query"))
		} else {
			tp.graph = true
			byName[tp.name] = tp
			names = append(names, tp.name)
		}
		// The query is checked whatever the name: each bad value is listed.
		if strings.TrimSpace(t.Query) == "" {
			bad(tp.key, ": empty; a topic needs a query")
		} else if q, err := subscriptions.Parse(t.Query); err != nil {
			bad(tp.key, "=%q: %s", t.Query, digestbot.ErrorMessage(err))
		} else {
			tp.q = q
		}
		all = append(all, tp)
		if nameOK {
			t.Name = tp.name
			out = append(out, t)
		}
	}

	// refs are the references of each topic in the graph whose query parses.
	refs := map[string][]string{}
	for _, tp := range all {
		if tp.graph && tp.q != nil {
			refs[tp.name] = tp.q.Topics()
		}
	}
	onCycle := cyclicTopics(names, refs)
	broken := map[string]bool{} // topics with a problem of their own
	for _, tp := range all {
		if tp.q == nil {
			if tp.graph {
				broken[tp.name] = true
			}
			continue
		}
		self := false
		for _, r := range tp.q.Topics() {
			switch {
			case tp.graph && r == tp.name:
				bad(tp.key, "=%q: topic:%s refers to the topic itself; a topic cannot include itself", tp.text, r)
				self = true
			case byName[r] == nil:
				bad(tp.key, "=%q: topic:%s: there is no operator topic %q; an operator topic can refer only to the topics of this file (%s)", tp.text, r, r, listNames(names))
				if tp.graph {
					broken[tp.name] = true
				}
			}
		}
		if self {
			broken[tp.name] = true
		} else if tp.graph && onCycle[tp.name] {
			path := cyclePath(tp.name, refs)
			bad(tp.key, "=%q: topic:%s makes a cycle %s; topics cannot include each other in a circle", tp.text, path[1], strings.Join(path, " -> "))
			broken[tp.name] = true
		}
	}

	// What is left is a graph without cycles. A topic that only refers to
	// sound topics may still nest deeper than ResolveTopics follows: resolve
	// its longest chain of references (the rest cannot be deeper).
	g := chains{refs: refs, broken: broken, blockedMemo: map[string]bool{}, memo: map[string]int{}, next: map[string]string{}}
	for _, tp := range all {
		if !tp.graph || broken[tp.name] || g.blocked(tp.name) {
			continue // its own problem, or one of the topics it refers to, is reported
		}
		if err := g.resolveLongest(tp.name); err != nil {
			bad(tp.key, "=%q: %s", tp.text, digestbot.ErrorMessage(err))
		}
	}
	return out
}

// listNames lists topic names for a message, at most ten of them.
func listNames(names []string) string {
	switch {
	case len(names) == 0:
		return "it defines none"
	case len(names) > 10:
		return "defined: " + strings.Join(names[:10], ", ") + fmt.Sprintf(" and %d more", len(names)-10)
	}
	return "defined: " + strings.Join(names, ", ")
}

// cyclicTopics returns the topics that lie on a cycle of references of two
// or more topics (Tarjan's strongly connected components).
func cyclicTopics(names []string, refs map[string][]string) map[string]bool {
	index, low := map[string]int{}, map[string]int{}
	onStack := map[string]bool{}
	var stack []string
	out := map[string]bool{}
	n := 0
	var visit func(v string)
	visit = func(v string) {
		index[v], low[v] = n, n
		n++
		stack = append(stack, v)
		onStack[v] = true
		for _, w := range refs[v] {
			if _, known := refs[w]; !known {
				continue
			}
			if _, seen := index[w]; !seen {
				visit(w)
				low[v] = min(low[v], low[w])
			} else if onStack[w] {
				low[v] = min(low[v], index[w])
			}
		}
		if low[v] == index[v] {
			i := len(stack) - 1
			for stack[i] != v {
				i--
			}
			if len(stack)-i > 1 {
				for _, w := range stack[i:] {
					out[w] = true
				}
			}
			for _, w := range stack[i:] {
				onStack[w] = false
			}
			stack = stack[:i]
		}
	}
	for _, v := range names {
		if _, seen := index[v]; !seen {
			if _, known := refs[v]; known {
				visit(v)
			}
		}
	}
	return out
}

// cyclePath returns a shortest cycle of references from start back to it,
// "a -> b -> a" as [a b a]; start must lie on a cycle.
func cyclePath(start string, refs map[string][]string) []string {
	prev := map[string]string{}
	queue := []string{start}
	for len(queue) > 0 {
		v := queue[0]
		queue = queue[1:]
		for _, w := range refs[v] {
			if w == start {
				path := []string{start}
				for u := v; u != start; u = prev[u] {
					path = append(path, u)
				}
				for i, j := 1, len(path)-1; i < j; i, j = i+1, j-1 {
					path[i], path[j] = path[j], path[i]
				}
				return append(path, start)
			}
			if _, seen := prev[w]; !seen {
				if _, known := refs[w]; known {
					prev[w] = v
					queue = append(queue, w)
				}
			}
		}
	}
	return []string{start, "?", start} // not reached for a topic on a cycle
}

// chains measures reference chains in the graph of topics without cycles.
type chains struct {
	refs        map[string][]string
	broken      map[string]bool   // topics with a problem of their own
	blockedMemo map[string]bool   // results of blocked
	memo        map[string]int    // length of the longest chain from a topic, itself included
	next        map[string]string // the next topic on that chain
}

// blocked reports whether name refers, directly or not, to a topic with a
// problem of its own. Only topics without cycles are followed.
func (g *chains) blocked(name string) bool {
	if g.broken[name] {
		return true
	}
	if b, ok := g.blockedMemo[name]; ok {
		return b
	}
	b := false
	for _, r := range g.refs[name] {
		if g.blocked(r) {
			b = true
			break
		}
	}
	g.blockedMemo[name] = b
	return b
}

// longest returns the length of the longest chain of references from name
// (1 for a topic that refers to none); name must not be blocked.
func (g *chains) longest(name string) int {
	if n, ok := g.memo[name]; ok {
		return n
	}
	best := 1
	for _, r := range g.refs[name] {
		if n := 1 + g.longest(r); n > best {
			best, g.next[name] = n, r
		}
	}
	g.memo[name] = best
	return best
}

// resolveLongest resolves a subscription to topic name as the matcher does
// (subscriptions.Query.ResolveTopics, whose depth limit applies), following
// only the longest chain of references: resolving every branch of a wide
// graph could take exponential time, and no branch is deeper.
func (g *chains) resolveLongest(name string) error {
	g.longest(name)
	q, err := subscriptions.Parse("topic:" + name)
	if err != nil {
		return err
	}
	leaf, err := subscriptions.Parse("x")
	if err != nil {
		return err
	}
	_, err = q.ResolveTopics(func(t string) (*subscriptions.Query, bool) {
		if n, ok := g.next[t]; ok {
			nq, err := subscriptions.Parse("topic:" + n)
			return nq, err == nil
		}
		return leaf, true
	})
	return err
}

// checkMatchSpec validates the matcher's cron spec (schedule.match).
// robfig/cron panics on some malformed specs and takes "@every 0s" as every
// second: refuse both. A second is the shortest interval: instant alerts
// wait for the matcher's tick.
func checkMatchSpec(spec string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("not a valid cron spec")
		}
	}()
	if d, ok := strings.CutPrefix(spec, "@every "); ok {
		dur, perr := time.ParseDuration(strings.TrimSpace(d))
		if perr != nil || dur < time.Second {
			return fmt.Errorf("want @every with a duration of at least 1s, such as @every 1m")
		}
		return nil
	}
	if strings.Contains(spec, "CRON_TZ=") || strings.Contains(spec, "TZ=") {
		return fmt.Errorf("time zones are not needed here; give a 5-field cron spec or @every DURATION")
	}
	if _, perr := cron.ParseStandard(spec); perr != nil {
		return fmt.Errorf("want a 5-field cron spec or @every DURATION: %v", perr)
	}
	return nil
}

// Command testreport reads `go test -json` on stdin and prints what plain
// `go test` would (each package's result line, the output of failed tests
// only), then which Redis backends each package's tests ran on, as the
// storetest helpers log them (storetest.LogPattern). It exits non-zero when
// a test failed, or when a package named by -require did not run on every
// backend of -backends.
//
//	go test -json ./... | go run ./.ci/testreport -require pkg1,pkg2 -backends redis-server,cluster
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/digestbot/digestbot/store/storetest"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
}

func main() {
	require := flag.String("require", "", "comma-separated packages that must have run on every backend of -backends")
	backends := flag.String("backends", "redis-server,cluster", "comma-separated backends every -require package must have run on")
	flag.Parse()
	ok, err := report(os.Stdin, os.Stdout, split(*require), split(*backends))
	if err != nil {
		fmt.Fprintln(os.Stderr, "testreport:", err)
		os.Exit(2)
	}
	if !ok {
		os.Exit(1)
	}
}

func split(s string) []string {
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// report copies the test results from r to w and checks the backends; ok
// is false when anything failed.
func report(r io.Reader, w io.Writer, require, want []string) (ok bool, err error) {
	ok = true
	held := map[string][]string{}       // package + "\x00" + test -> its output so far
	ran := map[string]map[string]bool{} // package -> backends its tests logged
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			// Not test2json: a build error printed as is.
			fmt.Fprintln(w, sc.Text())
			continue
		}
		key := e.Package + "\x00" + e.Test
		switch e.Action {
		case "output":
			if m := storetest.LogPattern.FindStringSubmatch(e.Output); m != nil {
				if ran[e.Package] == nil {
					ran[e.Package] = map[string]bool{}
				}
				ran[e.Package][m[1]] = true
			}
			switch {
			case e.Test != "":
				held[key] = append(held[key], e.Output)
			case e.Output != "PASS\n":
				fmt.Fprint(w, e.Output)
			}
		case "fail":
			ok = false
			for _, line := range held[key] {
				if !strings.HasPrefix(line, "=== ") {
					fmt.Fprint(w, line)
				}
			}
			delete(held, key)
		case "pass", "skip":
			delete(held, key)
		}
	}
	if err := sc.Err(); err != nil {
		return false, err
	}

	fmt.Fprintln(w, "\n==> which Redis each package's tests ran on (storetest)")
	for _, p := range slices.Sorted(maps.Keys(ran)) {
		fmt.Fprintf(w, "%-55s %s\n", p, strings.Join(slices.Sorted(maps.Keys(ran[p])), ", "))
	}
	for _, p := range require {
		var missing []string
		for _, b := range want {
			if !ran[p][b] {
				missing = append(missing, b)
			}
		}
		if len(missing) > 0 {
			ok = false
			fmt.Fprintf(w, "FATAL: %s uses the store but its tests did not run on: %s\n", p, strings.Join(missing, ", "))
		}
	}
	return ok, nil
}

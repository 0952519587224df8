// Command digestbot is the news digest bot: the Discord bot itself (run), a
// zero set-up demo, and the command-line tools around the same core (ingest,
// match, lookup, check-config, bench).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"

	digestbot "github.com/digestbot/digestbot"
)

// Version is set at build time with -ldflags "-X main.Version=...".
var Version = "dev"

// env is what a subcommand gets from the process: nothing global, so tests
// run the real program in-process.
type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// stdinIsTerminal says whether stdin is an interactive terminal.
	stdinIsTerminal bool
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *env, args []string) error
}

// commands lists the subcommands; each lives in its own file.
func commands() []command {
	return []command{
		{"run", "run the bot: Discord gateway, slash commands, ingest, matcher and digest schedules, HTTP endpoint", cmdRun},
		{"demo", "zero set-up demo: embedded store, bundled sample articles and subscriptions; prints digests", cmdDemo},
		{"ingest", "ingest feeds or newsletters from files, URLs or - (stdin)", cmdIngest},
		{"match", "show which articles of SOURCE a query matches, and why", cmdMatch},
		{"lookup", "search the article archive, best first", cmdLookup},
		{"why", "what became of one article for one server: stored, matched, delivered, or why not", cmdWhy},
		{"check-config", "validate the configuration and print it with secrets redacted", cmdCheckConfig},
		{"export", "write one server's feeds, topics, subscriptions and schedules as JSON", cmdExport},
		{"import", "load a server's feeds, topics, subscriptions and schedules written by export", cmdImport},
		{"bench", "benchmarks: bench match --queries FILE --articles FILE", cmdBench},
		{"healthcheck", "ask the running bot's HTTP endpoint whether it is ready (for container health checks)", cmdHealthcheck},
		{"version", "print the version", cmdVersion},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	e := &env{getenv: os.Getenv, stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, stdinIsTerminal: isTerminal(os.Stdin)}
	err := run(ctx, os.Args[1:], e)
	stop()
	os.Exit(exitCode(err, e.stderr))
}

// errUsage marks an error that was already explained with usage text.
var errUsage = errors.New("usage")

func exitCode(err error, stderr io.Writer) int {
	switch {
	case err == nil || errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	}
	fmt.Fprintf(stderr, "digestbot: %s\n", userMessage(err))
	return 1
}

// userMessage is the one place that turns an error into what a CLI user sees.
// The command line is the operator's: an unreachable dependency is named
// with its cause, which the message for server members leaves out.
func userMessage(err error) string {
	var de *digestbot.Error
	switch {
	case digestbot.ErrorCode(err) == digestbot.EINTERNAL:
		return err.Error()
	case digestbot.ErrorCode(err) == digestbot.EUNAVAILABLE && errors.As(err, &de) && de.Err != nil:
		return fmt.Sprintf("%s (%v)", digestbot.ErrorMessage(err), de.Err)
	}
	return digestbot.ErrorMessage(err)
}

func run(ctx context.Context, args []string, e *env) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(e.stdout)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, e, args[1:])
		}
	}
	fmt.Fprintf(e.stderr, "digestbot: unknown command %q\n\n", args[0])
	usage(e.stderr)
	return errUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: digestbot COMMAND [OPTIONS]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-13s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'digestbot COMMAND --help' for a command's options.")
}

// newFlags returns a FlagSet that prints its usage to stderr and returns
// errors instead of exiting.
func newFlags(e *env, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: digestbot %s\n", synopsis)
		if hasFlags(fs) {
			fmt.Fprintln(e.stderr, "\nOptions:")
			fs.PrintDefaults()
		}
	}
	return fs
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

// parseFlags parses args, mapping a parse failure to errUsage (already printed).
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	return nil
}

func cmdVersion(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "version", "version")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "digestbot %s\n", Version)
	return nil
}

// isTerminal reports whether f is an interactive terminal (not merely a
// character device such as /dev/null).
func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/datachat/datachat/shared/auth"
	"github.com/datachat/datachat/shared/load"
)

// exitCode is an error that asks main for a particular exit status.
type exitCode struct {
	code int
	msg  string
}

func (e exitCode) Error() string { return e.msg }

const loadUsage = `Usage: datachat load [flags]

Simulated users against a running datachat server. Each user has its own
identity, puts a unique marker in every question it asks, and does its
turns one after another (a follow-up in the same conversation) with think
time between them. Afterwards each user reads its conversation back.

Isolation: the server returns the question it stored (question in the
answer and in GET /conversations/{id}), so every answer, stream and stored
conversation must hold the user's own marker and conversation only. Any
other user's marker or conversation is a leak: the exit status is then 2.

Identities:
  local server (default)  HS256 tokens signed here with AUTH_JWT_SECRET,
                          else the secret in .datachat/dev-secret (the one
                          datachat serve uses); users load-<run>-<n>
  -tokens FILE            one bearer token per line, one line per user
  -token-command CMD      run by sh -c once per user with DATACHAT_LOAD_USER
                          set to the user's number; prints the token

Arrivals: all users at once, or -rate R users per second (open loop: each
turn's scheduled start is recorded beside its actual start, so a server
that stalls cannot hide its queueing; see start_lag_ms).

Output: a summary (latency p50/p90/p95/p99/max, time to the first event
with -stream, turns/s, errors by status and by code) on stdout, a progress
bar on a terminal (stderr), and the full report with every turn with -json.

Exit status: 0; 1 when -max-p95 or -max-errors is exceeded; 2 on a leak
(or a usage error).

Flags:
`

func loadCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	users := fs.Int("users", 10, "simulated users")
	turns := fs.Int("turns", 1, "turns per user")
	base := fs.String("url", "http://127.0.0.1:3000", "base URL of the API")
	remote := fs.Bool("allow-remote", false, "allow a URL that is not on loopback (a deployed stack: every turn spends model tokens)")
	think := fs.Duration("think", time.Second, "pause between one user's turns")
	rate := fs.Float64("rate", 0, "users arriving per second (open loop); 0 starts them all at once")
	stream := fs.Bool("stream", false, "ask for server-sent events (Accept: text/event-stream) and measure the time to the first event")
	question := fs.String("question", load.DefaultQuestion, "the question each turn asks (the user's marker is appended)")
	timeout := fs.Duration("timeout", 60*time.Second, "limit of one request")
	jsonOut := fs.String("json", "", "write the full report as JSON to this file")
	tokensFile := fs.String("tokens", "", "file of bearer tokens, one per line and user")
	tokenCmd := fs.String("token-command", "", "command printing the token of user $DATACHAT_LOAD_USER")
	maxP95 := fs.Duration("max-p95", 0, "exit 1 when the p95 latency is above this (0: no limit)")
	maxErrors := fs.Int("max-errors", -1, "exit 1 when more turns than this fail (-1: no limit)")
	noProgress := fs.Bool("quiet", false, "no progress bar")
	fs.Usage = func() {
		fmt.Fprint(stderr, loadUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return errUsage
	}
	u, err := url.Parse(*base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("-url %q: want an absolute http or https URL such as http://127.0.0.1:3000", *base)
	}
	if !loopback(u.Hostname()) && !*remote {
		return fmt.Errorf("-url %s is not on loopback; add -allow-remote to load a deployed stack (its turns spend real model tokens)", *base)
	}
	tokens, err := tokenSource(getenv, *tokensFile, *tokenCmd, *users)
	if err != nil {
		return err
	}
	opts := load.Options{URL: *base, Users: *users, Turns: *turns, Think: *think, Rate: *rate, Stream: *stream,
		Question: *question, Timeout: *timeout, Tokens: tokens}
	if f, ok := stderr.(*os.File); ok && !*noProgress && isTerminal(f) {
		opts.Progress = func(done, failed, planned int) {
			const width = 30
			n := width * done / max(planned, 1)
			fmt.Fprintf(stderr, "\r[%s%s] %d/%d turns, %d failed ", strings.Repeat("#", n), strings.Repeat(" ", width-n), done, planned, failed)
			if done == planned {
				fmt.Fprintln(stderr)
			}
		}
	}
	rep, err := load.Run(ctx, opts)
	if err != nil {
		return err
	}
	printSummary(stdout, rep)
	if *jsonOut != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(*jsonOut, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("-json: %w", err)
		}
	}
	if len(rep.Leaks) > 0 {
		return exitCode{2, fmt.Sprintf("isolation broken: %d leaks (first: user %d saw %s in its %s)", len(rep.Leaks), rep.Leaks[0].User, rep.Leaks[0].What, rep.Leaks[0].Where)}
	}
	var breaches []string
	if *maxP95 > 0 && rep.Latency.P95 > float64(maxP95.Milliseconds()) {
		breaches = append(breaches, fmt.Sprintf("p95 %.0f ms is above -max-p95 %s", rep.Latency.P95, *maxP95))
	}
	if *maxErrors >= 0 && rep.Failed > *maxErrors {
		breaches = append(breaches, fmt.Sprintf("%d turns failed, more than -max-errors %d", rep.Failed, *maxErrors))
	}
	if len(breaches) > 0 {
		return exitCode{1, strings.Join(breaches, "; ")}
	}
	return nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// tokenSource picks the identities: a file, a command, or tokens signed
// with the local server's secret.
func tokenSource(getenv func(string) string, file, command string, users int) (load.Tokens, error) {
	switch {
	case file != "" && command != "":
		return nil, errors.New("-tokens and -token-command exclude each other; use one")
	case file != "":
		f, err := os.Open(file)
		if err != nil {
			return nil, fmt.Errorf("-tokens: %w", err)
		}
		defer f.Close()
		var list []string
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			if t := strings.TrimSpace(sc.Text()); t != "" {
				list = append(list, t)
			}
		}
		if len(list) < users {
			return nil, fmt.Errorf("-tokens %s holds %d tokens for %d users; give one line per user", file, len(list), users)
		}
		return func(_ context.Context, i int) (string, error) { return list[i], nil }, nil
	case command != "":
		return func(ctx context.Context, i int) (string, error) {
			cmd := exec.CommandContext(ctx, "sh", "-c", command)
			cmd.Env = append(os.Environ(), "DATACHAT_LOAD_USER="+strconv.Itoa(i))
			out, err := cmd.Output()
			if err != nil {
				return "", fmt.Errorf("-token-command: %w", err)
			}
			t := strings.TrimSpace(string(out))
			if t == "" {
				return "", errors.New("-token-command printed no token")
			}
			return t, nil
		}, nil
	}
	secret, _, err := devSecret(getenv("AUTH_JWT_SECRET"))
	if err != nil {
		return nil, err
	}
	run := strconv.FormatInt(time.Now().Unix()%1_000_000, 36)
	now := time.Now()
	return func(_ context.Context, i int) (string, error) {
		return auth.Issue(secret, fmt.Sprintf("load-%s-%d", run, i), 24*time.Hour, now)
	}, nil
}

func printSummary(w io.Writer, r *load.Report) {
	fmt.Fprintf(w, "%d users x %d turns against %s in %.1f s: %d ok, %d failed, %.1f turns/s\n",
		r.Users, r.TurnsPerUser, r.URL, r.Seconds, r.OK, r.Failed, r.TurnsPerSecond)
	l := r.Latency
	fmt.Fprintf(w, "latency ms   p50 %.0f  p90 %.0f  p95 %.0f  p99 %.0f  max %.0f\n", l.P50, l.P90, l.P95, l.P99, l.Max)
	if f := r.FirstEvent; f != nil {
		fmt.Fprintf(w, "first event  p50 %.0f  p90 %.0f  p95 %.0f  p99 %.0f  max %.0f\n", f.P50, f.P90, f.P95, f.P99, f.Max)
	}
	fmt.Fprintf(w, "start lag ms p50 %.0f  p99 %.0f  max %.0f\n", r.StartLag.P50, r.StartLag.P99, r.StartLag.Max)
	for _, m := range []struct {
		name string
		v    map[string]int
	}{{"by status", r.ErrorsByStatus}, {"by code", r.ErrorsByCode}} {
		if len(m.v) == 0 {
			continue
		}
		keys := make([]string, 0, len(m.v))
		for k := range m.v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("%s %d", k, m.v[k])
		}
		fmt.Fprintf(w, "errors %s: %s\n", m.name, strings.Join(parts, ", "))
	}
	fmt.Fprintf(w, "stored turns %d, leaks %d\n", r.StoredTurns, len(r.Leaks))
}

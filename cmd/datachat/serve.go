package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"strconv"
	"time"

	"github.com/datachat/datachat/shared/app"
	"github.com/datachat/datachat/shared/auth"
	"github.com/datachat/datachat/shared/config"
	"github.com/datachat/datachat/shared/httpapi"
)

// localTokenTTL is how long a token of the page's local sign-in lasts.
const localTokenTTL = 12 * time.Hour

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	host := fs.String("addr", "127.0.0.1", "interface to listen on")
	demoUser := fs.String("user", "demo", "user of the token printed at start")
	metricsTo := fs.String("metrics", "", "write one CloudWatch EMF line per turn and tool call to this file (- for stdout); off when empty")
	pprofAt := fs.String("pprof", "", "serve Go's profiles (net/http/pprof) on this loopback address, such as 127.0.0.1:6060; off when empty")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if *pprofAt != "" {
		stop, err := servePprof(*pprofAt)
		if err != nil {
			return err
		}
		defer stop()
	}
	cfg, err := config.FromEnv(getenv)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))

	secret, generated, err := devSecret(cfg.AuthJWTSecret)
	if err != nil {
		return err
	}
	verifier, err := auth.NewHS256(secret, nil)
	if err != nil {
		return err
	}
	// The page's sign-in form gets the same tokens as `make token`.
	local := httpapi.TokenIssuerFunc(func(user string) (string, time.Time, error) { return verifier.Sign(user, localTokenTTL) })
	deps := app.Deps{Auth: verifier, Logger: logger, LocalTokens: local}
	switch *metricsTo {
	case "":
	case "-":
		deps.Metrics = stdout
	default:
		f, err := os.OpenFile(*metricsTo, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("-metrics: %w", err)
		}
		defer f.Close()
		deps.Metrics = f
	}
	a, err := app.New(ctx, cfg, deps)
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", net.JoinHostPort(*host, strconv.Itoa(cfg.Port)))
	if err != nil {
		return fmt.Errorf("listen: %w (set PORT to use another port)", err)
	}
	srv := &http.Server{
		Handler:           a.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		// A turn may take TurnTimeout plus the time to store it.
		WriteTimeout: cfg.TurnTimeout + cfg.SaveReserve + 5*time.Second,
		IdleTimeout:  2 * time.Minute,
		ErrorLog:     slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}

	url := "http://" + ln.Addr().String()
	tok, err := auth.Issue(secret, *demoUser, 24*time.Hour, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Open the chat page: %s/\n\n", url)
	fmt.Fprintf(stdout, "datachat listening on %s\n", url)
	for _, e := range a.Embedded {
		fmt.Fprintf(stdout, "  embedded %s\n", e)
	}
	if generated {
		fmt.Fprintf(stdout, "  AUTH_JWT_SECRET is not set: tokens are signed with the secret in %s\n", devSecretFile)
	}
	fmt.Fprintf(stdout, "\nA token for user %q (24 h; `make token USER=alice` for others):\n\n  export TOKEN=%s\n\n", *demoUser, tok)
	fmt.Fprintf(stdout, "Ask a question:\n\n  curl -s %s/chat -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' \\\n    -d '{\"message\": \"What was the average closing price of the S&P 500 in 2008?\"}'\n\n", url)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	// Let turns in flight finish, up to their own deadline.
	fmt.Fprintln(stdout, "shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.TurnTimeout+cfg.SaveReserve)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	// Queued turns still running on the in-process pool get the same time.
	if err := a.Close(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// servePprof serves the runtime's profiles on addr, which must be on
// loopback: profiles show the process's memory. It has its own mux, so
// nothing else is exposed there and nothing of pprof on the API.
func servePprof(addr string) (stop func(), err error) {
	host, _, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("-pprof %q: give a loopback address with a port, such as 127.0.0.1:6060", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("-pprof: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return func() { _ = srv.Close() }, nil
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/datachat/datachat/shared/fakemodel"
)

func fakeModel(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("fakemodel", flag.ContinueOnError)
	fs.SetOutput(stderr)
	port := fs.Int("port", 8089, "port on 127.0.0.1")
	latency := fs.Duration("latency", time.Second, "wait before each response (a turn makes two: a query call, then the answer)")
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: datachat fakemodel [-port 8089] [-latency 1s]

An OpenAI-compatible Chat Completions endpoint on 127.0.0.1 that answers
every request after -latency: first a call of the query tool, then, once
the tool's result is in the conversation, a short answer (streamed as
chunks when the request asks for a stream). Point the server at it:

  OPENAI_API_KEY=unused OPENAI_BASE_URL=http://127.0.0.1:8089/v1/ datachat serve

`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return errUsage
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(*port)))
	if err != nil {
		return fmt.Errorf("listen: %w (choose another -port)", err)
	}
	srv := &http.Server{Handler: fakemodel.New(fakemodel.Options{Latency: *latency}), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "fake model on http://%s, answering after %s\n\n  export OPENAI_API_KEY=unused OPENAI_BASE_URL=http://%s/v1/\n\n", ln.Addr(), *latency, ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}

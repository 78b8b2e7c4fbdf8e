// Command datachat runs the service locally and holds the developer tools
// around it:
//
//	datachat serve          serve the API on 127.0.0.1:$PORT (default 3000)
//	datachat token -user U  print a bearer token for user U
//	datachat table          create the conversations table on a local DynamoDB endpoint
//	datachat seed           load the sample data into the Weaviate at WEAVIATE_URL
//	datachat load           simulated users against a running server, with an isolation check
//	datachat fakemodel      an OpenAI-compatible stand-in that answers after a fixed latency
//
// Run `datachat help` for the details of each.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "datachat:", err)
		}
		var ec exitCode
		if errors.As(err, &ec) {
			os.Exit(ec.code)
		}
		os.Exit(2)
	}
}

// errUsage means the usage text was printed already.
var errUsage = errors.New("usage")

const usage = `datachat: a data-analysis chat agent, run locally.

Usage:
  datachat serve [-addr host] [-user name] [-metrics file|-]   serve the API (default command)
  datachat token [-user name] [-ttl 24h]     print a bearer token for a user
  datachat table                             create TABLE_NAME on AWS_ENDPOINT_URL_DYNAMODB
  datachat seed                              load the sample data into WEAVIATE_URL (idempotent)
  datachat load [flags]                      simulated users against a server (datachat load -help)
  datachat fakemodel [-port 8089] [-latency 1s]   an OpenAI-compatible stand-in model on 127.0.0.1
  datachat help                              show this text

Configuration comes from the environment; see README.md. With nothing set,
serve uses the sample market data, the offline model and in-process memory,
and signs tokens with a secret kept in .datachat/dev-secret.
`

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, getenv, stdout, stderr)
	case "token":
		return token(args, getenv, stdout, stderr)
	case "table":
		return table(ctx, args, getenv, stdout, stderr)
	case "seed":
		return seed(ctx, args, getenv, stdout, stderr)
	case "fakemodel":
		return fakeModel(ctx, args, stdout, stderr)
	case "load":
		return loadCmd(ctx, args, getenv, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "unknown command %q\n\n%s", cmd, usage)
	return errUsage
}

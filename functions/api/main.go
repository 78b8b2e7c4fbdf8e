// Command api is the Lambda function behind API Gateway's REST API: the
// service's handler adapted to REST (v1) proxy events. Buffered routes go
// through aws-lambda-go-api-proxy; the streamed route (POST /chat) answers
// in API Gateway's streaming shape (see streamV1). The user comes only from
// the authorizer's verified claims (see claimsAuth).
package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/datachat/datachat/shared/app"
	"github.com/datachat/datachat/shared/httpapi"
	"github.com/datachat/datachat/shared/secrets"
)

func main() {
	// Logs and metrics go to stdout: JSON lines, the EMF ones among them
	// turned into CloudWatch metrics.
	handler, err := build(os.Getenv, os.Stdout, secrets.FetchDefault)
	if err != nil {
		// Lambda reports the init failure; the log says why.
		slog.New(slog.NewJSONHandler(os.Stderr, nil)).Error("init failed", slog.String("error", err.Error()))
		os.Exit(1)
	}
	lambda.Start(handler.invoke)
}

// build is main without the process: everything a test needs to drive the
// function with real events.
func build(getenv func(string) string, logs io.Writer, fetch app.SecretFetcher) (*function, error) {
	a, _, err := app.ForLambda(getenv, logs, fetch, claimsAuth{})
	if err != nil {
		return nil, err
	}
	return &function{handler: a.Handler, proxy: httpadapter.New(a.Handler)}, nil
}

// function answers the REST API's events. It holds only what is safe to
// share between concurrent invocations.
type function struct {
	handler http.Handler
	proxy   *httpadapter.HandlerAdapter
}

// invoke answers one event: a *streamingV1 on a streamed route (which the
// runtime sends as a stream), a responseV1 on every other.
func (f *function) invoke(ctx context.Context, ev eventV1) (any, error) {
	ctx = withInvocationIDs(ctx)
	if id := ev.RequestContext.RequestID; id != "" {
		// The gateway's id, never the client's, names the request in
		// every log line.
		name := strings.ToLower(httpapi.RequestIDHeader)
		for k := range ev.Headers {
			if strings.EqualFold(k, name) {
				delete(ev.Headers, k)
			}
		}
		for k := range ev.MultiValueHeaders {
			if strings.EqualFold(k, name) {
				delete(ev.MultiValueHeaders, k)
			}
		}
		if ev.Headers == nil {
			ev.Headers = map[string]string{}
		}
		ev.Headers[name] = id
		if ev.MultiValueHeaders != nil {
			ev.MultiValueHeaders[name] = []string{id}
		}
	}
	if streamedRoute(ev) {
		// The streaming integration's timeout matches the function's
		// (template.yaml), so the invocation's deadline bounds the turn.
		return streamV1(ctx, f.handler, ev)
	}
	return f.buffered(ctx, ev)
}

func (f *function) buffered(ctx context.Context, ev eventV1) (responseV1, error) {
	ctx, cancel := gatewayDeadline(ctx, ev)
	defer cancel()
	return f.proxy.ProxyWithContext(ctx, ev)
}

// gatewayTimeout is API Gateway's integration limit for the buffered
// routes. Its clock starts when
// the request arrives, which on a cold start is before init ran, so the
// invocation's own deadline alone can leave the client with a gateway
// timeout for a turn the function then stores.
const gatewayTimeout = 29 * time.Second

// gatewayDeadline bounds ctx by the earlier of the invocation's deadline
// and the gateway's, counted from the request's arrival time. An event
// whose gateway deadline has already passed is a replay (`sam local
// invoke -e`, a test fixture), not a live request: it keeps the
// invocation's deadline only.
func gatewayDeadline(ctx context.Context, ev eventV1) (context.Context, context.CancelFunc) {
	if ev.RequestContext.RequestTimeEpoch <= 0 {
		return context.WithCancel(ctx)
	}
	d := time.UnixMilli(ev.RequestContext.RequestTimeEpoch).Add(gatewayTimeout)
	if !d.After(time.Now()) {
		return context.WithCancel(ctx)
	}
	if own, ok := ctx.Deadline(); ok && own.Before(d) {
		d = own
	}
	return context.WithDeadline(ctx, d)
}

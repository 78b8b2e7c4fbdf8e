package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"
)

type streamingV1 = events.APIGatewayProxyStreamingResponse

// streamedRoutes are the routes whose Api event in template.yaml has
// ResponseTransferMode: RESPONSE_STREAM, as "METHOD /resource".
// TestStreamedRoutesMatchTheTemplate keeps the two equal.
//
// API Gateway invokes the function for such a route with
// InvokeWithResponseStream and reads whatever it answers as a stream:
// a prelude (JSON with statusCode and headers), eight NUL bytes, then the
// body. So every answer of the route comes back in that shape, JSON and
// errors included, and no answer of another route does. Nothing in the
// invocation itself says which mode API Gateway used, so the function
// tells by the event's method and resource (the route's path template,
// such as /conversations/{id}, which neither the stage nor a custom
// domain's base path changes).
func streamedRoutes() []string { return []string{"POST /chat"} }

func streamedRoute(ev eventV1) bool {
	return slices.Contains(streamedRoutes(), ev.HTTPMethod+" "+ev.Resource)
}

// streamV1 serves ev through h and returns the answer as a REST API
// streaming response. It works like aws-lambda-go's lambdaurl.Wrap (which
// takes only Function URL events): h writes into a pipe that the Lambda
// runtime reads as it goes, and the status and headers are sent as soon
// as h writes, flushes or returns, whichever comes first. The request is
// built by aws-lambda-go-api-proxy, as for the buffered routes, so both
// see the same http.Request and the same API Gateway context.
func streamV1(ctx context.Context, h http.Handler, ev eventV1) (*streamingV1, error) {
	var accessor core.RequestAccessor
	req, err := accessor.EventToRequestWithContext(ctx, ev)
	if err != nil {
		return nil, fmt.Errorf("convert the API Gateway event to a request: %w", err)
	}
	heads := make(chan head, 1)
	body, pw := io.Pipe()
	w := &streamWriter{header: http.Header{}, body: pw, heads: heads}
	go func() {
		defer func() {
			if p := recover(); p != nil {
				// The runtime reports a read error as the invocation's
				// error, so API Gateway ends the stream instead of passing
				// on a truncated body as if it were whole.
				w.sendHead(http.StatusInternalServerError)
				pw.CloseWithError(fmt.Errorf("the handler panicked: %v", p))
				return
			}
			w.sendHead(http.StatusOK) // a handler that wrote nothing still answers
			pw.Close()
		}()
		h.ServeHTTP(w, req)
	}()
	hd := <-heads
	resp := &streamingV1{StatusCode: hd.status, Body: body}
	for k, v := range hd.header {
		if len(v) == 0 {
			continue
		}
		if resp.Headers == nil {
			resp.Headers = make(map[string]string, len(hd.header))
		}
		resp.Headers[k] = strings.Join(v, ",")
	}
	return resp, nil
}

// head is what the prelude carries.
type head struct {
	status int
	header http.Header
}

// streamWriter is the http.ResponseWriter of one streamed answer. It
// belongs to one request.
type streamWriter struct {
	header http.Header
	body   *io.PipeWriter
	once   sync.Once
	heads  chan<- head
}

func (w *streamWriter) Header() http.Header { return w.header }

func (w *streamWriter) WriteHeader(status int) { w.sendHead(status) }

func (w *streamWriter) Write(p []byte) (int, error) {
	w.sendHead(http.StatusOK)
	return w.body.Write(p)
}

// Flush sends the head if it is not sent yet. Bytes written are already
// on their way: a pipe has no buffer, each Write returns once the runtime
// has read it.
func (w *streamWriter) Flush() { w.sendHead(http.StatusOK) }

func (w *streamWriter) sendHead(status int) {
	w.once.Do(func() { w.heads <- head{status: status, header: w.header.Clone()} })
}

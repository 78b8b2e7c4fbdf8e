package openai_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/datachat/datachat/shared/chat"
	"github.com/datachat/datachat/shared/openai"
)

// recorder is an Options.Sleep that records each wait and then really
// waits, so the figures include the backoff and Retry-After honoured.
type recorder struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (r *recorder) sleep(ctx context.Context, d time.Duration) error {
	r.mu.Lock()
	r.waits = append(r.waits, d)
	r.mu.Unlock()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r *recorder) recorded() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Duration(nil), r.waits...)
}

// guard bounds every call of the matrix: far longer than any case needs,
// so it only catches a hang; the assertions use the ctx deadline.
const guard = 5 * time.Second

type faultCase struct {
	name           string
	script         []reply
	deadline       time.Duration // 0 means the guard
	wantCode       chat.Code     // "" means success
	wantAttempts   int
	wantRetryAfter int
	wantWaits      []time.Duration // exact waits asked of Sleep, when set
	wantMessage    string          // part of the caller-safe message
}

func faultCases() []faultCase {
	ok := textReply("ok")
	status := func(code int, hdr map[string]string) reply {
		return errorReply(code, "server_error", "", fmt.Sprintf("status %d from the fake", code), hdr)
	}
	times := func(n int, r reply) []reply {
		out := make([]reply, n)
		for i := range out {
			out[i] = r
		}
		return out
	}
	rateLimited := func(hdr map[string]string) reply {
		return errorReply(429, "requests", "rate_limit_exceeded", "Rate limit reached for gpt-4.1-mini on requests per min (RPM)", hdr)
	}
	lengthOnly := reply{body: completion("", "length", usage{prompt: 100, completion: 4096})}
	return []faultCase{
		{name: "429 Retry-After then success", script: []reply{rateLimited(map[string]string{"Retry-After": "1"}), ok},
			wantAttempts: 2, wantWaits: []time.Duration{time.Second}},
		{name: "429 retry-after-ms every time", script: times(3, rateLimited(map[string]string{"retry-after-ms": "20"})),
			wantCode: chat.CodeModelUnavailable, wantAttempts: 3, wantRetryAfter: 1,
			wantWaits: []time.Duration{20 * time.Millisecond, 20 * time.Millisecond}, wantMessage: "rate limiting"},
		{name: "429 Retry-After past the deadline", script: []reply{rateLimited(map[string]string{"Retry-After": "10"})},
			deadline: 300 * time.Millisecond, wantCode: chat.CodeModelUnavailable, wantAttempts: 1, wantRetryAfter: 10},
		{name: "429 insufficient_quota", script: []reply{errorReply(429, "insufficient_quota", "insufficient_quota",
			"You exceeded your current quota, please check your plan and billing details.", map[string]string{"Retry-After": "1"})},
			wantCode: chat.CodeQuotaExhausted, wantAttempts: 1, wantMessage: "quota"},
		{name: "500 then success", script: []reply{status(500, nil), ok}, wantAttempts: 2},
		{name: "500 every time", script: times(3, status(500, nil)), wantCode: chat.CodeModelError, wantAttempts: 3, wantMessage: "HTTP 500"},
		{name: "500 with x-should-retry false", script: []reply{status(500, map[string]string{"x-should-retry": "false"})},
			wantCode: chat.CodeModelError, wantAttempts: 1},
		{name: "502 HTML page every time", script: times(3, reply{status: 502, header: map[string]string{"Content-Type": "text/html"}, body: "<html><body>Bad Gateway</body></html>"}),
			wantCode: chat.CodeModelError, wantAttempts: 3},
		{name: "503 then success", script: []reply{status(503, nil), ok}, wantAttempts: 2},
		{name: "503 every time", script: times(3, status(503, nil)),
			wantCode: chat.CodeModelUnavailable, wantAttempts: 3, wantRetryAfter: 5, wantMessage: "overloaded"},
		{name: "504 every time", script: times(3, status(504, nil)), wantCode: chat.CodeModelUnavailable, wantAttempts: 3, wantRetryAfter: 5},
		{name: "408 then success", script: []reply{status(408, nil), ok}, wantAttempts: 2},
		{name: "409 then success", script: []reply{status(409, nil), ok}, wantAttempts: 2},
		{name: "connection reset then success", script: []reply{{action: reset}, ok}, wantAttempts: 2},
		{name: "connection reset every time", script: times(3, reply{action: reset}),
			wantCode: chat.CodeModelError, wantAttempts: 3, wantMessage: "could not reach"},
		{name: "truncated body then success", script: []reply{{action: truncate, body: ok.body}, ok}, wantAttempts: 2},
		{name: "truncated body every time", script: times(3, reply{action: truncate, body: ok.body}),
			wantCode: chat.CodeModelError, wantAttempts: 3, wantMessage: "could not be read"},
		{name: "invalid JSON then success", script: []reply{{body: `{"id":"chatcmpl-1","choices":[{"index":0,`}, ok}, wantAttempts: 2},
		{name: "invalid JSON every time", script: times(3, reply{body: `not json at all`}),
			wantCode: chat.CodeModelError, wantAttempts: 3, wantMessage: "could not be read"},
		{name: "400", script: []reply{errorReply(400, "invalid_request_error", "", "Invalid value for 'tools'", nil)},
			wantCode: chat.CodeModelError, wantAttempts: 1, wantMessage: "HTTP 400"},
		{name: "400 context_length_exceeded", script: []reply{errorReply(400, "invalid_request_error", "context_length_exceeded", "This model's maximum context length is 1047576 tokens.", nil)},
			wantCode: chat.CodeModelError, wantAttempts: 1, wantMessage: "start a new conversation"},
		{name: "401 echoing the key", script: []reply{errorReply(401, "invalid_request_error", "invalid_api_key",
			"Incorrect API key provided: "+testKey+". You can find your API key at https://platform.openai.com/account/api-keys.", nil)},
			wantCode: chat.CodeModelError, wantAttempts: 1, wantMessage: "refused the API key"},
		{name: "403", script: []reply{errorReply(403, "invalid_request_error", "unsupported_country_region_territory", "Country, region, or territory not supported", nil)},
			wantCode: chat.CodeModelError, wantAttempts: 1, wantMessage: "HTTP 403"},
		{name: "404", script: []reply{errorReply(404, "invalid_request_error", "model_not_found", "The model `gpt-nope` does not exist", nil)},
			wantCode: chat.CodeModelError, wantAttempts: 1, wantMessage: "HTTP 404"},
		{name: "422", script: []reply{errorReply(422, "invalid_request_error", "", "Unprocessable", nil)},
			wantCode: chat.CodeModelError, wantAttempts: 1},
		{name: "finish_reason length, nothing else", script: []reply{lengthOnly},
			wantCode: chat.CodeModelError, wantAttempts: 1, wantMessage: "output token limit"},
		{name: "stall past the deadline", script: []reply{{action: stall}},
			deadline: 300 * time.Millisecond, wantCode: chat.CodeDeadline, wantAttempts: 1},
		{name: "500 then stall past the deadline", script: []reply{status(500, nil), {action: stall}},
			deadline: 300 * time.Millisecond, wantCode: chat.CodeDeadline, wantAttempts: 2},
	}
}

// TestFaultMatrix runs each fault against the real client: the final code,
// the attempts the server saw, that Complete returned by the deadline, and
// that the key appears in no error and no log line.
func TestFaultMatrix(t *testing.T) {
	var figures []string
	for _, tc := range faultCases() {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, tc.script...)
			logs := &logBuffer{}
			rec := &recorder{}
			opts := fastOptions(f, logs)
			opts.Sleep = rec.sleep
			m := newModel(t, opts)

			deadline := tc.deadline
			if deadline == 0 {
				deadline = guard
			}
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			start := time.Now()
			resp, err := completeGuarded(t, ctx, m)
			elapsed := time.Since(start)
			attempts := f.attempts()
			figures = append(figures, fmt.Sprintf("%-36s attempts=%d elapsed=%-8s result=%s", tc.name, attempts, elapsed.Round(time.Millisecond), codeOf(err)))

			if attempts != tc.wantAttempts {
				t.Errorf("server saw %d attempts, want %d", attempts, tc.wantAttempts)
			}
			if w := rec.recorded(); tc.wantWaits != nil && fmt.Sprint(w) != fmt.Sprint(tc.wantWaits) {
				t.Errorf("waits = %v, want %v", w, tc.wantWaits)
			}
			checkNoKey(t, "log", logs.String())
			if f.attempts() > 0 && f.requests()[0].header.Get("Authorization") != "Bearer "+testKey {
				t.Errorf("the key was not sent, so the leak checks prove nothing")
			}
			if tc.wantCode == "" {
				if err != nil {
					t.Fatalf("Complete: %v, want success", err)
				}
				if resp.Message.Content != "ok" {
					t.Errorf("content = %q, want ok", resp.Message.Content)
				}
				if ctx.Err() != nil {
					t.Errorf("returned after the deadline")
				}
				return
			}
			checkError(t, err, tc.wantCode, tc.wantAttempts)
			var ce *chat.Error
			errors.As(err, &ce)
			if tc.wantRetryAfter != 0 && ce.RetryAfter != tc.wantRetryAfter {
				t.Errorf("RetryAfter = %d, want %d", ce.RetryAfter, tc.wantRetryAfter)
			}
			if !strings.Contains(ce.Message, tc.wantMessage) {
				t.Errorf("message %q does not say %q", ce.Message, tc.wantMessage)
			}
			if tc.wantCode == chat.CodeDeadline {
				// It ended because the deadline passed, and says so.
				if ctx.Err() == nil || !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("deadline error %v with ctx.Err() = %v; want both to be the deadline", err, ctx.Err())
				}
			} else if ctx.Err() != nil {
				t.Errorf("returned %s only after the deadline", tc.wantCode)
			}
		})
	}
	t.Logf("fault matrix (retries=2, backoff base 1ms):\n%s", strings.Join(figures, "\n"))
}

// TestConnectionRefused counts attempts in the transport, since no server
// sees them, and checks the injected HTTP client is the one used.
func TestConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now

	var n atomic.Int32
	client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		n.Add(1)
		return http.DefaultTransport.RoundTrip(r)
	})}
	logs := &logBuffer{}
	m := newModel(t, openai.Options{APIKey: testKey, BaseURL: "http://" + addr + "/v1/", RetryBase: time.Millisecond, HTTPClient: client,
		Logger: fastOptions(newFake(t), logs).Logger})
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	_, err = completeGuarded(t, ctx, m)
	checkError(t, err, chat.CodeModelError, 3)
	if got := n.Load(); got != 3 {
		t.Errorf("transport saw %d attempts, want 3", got)
	}
	if !strings.Contains(chat.ErrorMessage(err), "could not reach") {
		t.Errorf("message = %q", chat.ErrorMessage(err))
	}
	if c := strings.Count(logs.String(), "retrying"); c != 2 {
		t.Errorf("logged %d retries, want 2:\n%s", c, logs.String())
	}
	checkNoKey(t, "log", logs.String())
}

// TestNoRetriesWhenDisabled: a negative MaxRetries means one attempt.
func TestNoRetriesWhenDisabled(t *testing.T) {
	f := newFake(t, errorReply(503, "server_error", "", "overloaded", nil))
	opts := fastOptions(f, nil)
	opts.MaxRetries = -1
	_, err := completeGuarded(t, testContext(t), newModel(t, opts))
	checkError(t, err, chat.CodeModelUnavailable, 1)
	if f.attempts() != 1 {
		t.Errorf("server saw %d attempts, want 1", f.attempts())
	}
}

// TestCanceledBeforeStart: a done ctx sends nothing.
func TestCanceledBeforeStart(t *testing.T) {
	f := newFake(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := newModel(t, fastOptions(f, nil)).Complete(ctx, simpleRequest())
	if chat.ErrorCode(err) != chat.CodeDeadline || !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want deadline wrapping context.Canceled", err)
	}
	if f.attempts() != 0 {
		t.Errorf("server saw %d requests, want 0", f.attempts())
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func simpleRequest() chat.ModelRequest {
	return chat.ModelRequest{Messages: []chat.Message{
		{Role: chat.RoleSystem, Content: "You are terse."},
		{Role: chat.RoleUser, Content: "Say ok."},
	}}
}

// completeGuarded calls Complete and fails the test if it does not return
// within the guard, whatever ctx says.
func completeGuarded(t *testing.T, ctx context.Context, m chat.Model) (chat.ModelResponse, error) {
	t.Helper()
	type out struct {
		resp chat.ModelResponse
		err  error
	}
	done := make(chan out, 1)
	go func() {
		resp, err := m.Complete(ctx, simpleRequest())
		done <- out{resp, err}
	}()
	select {
	case o := <-done:
		return o.resp, o.err
	case <-time.After(guard + time.Second):
		t.Fatalf("Complete did not return within %s", guard)
		return chat.ModelResponse{}, nil
	}
}

// checkError checks the code, the op and attempt count for logs, and that
// no rendering of the error shows the key.
func checkError(t *testing.T, err error, code chat.Code, attempts int) {
	t.Helper()
	var ce *chat.Error
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v (%T), want *chat.Error", err, err)
	}
	if ce.Code != code {
		t.Errorf("code = %s, want %s (%v)", ce.Code, code, err)
	}
	if ce.Op != "openai.Complete" {
		t.Errorf("op = %q, want openai.Complete", ce.Op)
	}
	plural := "s"
	if attempts == 1 {
		plural = ""
	}
	if want := fmt.Sprintf("%d attempt%s", attempts, plural); !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err.Error(), want)
	}
	if ce.Message == "" || chat.ErrorMessage(err) != ce.Message {
		t.Errorf("caller-safe message = %q", chat.ErrorMessage(err))
	}
	for _, s := range []string{err.Error(), ce.Message, fmt.Sprintf("%v", err), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err), fmt.Sprintf("%#v", ce.Err)} {
		checkNoKey(t, "error", s)
	}
}

// checkNoKey fails if s holds the key or a recognisable piece of it.
func checkNoKey(t *testing.T, what, s string) {
	t.Helper()
	for _, piece := range []string{testKey, testKey[len(testKey)-8:], "sk-test"} {
		if strings.Contains(s, piece) {
			t.Errorf("%s contains the API key (%q):\n%s", what, piece, s)
		}
	}
}

func codeOf(err error) string {
	if err == nil {
		return "success"
	}
	return string(chat.ErrorCode(err))
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/datachat/datachat/shared/app"
)

// loadEvent reads one of the sample events that `sam local invoke -e` uses.
func loadEvent(t *testing.T, name string) eventV1 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "events", name))
	if err != nil {
		t.Fatal(err)
	}
	var e eventV1
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return e
}

// reply is one answer of the function, whichever shape it came in.
type reply struct {
	streamed bool
	status   int
	headers  map[string]string
	body     string
}

// call invokes the function with ev and reads its answer whole: a
// streamed one from the same bytes the runtime would send to API Gateway.
func call(t *testing.T, f *function, ev eventV1) reply {
	t.Helper()
	out, err := f.invoke(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	switch r := out.(type) {
	case responseV1:
		return bufferedReply(r)
	case *streamingV1:
		defer r.Close()
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := decodeStreamed(b)
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	t.Fatalf("the function answered a %T", out)
	return reply{}
}

// bufferedReply reads a buffered answer. The v1 adapter answers every
// header in multiValueHeaders, which API Gateway merges with headers.
func bufferedReply(r responseV1) reply {
	h := map[string]string{}
	for k, v := range r.MultiValueHeaders {
		h[k] = strings.Join(v, ",")
	}
	for k, v := range r.Headers {
		h[k] = v
	}
	return reply{status: r.StatusCode, headers: h, body: r.Body}
}

// decodeStreamed splits a streamed answer as API Gateway does: the
// prelude (JSON), eight NUL bytes, then the body.
func decodeStreamed(b []byte) (reply, error) {
	prelude, body, ok := bytes.Cut(b, make([]byte, 8))
	if !ok {
		return reply{}, fmt.Errorf("no 8-byte NUL delimiter after the prelude in %q", b)
	}
	var p struct {
		StatusCode int               `json:"statusCode"`
		Headers    map[string]string `json:"headers"`
	}
	if err := json.Unmarshal(prelude, &p); err != nil {
		return reply{}, fmt.Errorf("prelude %q: %w", prelude, err)
	}
	return reply{streamed: true, status: p.StatusCode, headers: p.Headers, body: string(body)}, nil
}

func TestEventsThroughTheProxy(t *testing.T) {
	fn, err := build(func(string) string { return "" }, io.Discard, noSecrets(t))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		event    string
		streamed bool // POST /chat is the route in STREAM mode: every answer of it streams
		status   int
		want     string
	}{
		{"chat.json", true, 200, `"answer":"The average close of the S\u0026P 500 in 2008 was 1,220.04, over 253 trading days."`},
		{"health.json", false, 200, `"status":"ok"`},
		{"chat-bad-body.json", true, 400, `"code":"invalid"`},
		// The function trusts only the authorizer: a header without claims is refused.
		{"chat-no-claims.json", true, 401, `"code":"unauthorized"`},
		{"conversation-other-user.json", false, 404, `"code":"not_found"`},
		{"conversations.json", false, 200, `"conversations":[`},
	}
	for _, tc := range cases {
		t.Run(tc.event, func(t *testing.T) {
			got := call(t, fn, loadEvent(t, tc.event))
			if got.streamed != tc.streamed {
				t.Errorf("streamed = %v, want %v", got.streamed, tc.streamed)
			}
			if got.status != tc.status || !strings.Contains(got.body, tc.want) {
				t.Fatalf("got %d %s, want %d containing %s", got.status, got.body, tc.status, tc.want)
			}
			if ct := got.headers["Content-Type"]; ct != "application/json" {
				t.Fatalf("Content-Type %q", ct)
			}
		})
	}
}

func TestConversationOfAnotherUserThroughEvents(t *testing.T) {
	fn, err := build(func(string) string { return "" }, io.Discard, noSecrets(t))
	if err != nil {
		t.Fatal(err)
	}
	chat := call(t, fn, loadEvent(t, "chat.json"))
	if chat.status != 200 {
		t.Fatalf("chat: %d %s", chat.status, chat.body)
	}
	var out struct {
		ConversationID string `json:"conversation_id"`
	}
	if err := json.Unmarshal([]byte(chat.body), &out); err != nil {
		t.Fatal(err)
	}
	get := loadEvent(t, "conversation-other-user.json")
	get.Path = "/conversations/" + out.ConversationID
	get.PathParameters = map[string]string{"id": out.ConversationID}
	for sub, status := range map[string]int{"alice": 200, "mallory": 404} {
		get.RequestContext.Authorizer = map[string]any{"claims": map[string]any{"sub": sub}}
		if got := call(t, fn, get); got.status != status {
			t.Fatalf("%s reads alice's conversation: %d %s, want %d", sub, got.status, got.body, status)
		}
	}
}

func TestIdentityFromEitherAuthorizer(t *testing.T) {
	fn, err := build(func(string) string { return "" }, io.Discard, noSecrets(t))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name       string
		authorizer map[string]any
		status     int
	}{
		{"cognito claims", map[string]any{"claims": map[string]any{"sub": "alice"}}, 200},
		// functions/authorizer puts the verified sub in principalId.
		{"lambda authorizer", map[string]any{"principalId": "alice", "integrationLatency": 12}, 200},
		{"no authorizer", nil, 401},
		{"claims without sub", map[string]any{"claims": map[string]any{"email": "a@example.com"}}, 401},
		// A Cognito context wins over a principalId: the two never mix.
		{"claims win", map[string]any{"claims": map[string]any{}, "principalId": "alice"}, 401},
		{"invalid sub", map[string]any{"principalId": "al ice"}, 401},
	}
	for _, tc := range cases {
		ev := loadEvent(t, "conversations.json")
		ev.RequestContext.Authorizer = tc.authorizer
		if got := call(t, fn, ev); got.status != tc.status {
			t.Errorf("%s: %d %s, want %d", tc.name, got.status, got.body, tc.status)
		}
	}
}

func noSecrets(t *testing.T) app.SecretFetcher {
	return func(context.Context, string) (string, error) {
		t.Error("no secret should be read without OPENAI_API_KEY_SECRET_ARN")
		return "", nil
	}
}

func TestKeyComesFromTheSecretOnce(t *testing.T) {
	const arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:openai-AbCdEf"
	calls := 0
	fetch := func(_ context.Context, got string) (string, error) {
		calls++
		if got != arn {
			t.Errorf("fetched %q, want %q", got, arn)
		}
		return "sk-test-from-secret", nil
	}
	env := map[string]string{"OPENAI_API_KEY_SECRET_ARN": arn}
	var logs strings.Builder
	if _, err := build(func(k string) string { return env[k] }, &logs, fetch); err != nil {
		t.Fatal(err)
	}
	if calls != 1 {
		t.Fatalf("secret read %d times at init, want 1", calls)
	}
	if strings.Contains(logs.String(), "offline") || strings.Contains(logs.String(), "sk-test") {
		t.Fatalf("logs mention the offline model or the key: %s", logs.String())
	}
	failing := func(context.Context, string) (string, error) { return "", errors.New("AccessDeniedException") }
	if _, err := build(func(k string) string { return env[k] }, io.Discard, failing); err == nil || !strings.Contains(err.Error(), "OpenAI key") {
		t.Fatalf("a failed secret read must fail init with a clear error, got %v", err)
	}
}

func TestGatewayDeadlineFromArrival(t *testing.T) {
	arrived := time.Now().Add(-10 * time.Second) // a cold start spent 10 s before the handler ran
	ev := loadEvent(t, "health.json")
	ev.RequestContext.RequestTimeEpoch = arrived.UnixMilli()
	lambdaCtx, cancel := context.WithTimeout(context.Background(), 29*time.Second)
	defer cancel()
	ctx, stop := gatewayDeadline(lambdaCtx, ev)
	defer stop()
	d, _ := ctx.Deadline()
	if want := arrived.Add(gatewayTimeout); d.Sub(want).Abs() > time.Millisecond {
		t.Fatalf("deadline %v, want the gateway's %v (earlier than the invocation's)", d, want)
	}
}

func TestReplayedEventKeepsTheInvocationDeadline(t *testing.T) {
	ev := loadEvent(t, "chat.json") // its timeEpoch is long past
	ctx, stop := gatewayDeadline(context.Background(), ev)
	defer stop()
	if _, ok := ctx.Deadline(); ok {
		t.Fatal("a replayed event got a deadline in the past")
	}
}

// The deployed API serves the chat page too: GET / (events/page.json) and
// its assets answer without a token, buffered, with their own types.
func TestPageThroughTheProxy(t *testing.T) {
	fn, err := build(func(string) string { return "" }, io.Discard, noSecrets(t))
	if err != nil {
		t.Fatal(err)
	}
	got := call(t, fn, loadEvent(t, "page.json"))
	if got.streamed || got.status != 200 || !strings.HasPrefix(got.headers["Content-Type"], "text/html") || !strings.Contains(got.body, `src="assets/app.js"`) {
		t.Fatalf("GET /: streamed=%v %d %q, want the page with relative asset URLs", got.streamed, got.status, got.headers["Content-Type"])
	}
	ev := loadEvent(t, "page.json")
	ev.Resource, ev.Path = "/assets/{proxy+}", "/assets/app.js"
	ev.PathParameters = map[string]string{"proxy": "app.js"}
	got = call(t, fn, ev)
	if got.status != 200 || !strings.Contains(got.headers["Content-Type"], "javascript") || len(got.body) < 1000 {
		t.Fatalf("GET /assets/app.js: %d %q (%d bytes), want the script", got.status, got.headers["Content-Type"], len(got.body))
	}
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// loadEvent reads one of the sample events that `sam local invoke -e` uses.
func loadEvent(t *testing.T, name string) eventV2 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "events", name))
	if err != nil {
		t.Fatal(err)
	}
	var e eventV2
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return e
}

func TestEventsThroughTheProxy(t *testing.T) {
	handler, err := build(func(string) string { return "" }, io.Discard, noSecrets(t))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		event  string
		status int
		want   string
	}{
		{"chat.json", 200, `"answer":"The average close of the S\u0026P 500 in 2008 was 1,220.04, over 253 trading days."`},
		{"health.json", 200, `"status":"ok"`},
		{"chat-bad-body.json", 400, `"code":"invalid"`},
		// The function trusts only the authorizer: a header without claims is refused.
		{"chat-no-claims.json", 401, `"code":"unauthorized"`},
		{"conversation-other-user.json", 404, `"code":"not_found"`},
		{"conversations.json", 200, `"conversations":[`},
	}
	for _, tc := range cases {
		t.Run(tc.event, func(t *testing.T) {
			resp, err := handler(context.Background(), loadEvent(t, tc.event))
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status || !strings.Contains(resp.Body, tc.want) {
				t.Fatalf("got %d %s, want %d containing %s", resp.StatusCode, resp.Body, tc.status, tc.want)
			}
			if ct := resp.Headers["Content-Type"]; ct != "application/json" {
				t.Fatalf("Content-Type %q", ct)
			}
		})
	}
}

func TestConversationOfAnotherUserThroughEvents(t *testing.T) {
	handler, err := build(func(string) string { return "" }, io.Discard, noSecrets(t))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := handler(context.Background(), loadEvent(t, "chat.json"))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("chat: %v %d %s", err, resp.StatusCode, resp.Body)
	}
	var out struct {
		ConversationID string `json:"conversation_id"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &out); err != nil {
		t.Fatal(err)
	}
	get := loadEvent(t, "conversation-other-user.json")
	get.RawPath = "/conversations/" + out.ConversationID
	get.RequestContext.HTTP.Path = get.RawPath
	for sub, status := range map[string]int{"alice": 200, "mallory": 404} {
		get.RequestContext.Authorizer.JWT.Claims["sub"] = sub
		resp, err := handler(context.Background(), get)
		if err != nil || resp.StatusCode != status {
			t.Fatalf("%s reads alice's conversation: %v %d %s, want %d", sub, err, resp.StatusCode, resp.Body, status)
		}
	}
}

func noSecrets(t *testing.T) secretFetcher {
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
	ev.RequestContext.TimeEpoch = arrived.UnixMilli()
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

package openai_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/datachat/datachat/shared/chat"
	"github.com/datachat/datachat/shared/openai"
)

// TestKeyNeverLeaks runs every fault with one logger at debug level and an
// agent on top, then scans everything that came out for the key.
func TestKeyNeverLeaks(t *testing.T) {
	logs := &logBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var outputs []string
	for _, tc := range faultCases() {
		f := newFake(t, tc.script...)
		opts := fastOptions(f, nil)
		opts.Logger = logger
		opts.Sleep = func(ctx context.Context, _ time.Duration) error { return ctx.Err() } // no waiting here
		m := newModel(t, opts)
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		_, err := m.Complete(ctx, simpleRequest())
		cancel()
		if err != nil {
			outputs = append(outputs, err.Error(), chat.ErrorMessage(err), fmt.Sprintf("%+v %#v", err, err))
			// What the HTTP layer will do with it: log the error as a value.
			logger.Error("turn failed", "err", err, "code", chat.ErrorCode(err))
		}
		// And what a careless caller might do with the model itself.
		logger.Info("model", "model", m)
		outputs = append(outputs, fmt.Sprintf("%v %+v %#v %s", m, m, m, m))
	}

	// Through the agent, as the chat route will see it.
	f := newFake(t, errorReply(401, "invalid_request_error", "invalid_api_key", "Incorrect API key provided: "+testKey, nil))
	opts := fastOptions(f, nil)
	opts.Logger = logger
	agent := newAgent(t, newModel(t, opts), chat.DefaultLimits())
	_, err := agent.Run(testContext(t), nil, "average close?")
	if chat.ErrorCode(err) != chat.CodeModelError {
		t.Errorf("agent error = %v, want model_error", err)
	}
	outputs = append(outputs, err.Error(), chat.ErrorMessage(err))
	logger.Error("turn failed", "err", err)

	// A key that New rejects is not echoed either.
	_, err = openai.New(openai.Options{APIKey: testKey + "\n"})
	if err == nil {
		t.Errorf("New accepted a key with a newline")
	} else {
		outputs = append(outputs, err.Error())
	}

	checkNoKey(t, "log", logs.String())
	for _, s := range outputs {
		checkNoKey(t, "output", s)
	}
	if !strings.Contains(logs.String(), "retrying") || !strings.Contains(logs.String(), "refused the API key") {
		t.Errorf("the log is missing the retries or the errors, so the scan proves little:\n%s", logs.String())
	}
}

func TestNewValidates(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts openai.Options
		want string
	}{
		{"no key", openai.Options{}, "APIKey is required"},
		{"blank key", openai.Options{APIKey: "  "}, "APIKey is required"},
		{"relative base URL", openai.Options{APIKey: testKey, BaseURL: "localhost:11434/v1"}, "BaseURL"},
		{"ftp base URL", openai.Options{APIKey: testKey, BaseURL: "ftp://example.com/v1/"}, "BaseURL"},
		{"negative output tokens", openai.Options{APIKey: testKey, MaxOutputTokens: -1}, "MaxOutputTokens"},
		{"negative backoff", openai.Options{APIKey: testKey, RetryBase: -time.Second}, "RetryBase"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := openai.New(tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New = %v, want an error about %s", err, tc.want)
			}
		})
	}
	m, err := openai.New(openai.Options{APIKey: testKey})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if m.Name() != openai.DefaultModel || openai.DefaultModel != "gpt-4.1-mini" {
		t.Errorf("default model = %q", m.Name())
	}
}

// TestNoTools: a request without tools sends neither tools nor
// parallel_tool_calls, which OpenAI rejects on its own.
func TestNoTools(t *testing.T) {
	f := newFake(t, textReply("ok"))
	opts := fastOptions(f, nil)
	opts.Model = "my-deployment"
	resp, err := newModel(t, opts).Complete(testContext(t), simpleRequest())
	if err != nil {
		t.Fatalf("Complete: %v", err)
	}
	want := chat.Usage{InputTokens: 120, OutputTokens: 30, TotalTokens: 150}
	if resp.Usage != want || resp.Message.Role != chat.RoleAssistant {
		t.Errorf("response = %+v, want usage %+v", resp, want)
	}
	r := f.requests()[0].req
	if r.Model != "my-deployment" || len(r.Tools) != 0 || r.ParallelToolCalls != nil || r.Temperature != nil {
		t.Errorf("request = %+v; want the model name, no tools, no parallel_tool_calls, no temperature", r)
	}
	if r.MaxCompletionTokens == nil || *r.MaxCompletionTokens != openai.DefaultMaxOutputTokens {
		t.Errorf("max_completion_tokens = %v, want %d", r.MaxCompletionTokens, openai.DefaultMaxOutputTokens)
	}
}

// TestCachedTokens: prompt_tokens_details.cached_tokens is reported.
func TestCachedTokens(t *testing.T) {
	f := newFake(t, reply{body: completion("ok", "stop", usage{prompt: 2048, completion: 10, cached: 1024})})
	resp, err := newModel(t, fastOptions(f, nil)).Complete(testContext(t), simpleRequest())
	if err != nil {
		t.Fatalf("Complete: %v", err)
	}
	want := chat.Usage{InputTokens: 2048, OutputTokens: 10, TotalTokens: 2058, CachedTokens: 1024}
	if resp.Usage != want {
		t.Errorf("usage = %+v, want %+v", resp.Usage, want)
	}
}

// TestConcurrentCompletes: one Model serves many turns at once; each gets
// its own answer and retries of one never disturb another.
func TestConcurrentCompletes(t *testing.T) {
	f := newFake(t)
	tried := map[string]bool{}
	f.next = func(_ int, req wireRequest) reply {
		q := req.Messages[len(req.Messages)-1].text()
		if !tried[q] {
			// Every question's first attempt is refused, so retries interleave.
			tried[q] = true
			return errorReply(503, "server_error", "", "overloaded", nil)
		}
		// Echo the question so each caller can check it got its own answer.
		return textReply("re: " + q)
	}
	m := newModel(t, fastOptions(f, nil))
	ctx := testContext(t)
	errs := make(chan error, 16)
	for i := range 16 {
		go func() {
			q := fmt.Sprintf("question %d", i)
			resp, err := m.Complete(ctx, chat.ModelRequest{Messages: []chat.Message{{Role: chat.RoleUser, Content: q}}})
			switch {
			case err != nil:
				errs <- err
			case resp.Message.Content != "re: "+q:
				errs <- fmt.Errorf("%s got %q", q, resp.Message.Content)
			default:
				errs <- nil
			}
		}()
	}
	for range 16 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if got := f.attempts(); got != 32 {
		t.Errorf("server saw %d requests, want 32 (two per question)", got)
	}
}

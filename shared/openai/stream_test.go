package openai_test

import (
	"context"
	"strings"
	"testing"

	"github.com/datachat/datachat/shared/chat"
)

// sse builds a streamed Chat Completions body from data lines.
func sse(lines ...string) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString("data: " + l + "\n\n")
	}
	return b.String()
}

const (
	chunkRole  = `{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`
	chunkHello = `{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"Hello "},"finish_reason":null}]}`
	chunkWorld = `{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"world."},"finish_reason":null}]}`
	chunkStop  = `{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`
	chunkCall  = `{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"describe","arguments":"{}"}}]},"finish_reason":null}]}`
	chunkCalls = `{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}`
	chunkUsage = `{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":11,"completion_tokens":4,"total_tokens":15}}`
)

var streamHeader = map[string]string{"Content-Type": "text/event-stream"}

func textReq(onText func(string)) chat.ModelRequest {
	return chat.ModelRequest{Messages: []chat.Message{{Role: chat.RoleUser, Content: "hi"}}, OnText: onText}
}

// TestStreamedCompletion: with OnText set the request asks for a stream
// with usage, each text delta reaches OnText in order, and the response
// (text, usage) is what the non-streamed path gives.
func TestStreamedCompletion(t *testing.T) {
	f := newFake(t, reply{header: streamHeader, body: sse(chunkRole, chunkHello, chunkWorld, chunkStop, chunkUsage, "[DONE]")})
	m := newModel(t, fastOptions(f, nil))
	var deltas []string
	resp, err := m.Complete(context.Background(), textReq(func(d string) { deltas = append(deltas, d) }))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(deltas, "|") != "Hello |world." || resp.Message.Content != "Hello world." {
		t.Errorf("deltas %q, content %q", deltas, resp.Message.Content)
	}
	if resp.Usage.InputTokens != 11 || resp.Usage.OutputTokens != 4 || resp.Usage.TotalTokens != 15 {
		t.Errorf("usage %+v, want the final chunk's", resp.Usage)
	}
	raw := string(f.requests()[0].raw)
	if !strings.Contains(raw, `"stream":true`) || !strings.Contains(raw, `"include_usage":true`) {
		t.Errorf("request %s does not ask for a stream with usage", raw)
	}
}

// TestStreamedToolCalls: tool calls assembled from the stream, no text.
func TestStreamedToolCalls(t *testing.T) {
	f := newFake(t, reply{header: streamHeader, body: sse(chunkRole, chunkCall, chunkCalls, chunkUsage, "[DONE]")})
	m := newModel(t, fastOptions(f, nil))
	resp, err := m.Complete(context.Background(), textReq(func(d string) { t.Errorf("text %q for a tool call", d) }))
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Message.ToolCalls) != 1 || resp.Message.ToolCalls[0] != (chat.ToolCall{ID: "call_1", Name: "describe", Arguments: "{}"}) {
		t.Errorf("calls %+v", resp.Message.ToolCalls)
	}
}

// TestStreamRetries: a stream cut before any text is retried like any
// other failure; one cut after text went out is not (the client already
// has that text), and fails as unreadable.
func TestStreamRetries(t *testing.T) {
	t.Run("before text", func(t *testing.T) {
		f := newFake(t,
			reply{status: 503, body: `{"error":{"message":"overloaded","type":"server_error"}}`},
			reply{header: streamHeader, body: sse(chunkRole, chunkHello, chunkStop, "[DONE]")})
		m := newModel(t, fastOptions(f, nil))
		var text string
		resp, err := m.Complete(context.Background(), textReq(func(d string) { text += d }))
		if err != nil || f.attempts() != 2 || text != "Hello " || resp.Message.Content != "Hello " {
			t.Errorf("attempts %d, text %q, resp %+v, err %v", f.attempts(), text, resp, err)
		}
	})
	t.Run("after text", func(t *testing.T) {
		// The stream ends without a finish_reason: cut by a proxy.
		f := newFake(t,
			reply{header: streamHeader, body: sse(chunkRole, chunkHello)},
			reply{header: streamHeader, body: sse(chunkRole, chunkHello, chunkStop, "[DONE]")})
		m := newModel(t, fastOptions(f, nil))
		var text string
		_, err := m.Complete(context.Background(), textReq(func(d string) { text += d }))
		if chat.ErrorCode(err) != chat.CodeModelError || f.attempts() != 1 || text != "Hello " {
			t.Errorf("attempts %d, text %q, err %v; want one attempt and model_error", f.attempts(), text, err)
		}
	})
	t.Run("truncated body", func(t *testing.T) {
		f := newFake(t,
			reply{action: truncate, header: streamHeader, body: sse(chunkRole, chunkStop, "[DONE]")},
			reply{header: streamHeader, body: sse(chunkRole, chunkWorld, chunkStop, "[DONE]")})
		m := newModel(t, fastOptions(f, nil))
		resp, err := m.Complete(context.Background(), textReq(func(string) {}))
		if err != nil || f.attempts() != 2 || resp.Message.Content != "world." {
			t.Errorf("attempts %d, resp %+v, err %v", f.attempts(), resp, err)
		}
	})
}

// TestUnstreamedWithoutListener: no OnText, no stream.
func TestUnstreamedWithoutListener(t *testing.T) {
	f := newFake(t, reply{body: `{"id":"c1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Hi."},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`})
	m := newModel(t, fastOptions(f, nil))
	if _, err := m.Complete(context.Background(), textReq(nil)); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(f.requests()[0].raw), `"stream"`) {
		t.Errorf("request %s asks for a stream", f.requests()[0].raw)
	}
}

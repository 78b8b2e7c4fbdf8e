package openai

import (
	"encoding/json"
	"testing"
)

// The adapter's decoding of a response is as lenient as the SDK's: null
// or mistyped strings and numbers read as empty or zero, and a tool call
// keeps its arguments exactly as the model wrote them.
func TestCompletionDecodesLeniently(t *testing.T) {
	body := `{"id":"x","object":"chat.completion","choices":[{"index":0,"finish_reason":"tool_calls","message":{"role":"assistant","content":null,"refusal":["not","a","string"],
		"tool_calls":[{"id":"call_1","type":"function","function":{"name":"query","arguments":"{\"collection\":\"SP500\"}"}}]}}],
		"usage":{"prompt_tokens":1712.0,"completion_tokens":"72","total_tokens":1784,"prompt_tokens_details":null},"extra":{"ignored":true}}`
	var c *completion
	if err := json.Unmarshal([]byte(body), &c); err != nil {
		t.Fatal(err)
	}
	resp, f := response(c)
	if f != nil {
		t.Fatalf("failure %+v", f)
	}
	if resp.Message.Content != "" || len(resp.Message.ToolCalls) != 1 || resp.Message.ToolCalls[0].Arguments != `{"collection":"SP500"}` || resp.Message.ToolCalls[0].Name != "query" {
		t.Fatalf("message %+v", resp.Message)
	}
	if resp.Usage.InputTokens != 1712 || resp.Usage.OutputTokens != 0 || resp.Usage.TotalTokens != 1784 {
		t.Fatalf("usage %+v", resp.Usage)
	}
	var empty *completion
	if err := json.Unmarshal([]byte(`{"choices":[]}`), &empty); err != nil {
		t.Fatal(err)
	}
	if _, f := response(empty); f == nil || f.kind != kindMalformed {
		t.Fatalf("no choices: %+v, want malformed", f)
	}
}

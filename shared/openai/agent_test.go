package openai_test

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/datachat/datachat/shared/chat"
)

const (
	aggArgs   = `{"collection":"SP500","metrics":[{"op":"mean","field":"close"}],"group_by":"year","filters":null,"sort":null,"limit":null}`
	chartArgs = `{"type":"bar","x":"year","y":"mean_close","color":null,"table":"t1","title":"Average close by year"}`
	queryArgs = `{"collection":"SP500","fields":["date","close"],"filters":[{"field":"year","op":"eq","value":2008}],"sort":null,"limit":null}`
)

func newAgent(t *testing.T, m chat.Model, limits chat.Limits) *chat.Agent {
	t.Helper()
	a, err := chat.NewAgent(m, sp500{}, limits)
	if err != nil {
		t.Fatalf("NewAgent: %v", err)
	}
	return a
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestAgentExchange drives a whole turn through chat.Agent: the model asks
// for aggregate, then chart, then answers; then a follow-up turn carries
// the first as history. The server checks what the wire carried.
func TestAgentExchange(t *testing.T) {
	const q1, q2 = "What was the average close per year? Plot it.", "And which year was lowest?"
	f := newFake(t,
		toolReply(call{"call_agg", "aggregate", aggArgs}),
		toolReply(call{"call_chart", "chart", chartArgs}),
		textReply("The average close was highest in 2007."),
		textReply("2009 was the lowest."),
	)
	temp := 0.2
	opts := fastOptions(f, nil)
	opts.Temperature = &temp
	opts.MaxOutputTokens = 1000
	agent := newAgent(t, newModel(t, opts), chat.DefaultLimits())
	ctx := testContext(t)

	res, err := agent.Run(ctx, nil, q1)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.FinishReason != chat.FinishStop || res.Answer != "The average close was highest in 2007." {
		t.Errorf("result = %q, %q; want stop with the model's answer", res.FinishReason, res.Answer)
	}
	if res.Table == nil || len(res.Table.Rows) != 3 || res.Chart == nil {
		t.Errorf("table = %+v, chart = %v; want 3 yearly rows and a chart", res.Table, res.Chart != nil)
	}
	wantUsage := chat.Usage{ModelRequests: 3, InputTokens: 420, OutputTokens: 110, TotalTokens: 530}
	if res.Usage != wantUsage {
		t.Errorf("usage = %+v, want %+v", res.Usage, wantUsage)
	}

	reqs := f.requests()
	if len(reqs) != 3 {
		t.Fatalf("server saw %d requests, want 3", len(reqs))
	}
	for i, r := range reqs {
		checkRequestBasics(t, i, r, agent.Tools())
		if r.req.Temperature == nil || *r.req.Temperature != 0.2 {
			t.Errorf("request %d: temperature = %v, want 0.2", i, r.req.Temperature)
		}
		if r.req.MaxCompletionTokens == nil || *r.req.MaxCompletionTokens != 1000 {
			t.Errorf("request %d: max_completion_tokens = %v, want 1000", i, r.req.MaxCompletionTokens)
		}
	}

	// Request 1: the system prompt and the question.
	m1 := reqs[0].req.Messages
	if len(m1) != 2 || m1[0].Role != "system" || !strings.Contains(m1[0].text(), "SP500") || m1[1].Role != "user" || m1[1].text() != q1 {
		t.Fatalf("request 1 messages = %s", dump(m1))
	}
	// Request 2: + the assistant's call and its result, tied by id.
	m2 := reqs[1].req.Messages
	if len(m2) != 4 {
		t.Fatalf("request 2 has %d messages, want 4: %s", len(m2), dump(m2))
	}
	checkCall(t, m2[2], call{"call_agg", "aggregate", aggArgs})
	checkResult(t, m2[3], "call_agg", `"table_id":"t1"`)
	// Request 3: + the chart call and its result.
	m3 := reqs[2].req.Messages
	if len(m3) != 6 {
		t.Fatalf("request 3 has %d messages, want 6: %s", len(m3), dump(m3))
	}
	if !reflect.DeepEqual(chatMessages(m3[:4]), chatMessages(m2)) {
		t.Errorf("request 3 does not repeat request 2's messages")
	}
	checkCall(t, m3[4], call{"call_chart", "chart", chartArgs})
	checkResult(t, m3[5], "call_chart", `"chart":"bar"`)

	// Turn 2: the first turn is history.
	res2, err := agent.Run(ctx, []chat.Turn{res.Turn("u1", "c1", q1)}, q2)
	if err != nil {
		t.Fatalf("Run turn 2: %v", err)
	}
	if res2.Answer != "2009 was the lowest." {
		t.Errorf("turn 2 answer = %q", res2.Answer)
	}
	reqs = f.requests()
	if len(reqs) != 4 {
		t.Fatalf("server saw %d requests, want 4", len(reqs))
	}
	m4 := reqs[3].req.Messages
	want := append(chatMessages(m3),
		chat.Message{Role: chat.RoleAssistant, Content: "The average close was highest in 2007."},
		chat.Message{Role: chat.RoleUser, Content: q2})
	if got := chatMessages(m4); !reflect.DeepEqual(got, want) {
		t.Errorf("turn 2 request messages:\n got %s\nwant %s", dumpChat(got), dumpChat(want))
	}
}

// TestParallelToolCalls sends two calls in one response; both results go
// back, in order, each with its call's id.
func TestParallelToolCalls(t *testing.T) {
	f := newFake(t,
		toolReply(call{"call_a", "aggregate", aggArgs}, call{"call_q", "query", queryArgs}),
		textReply("done"),
	)
	agent := newAgent(t, newModel(t, fastOptions(f, nil)), chat.DefaultLimits())
	res, err := agent.Run(testContext(t), nil, "Yearly averages, and the 2008 rows.")
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.FinishReason != chat.FinishStop {
		t.Errorf("finish = %s, want stop", res.FinishReason)
	}
	reqs := f.requests()
	if len(reqs) != 2 {
		t.Fatalf("server saw %d requests, want 2", len(reqs))
	}
	if p := reqs[0].req.ParallelToolCalls; p == nil || !*p {
		t.Errorf("parallel_tool_calls = %v, want true", p)
	}
	m := reqs[1].req.Messages
	if len(m) != 5 {
		t.Fatalf("request 2 has %d messages, want 5: %s", len(m), dump(m))
	}
	if len(m[2].ToolCalls) != 2 {
		t.Fatalf("assistant message carries %d calls, want 2", len(m[2].ToolCalls))
	}
	checkResult(t, m[3], "call_a", `"table_id":"t1"`)
	checkResult(t, m[4], "call_q", `"table_id":"t2"`)
	if !strings.Contains(m[4].text(), `"total_rows":12`) {
		t.Errorf("query result should hold the 12 rows of 2008: %s", m[4].text())
	}
}

// TestInvalidToolArgumentsPassThrough: arguments that are not JSON reach
// the agent unchanged, which answers the model with a tool error.
func TestInvalidToolArgumentsPassThrough(t *testing.T) {
	const bad = `{"collection":"SP500","metrics":[{"op":"mean"`
	f := newFake(t, toolReply(call{"call_bad", "aggregate", bad}), textReply("sorry"))
	agent := newAgent(t, newModel(t, fastOptions(f, nil)), chat.DefaultLimits())
	if _, err := agent.Run(testContext(t), nil, "average close?"); err != nil {
		t.Fatalf("Run: %v", err)
	}
	m := f.requests()[1].req.Messages
	checkCall(t, m[2], call{"call_bad", "aggregate", bad})
	checkResult(t, m[3], "call_bad", "not valid JSON")
}

func checkRequestBasics(t *testing.T, i int, r seen, tools []chat.ToolSpec) {
	t.Helper()
	if got := r.header.Get("Authorization"); got != "Bearer "+testKey {
		t.Errorf("request %d: Authorization header does not carry the key", i)
	}
	if r.req.Model != "gpt-4.1-mini" {
		t.Errorf("request %d: model = %q, want the default gpt-4.1-mini", i, r.req.Model)
	}
	if r.req.Stream != nil && *r.req.Stream {
		t.Errorf("request %d: stream = true, want a plain completion", i)
	}
	if p := r.req.ParallelToolCalls; p == nil || !*p {
		t.Errorf("request %d: parallel_tool_calls = %v, want true", i, p)
	}
	if len(r.req.Tools) != len(tools) {
		t.Fatalf("request %d declares %d tools, want %d", i, len(r.req.Tools), len(tools))
	}
	for j, wt := range r.req.Tools {
		spec := tools[j]
		if wt.Type != "function" || wt.Function.Name != spec.Name || wt.Function.Description != spec.Description {
			t.Errorf("request %d tool %d = %s %q, want function %q", i, j, wt.Type, wt.Function.Name, spec.Name)
		}
		if wt.Function.Strict == nil || !*wt.Function.Strict {
			t.Errorf("request %d tool %s: strict = %v, want true", i, spec.Name, wt.Function.Strict)
		}
		if !jsonEqual(t, wt.Function.Parameters, spec.Parameters) {
			t.Errorf("request %d tool %s: parameters\n got %s\nwant %s", i, spec.Name, wt.Function.Parameters, spec.Parameters)
		}
	}
}

func checkCall(t *testing.T, m wireMessage, c call) {
	t.Helper()
	if m.Role != "assistant" || len(m.ToolCalls) != 1 {
		t.Fatalf("want an assistant message with one call, got %s", dump([]wireMessage{m}))
	}
	tc := m.ToolCalls[0]
	if tc.ID != c.id || tc.Type != "function" || tc.Function.Name != c.name || tc.Function.Arguments != c.args {
		t.Errorf("call = %+v, want %+v", tc, c)
	}
}

func checkResult(t *testing.T, m wireMessage, id, contains string) {
	t.Helper()
	if m.Role != "tool" || m.ToolCallID != id {
		t.Errorf("want tool message for %s, got role %s id %q", id, m.Role, m.ToolCallID)
	}
	if !strings.Contains(m.text(), contains) {
		t.Errorf("tool result for %s = %s; want it to contain %s", id, m.text(), contains)
	}
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Errorf("not JSON: %s", a)
		return false
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Errorf("not JSON: %s", b)
		return false
	}
	return reflect.DeepEqual(x, y)
}

func chatMessages(ms []wireMessage) []chat.Message {
	out := make([]chat.Message, len(ms))
	for i, m := range ms {
		out[i] = m.chat()
	}
	return out
}

func dump(ms []wireMessage) string { return dumpChat(chatMessages(ms)) }

func dumpChat(ms []chat.Message) string {
	b, _ := json.MarshalIndent(ms, "", "  ")
	return string(b)
}

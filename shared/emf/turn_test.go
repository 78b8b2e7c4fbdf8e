package emf_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/datachat/datachat/shared/chat"
	"github.com/datachat/datachat/shared/emf"
	"github.com/datachat/datachat/shared/reqlog"
)

// clock advances by step on every reading, so latencies are known.
func clock(step time.Duration) func() time.Time {
	now := t0
	return func() time.Time { now = now.Add(step); return now }
}

func lines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var docs []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if err := emf.Validate([]byte(l)); err != nil {
			t.Fatalf("%v in %s", err, l)
		}
		var m map[string]any
		_ = json.Unmarshal([]byte(l), &m)
		docs = append(docs, m)
	}
	return docs
}

func TestATurnsLines(t *testing.T) {
	var buf bytes.Buffer
	now := clock(10 * time.Millisecond)
	turns := emf.NewTurns(&buf, "gpt-test", now, nil)
	ctx := reqlog.With(context.Background(), reqlog.IDs{Request: "req-1", Trace: "Root=1-x"})
	ev := chat.NewEvents(turns.Turn(ctx, "POST /chat", "alice"), now)
	ev.Emit(chat.Event{Kind: chat.EventRunStarted, Run: &chat.RunInfo{ConversationID: "c-1", Turn: 1}})
	ev.Emit(chat.Event{Kind: chat.EventModelRequest, Step: &chat.StepInfo{Request: 1}})
	ev.Emit(chat.Event{Kind: chat.EventModelResponse, Step: &chat.StepInfo{Request: 1, Usage: chat.Usage{ModelRequests: 1, InputTokens: 100, OutputTokens: 10, TotalTokens: 110}}})
	ev.Emit(chat.Event{Kind: chat.EventToolStarted, Tool: &chat.ToolEvent{ID: "t1", Name: "query", Arguments: `{"secret":"question text"}`}})
	ev.Emit(chat.Event{Kind: chat.EventToolEnded, Tool: &chat.ToolEvent{ID: "t1", Name: "query", Rows: 7, Total: 9, Content: "rows of data"}})
	ev.Emit(chat.Event{Kind: chat.EventModelRequest, Step: &chat.StepInfo{Request: 2}})
	ev.Emit(chat.Event{Kind: chat.EventModelResponse, Step: &chat.StepInfo{Request: 2, Usage: chat.Usage{ModelRequests: 2, InputTokens: 250, OutputTokens: 30, TotalTokens: 280}}})
	ev.Emit(chat.Event{Kind: chat.EventFinished, Turn: &chat.Turn{ConversationID: "c-1", Seq: 1, Question: "question text", Answer: "the answer",
		Usage: chat.Usage{ModelRequests: 2, InputTokens: 250, OutputTokens: 30, TotalTokens: 280}, FinishReason: chat.FinishUsageLimit, Limit: chat.LimitTotalTokens}})

	if strings.Contains(buf.String(), "question text") || strings.Contains(buf.String(), "the answer") || strings.Contains(buf.String(), "rows of data") {
		t.Errorf("a line holds message content:\n%s", buf.String())
	}
	docs := lines(t, buf.String())
	if len(docs) != 2 {
		t.Fatalf("got %d lines, want a tool line and a turn line:\n%s", len(docs), buf.String())
	}
	tool, turn := docs[0], docs[1]
	if tool["Tool"] != "query" || tool["ToolLatency"] != 10.0 || tool["ToolErrors"] != 0.0 || tool["request_id"] != "req-1" {
		t.Errorf("tool line: %v", tool)
	}
	// The clock ticks 10 ms per reading: the recorder's start, then one per event.
	want := map[string]any{
		"TurnLatency": 80.0, "ModelLatency": []any{10.0, 10.0}, "ModelRequests": 2.0, "InputTokens": 250.0, "OutputTokens": 30.0,
		"Rows": 7.0, "UsageLimitHit": 1.0, "Deadline": 0.0, "Errors": 0.0, "ColdStart": 1.0, "ModelErrors": 0.0,
		"Route": "POST /chat", "Model": "gpt-test", "request_id": "req-1", "trace_id": "Root=1-x",
		"user_id": "alice", "conversation_id": "c-1", "finish_reason": "usage_limit", "limit": "total_tokens",
	}
	for k, v := range want {
		if got, _ := json.Marshal(turn[k]); string(got) != mustJSON(v) {
			t.Errorf("%s = %s, want %s", k, got, mustJSON(v))
		}
	}
	for _, d := range dimensionNames(turn) {
		if d != emf.DimRoute && d != emf.DimModel && d != emf.DimErrorCode {
			t.Errorf("dimension %q is not one of the low-cardinality ones", d)
		}
	}

	// A second turn of the instance is not a cold start; a failed one
	// counts its error by code.
	buf.Reset()
	ev = chat.NewEvents(turns.Turn(ctx, "POST /chat", "bob"), now)
	ev.Emit(chat.Event{Kind: chat.EventModelRequest, Step: &chat.StepInfo{Request: 1}})
	ev.Emit(chat.Event{Kind: chat.EventFailed, Err: &chat.Error{Code: chat.CodeModelUnavailable}})
	failed := lines(t, buf.String())[0]
	for k, v := range map[string]any{"ColdStart": 0.0, "Errors": 1.0, "ModelErrors": 1.0, "ErrorCode": "model_unavailable", "error_code": "model_unavailable"} {
		if failed[k] != v {
			t.Errorf("failed turn: %s = %v, want %v", k, failed[k], v)
		}
	}
	if _, ok := failed["ModelLatency"]; ok {
		t.Errorf("a model request that never answered has a latency: %v", failed)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// dimensionNames lists every dimension key a line's directives use.
func dimensionNames(doc map[string]any) []string {
	var out []string
	aws, _ := doc["_aws"].(map[string]any)
	dirs, _ := aws["CloudWatchMetrics"].([]any)
	for _, d := range dirs {
		sets, _ := d.(map[string]any)["Dimensions"].([]any)
		for _, s := range sets {
			for _, k := range s.([]any) {
				out = append(out, k.(string))
			}
		}
	}
	return out
}

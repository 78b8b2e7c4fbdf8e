package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/datachat/datachat/shared/emf"
)

// TestMetricsUnderTheLambdaRuntimeEmulator runs a chat turn through the
// built function under the emulator and reads what the function wrote:
// its EMF lines must satisfy the specification and match the turn's
// usage, no user id may be a dimension, and no message text may appear
// in any line. It posts the REST v1 event of events/chat.json.
func TestMetricsUnderTheLambdaRuntimeEmulator(t *testing.T) {
	em := startEmulator(t, rieBinary(t), buildBootstrap(t))
	event := readEvent(t, "chat.json")
	resp := em.invoke(t, event)
	if resp.status != 200 {
		t.Fatalf("chat: %d %s", resp.status, resp.body)
	}
	var answer struct {
		Question, Answer string
		Usage            struct {
			ModelRequests int `json:"model_requests"`
			InputTokens   int `json:"input_tokens"`
			OutputTokens  int `json:"output_tokens"`
		}
		Table *struct{ Rows [][]any }
	}
	if err := json.Unmarshal([]byte(resp.body), &answer); err != nil {
		t.Fatal(err)
	}
	em.invoke(t, readEvent(t, "chat-bad-body.json"))
	logs := em.logs.String()

	var turns, tools, failed []map[string]any
	for _, line := range strings.Split(logs, "\n") {
		if !strings.Contains(line, `"_aws"`) {
			continue
		}
		if err := emf.Validate([]byte(line)); err != nil {
			t.Errorf("%v: %s", err, line)
			continue
		}
		var doc map[string]any
		_ = json.Unmarshal([]byte(line), &doc)
		for _, dim := range lineDimensions(doc) {
			if v, _ := doc[dim].(string); v == "alice" || dim == "user_id" || dim == "conversation_id" || dim == "request_id" {
				t.Errorf("dimension %s=%v names a user, conversation or request: %s", dim, doc[dim], line)
			}
		}
		switch {
		case doc[emf.DimTool] != nil:
			tools = append(tools, doc)
		case doc[emf.DimErrorCode] != nil:
			failed = append(failed, doc)
		default:
			turns = append(turns, doc)
		}
	}
	if len(turns) != 1 || len(failed) != 1 || len(tools) == 0 {
		t.Fatalf("got %d turn lines, %d failed-turn lines, %d tool lines; want 1, 1, at least 1:\n%s", len(turns), len(failed), len(tools), logs)
	}
	turn := turns[0]
	want := map[string]float64{
		emf.ModelRequests: float64(answer.Usage.ModelRequests), emf.InputTokens: float64(answer.Usage.InputTokens),
		emf.OutputTokens: float64(answer.Usage.OutputTokens), emf.Errors: 0, emf.ColdStart: 1, emf.UsageLimitHit: 0, emf.Deadline: 0,
	}
	if answer.Table != nil {
		want[emf.Rows] = float64(len(answer.Table.Rows))
	}
	for k, v := range want {
		if turn[k] != v {
			t.Errorf("turn line %s = %v, want %v", k, turn[k], v)
		}
	}
	if lat, _ := turn[emf.TurnLatency].(float64); lat <= 0 {
		t.Errorf("TurnLatency = %v, want > 0", turn[emf.TurnLatency])
	}
	if turn["user_id"] != "alice" || turn["request_id"] == "" || turn["request_id"] == nil || turn[emf.DimRoute] != "POST /chat" || turn[emf.DimModel] != "offline" {
		t.Errorf("turn line properties: %v", turn)
	}
	if failed[0]["ErrorCode"] != "invalid" || failed[0][emf.ColdStart] != 0.0 {
		t.Errorf("failed turn line: %v", failed[0])
	}
	for _, text := range []string{answer.Question, answer.Answer, "S&P 500", "closing price"} {
		if strings.Contains(logs, text) {
			t.Errorf("the logs hold message text %q:\n%s", text, logs)
		}
	}
	// Every line the function logged about the request names it.
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, `"msg":"request"`) && !strings.Contains(line, `"request_id":"`) {
			t.Errorf("a log line without request_id: %s", line)
		}
	}
}

func lineDimensions(doc map[string]any) []string {
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

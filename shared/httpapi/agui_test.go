package httpapi

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/datachat/datachat/shared/chat"
)

// TestAGUIEncoder checks what the encoder must add to the turn's events:
// a text message opened before its first fragment and closed when the
// response ends (or when the next request's text begins), tool errors
// without rows, and RUN_ERROR's code and message.
func TestAGUIEncoder(t *testing.T) {
	at := time.UnixMilli(1700000000000)
	events := []chat.Event{
		{Seq: 1, Kind: chat.EventRunStarted, Run: &chat.RunInfo{ConversationID: "c1", Turn: 2, RunID: "r1"}},
		{Seq: 2, Kind: chat.EventModelRequest, Step: &chat.StepInfo{Request: 1}},
		{Seq: 3, Kind: chat.EventText, Text: &chat.TextDelta{Request: 1, Delta: "Let me look. "}},
		{Seq: 4, Kind: chat.EventModelResponse, Step: &chat.StepInfo{Request: 1, Usage: chat.Usage{ModelRequests: 1, TotalTokens: 10}}},
		{Seq: 5, Kind: chat.EventToolStarted, Tool: &chat.ToolEvent{ID: "k1", Name: "query"}},
		{Seq: 6, Kind: chat.EventToolEnded, Tool: &chat.ToolEvent{ID: "k1", Name: "query", Error: `{"error":"no field x"}`}},
		{Seq: 7, Kind: chat.EventText, Text: &chat.TextDelta{Request: 2, Delta: "Sorry"}},
		{Seq: 8, Kind: chat.EventText, Text: &chat.TextDelta{Request: 3, Delta: "Again"}},
		{Seq: 9, Kind: chat.EventFailed, Err: &chat.Error{Code: chat.CodeModelUnavailable, Message: "overloaded", RetryAfter: 3}},
	}
	for i := range events {
		events[i].Time = at
	}
	var got []string
	for _, a := range EncodeAGUI(events) {
		b, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(b))
	}
	want := []string{
		`{"type":"RUN_STARTED","timestamp":1700000000000,"threadId":"c1","runId":"r1","metadata":{"seq":1,"turn":2}}`,
		`{"type":"STEP_STARTED","timestamp":1700000000000,"stepName":"model_request_1","metadata":{"seq":2,"request":1,"usage":{"model_requests":0,"input_tokens":0,"output_tokens":0,"total_tokens":0}}}`,
		`{"type":"TEXT_MESSAGE_START","timestamp":1700000000000,"messageId":"r1-text-1","role":"assistant","metadata":{"seq":3,"request":1}}`,
		`{"type":"TEXT_MESSAGE_CONTENT","timestamp":1700000000000,"messageId":"r1-text-1","delta":"Let me look. ","metadata":{"seq":3,"request":1}}`,
		`{"type":"TEXT_MESSAGE_END","timestamp":1700000000000,"messageId":"r1-text-1","metadata":{"seq":4,"request":1}}`,
		`{"type":"STEP_FINISHED","timestamp":1700000000000,"stepName":"model_request_1","metadata":{"seq":4,"request":1,"usage":{"model_requests":1,"input_tokens":0,"output_tokens":0,"total_tokens":10}}}`,
		`{"type":"CUSTOM","timestamp":1700000000000,"name":"usage","value":{"model_requests":1,"input_tokens":0,"output_tokens":0,"total_tokens":10},"metadata":{"seq":4}}`,
		`{"type":"TOOL_CALL_START","timestamp":1700000000000,"toolCallId":"k1","toolCallName":"query","metadata":{"seq":5}}`,
		`{"type":"TOOL_CALL_END","timestamp":1700000000000,"toolCallId":"k1","metadata":{"seq":5}}`,
		`{"type":"TOOL_CALL_RESULT","timestamp":1700000000000,"messageId":"r1-result-k1","role":"tool","toolCallId":"k1","content":"{\"error\":\"no field x\"}","metadata":{"seq":6,"error":"{\"error\":\"no field x\"}"}}`,
		`{"type":"TEXT_MESSAGE_START","timestamp":1700000000000,"messageId":"r1-text-2","role":"assistant","metadata":{"seq":7,"request":2}}`,
		`{"type":"TEXT_MESSAGE_CONTENT","timestamp":1700000000000,"messageId":"r1-text-2","delta":"Sorry","metadata":{"seq":7,"request":2}}`,
		`{"type":"TEXT_MESSAGE_END","timestamp":1700000000000,"messageId":"r1-text-2","metadata":{"seq":8,"request":2}}`,
		`{"type":"TEXT_MESSAGE_START","timestamp":1700000000000,"messageId":"r1-text-3","role":"assistant","metadata":{"seq":8,"request":3}}`,
		`{"type":"TEXT_MESSAGE_CONTENT","timestamp":1700000000000,"messageId":"r1-text-3","delta":"Again","metadata":{"seq":8,"request":3}}`,
		`{"type":"TEXT_MESSAGE_END","timestamp":1700000000000,"messageId":"r1-text-3","metadata":{"seq":9,"request":3}}`,
		`{"type":"RUN_ERROR","timestamp":1700000000000,"code":"model_unavailable","message":"overloaded","metadata":{"seq":9,"retryAfter":3}}`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestWantsStream(t *testing.T) {
	for accept, want := range map[string]bool{
		"":                                    false,
		"application/json":                    false,
		"text/event-stream":                   true,
		"application/json, text/event-stream": true,
		"text/event-stream;q=0":               false,
		"*/*":                                 false,
	} {
		r, _ := http.NewRequest("POST", "/chat", nil)
		if accept != "" {
			r.Header.Set("Accept", accept)
		}
		if got := wantsStream(r); got != want {
			t.Errorf("Accept %q: %v, want %v", accept, got, want)
		}
	}
}

// A stream's events are capped like the JSON answer: a table event by
// bytes (marked truncated, total rows kept), a tool result's content to
// maxToolContentBytes.
func TestStreamedEventsAreCapped(t *testing.T) {
	wide := strings.Repeat("x", 14<<10)
	tbl := &chat.Table{ID: "t1", Columns: []chat.Column{{Name: "w", Type: "string"}}, TotalRows: 500}
	for range 500 {
		tbl.Rows = append(tbl.Rows, []any{wide})
	}
	events := EncodeAGUI([]chat.Event{
		{Seq: 1, Kind: chat.EventRunStarted, Run: &chat.RunInfo{ConversationID: "c", Turn: 1, RunID: "r"}},
		{Seq: 2, Kind: chat.EventToolEnded, Tool: &chat.ToolEvent{ID: "call", Name: "query", Content: "é" + wide + wide}},
		{Seq: 3, Kind: chat.EventTable, Table: tbl},
	})
	for _, e := range events {
		b, _ := json.Marshal(e)
		if len(b) > chat.MaxTableBytes+4<<10 {
			t.Errorf("%s event is %d bytes, over the table cap", e.Type, len(b))
		}
		if e.Type == aguiToolCallResult && (!strings.Contains(*e.Content, "more bytes not shown") || !utf8.ValidString(*e.Content)) {
			t.Errorf("tool content not cut on a character boundary with a note: %d bytes", len(*e.Content))
		}
		if e.Type == aguiCustom {
			got := e.Value.(*chat.Table)
			if !got.Truncated || got.TotalRows != 500 || len(got.Rows) == 0 || len(got.Rows) == 500 {
				t.Errorf("table event: truncated %v, total %d, %d rows", got.Truncated, got.TotalRows, len(got.Rows))
			}
		}
	}
	if len(tbl.Rows) != 500 {
		t.Fatal("capping changed the turn's own table")
	}
}

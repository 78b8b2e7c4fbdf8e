package chattest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/datachat/datachat/shared/chat"
)

// Pace is how a CompletionServer's model takes its time.
type Pace struct {
	Think time.Duration // before the first byte of each response
	Chunk time.Duration // between the chunks of a streamed response
	// BeforeChunk, when set, runs before chunk i (0-based) of streamed
	// response n (1-based) is sent; a test blocks in it to hold a response
	// open at a known point.
	BeforeChunk func(n, i int)
}

// CompletionServer is a real HTTP server speaking the Chat Completions
// wire format, streamed (stream: true, chunks and a final usage chunk)
// or not. What it answers comes from a planner (a chat.Model, such as
// the offline one), so the OpenAI adapter can be driven through whole
// agent turns over a real connection, at the pace the test sets.
type CompletionServer struct {
	URL string // the base URL for the client, ending in /v1/

	tb      testing.TB
	planner chat.Model
	pace    Pace

	mu       sync.Mutex
	requests int
	streamed int
}

// NewCompletionServer starts a server answering with planner's
// completions at pace, closed when the test ends.
func NewCompletionServer(tb testing.TB, planner chat.Model, pace Pace) *CompletionServer {
	tb.Helper()
	s := &CompletionServer{tb: tb, planner: planner, pace: pace}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	tb.Cleanup(srv.Close)
	s.URL = srv.URL + "/v1/"
	return s
}

// Requests returns how many requests arrived and how many asked to stream.
func (s *CompletionServer) Requests() (all, streamed int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests, s.streamed
}

type wireMessage struct {
	Role       string          `json:"role"`
	Content    json.RawMessage `json:"content"`
	ToolCallID string          `json:"tool_call_id"`
	ToolCalls  []struct {
		ID       string `json:"id"`
		Function struct {
			Name      string `json:"name"`
			Arguments string `json:"arguments"`
		} `json:"function"`
	} `json:"tool_calls"`
}

type wireRequest struct {
	Messages []wireMessage `json:"messages"`
	Tools    []struct {
		Function struct {
			Name        string          `json:"name"`
			Description string          `json:"description"`
			Parameters  json.RawMessage `json:"parameters"`
		} `json:"function"`
	} `json:"tools"`
	Stream        bool `json:"stream"`
	StreamOptions struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
}

func (s *CompletionServer) serve(w http.ResponseWriter, r *http.Request) {
	var wr wireRequest
	if err := json.NewDecoder(r.Body).Decode(&wr); err != nil || r.URL.Path != "/v1/chat/completions" {
		http.Error(w, `{"error":{"message":"bad request","type":"invalid_request_error"}}`, http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.requests++
	n := s.requests
	if wr.Stream {
		s.streamed++
	}
	s.mu.Unlock()

	req := chat.ModelRequest{}
	for _, m := range wr.Messages {
		msg := chat.Message{Role: chat.Role(m.Role), ToolCallID: m.ToolCallID}
		_ = json.Unmarshal(m.Content, &msg.Content) // a string; null for calls only
		for _, c := range m.ToolCalls {
			msg.ToolCalls = append(msg.ToolCalls, chat.ToolCall{ID: c.ID, Name: c.Function.Name, Arguments: c.Function.Arguments})
		}
		req.Messages = append(req.Messages, msg)
	}
	for _, t := range wr.Tools {
		req.Tools = append(req.Tools, chat.ToolSpec{Name: t.Function.Name, Description: t.Function.Description, Parameters: t.Function.Parameters})
	}
	resp, err := s.planner.Complete(r.Context(), req)
	if err != nil {
		http.Error(w, fmt.Sprintf(`{"error":{"message":%q,"type":"server_error"}}`, err.Error()), http.StatusInternalServerError)
		return
	}
	if !sleep(r, s.pace.Think) {
		return
	}
	finish := "stop"
	if len(resp.Message.ToolCalls) > 0 {
		finish = "tool_calls"
	}
	usage := map[string]int{"prompt_tokens": resp.Usage.InputTokens, "completion_tokens": resp.Usage.OutputTokens, "total_tokens": resp.Usage.TotalTokens}
	id := fmt.Sprintf("chatcmpl-%d", n)
	if !wr.Stream {
		msg := map[string]any{"role": "assistant", "content": resp.Message.Content}
		if len(resp.Message.ToolCalls) > 0 {
			msg["content"] = nil
			msg["tool_calls"] = wireCalls(resp.Message.ToolCalls)
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"id": id, "object": "chat.completion", "created": 1, "model": "fake",
			"choices": []any{map[string]any{"index": 0, "message": msg, "finish_reason": finish}},
			"usage":   usage,
		})
		return
	}

	var chunks []map[string]any
	delta := func(d map[string]any, finish any) {
		chunks = append(chunks, map[string]any{"id": id, "object": "chat.completion.chunk", "created": 1, "model": "fake",
			"choices": []any{map[string]any{"index": 0, "delta": d, "finish_reason": finish}}})
	}
	delta(map[string]any{"role": "assistant", "content": ""}, nil)
	for i, c := range resp.Message.ToolCalls {
		delta(map[string]any{"tool_calls": []any{map[string]any{"index": i, "id": c.ID, "type": "function", "function": map[string]any{"name": c.Name, "arguments": ""}}}}, nil)
		for _, part := range split(c.Arguments, 3) {
			delta(map[string]any{"tool_calls": []any{map[string]any{"index": i, "function": map[string]any{"arguments": part}}}}, nil)
		}
	}
	for _, part := range split(resp.Message.Content, 0) {
		delta(map[string]any{"content": part}, nil)
	}
	delta(map[string]any{}, finish)
	if wr.StreamOptions.IncludeUsage {
		chunks = append(chunks, map[string]any{"id": id, "object": "chat.completion.chunk", "created": 1, "model": "fake", "choices": []any{}, "usage": usage})
	}

	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	for i, c := range chunks {
		if s.pace.BeforeChunk != nil {
			s.pace.BeforeChunk(n, i)
		}
		if i > 0 && !sleep(r, s.pace.Chunk) {
			return
		}
		b, _ := json.Marshal(c)
		if _, err := fmt.Fprintf(w, "data: %s\n\n", b); err != nil {
			return
		}
		_ = rc.Flush()
	}
	_, _ = io.WriteString(w, "data: [DONE]\n\n")
	_ = rc.Flush()
}

func wireCalls(calls []chat.ToolCall) []any {
	out := make([]any, len(calls))
	for i, c := range calls {
		out[i] = map[string]any{"id": c.ID, "type": "function", "function": map[string]any{"name": c.Name, "arguments": c.Arguments}}
	}
	return out
}

// split cuts s into n pieces (n 0: at every space, keeping the space), as
// a model streams tokens.
func split(s string, n int) []string {
	if s == "" {
		return nil
	}
	if n == 0 {
		return strings.SplitAfter(s, " ")
	}
	var out []string
	size := (len(s) + n - 1) / n
	for len(s) > size {
		out = append(out, s[:size])
		s = s[size:]
	}
	return append(out, s)
}

func sleep(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

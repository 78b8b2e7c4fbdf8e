// Package fakemodel is a stand-in for an OpenAI-compatible Chat
// Completions endpoint that answers after a fixed latency, so a load test
// measures the service rather than a provider, and anyone can reproduce
// the figures without a key. A turn through it is realistic: while the
// conversation has no tool result since the user's message, it calls the
// query tool (when the request declares it); then it answers in text.
// Streaming requests get the same reply as server-sent chunks.
package fakemodel

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// Options configure the handler.
type Options struct {
	// Latency is how long each response waits before it is sent (the
	// whole reply at once, or the first chunk of a stream).
	Latency time.Duration
	// QueryArgs are the arguments of the query call; DefaultQueryArgs when
	// empty (a month of the sample S&P 500 data).
	QueryArgs string
}

// DefaultQueryArgs fetch one month of the sample data's S&P 500 closes.
const DefaultQueryArgs = `{"collection":"SP500","fields":["date","close"],"filters":[{"field":"date","op":"gte","value":"2008-01-01"},{"field":"date","op":"lt","value":"2008-02-01"}],"sort":null,"limit":null}`

// Handler answers POST /chat/completions (and /v1/chat/completions).
type Handler struct {
	opts Options
	// ids numbers tool calls and completions; only incremented.
	ids atomic.Int64
}

// New returns the handler.
func New(opts Options) *Handler {
	if opts.QueryArgs == "" {
		opts.QueryArgs = DefaultQueryArgs
	}
	return &Handler{opts: opts}
}

type request struct {
	Model    string `json:"model"`
	Messages []struct {
		Role string `json:"role"`
	} `json:"messages"`
	Tools []struct {
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	} `json:"tools"`
	Stream        bool `json:"stream"`
	StreamOptions struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
}

type toolCall struct {
	Index    int    `json:"index"`
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

type message struct {
	Role      string     `json:"role,omitempty"`
	Content   *string    `json:"content"`
	ToolCalls []toolCall `json:"tool_calls,omitempty"`
}

// Answer is the text of the final answer.
const Answer = "Here is what the query found: the table has the rows."

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || (r.URL.Path != "/chat/completions" && r.URL.Path != "/v1/chat/completions") {
		http.Error(w, `{"error":{"message":"POST /v1/chat/completions only","type":"invalid_request_error"}}`, http.StatusNotFound)
		return
	}
	var req request
	body := http.MaxBytesReader(w, r.Body, 8<<20)
	n := &countingReader{r: body}
	if err := json.NewDecoder(n).Decode(&req); err != nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"error":{"message":%q,"type":"invalid_request_error"}}`, err.Error())
		return
	}
	reply, finish := h.reply(req)
	u := usage{PromptTokens: n.n / 4, CompletionTokens: 24}
	u.TotalTokens = u.PromptTokens + u.CompletionTokens
	if !wait(r.Context(), h.opts.Latency) {
		return
	}
	id := "chatcmpl-fake-" + strconv.FormatInt(h.ids.Add(1), 10)
	model := req.Model
	if req.Stream {
		h.stream(w, id, model, reply, finish, u, req.StreamOptions.IncludeUsage)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"id": id, "object": "chat.completion", "created": time.Now().Unix(), "model": model,
		"choices": []any{map[string]any{"index": 0, "message": reply, "finish_reason": finish}},
		"usage":   u,
	})
}

// reply is a query call until the conversation holds a tool result after
// the last user message, then the answer.
func (h *Handler) reply(req request) (message, string) {
	answered := false
	for i := len(req.Messages) - 1; i >= 0; i-- {
		if req.Messages[i].Role == "user" {
			break
		}
		if req.Messages[i].Role == "tool" {
			answered = true
		}
	}
	hasQuery := false
	for _, t := range req.Tools {
		hasQuery = hasQuery || t.Function.Name == "query"
	}
	if answered || !hasQuery {
		text := Answer
		return message{Role: "assistant", Content: &text}, "stop"
	}
	var c toolCall
	c.ID, c.Type = "call_"+strconv.FormatInt(h.ids.Add(1), 10), "function"
	c.Function.Name, c.Function.Arguments = "query", h.opts.QueryArgs
	return message{Role: "assistant", ToolCalls: []toolCall{c}}, "tool_calls"
}

func (h *Handler) stream(w http.ResponseWriter, id, model string, reply message, finish string, u usage, withUsage bool) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	flusher, _ := w.(http.Flusher)
	send := func(v any) {
		b, _ := json.Marshal(v)
		fmt.Fprintf(w, "data: %s\n\n", b)
		if flusher != nil {
			flusher.Flush()
		}
	}
	chunk := func(delta any, finish any) map[string]any {
		return map[string]any{"id": id, "object": "chat.completion.chunk", "created": time.Now().Unix(), "model": model,
			"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}}}
	}
	send(chunk(map[string]any{"role": "assistant", "content": ""}, nil))
	if reply.Content != nil {
		// Word by word, as a model streams.
		text := *reply.Content
		start := 0
		for i := 0; i <= len(text); i++ {
			if i == len(text) || text[i] == ' ' {
				if i > start {
					send(chunk(map[string]any{"content": text[start:min(i+1, len(text))]}, nil))
				}
				start = i + 1
			}
		}
	}
	for _, c := range reply.ToolCalls {
		send(chunk(map[string]any{"tool_calls": []toolCall{c}}, nil))
	}
	send(chunk(map[string]any{}, finish))
	if withUsage {
		send(map[string]any{"id": id, "object": "chat.completion.chunk", "created": time.Now().Unix(), "model": model, "choices": []any{}, "usage": u})
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
	if flusher != nil {
		flusher.Flush()
	}
}

func wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

type countingReader struct {
	r interface{ Read([]byte) (int, error) }
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

package openai_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/datachat/datachat/shared/chat"
	"github.com/datachat/datachat/shared/openai"
)

// testKey is the API key every test uses. It is shaped like a real one so
// that the tests would notice if any part of it leaked.
const testKey = "sk-test-4f9c2a7e1b3d5f60a8c9e2d4b6f8a0c1"

// action is what the fake server does with one request.
type action int

const (
	respond  action = iota // send status, headers and body
	stall                  // hold the request until the client goes away
	reset                  // reset the TCP connection without answering
	truncate               // declare the whole body, send half of it, close
)

// reply is one scripted answer of the fake server.
type reply struct {
	action action
	status int
	header map[string]string
	body   string
	// build, when set, makes the body from the request (to report usage
	// that depends on what was sent).
	build func(req wireRequest, raw []byte) string
}

// seen is one request as the server received it.
type seen struct {
	header http.Header
	raw    []byte
	req    wireRequest
}

// fakeOpenAI is an httptest server that speaks the Chat Completions wire
// format, answering each request with the next reply of its script, or
// with next(n, req) once the script is used up; next runs under the
// server's lock, so it may keep state without its own.
type fakeOpenAI struct {
	t    *testing.T
	srv  *httptest.Server
	done chan struct{}

	mu     sync.Mutex
	script []reply
	next   func(n int, req wireRequest) reply
	seen   []seen
}

func newFake(t *testing.T, script ...reply) *fakeOpenAI {
	t.Helper()
	f := &fakeOpenAI{t: t, done: make(chan struct{}), script: script}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(func() {
		close(f.done) // releases stalled handlers so Close does not wait on them
		f.srv.Close()
	})
	return f
}

// baseURL is what Options.BaseURL gets: the server's /v1/ like OpenAI's.
func (f *fakeOpenAI) baseURL() string { return f.srv.URL + "/v1/" }

func (f *fakeOpenAI) requests() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.seen...)
}

func (f *fakeOpenAI) attempts() int { return len(f.requests()) }

func (f *fakeOpenAI) serve(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		f.t.Errorf("server: read request: %v", err)
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
		f.t.Errorf("server: got %s %s, want POST /v1/chat/completions", r.Method, r.URL.Path)
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	var req wireRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		f.t.Errorf("server: request body is not JSON: %v", err)
	}
	f.mu.Lock()
	f.seen = append(f.seen, seen{header: r.Header.Clone(), raw: raw, req: req})
	n := len(f.seen)
	var rep reply
	switch {
	case len(f.script) > 0:
		rep, f.script = f.script[0], f.script[1:]
	case f.next != nil:
		rep = f.next(n, req)
	default:
		rep = reply{status: http.StatusInternalServerError, body: `{"error":{"message":"script exhausted","type":"server_error"}}`}
		f.t.Errorf("server: request %d has no scripted reply", n)
	}
	f.mu.Unlock()

	body := rep.body
	if rep.build != nil {
		body = rep.build(req, raw)
	}
	switch rep.action {
	case stall:
		select {
		case <-r.Context().Done():
		case <-f.done:
		}
	case reset:
		conn := f.hijack(w)
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // close sends RST instead of FIN
		}
		_ = conn.Close()
	case truncate:
		conn := f.hijack(w)
		fmt.Fprintf(conn, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body[:len(body)/2])
		_ = conn.Close()
	default:
		for k, v := range rep.header {
			w.Header().Set(k, v)
		}
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.Header().Set("x-request-id", "req_"+strconv.Itoa(n))
		status := rep.status
		if status == 0 {
			status = http.StatusOK
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

func (f *fakeOpenAI) hijack(w http.ResponseWriter) net.Conn {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		f.t.Fatalf("server: hijack: %v", err)
	}
	return conn
}

// The request as the wire carries it, decoded independently of the SDK.
type wireRequest struct {
	Model               string        `json:"model"`
	Messages            []wireMessage `json:"messages"`
	Tools               []wireTool    `json:"tools"`
	ParallelToolCalls   *bool         `json:"parallel_tool_calls"`
	Temperature         *float64      `json:"temperature"`
	MaxCompletionTokens *int          `json:"max_completion_tokens"`
	Stream              *bool         `json:"stream"`
}

type wireMessage struct {
	Role       string          `json:"role"`
	Content    json.RawMessage `json:"content"`
	ToolCalls  []wireToolCall  `json:"tool_calls"`
	ToolCallID string          `json:"tool_call_id"`
}

// text is the message's content when it is a plain string.
func (m wireMessage) text() string {
	var s string
	_ = json.Unmarshal(m.Content, &s)
	return s
}

// chat converts the wire message to the domain's, for comparisons.
func (m wireMessage) chat() chat.Message {
	out := chat.Message{Role: chat.Role(m.Role), Content: m.text(), ToolCallID: m.ToolCallID}
	for _, c := range m.ToolCalls {
		out.ToolCalls = append(out.ToolCalls, chat.ToolCall{ID: c.ID, Name: c.Function.Name, Arguments: c.Function.Arguments})
	}
	return out
}

type wireToolCall struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

type wireTool struct {
	Type     string `json:"type"`
	Function struct {
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Parameters  json.RawMessage `json:"parameters"`
		Strict      *bool           `json:"strict"`
	} `json:"function"`
}

// call is a tool call for a scripted reply.
type call struct{ id, name, args string }

type usage struct{ prompt, completion, cached int }

// completion renders a chat.completion body.
func completion(content string, finish string, u usage, calls ...call) string {
	msg := map[string]any{"role": "assistant", "content": nil, "refusal": nil}
	if content != "" {
		msg["content"] = content
	}
	if len(calls) > 0 {
		var tcs []any
		for _, c := range calls {
			tcs = append(tcs, map[string]any{"id": c.id, "type": "function", "function": map[string]any{"name": c.name, "arguments": c.args}})
		}
		msg["tool_calls"] = tcs
	}
	b, err := json.Marshal(map[string]any{
		"id": "chatcmpl-test", "object": "chat.completion", "created": 1700000000, "model": "gpt-4.1-mini-2025-04-14",
		"choices": []any{map[string]any{"index": 0, "message": msg, "logprobs": nil, "finish_reason": finish}},
		"usage": map[string]any{
			"prompt_tokens": u.prompt, "completion_tokens": u.completion, "total_tokens": u.prompt + u.completion,
			"prompt_tokens_details":     map[string]any{"cached_tokens": u.cached, "audio_tokens": 0},
			"completion_tokens_details": map[string]any{"reasoning_tokens": 0},
		},
	})
	if err != nil {
		panic(err)
	}
	return string(b)
}

func textReply(content string) reply {
	return reply{body: completion(content, "stop", usage{prompt: 120, completion: 30})}
}

func toolReply(calls ...call) reply {
	return reply{body: completion("", "tool_calls", usage{prompt: 150, completion: 40}, calls...)}
}

func errorReply(status int, typ, code, message string, header map[string]string) reply {
	e := map[string]any{"message": message, "type": typ, "param": nil, "code": nil}
	if code != "" {
		e["code"] = code
	}
	b, _ := json.Marshal(map[string]any{"error": e})
	return reply{status: status, header: header, body: string(b)}
}

// logBuffer is a concurrency-safe sink for a slog handler, so tests can
// read everything the adapter logged.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// fastOptions are Options for tests: the fake server, a known key, a
// backoff measured in milliseconds and a captured log.
func fastOptions(f *fakeOpenAI, logs *logBuffer) openai.Options {
	opts := openai.Options{
		APIKey:    testKey,
		BaseURL:   f.baseURL(),
		RetryBase: time.Millisecond,
	}
	if logs != nil {
		opts.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return opts
}

func newModel(t *testing.T, opts openai.Options) *openai.Model {
	t.Helper()
	m, err := openai.New(opts)
	if err != nil {
		t.Fatalf("openai.New: %v", err)
	}
	return m
}

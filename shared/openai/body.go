package openai

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"unicode/utf8"

	"github.com/openai/openai-go/v3/option"

	"github.com/datachat/datachat/shared/chat"
)

// The adapter writes each request body itself rather than handing the SDK
// a ChatCompletionNewParams to encode. The SDK's encoder walks the params
// by reflection through a marshaler per nested type, each call encoding
// into its own buffer that its caller copies again; for a turn that was
// most of the adapter's CPU, and its deep recursion grew the stack of
// every request's goroutine, which then stayed that size while the turn
// waited for the model. The body written here is byte for byte the one
// the SDK's Chat.Completions.New and NewStreaming send for the same
// params (TestBodyIsTheSDKs): the same keys, in the same order, with the
// same string escaping.

// body encodes req as a Chat Completions request; stream makes it a
// streamed one, with usage in the final chunk.
func (m *Model) body(req chat.ModelRequest, stream bool) (requestBody, error) {
	tools, err := m.tools.convert(req.Tools)
	if err != nil {
		return requestBody{}, err
	}
	msgs := req.Messages
	var system []byte
	if len(msgs) > 0 && msgs[0].Role == chat.RoleSystem {
		system, msgs = m.system.encode(msgs[0].Content), msgs[1:]
	}
	// One allocation for the request's own bytes in the common case: the
	// texts plus room for their escapes and the JSON around them.
	size := len(m.modelJSON) + 160
	for _, msg := range msgs {
		size += len(msg.Content) + len(msg.ToolCallID) + 64
		for _, c := range msg.ToolCalls {
			size += len(c.ID) + len(c.Name) + len(c.Arguments) + 96
		}
	}
	b := make([]byte, 0, size+size/8)

	b = append(b, '{')
	atSystem := -1
	if len(req.Messages) > 0 { // the SDK omits an empty list
		b = append(b, `"messages":[`...)
		if system != nil {
			atSystem = len(b)
		}
		for i, msg := range msgs {
			if i > 0 || system != nil {
				b = append(b, ',')
			}
			if b, err = appendMessage(b, msg); err != nil {
				return requestBody{}, fmt.Errorf("message %d: %w", i+len(req.Messages)-len(msgs), err)
			}
		}
		b = append(b, "],"...)
	}
	b = append(b, `"model":`...)
	b = append(b, m.modelJSON...)

	// The turn's remaining token budget bounds the completion too, so a
	// turn cannot overshoot its limit by a whole completion.
	maxOut := m.maxOutputTokens
	if req.MaxOutputTokens > 0 && req.MaxOutputTokens < maxOut {
		maxOut = req.MaxOutputTokens
	}
	b = append(b, `,"max_completion_tokens":`...)
	b = strconv.AppendInt(b, int64(maxOut), 10)
	if m.temperatureJSON != nil {
		b = append(b, `,"temperature":`...)
		b = append(b, m.temperatureJSON...)
	}
	if tools != nil {
		// Sent only with tools: OpenAI rejects it in a request without them.
		// Independent reads in one response save whole model round trips;
		// the agent validates every call's arguments either way.
		b = append(b, `,"parallel_tool_calls":true`...)
	}
	if stream {
		// Usage comes in the stream's last chunk only when asked for.
		b = append(b, `,"stream_options":{"include_usage":true}`...)
	}
	atTools := -1
	if tools != nil {
		b = append(b, `,"tools":`...)
		atTools = len(b)
	}
	if stream {
		// Last, where Chat.Completions.NewStreaming adds it.
		b = append(b, `,"stream":true`...)
	}
	b = append(b, '}')

	// The shared parts go in between the request's own.
	var body requestBody
	from := 0
	for _, shared := range []struct {
		at    int
		bytes []byte
	}{{atSystem, system}, {atTools, tools}} {
		if shared.at < 0 {
			continue
		}
		body.parts = append(body.parts, b[from:shared.at:shared.at], shared.bytes)
		from = shared.at
	}
	body.parts = append(body.parts, b[from:])
	for _, p := range body.parts {
		body.size += int64(len(p))
	}
	return body, nil
}

// requestBody is one request's body in parts, sent in order. The tool
// declarations and the system message are the same in every request of
// an agent, and were three quarters of each body; their parts are encoded
// once and shared, so a turn waiting on the model holds only its own
// bytes (the conversation after the prompt) rather than a whole body.
type requestBody struct {
	parts [][]byte
	size  int64
}

// bytes is the whole body in one slice.
func (b requestBody) bytes() []byte {
	out := make([]byte, 0, b.size)
	for _, p := range b.parts {
		out = append(out, p...)
	}
	return out
}

// open returns a reader of the body from its start.
func (b requestBody) open() io.ReadCloser {
	return &partsReader{parts: slices.Clone(b.parts)}
}

// send is the middleware that gives each attempt's request the body with
// its length, as the SDK does for a body it holds in one buffer: the
// request goes with a Content-Length rather than chunked, and GetBody
// lets net/http send it again after a redirect or on a new HTTP/2
// connection. The SDK was given the body as a reader (so it takes it as
// serialized) and never reads that one.
func (b requestBody) send(req *http.Request, next option.MiddlewareNext) (*http.Response, error) {
	req.Body, req.ContentLength = b.open(), b.size
	req.GetBody = func() (io.ReadCloser, error) { return b.open(), nil }
	return next(req)
}

// post sends the body to the Chat Completions endpoint with Client.Post.
func (m *Model) post(ctx context.Context, b requestBody, into any, raw **http.Response) error {
	return m.client.Post(ctx, completionsPath, b.open(), into, option.WithResponseInto(raw), option.WithMiddleware(b.send))
}

// partsReader reads parts in order; it consumes its own copy of the
// slice of parts, never the shared bytes.
type partsReader struct{ parts [][]byte }

func (r *partsReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) && len(r.parts) > 0 {
		c := copy(p[n:], r.parts[0])
		n += c
		if r.parts[0] = r.parts[0][c:]; len(r.parts[0]) == 0 {
			r.parts = r.parts[1:]
		}
	}
	if n == 0 && len(p) > 0 {
		return 0, io.EOF
	}
	return n, nil
}

func (r *partsReader) Close() error { return nil }

// systemCache keeps the encoding of the last system message: the agent
// sends the same prompt (the same string) in every request until its
// schema or hints change. Read by every request, so without a lock: an
// entry is never changed once stored, only replaced.
type systemCache struct {
	last atomic.Pointer[systemEntry]
}

type systemEntry struct {
	content string
	json    []byte
}

func (c *systemCache) encode(content string) []byte {
	if e := c.last.Load(); e != nil && e.content == content {
		return e.json
	}
	b, _ := appendMessage(nil, chat.Message{Role: chat.RoleSystem, Content: content})
	c.last.Store(&systemEntry{content: content, json: b})
	return b
}

// appendMessage encodes one message as the SDK's message param of its role.
func appendMessage(b []byte, msg chat.Message) ([]byte, error) {
	switch msg.Role {
	case chat.RoleSystem, chat.RoleUser:
		b = append(b, `{"content":`...)
		b = appendString(b, msg.Content)
		b = append(b, `,"role":`...)
		b = appendString(b, string(msg.Role))
		return append(b, '}'), nil
	case chat.RoleTool:
		b = append(b, `{"content":`...)
		b = appendString(b, msg.Content)
		b = append(b, `,"tool_call_id":`...)
		b = appendString(b, msg.ToolCallID)
		return append(b, `,"role":"tool"}`...), nil
	case chat.RoleAssistant:
		b = append(b, '{')
		// An assistant message that only calls tools has no content; the
		// API wants the field absent then, not an empty string.
		if msg.Content != "" || len(msg.ToolCalls) == 0 {
			b = append(b, `"content":`...)
			b = appendString(b, msg.Content)
			b = append(b, ',')
		}
		if len(msg.ToolCalls) > 0 {
			b = append(b, `"tool_calls":[`...)
			for i, c := range msg.ToolCalls {
				if i > 0 {
					b = append(b, ',')
				}
				b = append(b, `{"id":`...)
				b = appendString(b, c.ID)
				b = append(b, `,"function":{"arguments":`...)
				b = appendString(b, c.Arguments)
				b = append(b, `,"name":`...)
				b = appendString(b, c.Name)
				b = append(b, `},"type":"function"}`...)
			}
			b = append(b, "],"...)
		}
		return append(b, `"role":"assistant"}`...), nil
	}
	return b, fmt.Errorf("unknown role %q", msg.Role)
}

// appendString appends s as a JSON string escaped as the SDK's encoder
// (a copy of encoding/json's, without HTML escaping) escapes it: " and \
// with a backslash, \b \f \n \r \t, other control bytes as \u00XX,
// invalid UTF-8 as \ufffd, and U+2028 and U+2029 (for JSONP); <, > and &
// stay as they are.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

package openai

import (
	"fmt"
	"strconv"
	"unicode/utf8"

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
func (m *Model) body(req chat.ModelRequest, stream bool) ([]byte, error) {
	tools, err := m.tools.convert(req.Tools)
	if err != nil {
		return nil, err
	}
	// One allocation for the whole body in the common case: the texts
	// plus room for their escapes and the JSON around them.
	size := len(tools) + len(m.modelJSON) + 128
	for _, msg := range req.Messages {
		size += len(msg.Content) + len(msg.ToolCallID) + 64
		for _, c := range msg.ToolCalls {
			size += len(c.ID) + len(c.Name) + len(c.Arguments) + 96
		}
	}
	b := make([]byte, 0, size+size/8)

	b = append(b, '{')
	if len(req.Messages) > 0 { // the SDK omits an empty list
		b = append(b, `"messages":[`...)
		for i, msg := range req.Messages {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = appendMessage(b, msg); err != nil {
				return nil, fmt.Errorf("message %d: %w", i, err)
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
	if tools != nil {
		b = append(b, `,"tools":`...)
		b = append(b, tools...)
	}
	if stream {
		// Last, where Chat.Completions.NewStreaming adds it.
		b = append(b, `,"stream":true`...)
	}
	return append(b, '}'), nil
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

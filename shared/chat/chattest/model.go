package chattest

import (
	"context"
	"sync"

	"github.com/datachat/datachat/shared/chat"
)

// ScriptedModel answers with a function of the request, counting calls.
// It stands in for a model where the test decides every step.
type ScriptedModel struct {
	Reply func(ctx context.Context, req chat.ModelRequest, call int) (chat.ModelResponse, error)

	mu    sync.Mutex
	calls int
	reqs  []chat.ModelRequest
}

// Complete implements chat.Model.
func (m *ScriptedModel) Complete(ctx context.Context, req chat.ModelRequest) (chat.ModelResponse, error) {
	m.mu.Lock()
	m.calls++
	n := m.calls
	m.reqs = append(m.reqs, req)
	m.mu.Unlock()
	return m.Reply(ctx, req, n)
}

// Calls returns how many requests the model received.
func (m *ScriptedModel) Calls() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.calls
}

// Requests returns the requests received, in order.
func (m *ScriptedModel) Requests() []chat.ModelRequest {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]chat.ModelRequest(nil), m.reqs...)
}

// Answer is a final answer with a fixed usage.
func Answer(text string, tokens int) chat.ModelResponse {
	return chat.ModelResponse{
		Message: chat.Message{Role: chat.RoleAssistant, Content: text},
		Usage:   chat.Usage{InputTokens: tokens - tokens/4, OutputTokens: tokens / 4, TotalTokens: tokens},
	}
}

// Calls is a response asking for tool calls, with a fixed usage.
func Calls(tokens int, calls ...chat.ToolCall) chat.ModelResponse {
	return chat.ModelResponse{
		Message: chat.Message{Role: chat.RoleAssistant, ToolCalls: calls},
		Usage:   chat.Usage{InputTokens: tokens - tokens/4, OutputTokens: tokens / 4, TotalTokens: tokens},
	}
}

package chat

import (
	"context"
	"encoding/json"
)

// Role of a message in the conversation sent to the model.
type Role string

const (
	RoleSystem    Role = "system"
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
	RoleTool      Role = "tool"
)

// Message is one entry of the model's conversation. An assistant message may
// carry tool calls; each must be followed by a tool message with its result
// (ToolCallID set) before the next model request.
type Message struct {
	Role       Role       `json:"role"`
	Content    string     `json:"content,omitempty"`
	ToolCalls  []ToolCall `json:"tool_calls,omitempty"`
	ToolCallID string     `json:"tool_call_id,omitempty"`
}

// ToolCall is the model asking for one tool to run. Arguments is the raw JSON
// text the model produced; it is validated before anything runs.
type ToolCall struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

// ToolSpec declares a tool to the model: its name, what it does and a JSON
// Schema of its arguments.
type ToolSpec struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Parameters  json.RawMessage `json:"parameters"`
}

// ModelRequest is everything the model sees for one completion.
type ModelRequest struct {
	Messages []Message
	Tools    []ToolSpec
	// MaxOutputTokens is what is left of the turn's token budget after the
	// estimated input; implementations cap the completion at it. Zero
	// means no bound from the turn.
	MaxOutputTokens int
	// OnText, when set, receives the response's text as it is generated,
	// in order, before Complete returns; the returned Message still holds
	// the whole text. Set only when someone listens to the turn's events.
	// Implementations that cannot stream may call it once with the whole
	// text, or not at all.
	OnText func(delta string)
}

// ModelResponse is one completion: a message with either content (a final
// answer) or tool calls, and what it cost.
type ModelResponse struct {
	Message Message
	Usage   Usage
}

// Model produces the next assistant message. Used by the Agent.
//
// Complete must return when ctx is done. Errors are *Error values with
// CodeModelError, CodeModelUnavailable, CodeQuotaExhausted or CodeDeadline;
// retries, if any, happen inside the implementation, never in the caller.
// Implementations are safe for concurrent use.
type Model interface {
	Complete(ctx context.Context, req ModelRequest) (ModelResponse, error)
}

// Usage is what a turn (or one completion) cost.
type Usage struct {
	ModelRequests int `json:"model_requests"`
	InputTokens   int `json:"input_tokens"`
	OutputTokens  int `json:"output_tokens"`
	TotalTokens   int `json:"total_tokens"`
	CachedTokens  int `json:"cached_tokens,omitempty"`
}

// Add accumulates u2 into u.
func (u *Usage) Add(u2 Usage) {
	u.ModelRequests += u2.ModelRequests
	u.InputTokens += u2.InputTokens
	u.OutputTokens += u2.OutputTokens
	u.TotalTokens += u2.TotalTokens
	u.CachedTokens += u2.CachedTokens
}

// EstimateTokens approximates the tokens of text: one per four bytes,
// rounded up, which is close to what OpenAI's tokenizers give for English
// and JSON and errs on the high side for short words. Used to check budgets
// before a request, when the provider's own count is not yet known.
func EstimateTokens(text string) int {
	return (len(text) + 3) / 4
}

// EstimateMessages approximates the tokens of a request's messages,
// counting a small overhead per message as the chat format does.
func EstimateMessages(msgs []Message) int {
	n := 0
	for _, m := range msgs {
		n += 4 + EstimateTokens(m.Content)
		for _, c := range m.ToolCalls {
			n += 4 + EstimateTokens(c.Name) + EstimateTokens(c.Arguments)
		}
	}
	return n
}

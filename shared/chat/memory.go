package chat

import (
	"context"
	"time"
)

// Turn is one question and its answer, stored as one unit so that history
// can never split a tool call from its result.
type Turn struct {
	UserID         string       `json:"user_id"`
	ConversationID string       `json:"conversation_id"`
	Seq            int          `json:"seq"` // 1-based position in the conversation, set by Memory.Append
	CreatedAt      time.Time    `json:"created_at"`
	Question       string       `json:"question"`
	Answer         string       `json:"answer"`
	Table          *Table       `json:"table"`
	Chart          *Chart       `json:"chart"`
	Usage          Usage        `json:"usage"`
	FinishReason   FinishReason `json:"finish_reason"`
	Limit          string       `json:"limit,omitempty"`
	// Messages are the model-facing messages of the turn after the user's
	// question: tool calls, their results (as summaries) and the answer.
	Messages []Message `json:"messages,omitempty"`
}

// Memory stores conversations per user. Used by the HTTP layer.
//
// Every method is scoped to userID: a conversation of another user is
// indistinguishable from one that does not exist (CodeNotFound). Failures to
// reach the store are CodeUnavailable. Safe for concurrent use.
type Memory interface {
	// Turns returns the conversation's turns, oldest first, or CodeNotFound.
	Turns(ctx context.Context, userID, conversationID string) ([]Turn, error)
	// Append stores t as the next turn of its conversation, creating the
	// conversation if needed, and returns it with Seq set. Concurrent appends
	// to one conversation are all kept, each with its own Seq.
	Append(ctx context.Context, t Turn) (Turn, error)
}

package chat

import (
	"context"
	"strings"
	"time"
)

// Turn is one question and its answer, stored as one unit so that history
// can never split a tool call from its result.
type Turn struct {
	UserID         string       `json:"-"`
	ConversationID string       `json:"conversation_id"`
	Seq            int          `json:"seq"` // 1-based position in the conversation
	CreatedAt      time.Time    `json:"created_at"`
	Question       string       `json:"question"`
	Answer         string       `json:"answer"`
	Table          *Table       `json:"table"`
	Chart          *Chart       `json:"chart"`
	Usage          Usage        `json:"usage"`
	FinishReason   FinishReason `json:"finish_reason"`
	Limit          string       `json:"limit,omitempty"`
	Incomplete     bool         `json:"incomplete,omitempty"` // the answer was cut off at its length limit
	// Citations tie each number of Answer to a cell of the turn's tables;
	// Verified is true when every one matched.
	Citations []Citation `json:"citations,omitempty"`
	Verified  bool       `json:"verified"`
	// Messages are the model-facing messages of the turn after the user's
	// question: tool calls, their results (as summaries) and the answer.
	Messages []Message `json:"messages,omitempty"`
	// JobID names the queued turn's job that stored this turn, so a job
	// taken over after its runner died finds its turn instead of running
	// it again.
	JobID string `json:"job_id,omitempty"`
}

// Conversation summarises one conversation for listing.
type Conversation struct {
	ID        string    `json:"id"`
	Title     string    `json:"title"` // from the first question
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Turns     int       `json:"turns"`
}

// Memory is what a chat turn needs of the conversation store. Used by the
// chat route.
//
// Every method is scoped to userID: a conversation of another user is
// indistinguishable from one that does not exist (CodeNotFound). Failures to
// reach the store are CodeUnavailable. Safe for concurrent use.
type Memory interface {
	// History returns at most limit of the conversation's latest turns,
	// oldest first, or CodeNotFound.
	History(ctx context.Context, userID, conversationID string, limit int) ([]Turn, error)
	// Append stores t as the next turn of its conversation and returns it
	// as stored (cut down where the store caps it) with Seq and CreatedAt
	// set. t.Seq is the caller's guess of the next position: 0 (unknown)
	// or 1 may create the conversation; above 1 it is a follow-up, which is
	// CodeNotFound when the conversation no longer exists (deleted or
	// expired while the turn ran), so a deleted conversation never comes
	// back. When another turn took the guessed seq, the store picks the
	// next free one, so concurrent appends to one conversation are all
	// kept, in order.
	Append(ctx context.Context, t Turn) (Turn, error)
}

// Conversations is what the conversation routes need. Same contract as
// Memory: scoped to userID, CodeNotFound for anything else.
type Conversations interface {
	// List returns up to limit conversations, most recently updated first,
	// starting after cursor ("" for the first page), and the cursor of the
	// next page ("" when there is none). Cursors are opaque; a malformed one
	// is CodeInvalid.
	List(ctx context.Context, userID string, limit int, cursor string) ([]Conversation, string, error)
	// Turns returns every turn of the conversation, oldest first.
	Turns(ctx context.Context, userID, conversationID string) ([]Turn, error)
	// TurnPage returns up to limit turns whose Seq is above after, oldest
	// first: one page of a conversation, which may be too long to read
	// whole. A page with no turn is CodeNotFound, so a conversation deleted
	// between pages is not found rather than empty.
	TurnPage(ctx context.Context, userID, conversationID string, after, limit int) ([]Turn, error)
	// Delete removes the conversation and all its turns.
	Delete(ctx context.Context, userID, conversationID string) error
}

// Gone is the error of Append for a follow-up whose conversation no
// longer exists.
func Gone(conversationID string) *Error {
	return Errorf(CodeNotFound, "conversation %q was deleted while this turn ran, so nothing was saved; start a new conversation", conversationID)
}

// Title makes a conversation title from its first question: the first line,
// at most 80 characters, cut at a word boundary when it can be.
func Title(question string) string {
	t := strings.TrimSpace(question)
	if i := strings.IndexByte(t, '\n'); i >= 0 {
		t = strings.TrimSpace(t[:i])
	}
	r := []rune(t)
	if len(r) <= 80 {
		return t
	}
	cut := string(r[:80])
	if i := strings.LastIndexByte(cut, ' '); i > 40 {
		cut = cut[:i]
	}
	return cut + "…"
}

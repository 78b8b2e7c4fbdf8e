package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/datachat/datachat/shared/chat"
)

// responseMargin is kept after the store's deadline to encode and send
// the answer before the request's own deadline.
const responseMargin = 300 * time.Millisecond

type chatRequest struct {
	Message        string `json:"message"`
	ConversationID string `json:"conversation_id"`
}

// chatResponse is the stored turn as the client sees it, with its
// conversation: the same view GET /conversations/{id} gives of each turn.
type chatResponse struct {
	ConversationID string `json:"conversation_id"`
	turnResponse
}

// chat answers one question. Order matters: everything that can reject the
// request runs before the agent, and the turn is stored before the answer
// is sent, so a rejected or failed request stores nothing and an answered
// one is never lost.
func (s *server) chat(w http.ResponseWriter, r *http.Request, user string) {
	r, ev := s.observeTurn(r, user)
	req, err := s.decodeChat(w, r)
	if err != nil {
		s.failTurn(w, r, ev, err)
		return
	}
	var history []chat.Turn
	if req.ConversationID == "" {
		req.ConversationID = s.NewID()
	} else if history, err = s.Memory.History(r.Context(), user, req.ConversationID, s.HistoryTurns); err != nil {
		s.failTurn(w, r, ev, err)
		return
	}

	reservation, err := s.reserve(r.Context(), user)
	if err != nil {
		s.failTurn(w, r, ev, err)
		return
	}
	ctx, cancel := context.WithDeadline(r.Context(), s.turnDeadline(r))
	defer cancel()
	turnStarted(ev, req.ConversationID, history)
	res, err := s.Agent.Run(ctx, history, req.Message)
	s.settle(r.Context(), reservation, res.Usage.TotalTokens)
	if err != nil {
		s.failTurn(w, r, ev, err)
		return
	}

	turn := res.Turn(user, req.ConversationID, req.Message)
	if n := len(history); n > 0 {
		turn.Seq = history[n-1].Seq + 1
	}
	// The turn's own deadline may have passed; storing it gets the reserve,
	// but not past the request's own deadline (a Lambda invocation's).
	saveBy := s.Now().Add(s.SaveReserve)
	if d, ok := r.Context().Deadline(); ok && d.Add(-responseMargin).Before(saveBy) {
		saveBy = d.Add(-responseMargin)
	}
	saveCtx, cancelSave := context.WithDeadline(context.WithoutCancel(r.Context()), saveBy)
	defer cancelSave()
	stored, err := s.Memory.Append(saveCtx, turn)
	if err != nil {
		if chat.ErrorCode(err) == chat.CodeDeadline {
			// The store, not the turn, ran out of time: a store problem.
			err = chat.Wrap(err, chat.CodeUnavailable, "httpapi.chat", "the conversation store did not answer in time; the answer was not saved, try again")
		}
		s.failTurn(w, r, ev, err)
		return
	}
	ev.Emit(chat.Event{Kind: chat.EventFinished, Turn: &stored})
	writeJSON(w, http.StatusOK, chatResponse{ConversationID: stored.ConversationID, turnResponse: newTurnResponse(stored)})
}

// decodeChat reads and validates the body of POST /chat.
func (s *server) decodeChat(w http.ResponseWriter, r *http.Request) (chatRequest, error) {
	var req chatRequest
	if ct := r.Header.Get("Content-Type"); ct == "" {
		return req, chat.Errorf(chat.CodeUnsupportedMedia, "missing Content-Type; send the body as application/json")
	} else if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
		return req, chat.Errorf(chat.CodeUnsupportedMedia, "Content-Type %q is not supported; send the body as application/json", ct)
	}
	body := http.MaxBytesReader(w, r.Body, s.MaxBodyBytes)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return req, s.bodyError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err != nil {
			return req, s.bodyError(err)
		}
		return req, chat.Errorf(chat.CodeInvalid, "the body holds more than one JSON value; send one object")
	}
	if strings.TrimSpace(req.Message) == "" {
		return req, chat.Errorf(chat.CodeInvalid, "message is required and must not be blank")
	}
	if n := utf8.RuneCountInString(req.Message); n > s.MaxMessageChars {
		return req, chat.Errorf(chat.CodeTooLarge, "message is %d characters; the limit is %d", n, s.MaxMessageChars)
	}
	if req.ConversationID != "" && !validID(req.ConversationID) {
		return req, chat.Errorf(chat.CodeInvalid, "conversation_id must be 1-64 letters, digits, '-' or '_'; omit it to start a new conversation")
	}
	return req, nil
}

func (s *server) bodyError(err error) error {
	var tooBig *http.MaxBytesError
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooBig):
		return chat.Errorf(chat.CodeTooLarge, "the body is over %d bytes; send a shorter message", tooBig.Limit)
	case errors.Is(err, io.EOF):
		return chat.Errorf(chat.CodeInvalid, `the body is empty; send {"message": "your question"}`)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return chat.Errorf(chat.CodeInvalid, "the body is not complete JSON")
	case errors.As(err, &syntax):
		return chat.Errorf(chat.CodeInvalid, "the body is not valid JSON (at byte %d): %v", syntax.Offset, syntax)
	case errors.As(err, &typ):
		return chat.Errorf(chat.CodeInvalid, "field %q must be a %s", typ.Field, typ.Type)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return chat.Errorf(chat.CodeInvalid, "%s; the fields are message and conversation_id", strings.TrimPrefix(err.Error(), "json: "))
	}
	return chat.Errorf(chat.CodeInvalid, "the body could not be read as JSON: %v", err)
}

// validID accepts the conversation ids this service issues (UUIDs) and
// anything shaped like them; anything else never reaches the store.
func validID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

type conversationResponse struct {
	ConversationID string         `json:"conversation_id"`
	Turns          []turnResponse `json:"turns"`
}

type turnResponse struct {
	Turn         int               `json:"turn"`
	CreatedAt    string            `json:"created_at"`
	Question     string            `json:"question"`
	Answer       string            `json:"answer"`
	Table        *chat.Table       `json:"table"`
	Chart        *chat.Chart       `json:"chart"`
	Usage        chat.Usage        `json:"usage"`
	FinishReason chat.FinishReason `json:"finish_reason"`
	Limit        string            `json:"limit,omitempty"`
}

// newTurnResponse is the client's view of a turn: everything but the
// model-facing messages and the owner.
func newTurnResponse(t chat.Turn) turnResponse {
	return turnResponse{
		Turn: t.Seq, CreatedAt: t.CreatedAt.UTC().Format("2006-01-02T15:04:05.000Z07:00"), Question: t.Question, Answer: t.Answer,
		Table: t.Table, Chart: t.Chart, Usage: t.Usage, FinishReason: t.FinishReason, Limit: t.Limit,
	}
}

func (s *server) getConversation(w http.ResponseWriter, r *http.Request, user string) {
	id := r.PathValue("id")
	if !validID(id) {
		s.writeError(w, r, chat.Errorf(chat.CodeNotFound, "conversation %q not found", id))
		return
	}
	turns, err := s.Conversations.Turns(r.Context(), user, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := conversationResponse{ConversationID: id, Turns: make([]turnResponse, len(turns))}
	for i, t := range turns {
		out.Turns[i] = newTurnResponse(t)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *server) deleteConversation(w http.ResponseWriter, r *http.Request, user string) {
	id := r.PathValue("id")
	if !validID(id) {
		s.writeError(w, r, chat.Errorf(chat.CodeNotFound, "conversation %q not found", id))
		return
	}
	if err := s.Conversations.Delete(r.Context(), user, id); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type listResponse struct {
	Conversations []chat.Conversation `json:"conversations"`
	NextCursor    string              `json:"next_cursor,omitempty"`
}

func (s *server) listConversations(w http.ResponseWriter, r *http.Request, user string) {
	limit := 20
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := parseLimit(v, s.MaxListLimit)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		limit = n
	}
	list, next, err := s.Conversations.List(r.Context(), user, limit, r.URL.Query().Get("cursor"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if list == nil {
		list = []chat.Conversation{}
	}
	writeJSON(w, http.StatusOK, listResponse{Conversations: list, NextCursor: next})
}

func parseLimit(v string, max int) (int, error) {
	var n int
	if _, err := fmt.Sscan(v, &n); err != nil || n < 1 || n > max || fmt.Sprint(n) != v {
		return 0, chat.Errorf(chat.CodeInvalid, "limit must be a whole number from 1 to %d, got %q", max, v)
	}
	return n, nil
}

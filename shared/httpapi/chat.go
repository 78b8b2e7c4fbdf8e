package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
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
	// Saved is false when the store failed until the save reserve ran out:
	// the answer is given anyway, and the conversation does not hold it.
	Saved bool `json:"saved"`
}

// chat answers one question: as JSON, as a stream of AG-UI events, or
// later (Prefer: respond-async: 202 and a job). Order matters: everything
// that can reject the request runs before the agent, and the turn is
// stored before the answer is sent, so a rejected or failed request
// stores nothing and an answered one is never lost. With an
// Idempotency-Key, a request already answered gets that answer again.
func (s *server) chat(w http.ResponseWriter, r *http.Request, user string) {
	r, ev, obs := s.observeTurn(r, user)
	req, err := s.decodeChat(w, r)
	if err != nil {
		s.failTurn(w, r, ev, nil, err)
		return
	}
	async := prefersAsync(r)
	key, err := s.beginKey(w, r, user, req, async)
	if err != nil || key.replayed {
		if err != nil {
			s.failTurn(w, r, ev, nil, err)
		}
		return
	}
	if async {
		s.enqueue(w, r, user, req, key)
		return
	}
	history, nextSeq, err := s.loadHistory(r.Context(), user, &req)
	if err != nil {
		s.releaseKey(r, key)
		s.failTurn(w, r, ev, nil, err)
		return
	}
	reservation, err := s.reserve(r.Context(), user)
	if err != nil {
		s.releaseKey(r, key)
		s.failTurn(w, r, ev, nil, err)
		return
	}
	// A streamed turn gets its own context and deadline and reports to
	// the stream; stream is nil for a JSON answer.
	ctx, cancel, stream := s.turnContext(w, r, req.ConversationID, nextSeq, obs)
	defer cancel()
	if stream == nil {
		turnStarted(ev, req.ConversationID, nextSeq)
	}
	stored, saved, err := s.answer(ctx, r.Context(), user, req, history, nextSeq, reservation, "")
	if err != nil {
		s.releaseKey(r, key)
		s.failTurn(w, r, ev, stream, err)
		return
	}
	body := encodeJSON(newChatResponse(stored, saved))
	s.completeKey(r, key, http.StatusOK, body)
	if stream != nil {
		stream.finish(stored, saved)
		return
	}
	ev.Emit(chat.Event{Kind: chat.EventFinished, Turn: &stored, Unsaved: !saved})
	writeBody(w, http.StatusOK, body)
}

// loadHistory reads the earlier turns of req's conversation for the model
// and the seq the turn will likely get; a request with no conversation
// starts one (req.ConversationID is then set).
func (s *server) loadHistory(ctx context.Context, user string, req *chatRequest) ([]chat.Turn, int, error) {
	if req.ConversationID == "" {
		req.ConversationID = s.NewID()
		return nil, 1, nil
	}
	history, err := s.Memory.History(ctx, user, req.ConversationID, max(s.HistoryTurns, 1))
	if err != nil {
		return nil, 0, err
	}
	nextSeq := 1
	if n := len(history); n > 0 {
		nextSeq = history[n-1].Seq + 1
	}
	if s.HistoryTurns == NoHistory {
		// The read still proves the conversation is the user's and gives
		// the next seq; the model sees none of it.
		history = nil
	}
	return history, nextSeq, nil
}

// answer runs the agent on the question and stores the turn: the part of
// a turn the chat route and the worker share. ctx is the turn's (its
// deadline and events); reqCtx is the request's or the job's, whose own
// deadline bounds storing the turn; jobID names a queued turn's job.
// saved is false when the store failed
// until the save reserve ran out: the answer is returned anyway.
func (s *server) answer(ctx, reqCtx context.Context, user string, req chatRequest, history []chat.Turn, nextSeq int, reservation chat.Reservation, jobID string) (chat.Turn, bool, error) {
	ctx = chat.OnToolFailure(ctx, func(f chat.ToolFailure) { s.logToolFailure(reqCtx, f) })
	res, err := s.Agent.Run(ctx, history, req.Message)
	s.settle(reqCtx, reservation, res.Usage.TotalTokens)
	if err != nil {
		return chat.Turn{}, false, err
	}
	turn := res.Turn(user, req.ConversationID, req.Message)
	turn.Seq, turn.JobID = nextSeq, jobID
	// The turn's own deadline may have passed; storing it gets the reserve,
	// but not past the request's own deadline (a Lambda invocation's).
	saveBy := s.Now().Add(s.SaveReserve)
	if d, ok := reqCtx.Deadline(); ok && d.Add(-responseMargin).Before(saveBy) {
		saveBy = d.Add(-responseMargin)
	}
	saveCtx, cancelSave := context.WithDeadline(context.WithoutCancel(reqCtx), saveBy)
	defer cancelSave()
	stored, err := s.save(saveCtx, turn)
	switch code := chat.ErrorCode(err); {
	case err == nil:
		return stored, true, nil
	case code == chat.CodeUnavailable || code == chat.CodeConflict || code == chat.CodeDeadline:
		// The answer is paid for: send it rather than make the client spend
		// the tokens again, and say it was not kept.
		s.Logger.LogAttrs(reqCtx, slog.LevelError, "turn not saved", slog.String("code", string(code)),
			slog.String("error", err.Error()))
		turn.CreatedAt = s.Now()
		return turn, false, nil
	}
	// A follow-up whose conversation was deleted meanwhile (404), or a bug.
	return chat.Turn{}, false, err
}

// newChatResponse is the answer of POST /chat for the turn t, as JSON and
// as RUN_FINISHED's result; saved says whether the conversation holds it.
func newChatResponse(t chat.Turn, saved bool) chatResponse {
	return chatResponse{ConversationID: t.ConversationID, turnResponse: newTurnResponse(t), Saved: saved}
}

// decodeChat reads and validates the body of POST /chat.
func (s *server) decodeChat(w http.ResponseWriter, r *http.Request) (chatRequest, error) {
	var req chatRequest
	if ct := r.Header.Get("Content-Type"); ct == "" {
		return req, chat.Errorf(chat.CodeUnsupportedMedia, "missing Content-Type; send the body as application/json")
	} else if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
		return req, chat.Errorf(chat.CodeUnsupportedMedia, "Content-Type %q is not supported; send the body as application/json", ct)
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.MaxBodyBytes))
	if err != nil {
		return req, s.bodyError(err)
	}
	fields, err := decodeFields(data, []string{"message", "conversation_id"})
	if err != nil {
		return req, s.bodyError(err)
	}
	if req.Message, err = stringField(fields, "message"); err != nil {
		return req, err
	}
	if req.ConversationID, err = stringField(fields, "conversation_id"); err != nil {
		return req, err
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
	var known *chat.Error
	switch {
	case errors.As(err, &known):
		return known
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
	NextCursor     string         `json:"next_cursor,omitempty"`
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
	Incomplete   bool              `json:"incomplete,omitempty"`
	Citations    []chat.Citation   `json:"citations"`
	Verified     bool              `json:"verified"`
}

// newTurnResponse is the client's view of a turn: everything but the
// model-facing messages and the owner.
func newTurnResponse(t chat.Turn) turnResponse {
	r := turnResponse{
		Turn: t.Seq, CreatedAt: t.CreatedAt.UTC().Format("2006-01-02T15:04:05.000Z07:00"), Question: t.Question, Answer: t.Answer,
		Table: chat.CapTableBytes(t.Table, chat.MaxTableBytes), Chart: t.Chart, Usage: t.Usage, FinishReason: t.FinishReason, Limit: t.Limit, Incomplete: t.Incomplete,
		Citations: t.Citations, Verified: t.Verified,
	}
	if r.Citations == nil {
		r.Citations = []chat.Citation{}
	}
	return r
}

// getConversation answers one page of a conversation's turns, oldest
// first: at most limit turns (default 20) and at most chat.MaxPageBytes of
// them, with next_cursor when more follow. A conversation of any length
// can so be read within Lambda's response limit.
func (s *server) getConversation(w http.ResponseWriter, r *http.Request, user string) {
	id := r.PathValue("id")
	if !validID(id) {
		s.writeError(w, r, chat.Errorf(chat.CodeNotFound, "conversation %q not found", id))
		return
	}
	limit, err := s.pageLimit(r, DefaultTurnPage)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	after, err := decodeTurnCursor(r.URL.Query().Get("cursor"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// One more than the page, to know whether another follows.
	turns, err := s.Conversations.TurnPage(r.Context(), user, id, after, limit+1)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := conversationResponse{ConversationID: id, Turns: []turnResponse{}}
	used := 0
	for i, t := range turns {
		if i == limit {
			out.NextCursor = encodeTurnCursor(turns[i-1].Seq)
			break
		}
		view := newTurnResponse(t)
		b, err := json.Marshal(view)
		if err != nil {
			s.writeError(w, r, chat.Wrap(err, chat.CodeInternal, "httpapi.getConversation", "a turn could not be encoded"))
			return
		}
		// Every page holds at least one turn (a turn is far below the page
		// budget: its table is capped at chat.MaxTableBytes).
		if i > 0 && used+len(b) > chat.MaxPageBytes {
			out.NextCursor = encodeTurnCursor(turns[i-1].Seq)
			break
		}
		used += len(b)
		out.Turns = append(out.Turns, view)
	}
	writeJSON(w, http.StatusOK, out)
}

// DefaultTurnPage is how many turns GET /conversations/{id} returns
// without a limit.
const DefaultTurnPage = 20

// A turn cursor is the seq of the last turn of the page before, opaque to
// clients.
func encodeTurnCursor(seq int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("after:" + strconv.Itoa(seq)))
}

func decodeTurnCursor(c string) (int, error) {
	if c == "" {
		return 0, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(c)
	n, perr := strconv.Atoi(strings.TrimPrefix(string(raw), "after:"))
	if err != nil || perr != nil || !strings.HasPrefix(string(raw), "after:") || n < 1 {
		return 0, chat.Errorf(chat.CodeInvalid, "cursor %q is not one this server returned; pass the next_cursor of the previous page", c)
	}
	return n, nil
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
	limit, err := s.pageLimit(r, DefaultListPage)
	if err != nil {
		s.writeError(w, r, err)
		return
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

// DefaultListPage is how many conversations GET /conversations returns
// without a limit.
const DefaultListPage = 20

// pageLimit is the request's ?limit, def when it has none.
func (s *server) pageLimit(r *http.Request, def int) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return def, nil
	}
	return parseLimit(v, s.MaxListLimit)
}

func parseLimit(v string, max int) (int, error) {
	var n int
	if _, err := fmt.Sscan(v, &n); err != nil || n < 1 || n > max || fmt.Sprint(n) != v {
		return 0, chat.Errorf(chat.CodeInvalid, "limit must be a whole number from 1 to %d, got %q", max, v)
	}
	return n, nil
}

// logToolFailure makes a tool failure that is not the model's fault seen:
// WARN for a store that is unavailable (it may recover), ERROR for anything
// else (a bug or a panic in an adapter), with the operation and the detail.
func (s *server) logToolFailure(ctx context.Context, f chat.ToolFailure) {
	code := chat.ErrorCode(f.Err)
	level := slog.LevelError
	if code == chat.CodeUnavailable {
		level = slog.LevelWarn
	}
	op := ""
	var e *chat.Error
	if errors.As(f.Err, &e) {
		op = e.Op
	}
	s.Logger.LogAttrs(ctx, level, "tool failed", slog.String("tool", f.Tool), slog.String("code", string(code)),
		slog.String("op", op), slog.String("error", f.Err.Error()))
}

package httpapi

import (
	"errors"
	"net/http"

	"github.com/datachat/datachat/shared/chat"
	"github.com/datachat/datachat/shared/reqlog"
)

// observeTurn gives the chat turn of r its event stream when Options.Observe
// returns a sink, and puts it in the request's context for the agent. A
// turn nobody observes gets a nil stream and pays nothing.
//
// It also returns the observer's sink, for a streamed turn to tee beside
// its stream (turnContext): the run's events then reach both.
func (s *server) observeTurn(r *http.Request, user string) (*http.Request, *chat.Events, chat.Sink) {
	if s.Observe == nil {
		return r, nil, nil
	}
	obs := s.Observe(r, user)
	ev := chat.NewEvents(obs, s.Now)
	if ev == nil {
		return r, nil, nil
	}
	return r.WithContext(chat.WithEvents(r.Context(), ev)), ev, obs
}

// turnStarted emits run_started once the turn's conversation and number
// are known.
func turnStarted(ev *chat.Events, conversation string, n int) {
	if ev == nil {
		return
	}
	ev.Emit(chat.Event{Kind: chat.EventRunStarted, Run: &chat.RunInfo{ConversationID: conversation, Turn: n}})
}

// failTurn reports why the turn produced no answer and answers with the
// error: RUN_ERROR on a stream that has started, else a JSON error.
func (s *server) failTurn(w http.ResponseWriter, r *http.Request, ev *chat.Events, stream *sseStream, err error) {
	if stream != nil {
		s.replyError(w, r, stream, err)
		return
	}
	if ev != nil {
		e := &chat.Error{Code: chat.ErrorCode(err), Message: chat.ErrorMessage(err)}
		var ce *chat.Error
		if errors.As(err, &ce) {
			e.RetryAfter = ce.RetryAfter
		}
		ev.Emit(chat.Event{Kind: chat.EventFailed, Err: e})
	}
	s.writeError(w, r, err)
}

// withRequestIDs gives every request a request id (the one the Lambda
// function put in the context, else a new one) and the trace id of its
// X-Amzn-Trace-Id header when none is set, so every log line of the
// request carries both. The request id is sent back as X-Request-Id.
func withRequestIDs(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ids := reqlog.From(r.Context())
		if ids.Request == "" {
			// The gateway's id (functions/api puts it in the header), else
			// a new one: logRequests and every log line then agree.
			ids.Request = requestID(r)
		}
		if ids.Trace == "" {
			ids.Trace = r.Header.Get("X-Amzn-Trace-Id")
		}
		w.Header().Set(RequestIDHeader, ids.Request)
		next.ServeHTTP(w, r.WithContext(reqlog.With(r.Context(), ids)))
	})
}

package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"
)

// statusRecorder remembers the status a handler wrote, for the access log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// logRequests writes one line per request: method, path, status, duration
// and user. Never bodies or headers, which may hold questions or tokens.
func (s *server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := s.Now()
		rec := &statusRecorder{ResponseWriter: w}
		info := &requestInfo{}
		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), infoKey{}, info)))
		s.Logger.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", rec.status), slog.Duration("duration", s.Now().Sub(start)),
			slog.String("user", info.user))
	})
}

// recoverer turns a panic into a 500 with no internals and logs the stack.
func (s *server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.Logger.ErrorContext(r.Context(), "panic", slog.Any("panic", v), slog.String("stack", string(debug.Stack())))
				writeJSONError(w, http.StatusInternalServerError, "internal", "internal error; the details are in the server log")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// turnDeadline is when a turn must stop thinking: TurnTimeout from now, or
// earlier when the request's own deadline (a Lambda invocation's) comes
// first, keeping SaveReserve to store the turn and answer.
func (s *server) turnDeadline(r *http.Request) time.Time {
	d := s.Now().Add(s.TurnTimeout)
	if parent, ok := r.Context().Deadline(); ok {
		if p := parent.Add(-s.SaveReserve); p.Before(d) {
			d = p
		}
	}
	return d
}

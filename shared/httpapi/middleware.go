package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/datachat/datachat/shared/reqlog"
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

// logRequests writes one line per request: method, path, status, duration,
// user and request id. Never bodies or headers, which may hold questions or
// tokens. The line is written from a deferred call, so a request that
// panics below (and that the inner recoverer answers) is logged too.
func (s *server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := s.Now()
		rec := &statusRecorder{ResponseWriter: w}
		info := &requestInfo{id: requestID(r)}
		if id := reqlog.From(r.Context()).Request; id != "" {
			info.id = id
		}
		w.Header().Set(RequestIDHeader, info.id)
		defer func() {
			status := rec.status
			if status == 0 {
				// Nothing was written: net/http will answer 200 with no body,
				// or the connection was aborted by a re-raised panic.
				status = http.StatusOK
			}
			s.Logger.LogAttrs(r.Context(), slog.LevelInfo, "request",
				slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.Int("status", status), slog.Duration("duration", s.Now().Sub(start)),
				slog.String("user", info.user))
		}()
		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), infoKey{}, info)))
	})
}

// RequestIDHeader carries a request's id: set by the Lambda function from
// API Gateway's request id, generated here otherwise, and sent back so a
// client can quote it. Every log line of a request carries it.
const RequestIDHeader = "X-Request-Id"

// requestID is the id the request came with, when it looks like one (so a
// client cannot forge log lines with it), or a new random one.
func requestID(r *http.Request) string {
	if id := r.Header.Get(RequestIDHeader); plainID(id) {
		return id
	}
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// plainID accepts ids such as API Gateway's ("JKJaXmPLvHcESHA="): 1-128
// letters, digits and -_=+/. characters.
func plainID(id string) bool {
	if len(id) == 0 || len(id) > 128 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_=+/.", r)) {
			return false
		}
	}
	return true
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

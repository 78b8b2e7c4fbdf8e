// Package httpapi is the one http.Handler of the service: routes, JSON
// encoding, authentication middleware and the mapping of error codes to
// HTTP statuses. The local dev server serves it with net/http and the
// Lambda function through the API Gateway proxy adapter, so both behave
// the same.
package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/datachat/datachat/shared/chat"
	"github.com/datachat/datachat/shared/reqlog"
)

// Answerer runs one chat turn. *chat.Agent implements it.
type Answerer interface {
	Run(ctx context.Context, history []chat.Turn, question string) (chat.Result, error)
}

// Authenticator returns the user id of a request, or a CodeUnauthorized
// error. Locally it verifies a JWT; in Lambda it reads the claims that API
// Gateway's authorizer verified.
type Authenticator interface {
	Authenticate(r *http.Request) (string, error)
}

// Options configure the handler. Every field but the limits is required.
type Options struct {
	Agent         Answerer
	Memory        chat.Memory
	Conversations chat.Conversations
	// Jobs, Queue and Idempotency serve queued turns (Prefer:
	// respond-async, GET /jobs/{id}) and Idempotency-Key; without them
	// those requests are refused with a message that says so.
	Jobs        chat.Jobs
	Queue       chat.Queue
	Idempotency chat.Idempotency
	Auth        Authenticator
	Logger      *slog.Logger
	NewID       func() string    // conversation ids
	Now         func() time.Time // the clock; time.Now when nil

	// Observe, when set, returns a sink for the events of one chat turn of
	// user (the turn's metrics); a nil sink observes nothing. It is called
	// once per POST /chat, after authentication.
	Observe func(r *http.Request, user string) chat.Sink

	// Meter keeps the per-user counters behind UserLimits; required when
	// a limit is set. TurnTokens is what a turn reserves of the daily
	// token budget before it runs: the most one turn may use.
	Meter      chat.Meter
	UserLimits chat.UserLimits
	TurnTokens int

	TurnTimeout     time.Duration // a turn's deadline when the request has none sooner (default 25 s)
	SaveReserve     time.Duration // time kept back from the turn for storing it (default 2 s)
	MaxBodyBytes    int64         // default BodyBytesFor(MaxMessageChars); never less
	MaxMessageChars int           // default 8,000
	HistoryTurns    int           // earlier turns loaded for a follow-up (default 20; NoHistory for none)
	MaxListLimit    int           // largest page of GET /conversations (default 100)

	// StreamTurnTimeout is a streamed turn's deadline when the request has
	// none sooner (default 5 min).
	StreamTurnTimeout time.Duration
	// Heartbeat is the longest a stream stays silent: a comment line is
	// sent when nothing else was for this long (default 15 s).
	Heartbeat time.Duration

	Page PageOptions // the chat page's sign-in (see page.go)
}

// Defaults of Options.
const (
	DefaultTurnTimeout     = 25 * time.Second
	DefaultSaveReserve     = 2 * time.Second
	DefaultMaxMessageChars = 8000
	DefaultHistoryTurns    = 20
	DefaultMaxListLimit    = 100

	DefaultStreamTurnTimeout = 5 * time.Minute
	DefaultHeartbeat         = 15 * time.Second
)

// BodyBytesFor is the smallest body limit that admits every message of
// chars characters however it is escaped: a character outside the Basic
// Multilingual Plane sent as a \uXXXX\uXXXX surrogate pair is 12 bytes,
// and the envelope (keys, a conversation id, whitespace) gets 4 KiB. The
// character limit is the rule users see; the byte limit only stops bodies
// no message could need.
func BodyBytesFor(chars int) int64 { return 12*int64(chars) + 4<<10 }

// NoHistory as Options.HistoryTurns sends the model no earlier turns (zero
// means the default, as for every option).
const NoHistory = -1

// server holds only configuration and clients; each request's state lives
// in its handler's locals.
type server struct {
	Options
}

// New returns the handler with every route.
func New(opts Options) (http.Handler, error) {
	s, err := newServer(opts)
	if err != nil {
		return nil, err
	}
	return s.handler()
}

// newServer checks opts and fills in the defaults.
func newServer(opts Options) (*server, error) {
	if opts.Agent == nil || opts.Memory == nil || opts.Conversations == nil || opts.Auth == nil || opts.Logger == nil || opts.NewID == nil {
		return nil, errors.New("httpapi.New: Agent, Memory, Conversations, Auth, Logger and NewID are required")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	// Every line logged with a request's context names its request and
	// trace (withRequestIDs puts them there).
	opts.Logger = slog.New(reqlog.Handler(opts.Logger.Handler()))
	if opts.UserLimits.On() && (opts.Meter == nil || opts.TurnTokens < 1) {
		return nil, errors.New("httpapi.New: per-user limits need a Meter and TurnTokens")
	}
	setDefault(&opts.TurnTimeout, DefaultTurnTimeout)
	setDefault(&opts.SaveReserve, DefaultSaveReserve)
	setDefault(&opts.MaxMessageChars, DefaultMaxMessageChars)
	setDefault(&opts.MaxBodyBytes, BodyBytesFor(opts.MaxMessageChars))
	if min := BodyBytesFor(opts.MaxMessageChars); opts.MaxBodyBytes < min {
		return nil, fmt.Errorf("httpapi.New: MaxBodyBytes %d would refuse escaped messages within MaxMessageChars %d; it must be at least %d", opts.MaxBodyBytes, opts.MaxMessageChars, min)
	}
	setDefault(&opts.HistoryTurns, DefaultHistoryTurns)
	setDefault(&opts.MaxListLimit, DefaultMaxListLimit)
	setDefault(&opts.StreamTurnTimeout, DefaultStreamTurnTimeout)
	setDefault(&opts.Heartbeat, DefaultHeartbeat)
	return &server{Options: opts}, nil
}

// handler routes every request.
func (s *server) handler() (http.Handler, error) {
	mux := http.NewServeMux()
	handlers := map[string]func(http.ResponseWriter, *http.Request, string){
		"GET /health":                s.health,
		"POST /chat":                 s.chat,
		"GET /conversations":         s.listConversations,
		"GET /conversations/{id}":    s.getConversation,
		"DELETE /conversations/{id}": s.deleteConversation,
		"GET /jobs/{id}":             s.getJob,
	}
	for _, rt := range Routes() {
		pattern := rt.Method + " " + rt.Path
		h, ok := handlers[pattern]
		if !ok {
			return nil, fmt.Errorf("httpapi.New: no handler for route %s", pattern)
		}
		if rt.Auth {
			mux.Handle(pattern, s.authed(h))
		} else {
			mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) { h(w, r, "") })
		}
	}
	if err := s.routePage(mux); err != nil {
		return nil, err
	}
	// The patterns without a method catch the other methods, so a wrong
	// method gets a JSON 405 naming the allowed ones rather than the
	// mux's plain-text reply; "/" catches unknown paths.
	mux.HandleFunc("/health", methodNotAllowed("GET, HEAD"))
	mux.HandleFunc("/chat", methodNotAllowed("POST"))
	mux.HandleFunc("/conversations", methodNotAllowed("GET"))
	mux.HandleFunc("/conversations/{id}", methodNotAllowed("GET, DELETE"))
	mux.HandleFunc("/jobs/{id}", methodNotAllowed("GET"))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSONError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no route %s %s; the routes are POST /chat, GET /jobs/{id}, GET /conversations, GET and DELETE /conversations/{id}, GET /health", r.Method, r.URL.Path))
	})
	// The inner recoverer answers a panic in a handler, so the access log
	// around it sees the 500; the outer one guards the logger itself.
	return withRequestIDs(s.recoverer(s.logRequests(s.recoverer(mux)))), nil
}

// Route is one route the handler serves.
type Route struct {
	Method, Path string
	Auth         bool // needs an authenticated user
}

// Routes lists every route, so the deployment (template.yaml) can be
// checked against what the handler serves.
func Routes() []Route {
	return []Route{
		{"GET", "/health", false},
		{"POST", "/chat", true},
		{"GET", "/conversations", true},
		{"GET", "/conversations/{id}", true},
		{"DELETE", "/conversations/{id}", true},
		{"GET", "/jobs/{id}", true},
	}
}

func setDefault[T comparable](v *T, d T) {
	var zero T
	if *v == zero {
		*v = d
	}
}

func (s *server) health(w http.ResponseWriter, _ *http.Request, _ string) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// infoKey carries a request's *requestInfo in its context.
type infoKey struct{}

// requestInfo is what the access log learns about a request while it is
// handled. It belongs to one request.
type requestInfo struct {
	id   string
	user string
}

// authed wraps h so it runs only for an authenticated user, whose id it
// finds in the request's context.
func (s *server) authed(h func(http.ResponseWriter, *http.Request, string)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, err := s.Auth.Authenticate(r)
		if err != nil {
			if chat.ErrorCode(err) != chat.CodeUnauthorized {
				err = chat.Wrap(err, chat.CodeUnauthorized, "httpapi.authed", "authentication failed")
			}
			w.Header().Set("WWW-Authenticate", `Bearer`)
			s.writeError(w, r, err)
			return
		}
		if info, ok := r.Context().Value(infoKey{}).(*requestInfo); ok {
			info.user = user
		}
		h(w, r, user)
	})
}

func methodNotAllowed(allow string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		writeJSONError(w, http.StatusMethodNotAllowed, "method_not_allowed", fmt.Sprintf("%s is not allowed on %s; use %s", r.Method, r.URL.Path, allow))
	}
}

// statusOf maps every error code to its HTTP status: the one place where
// the domain's vocabulary meets HTTP.
func statusOf(code chat.Code) int {
	switch code {
	case chat.CodeInvalid:
		return http.StatusBadRequest
	case chat.CodeUnauthorized:
		return http.StatusUnauthorized
	case chat.CodeQuotaExhausted:
		return http.StatusPaymentRequired
	case chat.CodeNotFound:
		return http.StatusNotFound
	case chat.CodeConflict:
		return http.StatusConflict
	case chat.CodeKeyReused:
		return http.StatusUnprocessableEntity
	case chat.CodeRateLimited, chat.CodeBudgetExhausted:
		return http.StatusTooManyRequests
	case chat.CodeTooLarge:
		return http.StatusRequestEntityTooLarge
	case chat.CodeUnsupportedMedia:
		return http.StatusUnsupportedMediaType
	case chat.CodeModelError:
		return http.StatusBadGateway
	case chat.CodeUnavailable, chat.CodeModelUnavailable:
		return http.StatusServiceUnavailable
	case chat.CodeDeadline:
		return http.StatusGatewayTimeout
	}
	return http.StatusInternalServerError
}

// writeError answers with the error's status and caller-safe message and
// logs the whole error (with internals) for the operator.
func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := chat.ErrorCode(err)
	status := statusOf(code)
	var e *chat.Error
	if errors.As(err, &e) && e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	s.Logger.LogAttrs(r.Context(), level, "request failed", slog.String("code", string(code)), slog.Int("status", status),
		slog.String("error", err.Error()))
	writeJSONError(w, status, string(code), chat.ErrorMessage(err))
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeJSONError(w http.ResponseWriter, status int, code, message string) {
	var b errorBody
	b.Error.Code, b.Error.Message = code, message
	writeJSON(w, status, b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"error":{"code":"internal","message":"the response could not be encoded"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	// Two writes rather than append: Marshal's result has no room for the
	// newline, and appending would copy the whole answer once more.
	_, _ = w.Write(body)
	_, _ = w.Write([]byte{'\n'})
}

// encodeJSON is v as writeJSON sends it, for answers that are also kept
// (an idempotency record, a job's result).
func encodeJSON(v any) []byte {
	body, err := json.Marshal(v)
	if err != nil {
		body = []byte(`{"error":{"code":"internal","message":"the response could not be encoded"}}`)
	}
	return append(body, '\n')
}

// writeBody sends a JSON body that is already encoded.
func writeBody(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

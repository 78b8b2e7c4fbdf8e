package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/datachat/datachat/shared/auth"
	"github.com/datachat/datachat/shared/chat"
	"github.com/datachat/datachat/shared/chat/chattest"
	"github.com/datachat/datachat/shared/embedded"
	"github.com/datachat/datachat/shared/httpapi"
)

const secret = "test-secret-0123456789abcdef0123456789"

type env struct {
	h      http.Handler
	mem    *embedded.Memory
	model  *chattest.ScriptedModel
	logs   *bytes.Buffer
	memErr atomic.Pointer[error] // when set, Append fails with it
}

// failingMemory wraps the embedded store so a test can make Append fail.
type failingMemory struct {
	*embedded.Memory
	e *env
}

func (f failingMemory) Append(ctx context.Context, t chat.Turn) (chat.Turn, error) {
	if err := f.e.memErr.Load(); err != nil {
		return chat.Turn{}, *err
	}
	return f.Memory.Append(ctx, t)
}

func echo(_ context.Context, req chat.ModelRequest, _ int) (chat.ModelResponse, error) {
	return chattest.Answer("echo: "+req.Messages[len(req.Messages)-1].Content, 20), nil
}

func newEnv(t *testing.T, reply func(context.Context, chat.ModelRequest, int) (chat.ModelResponse, error)) *env {
	t.Helper()
	return newEnvWith(t, reply, nil)
}

// newEnvWith is newEnv with options changed by opt before the handler is built.
func newEnvWith(t *testing.T, reply func(context.Context, chat.ModelRequest, int) (chat.ModelResponse, error), opt func(*httpapi.Options)) *env {
	t.Helper()
	e := &env{mem: embedded.NewMemory(nil), model: &chattest.ScriptedModel{Reply: reply}, logs: &bytes.Buffer{}}
	c := chat.Collection{Name: "Prices", Fields: []chat.Field{{Name: "day", Type: chat.TypeDate}, {Name: "price", Type: chat.TypeNumber}}}
	w, err := embedded.NewWarehouse([]embedded.Dataset{{Collection: c, Rows: [][]any{{"2008-01-02", 1.0}}, IDs: []string{"1"}}}, 100)
	if err != nil {
		t.Fatal(err)
	}
	agent, err := chat.NewAgent(e.model, w, chat.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := auth.NewHS256([]byte(secret), nil)
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	opts := httpapi.Options{
		Agent: agent, Memory: failingMemory{e.mem, e}, Conversations: e.mem, Auth: verifier,
		Logger: slog.New(slog.NewTextHandler(e.logs, nil)),
		NewID:  func() string { return fmt.Sprintf("conv-%d", n.Add(1)) },
	}
	if opt != nil {
		opt(&opts)
	}
	e.h, err = httpapi.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func token(t testing.TB, user string) string {
	t.Helper()
	tok, err := auth.Issue([]byte(secret), user, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

type resp struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (e *env) do(t *testing.T, method, path, tok, contentType, body string) resp {
	t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if tok != "" {
		r.Header.Set("Authorization", "Bearer "+tok)
	}
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	out := resp{status: w.Code, header: w.Header(), raw: w.Body.String()}
	if w.Body.Len() > 0 {
		if err := json.Unmarshal(w.Body.Bytes(), &out.body); err != nil {
			t.Fatalf("%s %s: body is not JSON: %q", method, path, w.Body.String())
		}
		if ct := w.Header().Get("Content-Type"); ct != "application/json" {
			t.Fatalf("%s %s: Content-Type %q, want application/json", method, path, ct)
		}
	}
	return out
}

func (e *env) chat(t *testing.T, user, body string) resp {
	return e.do(t, http.MethodPost, "/chat", token(t, user), "application/json", body)
}

func errCode(r resp) string {
	e, _ := r.body["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

func errMessage(r resp) string {
	e, _ := r.body["error"].(map[string]any)
	msg, _ := e["message"].(string)
	return msg
}

func TestChatAnswersAndRemembers(t *testing.T) {
	e := newEnv(t, echo)
	r := e.chat(t, "alice", `{"message": "hello"}`)
	if r.status != 200 || r.body["answer"] != "echo: hello" || r.body["finish_reason"] != "stop" {
		t.Fatalf("got %d %s", r.status, r.raw)
	}
	id := r.body["conversation_id"].(string)
	for _, k := range []string{"table", "chart", "usage"} {
		if _, ok := r.body[k]; !ok {
			t.Errorf("response lacks %q: %s", k, r.raw)
		}
	}
	r2 := e.chat(t, "alice", fmt.Sprintf(`{"message": "again", "conversation_id": %q}`, id))
	if r2.status != 200 || r2.body["turn"] != 2.0 {
		t.Fatalf("follow-up: %d %s", r2.status, r2.raw)
	}
	// The follow-up's request carried the first turn.
	reqs := e.model.Requests()
	if !containsMessage(reqs[1].Messages, chat.RoleUser, "hello") {
		t.Fatal("the follow-up was sent without the conversation's history")
	}
	got := e.do(t, "GET", "/conversations/"+id, token(t, "alice"), "", "")
	turns, _ := got.body["turns"].([]any)
	if got.status != 200 || len(turns) != 2 {
		t.Fatalf("GET conversation: %d %s", got.status, got.raw)
	}
	if strings.Contains(got.raw, "tool_call") || strings.Contains(got.raw, "user_id") {
		t.Fatalf("conversation exposes internals: %s", got.raw)
	}
}

func containsMessage(msgs []chat.Message, role chat.Role, content string) bool {
	for _, m := range msgs {
		if m.Role == role && m.Content == content {
			return true
		}
	}
	return false
}

func TestAnotherUsersConversationIsNotFound(t *testing.T) {
	e := newEnv(t, echo)
	r := e.chat(t, "alice", `{"message": "alice's secret question"}`)
	id := r.body["conversation_id"].(string)

	for _, tc := range []struct{ method, path, body string }{
		{"GET", "/conversations/" + id, ""},
		{"DELETE", "/conversations/" + id, ""},
		{"POST", "/chat", fmt.Sprintf(`{"message": "and?", "conversation_id": %q}`, id)},
	} {
		got := e.do(t, tc.method, tc.path, token(t, "bob"), "application/json", tc.body)
		if got.status != 404 || errCode(got) != "not_found" {
			t.Errorf("bob %s %s: %d %s, want 404", tc.method, tc.path, got.status, got.raw)
		}
		if strings.Contains(got.raw, "secret") {
			t.Errorf("bob %s %s saw alice's data: %s", tc.method, tc.path, got.raw)
		}
	}
	if got := e.do(t, "GET", "/conversations/"+id, token(t, "alice"), "", ""); got.status != 200 {
		t.Fatalf("alice lost her conversation: %d", got.status)
	}
}

func TestAuthentication(t *testing.T) {
	e := newEnv(t, echo)
	now := time.Now()
	sign := func(method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(method, claims).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	valid := jwt.MapClaims{"sub": "alice", "exp": now.Add(time.Hour).Unix()}
	cases := map[string]string{
		"no token":        "",
		"garbage":         "not.a.jwt",
		"wrong secret":    sign(jwt.SigningMethodHS256, []byte("another-secret-0123456789abcdef0123"), valid),
		"expired":         sign(jwt.SigningMethodHS256, []byte(secret), jwt.MapClaims{"sub": "alice", "exp": now.Add(-time.Minute).Unix()}),
		"no exp":          sign(jwt.SigningMethodHS256, []byte(secret), jwt.MapClaims{"sub": "alice"}),
		"no sub":          sign(jwt.SigningMethodHS256, []byte(secret), jwt.MapClaims{"exp": now.Add(time.Hour).Unix()}),
		"sub with #":      sign(jwt.SigningMethodHS256, []byte(secret), jwt.MapClaims{"sub": "alice#bob", "exp": now.Add(time.Hour).Unix()}),
		"HS512 algorithm": sign(jwt.SigningMethodHS512, []byte(secret), valid),
		"none algorithm":  sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, valid),
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			r := e.do(t, "POST", "/chat", tok, "application/json", `{"message":"hi"}`)
			if r.status != 401 || errCode(r) != "unauthorized" || r.header.Get("WWW-Authenticate") == "" {
				t.Fatalf("got %d %s, want 401 unauthorized", r.status, r.raw)
			}
		})
	}
	r := httptest.NewRequest("GET", "/conversations", nil)
	r.Header.Set("Authorization", "Basic YWxpY2U6cHc=")
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	if w.Code != 401 {
		t.Fatalf("Basic auth: %d, want 401", w.Code)
	}
	if e.model.Calls() != 0 {
		t.Fatalf("the model ran %d times for unauthenticated requests", e.model.Calls())
	}
	if got := e.do(t, "GET", "/health", "", "", ""); got.status != 200 || got.body["status"] != "ok" {
		t.Fatalf("health needs no auth: %d %s", got.status, got.raw)
	}
}

func TestBadRequestsStoreNothing(t *testing.T) {
	e := newEnv(t, echo)
	maxBody := int(httpapi.BodyBytesFor(httpapi.DefaultMaxMessageChars))
	// A body of exactly maxBody bytes: {"message":"xxx...x"} padded with spaces.
	exact := `{"message":"` + strings.Repeat("x", 7000) + `"}`
	exact += strings.Repeat(" ", maxBody-len(exact))
	cases := []struct {
		name, contentType, body string
		status                  int
		code                    string
	}{
		{"no content type", "", `{"message":"hi"}`, 415, "unsupported_media"},
		{"text/plain", "text/plain", `{"message":"hi"}`, 415, "unsupported_media"},
		{"malformed JSON", "application/json", `{"message": "hi"`, 400, "invalid"},
		{"syntax error", "application/json", `{"message": hi}`, 400, "invalid"},
		{"empty body", "application/json", ``, 400, "invalid"},
		{"not an object", "application/json", `["hi"]`, 400, "invalid"},
		{"missing message", "application/json", `{}`, 400, "invalid"},
		{"empty message", "application/json", `{"message": ""}`, 400, "invalid"},
		{"whitespace message", "application/json", `{"message": " \n\t "}`, 400, "invalid"},
		{"message not a string", "application/json", `{"message": 42}`, 400, "invalid"},
		{"unknown field", "application/json", `{"message": "hi", "user": "bob"}`, 400, "invalid"},
		{"two values", "application/json", `{"message": "hi"} {"message": "again"}`, 400, "invalid"},
		{"bad conversation id", "application/json", `{"message": "hi", "conversation_id": "../etc"}`, 400, "invalid"},
		{"unknown conversation", "application/json", `{"message": "hi", "conversation_id": "nope"}`, 404, "not_found"},
		{"body one byte over", "application/json", exact + " ", 413, "too_large"},
		{"message one char over", "application/json", `{"message":"` + strings.Repeat("€", httpapi.DefaultMaxMessageChars+1) + `"}`, 413, "too_large"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(t, "POST", "/chat", token(t, "carol"), tc.contentType, tc.body)
			if r.status != tc.status || errCode(r) != tc.code || errMessage(r) == "" {
				t.Fatalf("got %d %s, want %d %s", r.status, r.raw, tc.status, tc.code)
			}
		})
	}
	list := e.do(t, "GET", "/conversations", token(t, "carol"), "", "")
	if convs := list.body["conversations"].([]any); len(convs) != 0 || e.model.Calls() != 0 {
		t.Fatalf("rejected requests stored %d conversations and ran the model %d times", len(convs), e.model.Calls())
	}

	// At the limits: accepted.
	if r := e.do(t, "POST", "/chat", token(t, "carol"), "application/json", exact); r.status != 200 {
		t.Fatalf("body of exactly %d bytes: %d %s", maxBody, r.status, r.raw)
	}
	atLimit := `{"message":"` + strings.Repeat("€", httpapi.DefaultMaxMessageChars) + `"}`
	if r := e.do(t, "POST", "/chat", token(t, "carol"), "application/json; charset=utf-8", atLimit); r.status != 200 {
		t.Fatalf("message of exactly %d characters: %d %s", httpapi.DefaultMaxMessageChars, r.status, r.raw[:min(200, len(r.raw))])
	}
}

func TestMethodsAndRoutes(t *testing.T) {
	e := newEnv(t, echo)
	tok := token(t, "dave")
	for _, tc := range []struct {
		method, path string
		status       int
		allow        string
	}{
		{"GET", "/chat", 405, "POST"},
		{"PUT", "/conversations/abc", 405, "GET, DELETE"},
		{"POST", "/conversations", 405, "GET"},
		{"POST", "/health", 405, "GET, HEAD"},
		{"GET", "/nope", 404, ""},
		{"GET", "/conversations/abc", 404, ""},
	} {
		r := e.do(t, tc.method, tc.path, tok, "application/json", "")
		if r.status != tc.status || r.header.Get("Allow") != tc.allow || errMessage(r) == "" {
			t.Errorf("%s %s: %d (Allow %q) %s, want %d (Allow %q)", tc.method, tc.path, r.status, r.header.Get("Allow"), r.raw, tc.status, tc.allow)
		}
	}
}

func TestFailuresMapToStatusesWithoutLeaking(t *testing.T) {
	cases := []struct {
		err    error
		status int
		code   string
		retry  string
	}{
		{errors.New("pq: password=hunter2 connection failed"), 500, "internal", ""},
		{&chat.Error{Code: chat.CodeModelUnavailable, Message: "the model is overloaded; retry shortly", RetryAfter: 7, Err: errors.New("503 from upstream")}, 503, "model_unavailable", "7"},
		{chat.Errorf(chat.CodeQuotaExhausted, "the model account has no quota left"), 402, "quota_exhausted", ""},
		{chat.Errorf(chat.CodeModelError, "the model sent a malformed response"), 502, "model_error", ""},
		{chat.Errorf(chat.CodeDeadline, "out of time"), 504, "deadline", ""},
	}
	for _, tc := range cases {
		e := newEnv(t, func(context.Context, chat.ModelRequest, int) (chat.ModelResponse, error) {
			return chat.ModelResponse{}, tc.err
		})
		r := e.chat(t, "erin", `{"message": "hi"}`)
		if r.status != tc.status || errCode(r) != tc.code || r.header.Get("Retry-After") != tc.retry {
			t.Errorf("%v: got %d %s (Retry-After %q), want %d %s", tc.err, r.status, r.raw, r.header.Get("Retry-After"), tc.status, tc.code)
		}
		if strings.Contains(r.raw, "hunter2") || strings.Contains(r.raw, "upstream") {
			t.Errorf("internals leaked: %s", r.raw)
		}
		if list, _, _ := e.mem.List(context.Background(), "erin", 10, ""); len(list) != 0 {
			t.Errorf("a failed turn was stored")
		}
	}
}

// A store that stays busy through the save reserve: the answer, already
// paid for, is sent with "saved": false, and nothing is stored.
func TestStoreFailureAnswersUnsaved(t *testing.T) {
	e := newEnvWith(t, echo, func(o *httpapi.Options) { o.SaveReserve = 300 * time.Millisecond })
	err := error(chat.Wrap(errors.New("ThrottlingException"), chat.CodeUnavailable, "dynamo.Append", "the conversation store is busy; try again"))
	e.memErr.Store(&err)
	r := e.chat(t, "fay", `{"message": "hi"}`)
	if r.status != 200 || r.body["saved"] != false || r.body["answer"] != "echo: hi" {
		t.Fatalf("got %d %s, want 200 with the answer and saved false", r.status, r.raw)
	}
	if !strings.Contains(e.logs.String(), "turn not saved") {
		t.Fatalf("the unsaved turn was not logged:\n%s", e.logs)
	}
	if list, _, _ := e.mem.List(context.Background(), "fay", 10, ""); len(list) != 0 {
		t.Fatal("a turn was stored although the store failed")
	}
}

func TestTurnDeadlineFollowsTheRequest(t *testing.T) {
	var left atomic.Int64
	e := newEnv(t, func(ctx context.Context, _ chat.ModelRequest, _ int) (chat.ModelResponse, error) {
		d, _ := ctx.Deadline()
		left.Store(int64(time.Until(d)))
		return chattest.Answer("ok", 10), nil
	})
	// A request whose own deadline (as a Lambda invocation's) is 10 s away:
	// the turn must end 2 s (the save reserve) before it, not in 25 s.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r := httptest.NewRequest("POST", "/chat", strings.NewReader(`{"message":"hi"}`)).WithContext(ctx)
	r.Header.Set("Authorization", "Bearer "+token(t, "gus"))
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	if w.Code != 200 {
		t.Fatalf("got %d %s", w.Code, w.Body)
	}
	if got := time.Duration(left.Load()); got > 8*time.Second || got < 5*time.Second {
		t.Fatalf("turn deadline %v away; want about 8 s (request deadline minus the save reserve)", got)
	}
}

func TestListAndDelete(t *testing.T) {
	e := newEnv(t, echo)
	tok := token(t, "hal")
	var ids []string
	for i := range 5 {
		r := e.chat(t, "hal", fmt.Sprintf(`{"message": "q%d"}`, i))
		ids = append(ids, r.body["conversation_id"].(string))
	}
	r := e.do(t, "GET", "/conversations?limit=2", tok, "", "")
	convs := r.body["conversations"].([]any)
	if r.status != 200 || len(convs) != 2 || r.body["next_cursor"] == nil {
		t.Fatalf("page 1: %d %s", r.status, r.raw)
	}
	for _, bad := range []string{"0", "101", "x", "2.5"} {
		if r := e.do(t, "GET", "/conversations?limit="+bad, tok, "", ""); r.status != 400 {
			t.Errorf("limit=%s: %d, want 400", bad, r.status)
		}
	}
	if r := e.do(t, "GET", "/conversations?limit=100", tok, "", ""); r.status != 200 {
		t.Errorf("limit=100: %d, want 200", r.status)
	}
	if r := e.do(t, "DELETE", "/conversations/"+ids[0], tok, "", ""); r.status != 204 || r.raw != "" {
		t.Fatalf("delete: %d %q", r.status, r.raw)
	}
	if r := e.do(t, "DELETE", "/conversations/"+ids[0], tok, "", ""); r.status != 404 {
		t.Fatalf("second delete: %d, want 404", r.status)
	}
}

func TestPanicIs500(t *testing.T) {
	e := newEnv(t, func(context.Context, chat.ModelRequest, int) (chat.ModelResponse, error) {
		panic("boom: secret detail")
	})
	r := e.chat(t, "ivy", `{"message":"hi"}`)
	if r.status != 500 || strings.Contains(r.raw, "secret") {
		t.Fatalf("got %d %s", r.status, r.raw)
	}
	if !strings.Contains(e.logs.String(), "boom") {
		t.Fatal("the panic was not logged")
	}
}

// A panicking request still gets its access line, with the 500 it was
// answered with and its request id.
func TestPanicIsInTheAccessLog(t *testing.T) {
	e := newEnv(t, func(context.Context, chat.ModelRequest, int) (chat.ModelResponse, error) {
		panic("boom")
	})
	r := e.chat(t, "ivy", `{"message":"hi"}`)
	id := r.header.Get("X-Request-Id")
	if r.status != 500 || id == "" {
		t.Fatalf("got %d %s, request id %q", r.status, r.raw, id)
	}
	var access string
	for _, line := range strings.Split(e.logs.String(), "\n") {
		if strings.Contains(line, "msg=request ") {
			access = line
		}
	}
	if !strings.Contains(access, "status=500") || !strings.Contains(access, "path=/chat") || !strings.Contains(access, "request_id="+id) {
		t.Fatalf("access line %q, want status=500 path=/chat request_id=%s; logs:\n%s", access, id, e.logs)
	}
}

// escapeASCII encodes s as Python's json.dumps does by default: every
// non-ASCII character as \uXXXX, outside the BMP as a surrogate pair.
func escapeASCII(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r < 0x80:
			b.WriteRune(r)
		case r > 0xFFFF:
			r -= 0x10000
			fmt.Fprintf(&b, `\u%04x\u%04x`, 0xD800+(r>>10), 0xDC00+(r&0x3FF))
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	return b.String()
}

// Any message within the character limit is accepted however the client
// escapes it; the character limit, not the byte limit, is what refuses.
func TestEscapedMessagesWithinTheCharacterLimit(t *testing.T) {
	e := newEnv(t, echo)
	limit := httpapi.DefaultMaxMessageChars
	for _, tc := range []struct {
		name  string
		chars int
		char  string
	}{
		{"6,000 Chinese characters", 6000, "数"},
		{"8,000 Chinese characters", limit, "数"},
		{"8,000 emoji", limit, "😀"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := strings.Repeat(tc.char, tc.chars)
			body := `{"message": "` + escapeASCII(msg) + `", "conversation_id": null}`
			r := e.chat(t, "uma", body)
			if r.status != 200 || r.body["question"] != msg {
				t.Fatalf("a %d-byte body with a %d-character message: got %d %.200s", len(body), tc.chars, r.status, r.raw)
			}
		})
	}
	over := `{"message": "` + escapeASCII(strings.Repeat("数", limit+1)) + `"}`
	r := e.chat(t, "uma", over)
	if r.status != 413 || !strings.Contains(errMessage(r), fmt.Sprintf("%d characters; the limit is %d", limit+1, limit)) {
		t.Fatalf("one character over: got %d %s, want 413 naming the character limit", r.status, r.raw)
	}
}

// Field names match exactly: a differently cased or repeated key is a 400
// that names it, so nothing inspecting "message" sees other text than the
// agent does.
func TestExactFieldNames(t *testing.T) {
	e := newEnv(t, echo)
	for _, tc := range []struct{ body, names string }{
		{`{"MESSAGE": "hi"}`, `"MESSAGE"`},
		{`{"message": "first", "Message": "second"}`, `"Message"`},
		{`{"message": "first", "message": "second"}`, `"message" appears more than once`},
		{`{"message": "hi", "Conversation_ID": "c1"}`, `"Conversation_ID"`},
		{`{"message": "hi", "conversation_id": "c1", "conversation_id": "c2"}`, `"conversation_id" appears more than once`},
	} {
		r := e.chat(t, "val", tc.body)
		if r.status != 400 || errCode(r) != "invalid" || !strings.Contains(errMessage(r), tc.names) {
			t.Errorf("%s: got %d %s, want 400 naming %s", tc.body, r.status, r.raw, tc.names)
		}
	}
	if e.model.Calls() != 0 {
		t.Fatalf("the model ran %d times for refused bodies", e.model.Calls())
	}
}

// NoHistory sends the model no earlier turn, yet a follow-up is still
// checked against the user's conversations and numbered after the last turn.
func TestNoHistory(t *testing.T) {
	e := newEnvWith(t, echo, func(o *httpapi.Options) { o.HistoryTurns = httpapi.NoHistory })
	first := e.chat(t, "walt", `{"message": "first question"}`)
	conv, _ := first.body["conversation_id"].(string)
	second := e.chat(t, "walt", `{"message": "second", "conversation_id": "`+conv+`"}`)
	if second.status != 200 || second.body["turn"] != 2.0 {
		t.Fatalf("follow-up: %d %s", second.status, second.raw)
	}
	reqs := e.model.Requests()
	for _, m := range reqs[len(reqs)-1].Messages {
		if strings.Contains(m.Content, "first question") {
			t.Fatalf("the model was sent an earlier turn with NoHistory: %+v", reqs[len(reqs)-1].Messages)
		}
	}
	if r := e.chat(t, "xena", `{"message": "x", "conversation_id": "`+conv+`"}`); r.status != 404 {
		t.Fatalf("another user's conversation with NoHistory: %d", r.status)
	}
}

// GET /conversations/{id} pages its turns oldest first, by limit and by
// bytes: 16 turns with tables of 500 rows of about 1 KB never come back in
// one body over the page budget.
func TestConversationPages(t *testing.T) {
	wide := strings.Repeat("w", 1000)
	e := newEnv(t, echo)
	ctx := context.Background()
	var conv string
	for i := range 16 {
		rows := make([][]any, 500)
		for j := range rows {
			rows[j] = []any{fmt.Sprintf("%d-%d", i, j), wide}
		}
		tr := chat.Turn{UserID: "pat", ConversationID: "big", Question: fmt.Sprintf("q%d", i), Answer: "a", FinishReason: chat.FinishStop,
			Table: &chat.Table{Columns: []chat.Column{{Name: "k", Type: chat.TypeText}, {Name: "v", Type: chat.TypeText}}, Rows: rows, TotalRows: 500}}
		stored, err := e.mem.Append(ctx, tr)
		if err != nil {
			t.Fatal(err)
		}
		conv = stored.ConversationID
	}
	tok := token(t, "pat")
	var seen []string
	largest, cursor := 0, ""
	for page := 0; ; page++ {
		r := e.do(t, "GET", "/conversations/"+conv+"?limit=10&cursor="+cursor, tok, "", "")
		if r.status != 200 {
			t.Fatalf("page %d: %d %.300s", page, r.status, r.raw)
		}
		largest = max(largest, len(r.raw))
		if len(r.raw) > chat.MaxPageBytes+64<<10 {
			t.Fatalf("page %d is %d bytes, over the %d-byte page budget", page, len(r.raw), chat.MaxPageBytes)
		}
		for _, tr := range r.body["turns"].([]any) {
			m := tr.(map[string]any)
			seen = append(seen, m["question"].(string))
			tbl := m["table"].(map[string]any)
			if tbl["truncated"] != true || tbl["total_rows"] != 500.0 {
				t.Fatalf("a table over %d bytes is not marked truncated with its total: %v %v", chat.MaxTableBytes, tbl["truncated"], tbl["total_rows"])
			}
		}
		next, _ := r.body["next_cursor"].(string)
		if next == "" {
			break
		}
		cursor = next
	}
	if want := "q0 q1 q2 q3 q4 q5 q6 q7 q8 q9 q10 q11 q12 q13 q14 q15"; strings.Join(seen, " ") != want {
		t.Fatalf("pages gave %v, want every turn once, oldest first", seen)
	}
	t.Logf("largest page %d bytes", largest)
	for _, bad := range []string{"x", "YWZ0ZXI6MA", "bm9wZQ"} {
		if r := e.do(t, "GET", "/conversations/"+conv+"?cursor="+bad, tok, "", ""); r.status != 400 {
			t.Errorf("cursor %q: %d, want 400", bad, r.status)
		}
	}
}

// A follow-up whose conversation is deleted while the model thinks answers
// 404, and the conversation stays deleted.
func TestDeleteDuringTurn(t *testing.T) {
	inModel, release := make(chan struct{}), make(chan struct{})
	e := newEnv(t, func(ctx context.Context, req chat.ModelRequest, n int) (chat.ModelResponse, error) {
		if req.Messages[len(req.Messages)-1].Content == "follow-up" {
			close(inModel)
			<-release
		}
		return chattest.Answer("ok", 10), nil
	})
	tok := token(t, "del")
	first := e.chat(t, "del", `{"message": "first"}`)
	conv := first.body["conversation_id"].(string)
	done := make(chan resp)
	go func() { done <- e.chat(t, "del", `{"message": "follow-up", "conversation_id": "`+conv+`"}`) }()
	<-inModel
	if r := e.do(t, "DELETE", "/conversations/"+conv, tok, "", ""); r.status != 204 {
		t.Fatalf("delete: %d %s", r.status, r.raw)
	}
	close(release)
	if r := <-done; r.status != 404 || errCode(r) != "not_found" {
		t.Fatalf("follow-up of a conversation deleted meanwhile: %d %s, want 404", r.status, r.raw)
	}
	if r := e.do(t, "GET", "/conversations/"+conv, tok, "", ""); r.status != 404 {
		t.Fatalf("GET after delete: %d %s, want 404 (the conversation came back)", r.status, r.raw)
	}
}

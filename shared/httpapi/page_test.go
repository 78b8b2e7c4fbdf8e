package httpapi_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/datachat/datachat/shared/auth"
	"github.com/datachat/datachat/shared/chat"
	"github.com/datachat/datachat/shared/chat/chattest"
	"github.com/datachat/datachat/shared/embedded"
	"github.com/datachat/datachat/shared/httpapi"
)

// newPageHandler is the handler with the page options given.
func newPageHandler(t *testing.T, page httpapi.PageOptions) (http.Handler, *auth.HS256) {
	t.Helper()
	mem := embedded.NewMemory(nil)
	v, err := auth.NewHS256([]byte(secret), nil)
	if err != nil {
		t.Fatal(err)
	}
	w, err := embedded.NewWarehouse(nil, 100)
	if err != nil {
		t.Fatal(err)
	}
	agent, err := chat.NewAgent(&chattest.ScriptedModel{Reply: echo}, w, chat.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	h, err := httpapi.New(httpapi.Options{
		Agent: agent, Memory: mem, Conversations: mem, Auth: v,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		NewID:  func() string { return "c1" }, Page: page,
	})
	if err != nil {
		t.Fatal(err)
	}
	return h, v
}

func serve(h http.Handler, method, path string, header map[string]string, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	for k, v := range header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestPageIsServedWithoutAToken(t *testing.T) {
	h, _ := newPageHandler(t, httpapi.PageOptions{})
	w := serve(h, "GET", "/", nil, "")
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("GET / = %d %s, want 200 text/html", w.Code, w.Header().Get("Content-Type"))
	}
	page := w.Body.String()
	// The inline script is allowed by its hash and nothing else inline is.
	_, rest, _ := strings.Cut(page, "<script>")
	inline, _, _ := strings.Cut(rest, "</script>")
	sum := sha256.Sum256([]byte(inline))
	csp := w.Header().Get("Content-Security-Policy")
	if want := "script-src 'self' 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "';"; !strings.Contains(csp, want) {
		t.Errorf("CSP %q lacks %q", csp, want)
	}
	if strings.Contains(csp, "unsafe-eval") || strings.Count(page, "<script>") != 1 {
		t.Errorf("CSP %q allows eval, or the page has more than one inline script", csp)
	}

	for path, ctype := range map[string]string{
		"/assets/app.js":                  "text/javascript",
		"/assets/app.css":                 "text/css",
		"/assets/vendor/vega-lite.min.js": "text/javascript",
	} {
		w := serve(h, "GET", path, nil, "")
		if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), ctype) {
			t.Errorf("GET %s = %d %s, want 200 %s", path, w.Code, w.Header().Get("Content-Type"), ctype)
			continue
		}
		etag := w.Header().Get("ETag")
		if again := serve(h, "GET", path, map[string]string{"If-None-Match": etag}, ""); etag == "" || again.Code != http.StatusNotModified {
			t.Errorf("GET %s with If-None-Match %s = %d, want 304", path, etag, again.Code)
		}
	}
	for _, tc := range []struct{ method, path string }{{"GET", "/assets/missing.js"}, {"GET", "/index.html"}, {"POST", "/"}, {"GET", "/assets/../go.mod"}} {
		if w := serve(h, tc.method, tc.path, nil, ""); w.Code != 404 && w.Code != 307 {
			t.Errorf("%s %s = %d, want 404", tc.method, tc.path, w.Code)
		}
	}
	if w := serve(h, "POST", "/auth/local-token", map[string]string{"Content-Type": "application/json"}, `{"user":"alice"}`); w.Code != 404 {
		t.Errorf("POST /auth/local-token without an issuer = %d, want 404: only the local server signs tokens", w.Code)
	}
}

func TestPageConfigNamesTheSignIn(t *testing.T) {
	local := httpapi.TokenIssuerFunc(func(string) (string, time.Time, error) { return "", time.Time{}, nil })
	cognito := httpapi.CognitoLogin{Domain: "https://datachat-x.auth.eu-west-1.amazoncognito.com/", ClientID: "abc123"}
	for _, tc := range []struct {
		opts httpapi.PageOptions
		want string
	}{
		{httpapi.PageOptions{LocalTokens: local}, `{"sign_in":"local"}`},
		{httpapi.PageOptions{Cognito: cognito}, `{"sign_in":"cognito","cognito":{"domain":"https://datachat-x.auth.eu-west-1.amazoncognito.com","client_id":"abc123","scopes":["openid","email"]}}`},
		{httpapi.PageOptions{}, `{"sign_in":"token"}`},
	} {
		h, _ := newPageHandler(t, tc.opts)
		w := serve(h, "GET", "/config", nil, "")
		if got := strings.TrimSpace(w.Body.String()); w.Code != 200 || got != tc.want {
			t.Errorf("GET /config = %d %s, want %s", w.Code, got, tc.want)
		}
		if tc.opts.Cognito.Domain != "" {
			// The page exchanges the code at the pool's token endpoint.
			if csp := serve(h, "GET", "/", nil, "").Header().Get("Content-Security-Policy"); !strings.Contains(csp, "connect-src 'self' https://datachat-x.auth.eu-west-1.amazoncognito.com;") {
				t.Errorf("CSP %q does not let the page reach the pool's token endpoint", csp)
			}
		}
	}
}

func TestLocalTokenSignsIn(t *testing.T) {
	var h http.Handler
	var v *auth.HS256
	h, v = newPageHandler(t, httpapi.PageOptions{LocalTokens: httpapi.TokenIssuerFunc(func(user string) (string, time.Time, error) {
		return v.Sign(user, time.Hour)
	})})
	w := serve(h, "POST", "/auth/local-token", map[string]string{"Content-Type": "application/json"}, `{"user":" alice "}`)
	if w.Code != 200 {
		t.Fatalf("POST /auth/local-token = %d %s", w.Code, w.Body)
	}
	var body struct {
		Token     string `json:"token"`
		User      string `json:"user"`
		ExpiresAt string `json:"expires_at"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.User != "alice" || body.ExpiresAt == "" {
		t.Fatalf("body %s (%v), want a token for alice", w.Body, err)
	}
	if list := serve(h, "GET", "/conversations", map[string]string{"Authorization": "Bearer " + body.Token}, ""); list.Code != 200 {
		t.Errorf("GET /conversations with the issued token = %d, want 200", list.Code)
	}
	for body, code := range map[string]int{`{"user":"a/b"}`: 400, `{"user":""}`: 400, `{"name":"x"}`: 400, `not json`: 400} {
		if w := serve(h, "POST", "/auth/local-token", map[string]string{"Content-Type": "application/json"}, body); w.Code != code {
			t.Errorf("POST /auth/local-token %s = %d, want %d", body, w.Code, code)
		}
	}
	if w := serve(h, "POST", "/auth/local-token", map[string]string{"Content-Type": "text/plain"}, `{"user":"a"}`); w.Code != 415 {
		t.Errorf("text/plain body = %d, want 415", w.Code)
	}
}

package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/datachat/datachat/shared/chat"
	"github.com/datachat/datachat/shared/web"
)

// PageOptions configure the chat page's sign-in. With neither field set
// the page asks for a bearer token.
type PageOptions struct {
	// LocalTokens signs tokens for the page's sign-in form. Set it only
	// where the server verifies its own tokens (the local server); nil in
	// Lambda, where POST /auth/local-token then does not exist.
	LocalTokens TokenIssuer
	// Cognito is the user pool's managed login (authorization code flow
	// with PKCE), used when LocalTokens is nil.
	Cognito CognitoLogin
}

// CognitoLogin is what the page needs to send a user to Cognito's managed
// login and exchange the code for tokens. Both are public values.
type CognitoLogin struct {
	Domain   string // the pool's domain, such as https://name.auth.eu-west-1.amazoncognito.com
	ClientID string // the app client, which has no secret
}

// TokenIssuer signs bearer tokens for the page's local sign-in.
type TokenIssuer interface {
	// IssueToken returns a token for user and when it expires. The error
	// is CodeInvalid when user is not a valid user id.
	IssueToken(user string) (token string, expires time.Time, err error)
}

// TokenIssuerFunc adapts a function to TokenIssuer.
type TokenIssuerFunc func(user string) (string, time.Time, error)

// IssueToken calls f(user).
func (f TokenIssuerFunc) IssueToken(user string) (string, time.Time, error) { return f(user) }

// PageRoutes lists the routes of the page, which need no token (the page
// sends the token with each API call). POST /auth/local-token is served
// only by the local server and is not listed.
func PageRoutes() []Route {
	return []Route{
		{"GET", "/", false},
		{"GET", "/assets/{path...}", false},
		{"GET", "/config", false},
	}
}

// page is the page's files, read once at start: their bytes, types and
// ETags, and the Content-Security-Policy of index.html.
type page struct {
	files map[string]pageFile
	csp   string
}

type pageFile struct {
	body  []byte
	ctype string
	etag  string
}

func newPage(opts PageOptions) (*page, error) {
	p := &page{files: map[string]pageFile{}}
	err := fs.WalkDir(web.Files(), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(web.Files(), name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ctype := mime.TypeByExtension(path.Ext(name))
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		p.files[name] = pageFile{body: b, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:16]) + `"`}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("httpapi: read the page's files: %w", err)
	}
	index, ok := p.files["index.html"]
	if !ok {
		return nil, errors.New("httpapi: the page has no index.html")
	}
	// The one inline script (it adds the trailing slash a stage URL such
	// as /Prod lacks, before any relative URL is resolved) is allowed by
	// its hash; everything else must come from the page's own origin.
	scripts := "'self'"
	if _, rest, ok := bytes.Cut(index.body, []byte("<script>")); ok {
		if inline, _, ok := bytes.Cut(rest, []byte("</script>")); ok {
			sum := sha256.Sum256(inline)
			scripts += " 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
		}
	}
	connect := "'self'"
	if opts.LocalTokens == nil && opts.Cognito.Domain != "" {
		connect += " " + strings.TrimRight(opts.Cognito.Domain, "/")
	}
	// vega-embed and vega's SVG renderer set inline styles; its charts
	// export as data: and blob: URLs. Vega runs with its expression
	// interpreter, so no 'unsafe-eval'.
	p.csp = "default-src 'none'; script-src " + scripts + "; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src " + connect +
		"; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
	return p, nil
}

// routePage registers the page, its assets, its configuration and, on
// the local server, the local sign-in.
func (s *server) routePage(mux *http.ServeMux) error {
	p, err := newPage(s.Page)
	if err != nil {
		return err
	}
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", p.csp)
		p.serve(w, r, "index.html")
	})
	mux.HandleFunc("GET /assets/{path...}", func(w http.ResponseWriter, r *http.Request) {
		name := "assets/" + r.PathValue("path")
		if _, ok := p.files[name]; !ok {
			writeJSONError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no asset %s", r.URL.Path))
			return
		}
		p.serve(w, r, name)
	})
	mux.HandleFunc("GET /config", s.pageConfig)
	if s.Page.LocalTokens != nil {
		mux.HandleFunc("POST /auth/local-token", s.localToken)
	}
	return nil
}

// serve answers with a file of the page. The files change only with the
// binary, so browsers revalidate (no-cache) and get 304 for an unchanged
// ETag.
func (p *page) serve(w http.ResponseWriter, r *http.Request, name string) {
	f := p.files[name]
	h := w.Header()
	h.Set("Content-Type", f.ctype)
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", f.etag)
	h.Set("X-Content-Type-Options", "nosniff")
	// The Cognito callback carries the code in the query: never send it on.
	h.Set("Referrer-Policy", "no-referrer")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
}

// pageConfig is how the page learns which sign-in to offer.
type pageConfig struct {
	SignIn  string        `json:"sign_in"` // local, cognito or token
	Cognito *cognitoLogin `json:"cognito,omitempty"`
}

type cognitoLogin struct {
	Domain   string   `json:"domain"`
	ClientID string   `json:"client_id"`
	Scopes   []string `json:"scopes"`
}

func (s *server) pageConfig(w http.ResponseWriter, _ *http.Request) {
	c := pageConfig{SignIn: "token"}
	switch {
	case s.Page.LocalTokens != nil:
		c.SignIn = "local"
	case s.Page.Cognito.Domain != "" && s.Page.Cognito.ClientID != "":
		c.SignIn = "cognito"
		c.Cognito = &cognitoLogin{Domain: strings.TrimRight(s.Page.Cognito.Domain, "/"), ClientID: s.Page.Cognito.ClientID, Scopes: []string{"openid", "email"}}
	}
	writeJSON(w, http.StatusOK, c)
}

type localTokenRequest struct {
	User string `json:"user"`
}

type localTokenResponse struct {
	Token     string `json:"token"`
	User      string `json:"user"`
	ExpiresAt string `json:"expires_at"`
}

// localToken signs a token for the user named in the form: the page's
// equivalent of `make token USER=...`, on the local server only.
func (s *server) localToken(w http.ResponseWriter, r *http.Request) {
	var req localTokenRequest
	if ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || ct != "application/json" {
		s.writeError(w, r, chat.Errorf(chat.CodeUnsupportedMedia, "send the body as application/json"))
		return
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 4<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		s.writeError(w, r, chat.Errorf(chat.CodeInvalid, `send {"user": "a user name"}`))
		return
	}
	req.User = strings.TrimSpace(req.User)
	tok, exp, err := s.Page.LocalTokens.IssueToken(req.User)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, localTokenResponse{Token: tok, User: req.User, ExpiresAt: exp.UTC().Format(time.RFC3339)})
}

package main

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	audience  = "datachat-api"
	methodArn = "arn:aws:execute-api:us-east-1:123456789012:abc123/Prod/GET/conversations"
)

// identityProvider is a real HTTP server publishing an OpenID Connect
// discovery document and the key set that signs its tokens.
type identityProvider struct {
	srv *httptest.Server
	key *rsa.PrivateKey
}

func newIdentityProvider(t *testing.T) *identityProvider {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	idp := &identityProvider{key: key}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"issuer": idp.issuer(), "jwks_uri": idp.srv.URL + "/keys"})
	})
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, r *http.Request) {
		b64 := base64.RawURLEncoding.EncodeToString
		json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{
			"kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256",
			"n": b64(key.N.Bytes()), "e": b64(big.NewInt(int64(key.E)).Bytes()),
		}}})
	})
	idp.srv = httptest.NewServer(mux)
	t.Cleanup(idp.srv.Close)
	return idp
}

// issuer ends with a slash, as Auth0's does: it must match iss exactly.
func (idp *identityProvider) issuer() string { return idp.srv.URL + "/" }

func (idp *identityProvider) env() func(string) string {
	env := map[string]string{"JWT_ISSUER": idp.issuer(), "JWT_AUDIENCE": audience}
	return func(k string) string { return env[k] }
}

// sign returns a token with the provider's claims changed by edit, signed
// by key (the provider's when nil).
func (idp *identityProvider) sign(t *testing.T, key *rsa.PrivateKey, edit func(jwt.MapClaims)) string {
	t.Helper()
	claims := jwt.MapClaims{
		"iss": idp.issuer(), "aud": audience, "sub": "alice",
		"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(),
	}
	if edit != nil {
		edit(claims)
	}
	if key == nil {
		key = idp.key
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = "k1"
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAuthorizerAllowsTheIssuersTokens(t *testing.T) {
	idp := newIdentityProvider(t)
	handler, err := build(t.Context(), idp.env(), io.Discard, idp.srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := handler(t.Context(), request{Type: "TOKEN", AuthorizationToken: "Bearer " + idp.sign(t, nil, nil), MethodArn: methodArn})
	if err != nil {
		t.Fatal(err)
	}
	if resp.PrincipalID != "alice" {
		t.Errorf("principalId %q, want the token's sub", resp.PrincipalID)
	}
	st := resp.PolicyDocument.Statement
	// API Gateway caches the verdict per token for every route of the stage.
	if len(st) != 1 || st[0].Effect != "Allow" || strings.Join(st[0].Resource, ",") != "arn:aws:execute-api:us-east-1:123456789012:abc123/Prod/*" {
		t.Errorf("policy %+v, want Allow on the whole stage", resp.PolicyDocument)
	}
}

func TestAuthorizerRefusesWhatTheIssuerDidNotSign(t *testing.T) {
	idp := newIdentityProvider(t)
	var logs strings.Builder
	handler, err := build(t.Context(), idp.env(), &logs, idp.srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": idp.issuer(), "aud": audience, "sub": "alice", "exp": time.Now().Add(time.Hour).Unix()})
	hs.Header["kid"] = "k1"
	hsToken, _ := hs.SignedString([]byte("a shared secret an attacker chose at will"))
	cases := map[string]string{
		"another key":       idp.sign(t, other, nil),
		"expired":           idp.sign(t, nil, func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Hour).Unix() }),
		"no expiry":         idp.sign(t, nil, func(c jwt.MapClaims) { delete(c, "exp") }),
		"another audience":  idp.sign(t, nil, func(c jwt.MapClaims) { c["aud"] = "another-api" }),
		"another issuer":    idp.sign(t, nil, func(c jwt.MapClaims) { c["iss"] = "https://evil.example.com/" }),
		"no sub":            idp.sign(t, nil, func(c jwt.MapClaims) { delete(c, "sub") }),
		"invalid sub":       idp.sign(t, nil, func(c jwt.MapClaims) { c["sub"] = "al ice" }),
		"symmetric HS256":   hsToken,
		"not a token":       "not.a.token",
		"tampered payload":  tamper(idp.sign(t, nil, nil)),
		"without Bearer":    "",
		"empty bearer":      "",
		"basic credentials": "",
	}
	headers := map[string]string{
		"without Bearer":    idp.sign(t, nil, nil),
		"empty bearer":      "Bearer ",
		"basic credentials": "Basic YWxpY2U6c2VjcmV0",
	}
	for name, token := range cases {
		header, ok := headers[name]
		if !ok {
			header = "Bearer " + token
		}
		resp, err := handler(t.Context(), request{Type: "TOKEN", AuthorizationToken: header, MethodArn: methodArn})
		if err == nil || err.Error() != "Unauthorized" || resp.PrincipalID != "" {
			t.Errorf("%s: got %+v, %v; want the error Unauthorized (API Gateway's 401)", name, resp, err)
		}
	}
	if strings.Contains(logs.String(), idp.sign(t, nil, nil)[:20]) {
		t.Error("a token reached the log")
	}
}

// tamper changes the payload's sub after signing.
func tamper(token string) string {
	parts := strings.Split(token, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	payload = []byte(strings.Replace(string(payload), `"alice"`, `"admin"`, 1))
	parts[1] = base64.RawURLEncoding.EncodeToString(payload)
	return strings.Join(parts, ".")
}

func TestAuthorizerFailsAtStartWhenMisconfigured(t *testing.T) {
	idp := newIdentityProvider(t)
	cases := map[string]map[string]string{
		"no issuer":          {"JWT_AUDIENCE": audience},
		"no audience":        {"JWT_ISSUER": idp.issuer()},
		"issuer not exactly": {"JWT_ISSUER": idp.srv.URL, "JWT_AUDIENCE": audience}, // no trailing slash
		"no discovery":       {"JWT_ISSUER": idp.srv.URL + "/nothing/", "JWT_AUDIENCE": audience},
	}
	for name, env := range cases {
		_, err := build(t.Context(), func(k string) string { return env[k] }, io.Discard, idp.srv.Client())
		if err == nil {
			t.Errorf("%s: init succeeded; a misconfigured authorizer must fail at start", name)
		}
	}
}

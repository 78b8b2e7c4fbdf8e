package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"

	"github.com/datachat/datachat/shared/chat"
)

// Issuer verifies the tokens of an OpenID Connect identity provider
// (Auth0, Okta, Entra ID, a Cognito user pool...) against the signing keys
// it publishes. It runs in the API's Lambda authorizer (functions/
// authorizer) when the stack uses another provider than its own user pool:
// REST APIs have no JWT authorizer of their own.
type Issuer struct {
	issuer, audience string
	keys             keyfunc.Keyfunc
	now              func() time.Time
}

// issuerAlgorithms are the asymmetric algorithms identity providers sign
// with. A symmetric one (HS256) is refused whatever the token says, or the
// published public key would work as a shared secret.
func issuerAlgorithms() []string {
	return []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}
}

// clockSkew is how far the issuer's clock may be from ours.
const clockSkew = 30 * time.Second

// NewIssuer reads the issuer's discovery document (issuer +
// /.well-known/openid-configuration) and then its key set (jwks_uri),
// through client. The keys are refreshed every hour, and at most every 5
// minutes when a token names a key not seen yet, until ctx ends. It fails
// when either document cannot be read, or the discovery document names
// another issuer, so a misconfigured authorizer fails at start and not on
// every request. now is the clock (time.Now when nil).
func NewIssuer(ctx context.Context, client *http.Client, issuer, audience string, now func() time.Time) (*Issuer, error) {
	if issuer == "" || audience == "" {
		return nil, fmt.Errorf("auth: JWT_ISSUER and JWT_AUDIENCE are both required")
	}
	if now == nil {
		now = time.Now
	}
	jwksURI, err := discoverKeys(ctx, client, issuer)
	if err != nil {
		return nil, err
	}
	failFirst := false
	keys, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{jwksURI}, keyfunc.Override{
		Client:                    client,
		HTTPTimeout:               5 * time.Second,
		NoErrorReturnFirstHTTPReq: &failFirst,
	})
	if err != nil {
		return nil, fmt.Errorf("auth: read the signing keys of %s at %s: %w", issuer, jwksURI, err)
	}
	return &Issuer{issuer: issuer, audience: audience, keys: keys, now: now}, nil
}

// discoverKeys returns the jwks_uri of issuer's discovery document.
func discoverKeys(ctx context.Context, client *http.Client, issuer string) (string, error) {
	u := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", fmt.Errorf("auth: JWT_ISSUER=%q is not a URL: %w", issuer, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("auth: read %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("auth: read %s: HTTP %d; is JWT_ISSUER the issuer URL of an OpenID Connect provider?", u, resp.StatusCode)
	}
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&doc); err != nil {
		return "", fmt.Errorf("auth: %s is not a discovery document: %w", u, err)
	}
	if doc.Issuer != issuer {
		// OpenID Connect Discovery requires them equal; tokens carry this
		// exact string as iss.
		return "", fmt.Errorf("auth: %s names issuer %q, not JWT_ISSUER=%q; set JWT_ISSUER to it exactly", u, doc.Issuer, issuer)
	}
	if doc.JWKSURI == "" {
		return "", fmt.Errorf("auth: %s names no jwks_uri", u)
	}
	return doc.JWKSURI, nil
}

// Verify returns the subject of a token the issuer signed for the
// audience, or a CodeUnauthorized error saying what is wrong with it.
func (v *Issuer) Verify(ctx context.Context, token string) (string, error) {
	claims := jwt.RegisteredClaims{}
	_, err := jwt.ParseWithClaims(token, &claims, v.keys.KeyfuncCtx(ctx),
		jwt.WithValidMethods(issuerAlgorithms()),
		jwt.WithIssuer(v.issuer),
		jwt.WithAudience(v.audience),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(clockSkew),
		jwt.WithTimeFunc(v.now),
	)
	if err != nil {
		return "", chat.Errorf(chat.CodeUnauthorized, "invalid token: %v", err)
	}
	if !ValidSubject(claims.Subject) {
		return "", chat.Errorf(chat.CodeUnauthorized, "the token's sub is missing or not a valid user id")
	}
	return claims.Subject, nil
}

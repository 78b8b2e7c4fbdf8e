// Package auth verifies and issues the HS256 JSON Web Tokens of local runs,
// and verifies the tokens of an OpenID Connect issuer (Issuer) for the
// API's Lambda authorizer. In the API function API Gateway's authorizer has
// verified the token before it runs, and the user comes from its claims
// instead (see functions/api).
package auth

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/datachat/datachat/shared/chat"
)

// MinSecretBytes is the shortest secret accepted: HS256 keys shorter than
// the hash output (32 bytes) weaken the signature.
const MinSecretBytes = 32

// HS256 verifies bearer tokens signed with one shared secret.
type HS256 struct {
	secret []byte
	now    func() time.Time
}

// NewHS256 returns a verifier; now is the clock (time.Now when nil).
func NewHS256(secret []byte, now func() time.Time) (*HS256, error) {
	if len(secret) < MinSecretBytes {
		return nil, fmt.Errorf("auth: AUTH_JWT_SECRET must be at least %d bytes, got %d", MinSecretBytes, len(secret))
	}
	if now == nil {
		now = time.Now
	}
	return &HS256{secret: secret, now: now}, nil
}

// Authenticate returns the token's subject. It checks the signature, the
// algorithm (HS256 only, so "none" and key-confusion tricks fail), and
// that exp is present and in the future.
func (h *HS256) Authenticate(r *http.Request) (string, error) {
	raw, err := BearerToken(r)
	if err != nil {
		return "", err
	}
	tok, err := jwt.Parse(raw, func(*jwt.Token) (any, error) { return h.secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(h.now),
	)
	if err != nil {
		msg := "the bearer token is invalid; get a new one with `make token`"
		if errors.Is(err, jwt.ErrTokenExpired) {
			msg = "the bearer token has expired; get a new one with `make token`"
		}
		return "", chat.Wrap(err, chat.CodeUnauthorized, "auth.Authenticate", msg)
	}
	sub, err := tok.Claims.GetSubject()
	if err != nil || !ValidSubject(sub) {
		return "", chat.Errorf(chat.CodeUnauthorized, "the bearer token has no valid sub claim")
	}
	return sub, nil
}

// Sign issues a token for sub that expires ttl after the verifier's
// clock, so the tokens it signs and the ones it accepts agree on time.
// The error is CodeInvalid when sub is not a valid user id.
func (h *HS256) Sign(sub string, ttl time.Duration) (string, time.Time, error) {
	if !ValidSubject(sub) {
		return "", time.Time{}, chat.Errorf(chat.CodeInvalid, "%q is not a valid user name; use 1-128 letters, digits or @ . _ : | + = -", sub)
	}
	now := h.now()
	tok, err := Issue(h.secret, sub, ttl, now)
	if err != nil {
		return "", time.Time{}, err
	}
	return tok, now.Add(ttl), nil
}

// BearerToken extracts the token of an "Authorization: Bearer" header.
func BearerToken(r *http.Request) (string, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", chat.Errorf(chat.CodeUnauthorized, "missing Authorization header; send Authorization: Bearer <token>")
	}
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return "", chat.Errorf(chat.CodeUnauthorized, "the Authorization header must be \"Bearer <token>\"")
	}
	return strings.TrimSpace(token), nil
}

// Issue signs a token for sub that expires after ttl.
func Issue(secret []byte, sub string, ttl time.Duration, now time.Time) (string, error) {
	if len(secret) < MinSecretBytes {
		return "", fmt.Errorf("auth: secret must be at least %d bytes", MinSecretBytes)
	}
	if !ValidSubject(sub) {
		return "", fmt.Errorf("auth: %q is not a valid user id (1-128 letters, digits or @ . _ : | + = -)", sub)
	}
	claims := jwt.RegisteredClaims{
		Subject:   sub,
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
	if err != nil {
		return "", fmt.Errorf("auth: sign token: %w", err)
	}
	return s, nil
}

// ValidSubject reports whether sub can be used as a user id: 1 to 128
// characters from a set that covers Cognito (UUIDs) and common identity
// providers ("auth0|123", emails), and excludes separators such as '#'
// and '/' that storage keys use, so no id can reach into another's keys.
func ValidSubject(sub string) bool {
	if sub == "" || len(sub) > 128 {
		return false
	}
	for _, r := range sub {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune("@._:|+=-", r):
		default:
			return false
		}
	}
	return true
}

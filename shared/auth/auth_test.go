package auth_test

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/datachat/datachat/shared/auth"
	"github.com/datachat/datachat/shared/chat"
)

func TestIssueAndVerify(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	clock := now
	v, err := auth.NewHS256(secret, func() time.Time { return clock })
	if err != nil {
		t.Fatal(err)
	}
	tok, err := auth.Issue(secret, "alice@example.com", time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	if sub, err := v.Authenticate(r); err != nil || sub != "alice@example.com" {
		t.Fatalf("got %q, %v", sub, err)
	}
	clock = now.Add(time.Hour + time.Second)
	if _, err := v.Authenticate(r); chat.ErrorCode(err) != chat.CodeUnauthorized {
		t.Fatalf("expired token: %v", err)
	}
	if _, err := auth.NewHS256(secret[:31], nil); err == nil {
		t.Fatal("a 31-byte secret was accepted")
	}
	for _, sub := range []string{"", "a#b", "a/b", "a b", string(make([]byte, 129))} {
		if _, err := auth.Issue(secret, sub, time.Hour, now); err == nil {
			t.Errorf("Issue accepted sub %q", sub)
		}
	}
}

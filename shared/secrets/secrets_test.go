package secrets_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/datachat/datachat/shared/secrets"
)

const arnPrefix = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:"

// fakeSecretsManager speaks the Secrets Manager JSON protocol for
// GetSecretValue over a fixed set of secrets, keyed by ARN.
type fakeSecretsManager struct {
	t       *testing.T
	strings map[string]string
	binary  map[string][]byte

	mu    sync.Mutex
	calls int
}

func (f *fakeSecretsManager) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.calls++
	f.mu.Unlock()
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		f.t.Errorf("got %s %s, want POST /", r.Method, r.URL.Path)
	}
	if got := r.Header.Get("X-Amz-Target"); got != "secretsmanager.GetSecretValue" {
		f.t.Errorf("X-Amz-Target = %q", got)
	}
	if got := r.Header.Get("Content-Type"); got != "application/x-amz-json-1.1" {
		f.t.Errorf("Content-Type = %q", got)
	}
	if got := r.Header.Get("Authorization"); !strings.HasPrefix(got, "AWS4-HMAC-SHA256 Credential=AKIDTEST/") || !strings.Contains(got, "/secretsmanager/aws4_request") {
		f.t.Errorf("request is not SigV4-signed with the static credentials: %q", got)
	}
	var in struct{ SecretId string }
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, &in); err != nil {
		f.t.Errorf("body %s: %v", body, err)
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	out := map[string]any{"ARN": in.SecretId, "Name": strings.TrimPrefix(in.SecretId, arnPrefix), "VersionId": "v1", "VersionStages": []string{"AWSCURRENT"}, "CreatedDate": 1.7e9}
	if s, ok := f.strings[in.SecretId]; ok {
		out["SecretString"] = s
	} else if b, ok := f.binary[in.SecretId]; ok {
		out["SecretBinary"] = base64.StdEncoding.EncodeToString(b)
	} else {
		w.Header().Set("X-Amzn-ErrorType", "ResourceNotFoundException")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"__type":"ResourceNotFoundException","message":"Secrets Manager can't find the specified secret."}`)
		return
	}
	_ = json.NewEncoder(w).Encode(out)
}

func newClient(t *testing.T, f *fakeSecretsManager) *secretsmanager.Client {
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return secretsmanager.New(secretsmanager.Options{
		Region:       "eu-west-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "SECRETTEST", ""),
	})
}

func TestFetch(t *testing.T) {
	f := &fakeSecretsManager{t: t,
		strings: map[string]string{
			arnPrefix + "plain":     "  sk-plain-0123456789\n",
			arnPrefix + "json":      `{"OPENAI_API_KEY":"sk-json-0123456789","region":"eu"}`,
			arnPrefix + "api-key":   `{"api_key":" sk-apikey-0123456789 "}`,
			arnPrefix + "both":      `{"api_key":"sk-second-0123456789","OPENAI_API_KEY":"sk-first-0123456789"}`,
			arnPrefix + "no-field":  `{"token":"sk-hidden-0123456789","user":"bob"}`,
			arnPrefix + "not-json":  `{"OPENAI_API_KEY": sk-broken-0123456789`,
			arnPrefix + "not-text":  `{"OPENAI_API_KEY": 12345}`,
			arnPrefix + "empty":     "   ",
			arnPrefix + "empty-key": `{"OPENAI_API_KEY":""}`,
		},
		binary: map[string][]byte{arnPrefix + "binary": []byte("sk-binary-0123456789")},
	}
	client := newClient(t, f)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	for _, tc := range []struct {
		name, want, wantErr string
	}{
		{name: "plain", want: "sk-plain-0123456789"},
		{name: "json", want: "sk-json-0123456789"},
		{name: "api-key", want: "sk-apikey-0123456789"},
		{name: "both", want: "sk-first-0123456789"},
		{name: "binary", want: "sk-binary-0123456789"},
		{name: "no-field", wantErr: "without an OPENAI_API_KEY or api_key field; its fields are: token, user"},
		{name: "not-json", wantErr: "not a JSON object"},
		{name: "not-text", wantErr: `field "OPENAI_API_KEY" is not a non-empty string`},
		{name: "empty", wantErr: "the secret is empty"},
		{name: "empty-key", wantErr: `field "OPENAI_API_KEY" is not a non-empty string`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			arn := arnPrefix + tc.name
			got, err := secrets.Fetch(ctx, client, arn)
			if tc.wantErr == "" {
				if err != nil || got != tc.want {
					t.Fatalf("Fetch = %q, %v; want %q", got, err, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("Fetch = %q, want an error", got)
			}
			if !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), arn) {
				t.Errorf("error %q should say %q and name the ARN", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), "0123456789") {
				t.Errorf("error %q shows the secret's value", err)
			}
		})
	}
}

func TestFetchNotFound(t *testing.T) {
	f := &fakeSecretsManager{t: t}
	arn := arnPrefix + "missing"
	_, err := secrets.Fetch(context.Background(), newClient(t, f), arn)
	if err == nil || !secrets.IsNotFound(err) {
		t.Fatalf("Fetch = %v, want a not-found error", err)
	}
	if !strings.Contains(err.Error(), arn) || !strings.Contains(err.Error(), "ResourceNotFoundException") {
		t.Errorf("error %q should name the ARN and the service's error", err)
	}
	f.mu.Lock()
	calls := f.calls
	f.mu.Unlock()
	if calls != 1 {
		t.Errorf("server saw %d calls, want 1 (not-found is not retried)", calls)
	}
	t.Logf("not found: %v", err)
}

func TestFetchEmptyARN(t *testing.T) {
	if _, err := secrets.Fetch(context.Background(), nil, ""); err == nil {
		t.Errorf("Fetch with no ARN succeeded")
	}
}

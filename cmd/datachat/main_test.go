package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/datachat/datachat/shared/auth"
	"github.com/datachat/datachat/shared/chat/chattest"
)

func TestTokenVerifiesWithTheSameSecret(t *testing.T) {
	t.Chdir(t.TempDir())
	var out bytes.Buffer
	if err := run(context.Background(), []string{"token", "-user", "alice"}, func(string) string { return "" }, &out, &out); err != nil {
		t.Fatal(err)
	}
	// No AUTH_JWT_SECRET: the secret was generated and kept, owner-only.
	info, err := os.Stat(devSecretFile)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("dev secret: %v %v", info, err)
	}
	secret, _, err := devSecret("")
	if err != nil {
		t.Fatal(err)
	}
	v, _ := auth.NewHS256(secret, nil)
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+strings.TrimSpace(out.String()))
	if sub, err := v.Authenticate(r); err != nil || sub != "alice" {
		t.Fatalf("token printed by `token` does not verify: %q %v", sub, err)
	}
}

func TestServeAnswersAndShutsDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	env := map[string]string{"PORT": strconv.Itoa(port), "AUTH_JWT_SECRET": "serve-test-secret-0123456789abcdef0123"}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var out, logs bytes.Buffer
	go func() { done <- run(ctx, []string{"serve"}, func(k string) string { return env[k] }, &out, &logs) }()

	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/health"
	var resp *http.Response
	for range 200 {
		if resp, err = http.Get(url); err == nil {
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("server never answered: %v\n%s", err, logs.String())
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("health: %d", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve returned %v after shutdown", err)
	}
	if !strings.Contains(out.String(), "export TOKEN=") || !strings.Contains(out.String(), "curl") {
		t.Fatalf("serve did not print a ready token and example:\n%s", out.String())
	}
}

func TestUnknownCommand(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"frobnicate"}, func(string) string { return "" }, &out, &out); err != errUsage || !strings.Contains(out.String(), "Usage:") {
		t.Fatalf("got %v, %q", err, out.String())
	}
}

func TestSeedTwiceAgainstWeaviate(t *testing.T) {
	url := chattest.ServerEnv(t, "WEAVIATE_TEST_URL", "scripts/start-weaviate.sh")
	grpcAddr := chattest.ServerEnv(t, "WEAVIATE_TEST_GRPC_ADDR", "scripts/start-weaviate.sh")
	env := map[string]string{"WEAVIATE_URL": url, "WEAVIATE_GRPC_URL": grpcAddr}
	for i := range 2 {
		var out bytes.Buffer
		if err := run(context.Background(), []string{"seed"}, func(k string) string { return env[k] }, &out, &out); err != nil {
			t.Fatalf("seed run %d: %v\n%s", i+1, err, out.String())
		}
		if !strings.Contains(out.String(), "SP500") || !strings.Contains(out.String(), "sample data ready") {
			t.Fatalf("seed run %d printed no progress:\n%s", i+1, out.String())
		}
	}
	if err := run(context.Background(), []string{"seed"}, func(string) string { return "" }, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "WEAVIATE_URL") {
		t.Fatalf("seed without WEAVIATE_URL: %v", err)
	}
}

// -pprof serves the profiles on loopback only, on a mux of its own.
func TestPprofOnLoopbackOnly(t *testing.T) {
	for _, bad := range []string{"0.0.0.0:6060", ":6060", "example.com:6060", "127.0.0.1"} {
		if _, err := servePprof(bad); err == nil || !strings.Contains(err.Error(), "loopback") {
			t.Errorf("-pprof %q: %v, want refused as not loopback", bad, err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	stop, err := servePprof(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	resp, err := http.Get("http://" + addr + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(body), "goroutine profile") {
		t.Fatalf("GET goroutine profile: %d %.100s", resp.StatusCode, body)
	}
}

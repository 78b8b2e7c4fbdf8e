package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/datachat/datachat/shared/app"
	"github.com/datachat/datachat/shared/auth"
	"github.com/datachat/datachat/shared/chat"
	"github.com/datachat/datachat/shared/config"
	"github.com/datachat/datachat/shared/embedded"
)

const loadSecret = "a-load-test-secret-of-at-least-32-bytes!"

// countingMemory counts the turns the server stored.
type countingMemory struct {
	*embedded.Memory
	appended atomic.Int64
}

func (m *countingMemory) Append(ctx context.Context, t chat.Turn) (chat.Turn, error) {
	out, err := m.Memory.Append(ctx, t)
	if err == nil {
		m.appended.Add(1)
	}
	return out, err
}

// realServer serves the real handler (embedded defaults, the server's own
// token verifier) on a loopback port.
func realServer(t *testing.T) (*httptest.Server, *countingMemory) {
	t.Helper()
	cfg, err := config.FromEnv(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewHS256([]byte(loadSecret), nil)
	if err != nil {
		t.Fatal(err)
	}
	mem := &countingMemory{Memory: embedded.NewMemory(nil)}
	a, err := app.New(context.Background(), cfg, app.Deps{Auth: v, Logger: slog.New(slog.DiscardHandler), Memory: mem})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler)
	t.Cleanup(srv.Close)
	return srv, mem
}

func runLoad(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out strings.Builder
	env := map[string]string{"AUTH_JWT_SECRET": loadSecret}
	err := run(context.Background(), append([]string{"load", "-quiet", "-think", "0"}, args...), func(k string) string { return env[k] }, &out, io.Discard)
	return out.String(), err
}

func readReport(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rep map[string]any
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestLoadCountsWhatTheServerStored(t *testing.T) {
	srv, mem := realServer(t)
	file := filepath.Join(t.TempDir(), "report.json")
	out, err := runLoad(t, "-users", "25", "-turns", "2", "-url", srv.URL, "-json", file)
	if err != nil {
		t.Fatalf("load: %v\n%s", err, out)
	}
	rep := readReport(t, file)
	stored := float64(mem.appended.Load())
	if rep["ok"] != 50.0 || rep["failed"] != 0.0 || rep["stored_turns"] != stored || stored != 50 {
		t.Errorf("ok %v, failed %v, stored_turns %v; the server stored %v; want 50 of each\n%s", rep["ok"], rep["failed"], rep["stored_turns"], stored, out)
	}
	if leaks := rep["leaks"].([]any); len(leaks) != 0 {
		t.Errorf("leaks against the real server: %v", leaks)
	}
	if !strings.Contains(out, "latency ms   p50") || !strings.Contains(out, "stored turns 50, leaks 0") {
		t.Errorf("summary:\n%s", out)
	}
}

// TestLoadReportHasEveryDocumentedField reads the field table of the
// README's load section and checks the JSON report against it both ways.
func TestLoadReportHasEveryDocumentedField(t *testing.T) {
	srv, _ := realServer(t)
	file := filepath.Join(t.TempDir(), "report.json")
	if out, err := runLoad(t, "-users", "2", "-url", srv.URL, "-json", file, "-stream"); err != nil {
		t.Fatalf("load: %v\n%s", err, out)
	}
	rep := readReport(t, file)
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	sec := string(readme)
	i := strings.Index(sec, "<!-- load-report-fields -->")
	j := strings.Index(sec, "<!-- /load-report-fields -->")
	if i < 0 || j < i {
		t.Fatal("README.md has no load report field table (between <!-- load-report-fields --> markers)")
	}
	documented := map[string]bool{}
	for _, line := range strings.Split(sec[i:j], "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 3 {
			continue
		}
		for _, m := range regexp.MustCompile("`([a-z_0-9.]+)`").FindAllStringSubmatch(cells[1], -1) {
			documented[m[1]] = true
		}
	}
	for k := range documented {
		top, sub, nested := strings.Cut(k, ".")
		v, ok := rep[top]
		if ok && nested {
			switch x := v.(type) {
			case map[string]any:
				_, ok = x[sub]
			case []any:
				if len(x) > 0 {
					_, ok = x[0].(map[string]any)[sub]
				}
			}
		}
		if !ok {
			t.Errorf("README documents %s, the report has no such field", k)
		}
	}
	for k := range rep {
		if !documented[k] {
			t.Errorf("the report's field %s is not documented in README.md", k)
		}
	}
}

// leakyServer answers every chat with the question it received before,
// another user's: the bug of the app this replaces.
func leakyServer(t *testing.T) *httptest.Server {
	var mu sync.Mutex
	prev := "first question"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Message string }
		_ = json.NewDecoder(r.Body).Decode(&req)
		mu.Lock()
		// Answer the user's own question, but with the previous user's in the answer text.
		answer := "Here is your answer: " + prev
		prev = req.Message
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"conversation_id": "c-" + time.Now().Format("150405.000000000"), "turn": 1, "question": req.Message, "answer": answer})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestLoadExits2OnALeak(t *testing.T) {
	srv := leakyServer(t)
	out, err := runLoad(t, "-users", "5", "-url", srv.URL)
	var ec exitCode
	if !errors.As(err, &ec) || ec.code != 2 || !strings.Contains(err.Error(), "marker ldm-") {
		t.Fatalf("got %v, want exit 2 naming a marker\n%s", err, out)
	}
}

func TestLoadThresholdBreachExits1(t *testing.T) {
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, `{"error":{"code":"unavailable","message":"down"}}`)
	}))
	t.Cleanup(down.Close)
	out, err := runLoad(t, "-users", "3", "-url", down.URL, "-max-errors", "0")
	var ec exitCode
	if !errors.As(err, &ec) || ec.code != 1 {
		t.Fatalf("got %v, want exit 1\n%s", err, out)
	}
	if !strings.Contains(out, "errors by status: 503 3") || !strings.Contains(out, "errors by code: unavailable 3") {
		t.Errorf("summary:\n%s", out)
	}

	srv, _ := realServer(t)
	if _, err := runLoad(t, "-users", "2", "-url", srv.URL, "-max-p95", "1ns"); !errors.As(err, &ec) || ec.code != 1 {
		t.Errorf("-max-p95 1ns: got %v, want exit 1", err)
	}
	if _, err := runLoad(t, "-users", "2", "-url", srv.URL, "-max-p95", "1m", "-max-errors", "0"); err != nil {
		t.Errorf("within the thresholds: %v", err)
	}
}

func TestLoadRefusesARemoteURLWithoutTheFlag(t *testing.T) {
	_, err := runLoad(t, "-url", "https://api.example.com")
	if err == nil || !strings.Contains(err.Error(), "-allow-remote") {
		t.Errorf("got %v, want a refusal naming -allow-remote", err)
	}
}

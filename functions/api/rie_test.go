package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/datachat/datachat/shared/chat/chattest"
)

// These tests run the built bootstrap under the AWS Lambda Runtime
// Interface Emulator, the runtime API `sam local invoke` uses, and post
// the events of events/ to it: the real Lambda runtime loop, the real
// event decoding, the real proxy, with no Docker.

// rieBinary returns the emulator installed by scripts/start-rie.sh.
func rieBinary(t testing.TB) string {
	t.Helper()
	return chattest.ServerEnv(t, "AWS_LAMBDA_RIE", "scripts/start-rie.sh")
}

// buildBootstrap builds this function as the Makefile does for Lambda,
// but for the host's architecture so it runs here.
func buildBootstrap(t testing.TB) string {
	t.Helper()
	return buildFunction(t, ".")
}

// buildFunction builds the function in dir (relative to this one's) the
// same way.
func buildFunction(t testing.TB, dir string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "bootstrap")
	cmd := exec.Command("go", "build", "-trimpath", "-tags", "lambda.norpc", "-ldflags=-s -w", "-o", out, dir)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return out
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// emulator is one running aws-lambda-rie with a function under it.
type emulator struct {
	cmd     *exec.Cmd
	url     string
	logs    *lockedBuffer
	started time.Time
}

// lockedBuffer collects the emulator's output, which exec copies from
// another goroutine while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startEmulator runs bootstrap under the emulator with only env set (no
// AWS resources: the function runs on its embedded defaults).
func startEmulator(t testing.TB, rie, bootstrap string, env ...string) *emulator {
	t.Helper()
	port, apiPort := freePort(t), freePort(t)
	e := &emulator{logs: &lockedBuffer{}, url: fmt.Sprintf("http://127.0.0.1:%d/2015-03-31/functions/function/invocations", port)}
	e.cmd = exec.Command(rie,
		"--runtime-interface-emulator-address", "127.0.0.1:"+strconv.Itoa(port),
		"--runtime-api-address", "127.0.0.1:"+strconv.Itoa(apiPort),
		bootstrap)
	e.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "AWS_LAMBDA_FUNCTION_TIMEOUT=29"}, env...)
	e.cmd.Stdout, e.cmd.Stderr = e.logs, e.logs
	e.started = time.Now()
	if err := e.cmd.Start(); err != nil {
		t.Fatalf("start emulator: %v", err)
	}
	t.Cleanup(func() {
		_ = e.cmd.Process.Kill()
		_ = e.cmd.Wait()
	})
	return e
}

// invoke posts an event and decodes the function's answer, retrying
// while the emulator is not listening yet. The emulator buffers a
// streamed answer and returns its bytes whole (prelude, delimiter, body),
// so both shapes are read the same way.
func (e *emulator) invoke(t testing.TB, event []byte) reply {
	t.Helper()
	out, _ := e.invokeSized(t, event)
	return out
}

// invokeSized is invoke that also returns the size of the payload the
// function answered, the bytes Lambda's response limit counts.
func (e *emulator) invokeSized(t testing.TB, event []byte) (reply, int) {
	t.Helper()
	b := e.invokeRaw(t, event)
	out, err := decodeAnswer(b)
	if err != nil {
		t.Fatalf("invoke: decode the function's answer: %v\nlogs:\n%s", err, e.logs)
	}
	return out, len(b)
}

// invokeRaw posts an event and returns the function's payload as it is.
func (e *emulator) invokeRaw(t testing.TB, event []byte) []byte {
	t.Helper()
	var resp *http.Response
	var err error
	for range 400 {
		resp, err = http.Post(e.url, "application/json", bytes.NewReader(event))
		if err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("invoke: %v\nlogs:\n%s", err, e.logs)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("invoke: read the function's answer: %v\nlogs:\n%s", err, e.logs)
	}
	if resp.StatusCode != http.StatusOK {
		// The emulator's own error, such as Function.ResponseSizeTooLarge
		// for a payload over Lambda's limit: the function's answer is lost.
		t.Fatalf("invoke: the emulator answered HTTP %d instead of the function's answer: %.300s\nlogs:\n%s", resp.StatusCode, b, e.logs)
	}
	return b
}

func decodeAnswer(b []byte) (reply, error) {
	if bytes.Contains(b, make([]byte, 8)) {
		return decodeStreamed(b)
	}
	var r responseV1
	if err := json.Unmarshal(b, &r); err != nil {
		return reply{}, fmt.Errorf("%w in %q", err, b)
	}
	return bufferedReply(r), nil
}

func readEvent(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "events", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestUnderTheLambdaRuntimeEmulator(t *testing.T) {
	rie := rieBinary(t)
	em := startEmulator(t, rie, buildBootstrap(t))
	cases := []struct {
		event    string
		streamed bool // every answer of POST /chat, the route in STREAM mode
		status   int
		want     string
	}{
		{"health.json", false, 200, `"status":"ok"`},
		// A JSON turn on the streamed route: the JSON body in the streaming shape.
		{"chat.json", true, 200, `2008 was 1,220.04, over 253 trading days.`},
		{"chat-bad-body.json", true, 400, `"code":"invalid"`},
		{"chat-no-claims.json", true, 401, `"code":"unauthorized"`},
		{"conversation-other-user.json", false, 404, `"code":"not_found"`},
		{"conversations.json", false, 200, `"conversations":[{`}, // alice's chat above is listed
	}
	for _, tc := range cases {
		got := em.invoke(t, readEvent(t, tc.event))
		if got.streamed != tc.streamed || got.status != tc.status || !strings.Contains(got.body, tc.want) {
			t.Errorf("%s: got streamed=%v %d %s, want streamed=%v %d containing %s", tc.event, got.streamed, got.status, got.body, tc.streamed, tc.status, tc.want)
		}
		if ct := got.headers["Content-Type"]; ct != "application/json" {
			t.Errorf("%s: Content-Type %q, want application/json", tc.event, ct)
		}
	}
	// The streamed answer, on the same instance (one build, one emulator).
	checkStreamedChat(t, em.invoke(t, readEvent(t, "chat-stream.json")))
	if n := strings.Count(em.logs.String(), "running on embedded defaults"); n != 1 {
		t.Errorf("the embedded-defaults warning was logged %d times, want once:\n%s", n, em.logs)
	}
}

// checkStreamedChat checks the answer to a REST v1 event with Cognito
// claims that asks for the event stream (Accept: text/event-stream). The
// emulator returns the streamed answer whole: its bytes must decode to the
// prelude (200, text/event-stream) and an SSE body of AG-UI events that
// ends in RUN_FINISHED, whose result is the JSON answer to the question.
func checkStreamedChat(t *testing.T, got reply) {
	t.Helper()
	if !got.streamed || got.status != 200 {
		t.Fatalf("chat-stream.json: got streamed=%v %d, want a streamed 200:\n%s", got.streamed, got.status, got.body)
	}
	if ct := got.headers["Content-Type"]; !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("chat-stream.json: Content-Type %q, want text/event-stream", ct)
	}
	var types []string
	var last map[string]any
	for _, block := range strings.Split(strings.TrimSpace(got.body), "\n\n") {
		for _, line := range strings.Split(block, "\n") {
			data, ok := strings.CutPrefix(line, "data: ")
			if !ok {
				continue // id:, event: or a heartbeat comment
			}
			last = nil
			if err := json.Unmarshal([]byte(data), &last); err != nil {
				t.Fatalf("event %q: %v", data, err)
			}
			types = append(types, fmt.Sprint(last["type"]))
		}
	}
	if len(types) < 3 || types[0] != "RUN_STARTED" || types[len(types)-1] != "RUN_FINISHED" {
		t.Fatalf("events %v, want RUN_STARTED first and RUN_FINISHED last", types)
	}
	result, _ := json.Marshal(last["result"])
	if !strings.Contains(string(result), `2008 was 1,220.04, over 253 trading days.`) {
		t.Errorf("RUN_FINISHED.result = %s, want the JSON answer", result)
	}
}

// BenchmarkColdStart measures, per iteration, a cold start under the
// emulator: process start to the first response of GET /health. It
// reports the median and the function's peak RSS after one chat turn.
func BenchmarkColdStart(b *testing.B) {
	rie := rieBinary(b)
	bootstrap := buildBootstrap(b)
	if fi, err := os.Stat(bootstrap); err == nil {
		b.ReportMetric(float64(fi.Size())/(1<<20), "bootstrap-MB")
	}
	var inits []time.Duration
	var peakKB int
	for b.Loop() {
		em := startEmulator(b, rie, bootstrap)
		em.invoke(b, readEvent(b, "health.json"))
		inits = append(inits, time.Since(em.started))
		em.invoke(b, readEvent(b, "chat.json"))
		if kb := functionPeakRSS(em.cmd.Process.Pid); kb > peakKB {
			peakKB = kb
		}
		_ = em.cmd.Process.Kill()
		_ = em.cmd.Wait()
	}
	sort.Slice(inits, func(i, j int) bool { return inits[i] < inits[j] })
	b.ReportMetric(float64(inits[len(inits)/2].Microseconds())/1000, "init-ms-median")
	b.ReportMetric(float64(peakKB)/1024, "peak-RSS-MB")
}

// functionPeakRSS reads VmHWM (peak resident set) of the emulator's
// children, the bootstrap among them, from /proc; 0 where /proc is missing.
func functionPeakRSS(riePid int) int {
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	peak := 0
	for _, statPath := range dirs {
		stat, err := os.ReadFile(statPath)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so cut at the last ')'.
		rest := string(stat[bytes.LastIndexByte(stat, ')')+1:])
		f := strings.Fields(rest)
		if len(f) < 2 || f[1] != strconv.Itoa(riePid) {
			continue
		}
		status, err := os.ReadFile(filepath.Join(filepath.Dir(statPath), "status"))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(status), "\n") {
			if strings.HasPrefix(line, "VmHWM:") {
				if kb, err := strconv.Atoi(strings.Fields(line)[1]); err == nil && kb > peak {
					peak = kb
				}
			}
		}
	}
	return peak
}

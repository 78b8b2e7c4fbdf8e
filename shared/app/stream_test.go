package app_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/datachat/datachat/shared/app"
	"github.com/datachat/datachat/shared/auth"
	"github.com/datachat/datachat/shared/chat"
	"github.com/datachat/datachat/shared/chat/chattest"
	"github.com/datachat/datachat/shared/config"
	"github.com/datachat/datachat/shared/offline"
	"github.com/datachat/datachat/shared/openai"
)

// sseMessage is one server-sent event as a client parses it: its id line
// and its data decoded, or a comment (a heartbeat).
type sseMessage struct {
	id      string
	comment string
	data    map[string]any
	raw     string
}

func (m sseMessage) typ() string { s, _ := m.data["type"].(string); return s }

func (m sseMessage) seq() int {
	md, _ := m.data["metadata"].(map[string]any)
	return int(num(md["seq"]))
}

// sseReader reads server-sent events as they arrive.
type sseReader struct {
	t  testing.TB
	br *bufio.Reader
}

// next returns the next event or comment, or io.EOF at the end.
func (r *sseReader) next() (sseMessage, error) {
	var m sseMessage
	var data []string
	for {
		line, err := r.br.ReadString('\n')
		if err != nil {
			if err == io.EOF && line == "" && len(data) == 0 && m.comment == "" && m.id == "" {
				return m, io.EOF
			}
			return m, err
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			if len(data) == 0 && m.comment == "" {
				continue
			}
			if len(data) > 0 {
				m.raw = strings.Join(data, "\n")
				if err := json.Unmarshal([]byte(m.raw), &m.data); err != nil {
					r.t.Errorf("event data is not JSON: %v: %s", err, m.raw)
				}
			}
			return m, nil
		case strings.HasPrefix(line, ":"):
			m.comment = strings.TrimSpace(strings.TrimPrefix(line, ":"))
		case strings.HasPrefix(line, "id: "):
			m.id = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "data: "):
			data = append(data, strings.TrimPrefix(line, "data: "))
		default:
			r.t.Errorf("unexpected SSE line %q", line)
		}
	}
}

// openStream posts a question asking for events and returns the response.
func openStream(t testing.TB, ctx context.Context, client *http.Client, base, tok, message, conv string) *http.Response {
	t.Helper()
	fields := map[string]string{"message": message}
	if conv != "" {
		fields["conversation_id"] = conv
	}
	body, _ := json.Marshal(fields)
	req, err := http.NewRequestWithContext(ctx, "POST", base+"/chat", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("stream: %d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	for k, want := range map[string]string{"Cache-Control": "no-cache", "X-Accel-Buffering": "no"} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	return resp
}

// streamAsk asks a question as a stream and reads it to its end: the
// events and the number of heartbeats.
func streamAsk(t testing.TB, client *http.Client, base, tok, message, conv string) ([]sseMessage, int) {
	t.Helper()
	resp := openStream(t, context.Background(), client, base, tok, message, conv)
	defer resp.Body.Close()
	rd := &sseReader{t: t, br: bufio.NewReader(resp.Body)}
	var events []sseMessage
	beats := 0
	for {
		m, err := rd.next()
		if err == io.EOF {
			return events, beats
		}
		if err != nil {
			t.Fatalf("read stream: %v", err)
		}
		if m.comment != "" {
			beats++
			continue
		}
		events = append(events, m)
	}
}

// checkStream checks what every stream must satisfy: RUN_STARTED first,
// RUN_FINISHED or RUN_ERROR last and only there, seq never decreasing
// and numbering the turn's events from 1 without gaps, ids strictly
// increasing and equal to the seq of their event, text deltas that join
// to the answer, and tool results whose rows and totals are the table's.
// It returns RUN_FINISHED's result (nil after RUN_ERROR).
func checkStream(t testing.TB, events []sseMessage) map[string]any {
	t.Helper()
	if len(events) < 2 || events[0].typ() != "RUN_STARTED" {
		t.Fatalf("stream does not start with RUN_STARTED: %v", types(events))
	}
	last, prevID, prevSeq := events[len(events)-1], 0, 0
	for i, e := range events {
		if e.seq() < prevSeq || e.seq() > prevSeq+1 {
			t.Errorf("event %d (%s) has seq %d after %d", i, e.typ(), e.seq(), prevSeq)
		}
		prevSeq = e.seq()
		if e.id != "" {
			id, _ := strconv.Atoi(e.id)
			if id <= prevID || id != e.seq() {
				t.Errorf("event %d (%s) has id %q after %d, seq %d", i, e.typ(), e.id, prevID, e.seq())
			}
			prevID = id
		}
		if (e.typ() == "RUN_FINISHED" || e.typ() == "RUN_ERROR") && i != len(events)-1 {
			t.Errorf("%s at %d of %d", e.typ(), i, len(events))
		}
	}
	if last.id == "" || last.seq() != prevID {
		t.Errorf("the last event has id %q, seq %d", last.id, last.seq())
	}
	if last.typ() != "RUN_FINISHED" {
		return nil
	}
	result, _ := last.data["result"].(map[string]any)
	var text strings.Builder
	for _, e := range events {
		switch e.typ() {
		case "TEXT_MESSAGE_CONTENT":
			text.WriteString(e.data["delta"].(string))
		case "TOOL_CALL_RESULT":
			md := e.data["metadata"].(map[string]any)
			if _, ok := md["rows"]; !ok {
				continue // a chart, or a tool error
			}
			// Every table a call produced is announced (CUSTOM table) with
			// those rows; the answer's table is one of them.
			if num(md["total"]) < num(md["rows"]) {
				t.Errorf("tool result rows %v total %v", md["rows"], md["total"])
			}
		}
	}
	if got, want := text.String(), result["answer"]; got != want && result["finish_reason"] == "stop" {
		t.Errorf("streamed text %q, answer %q", got, want)
	}
	if table, ok := result["table"].(map[string]any); ok {
		rows := len(table["rows"].([]any))
		found := false
		for _, e := range events {
			md, _ := e.data["metadata"].(map[string]any)
			if e.typ() == "TOOL_CALL_RESULT" && num(md["rows"]) == float64(rows) && num(md["total"]) == num(table["total_rows"]) {
				found = true
			}
		}
		if !found {
			t.Errorf("no tool result has the answer's %d rows of %v", rows, table["total_rows"])
		}
	}
	return result
}

func types(events []sseMessage) []string {
	var out []string
	for _, e := range events {
		out = append(out, e.typ())
	}
	return out
}

// openAIApp serves the app with the OpenAI adapter talking to a fake
// Chat Completions server whose answers the offline planner decides.
func openAIApp(t testing.TB, pace chattest.Pace, env map[string]string) (*chattest.CompletionServer, string) {
	t.Helper()
	fake := chattest.NewCompletionServer(t, offline.New(), pace)
	m, err := openai.New(openai.Options{APIKey: "sk-test", BaseURL: fake.URL})
	if err != nil {
		t.Fatal(err)
	}
	return fake, newApp(t, app.Deps{Model: m}, env).URL
}

// TestStreamMatchesJSON asks the same question streamed and as JSON,
// through the OpenAI adapter streaming from a server that sends tokens
// with delays (tool calls, then text): RUN_FINISHED's result is the JSON
// answer, and the events tell the turn in order.
func TestStreamMatchesJSON(t *testing.T) {
	t.Parallel()
	fake, base := openAIApp(t, chattest.Pace{Chunk: time.Millisecond}, nil)
	tok := tokenFor(t, "streamer")
	for _, q := range []string{"Plot the S&P 500 close from 2007 to 2009", "What was the average closing price of the S&P 500 in 2008?"} {
		events, _ := streamAsk(t, http.DefaultClient, base, tok, q, "")
		result := checkStream(t, events)
		if result == nil {
			t.Fatalf("%q: no RUN_FINISHED: %v", q, types(events))
		}
		for _, want := range []string{"STEP_STARTED", "STEP_FINISHED", "TOOL_CALL_START", "TOOL_CALL_ARGS", "TOOL_CALL_END", "TOOL_CALL_RESULT", "TEXT_MESSAGE_START", "TEXT_MESSAGE_CONTENT", "TEXT_MESSAGE_END", "CUSTOM"} {
			if !strings.Contains(strings.Join(types(events), " "), want) {
				t.Errorf("%q: no %s in %v", q, want, types(events))
			}
		}
		status, raw := rawAsk(t, http.DefaultClient, base, tok, q, "")
		if status != 200 {
			t.Fatalf("JSON answer: %d %v", status, raw)
		}
		for _, m := range []map[string]any{result, raw} {
			delete(m, "conversation_id")
			delete(m, "created_at")
		}
		if !reflect.DeepEqual(result, raw) {
			t.Errorf("%q: RUN_FINISHED.result differs from the JSON answer:\n%s", q, diff("", result, raw))
		}
		// The stored turn is the one the stream finished with.
		var conv struct {
			Turns []map[string]any `json:"turns"`
		}
		getJSON(t, http.DefaultClient, base+"/conversations/"+events[0].data["threadId"].(string), tok, &conv)
		if len(conv.Turns) != 1 || conv.Turns[0]["answer"] != result["answer"] {
			t.Errorf("stored: %+v", conv.Turns)
		}
	}
	if all, streamed := fake.Requests(); streamed == 0 || streamed == all {
		t.Errorf("model requests: %d, streamed %d; want both kinds", all, streamed)
	}
}

// TestStreamFirstEventBeforeModelAnswers holds the model's responses open
// part-way (in the middle of the first response's tool call, and after
// the first words of the answer) and requires the client to have
// received the run's start, and then the first words, while they are held.
func TestStreamFirstEventBeforeModelAnswers(t *testing.T) {
	t.Parallel()
	type hold struct {
		request, chunk int
		release        chan struct{}
		passed         atomic.Bool // the held chunk was sent
	}
	holds := []*hold{{request: 1, chunk: 2, release: make(chan struct{})}, {request: 2, chunk: 4, release: make(chan struct{})}}
	pace := chattest.Pace{BeforeChunk: func(n, i int) {
		for _, h := range holds {
			if h.request == n && h.chunk == i {
				select {
				case <-h.release:
				case <-time.After(20 * time.Second):
				}
				h.passed.Store(true)
			}
		}
	}}
	_, base := openAIApp(t, pace, nil)
	resp := openStream(t, context.Background(), http.DefaultClient, base, tokenFor(t, "early"), "What was the average closing price of the S&P 500 in 2008?", "")
	defer resp.Body.Close()
	rd := &sseReader{t: t, br: bufio.NewReader(resp.Body)}
	var seen []string
	for _, step := range []struct {
		until string
		h     *hold
	}{{"STEP_STARTED", holds[0]}, {"TEXT_MESSAGE_CONTENT", holds[1]}} {
		for {
			m, err := rd.next()
			if err != nil {
				t.Fatalf("read: %v after %v", err, seen)
			}
			seen = append(seen, m.typ())
			if m.typ() == step.until {
				break
			}
		}
		if step.h.passed.Load() {
			t.Errorf("%s arrived only after model response %d was complete (events %v)", step.until, step.h.request, seen)
		}
		close(step.h.release)
	}
	for {
		m, err := rd.next()
		if err == io.EOF {
			break
		}
		seen = append(seen, m.typ())
	}
	if seen[len(seen)-1] != "RUN_FINISHED" {
		t.Errorf("events: %v", seen)
	}
}

// silentModel says nothing for its first silence, then answers as the
// offline planner does.
type silentModel struct {
	silence time.Duration
	once    sync.Once
	next    chat.Model
}

func (m *silentModel) Complete(ctx context.Context, req chat.ModelRequest) (chat.ModelResponse, error) {
	var err error
	m.once.Do(func() {
		select {
		case <-time.After(m.silence):
		case <-ctx.Done():
			err = chat.Errorf(chat.CodeDeadline, "cancelled")
		}
	})
	if err != nil {
		return chat.ModelResponse{}, err
	}
	return m.next.Complete(ctx, req)
}

// TestStreamHeartbeatsDuringSilentModel: a model silent for 20 s, with
// the real 15 s heartbeat; the client gets a heartbeat in between, and
// the answer.
func TestStreamHeartbeatsDuringSilentModel(t *testing.T) {
	t.Parallel()
	base := newApp(t, app.Deps{Model: &silentModel{silence: 20 * time.Second, next: offline.New()}}, nil).URL
	events, beats := streamAsk(t, http.DefaultClient, base, tokenFor(t, "patient"), "What was the average closing price of the S&P 500 in 2008?", "")
	if checkStream(t, events) == nil || beats < 1 {
		t.Errorf("heartbeats %d, events %v", beats, types(events))
	}
}

// TestStreamLongerThan30Seconds runs a turn of about 32 s (two model
// requests of 16 s) behind a server whose write timeout is 10 s, as the
// dev server's is sized for JSON turns: the stream still reaches
// RUN_FINISHED, and heartbeats kept it alive.
func TestStreamLongerThan30Seconds(t *testing.T) {
	t.Parallel()
	fake := chattest.NewCompletionServer(t, offline.New(), chattest.Pace{Think: 16 * time.Second})
	m, err := openai.New(openai.Options{APIKey: "sk-test", BaseURL: fake.URL})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.FromEnv(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewHS256([]byte(secret), nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(context.Background(), cfg, app.Deps{Model: m, Auth: v, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(a.Handler)
	srv.Config.WriteTimeout = 10 * time.Second
	srv.Start()
	defer srv.Close()
	start := time.Now()
	events, beats := streamAsk(t, http.DefaultClient, srv.URL, tokenFor(t, "slow"), "What was the average closing price of the S&P 500 in 2008?", "")
	if checkStream(t, events) == nil || beats < 2 || time.Since(start) < 30*time.Second {
		t.Errorf("after %s: heartbeats %d, events %v", time.Since(start), beats, types(events))
	}
}

// TestStreamClientGoneTurnStored: the client hangs up while the model is
// still answering; the turn runs on, and is stored.
func TestStreamClientGoneTurnStored(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	_, base := openAIApp(t, chattest.Pace{BeforeChunk: func(n, i int) {
		if n == 1 && i == 1 {
			<-release
		}
	}}, nil)
	tok := tokenFor(t, "leaver")
	ctx, hangUp := context.WithCancel(context.Background())
	resp := openStream(t, ctx, http.DefaultClient, base, tok, "Compare AAPL and MSFT since 2005", "")
	rd := &sseReader{t: t, br: bufio.NewReader(resp.Body)}
	first, err := rd.next()
	if err != nil || first.typ() != "RUN_STARTED" {
		t.Fatalf("first event %v, %v", first.data, err)
	}
	conv := first.data["threadId"].(string)
	hangUp()
	resp.Body.Close()
	close(release)

	var stored struct {
		Turns []struct {
			Question string         `json:"question"`
			Chart    map[string]any `json:"chart"`
		} `json:"turns"`
	}
	for range 200 {
		if getJSON(t, http.DefaultClient, base+"/conversations/"+conv, tok, &stored) == 200 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(stored.Turns) != 1 || stored.Turns[0].Question != "Compare AAPL and MSFT since 2005" || stored.Turns[0].Chart == nil {
		t.Fatalf("stored after the client left: %+v", stored)
	}
}

// TestStreamIsolation: 100 users stream at once; each receives only its
// own run, its own question and its own numbers.
func TestStreamIsolation(t *testing.T) {
	t.Parallel()
	const users = 100
	base := newApp(t, app.Deps{}, nil).URL
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: users}}
	sp := sp500(t)
	var (
		mu   sync.Mutex
		runs = map[string]string{}
		wg   sync.WaitGroup
	)
	for i := range users {
		wg.Go(func() {
			user := fmt.Sprintf("stream-%03d", i)
			year := fmt.Sprint(2000 + i%20)
			q := fmt.Sprintf("What was the average close of the S&P 500 in %s? (ref %s)", year, user)
			want, n := meanClose(sp, func(r spRow) bool { return strings.HasPrefix(r.date, year) })
			events, _ := streamAsk(t, client, base, tokenFor(t, user), q, "")
			result := checkStream(t, events)
			if result == nil {
				t.Errorf("%s: %v", user, types(events))
				return
			}
			table := result["table"].(map[string]any)
			if result["question"] != q || !near(num(table["rows"].([]any)[0].([]any)[0]), want) || !strings.Contains(result["answer"].(string), year) {
				t.Errorf("%s got %v; want mean %v over %d days", user, result, want, n)
			}
			runID, thread := events[0].data["runId"].(string), events[0].data["threadId"].(string)
			for _, e := range events {
				if s, ok := e.data["threadId"]; ok && s != thread {
					t.Errorf("%s: event %s of thread %v in %s's stream", user, e.typ(), s, thread)
				}
				if strings.Contains(e.raw, "(ref ") && !strings.Contains(e.raw, "(ref "+user+")") {
					t.Errorf("%s received another user's question: %s", user, e.raw)
				}
				if id, ok := e.data["messageId"].(string); ok && !strings.HasPrefix(id, runID) {
					t.Errorf("%s: message %s not of run %s", user, id, runID)
				}
			}
			mu.Lock()
			if other, dup := runs[runID]; dup {
				t.Errorf("run %s of %s and %s", runID, user, other)
			}
			runs[runID] = user
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(runs) != users {
		t.Errorf("%d runs for %d users", len(runs), users)
	}
}

// TestStreamRejectedBeforeStart: a request rejected before the turn
// starts gets the same JSON error with its status, streamed or not.
func TestStreamRejectedBeforeStart(t *testing.T) {
	t.Parallel()
	base := newApp(t, app.Deps{}, nil).URL
	req, _ := http.NewRequest("POST", base+"/chat", strings.NewReader(`{"message": " "}`))
	req.Header.Set("Authorization", "Bearer "+tokenFor(t, "x"))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body answer
	_ = json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != 400 || resp.Header.Get("Content-Type") != "application/json" || body.Error == nil || body.Error.Code != "invalid" {
		t.Errorf("%d %s %+v", resp.StatusCode, resp.Header.Get("Content-Type"), body.Error)
	}
}

// failingModel fails every request as an overloaded provider does.
type failingModel struct{}

func (failingModel) Complete(context.Context, chat.ModelRequest) (chat.ModelResponse, error) {
	return chat.ModelResponse{}, &chat.Error{Code: chat.CodeModelUnavailable, Message: "the model provider is overloaded; try again in 5 seconds", RetryAfter: 5}
}

// TestStreamRunError: a turn that fails after the stream started ends
// in RUN_ERROR with the JSON error's code and message, and stores nothing.
func TestStreamRunError(t *testing.T) {
	t.Parallel()
	base := newApp(t, app.Deps{Model: failingModel{}}, nil).URL
	tok := tokenFor(t, "unlucky")
	events, _ := streamAsk(t, http.DefaultClient, base, tok, "hello", "")
	checkStream(t, events)
	status, raw := rawAsk(t, http.DefaultClient, base, tok, "hello", "")
	last := events[len(events)-1]
	jerr, _ := raw["error"].(map[string]any)
	if last.typ() != "RUN_ERROR" || status != 503 || jerr == nil || last.data["code"] != jerr["code"] || last.data["message"] != jerr["message"] {
		t.Errorf("RUN_ERROR %v; JSON %d %v", last.data, status, raw)
	}
	if status := getJSON(t, http.DefaultClient, base+"/conversations/"+events[0].data["threadId"].(string), tok, nil); status != 404 {
		t.Errorf("a failed streamed turn was stored: %d", status)
	}
}

package app_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/datachat/datachat/shared/app"
	"github.com/datachat/datachat/shared/auth"
	"github.com/datachat/datachat/shared/chat"
	"github.com/datachat/datachat/shared/chat/chattest"
	"github.com/datachat/datachat/shared/config"
	"github.com/datachat/datachat/shared/dynamo"
	"github.com/datachat/datachat/shared/embedded"
	"github.com/datachat/datachat/shared/httpapi"
	"github.com/datachat/datachat/shared/offline"
	"github.com/datachat/datachat/shared/sqs"
)

// buildApp is newApp that also returns the App, for its worker; the
// in-process pool is closed when the test ends.
func buildApp(t testing.TB, deps app.Deps, env map[string]string) (*httptest.Server, *app.App) {
	t.Helper()
	cfg, err := config.FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewHS256([]byte(secret), nil)
	if err != nil {
		t.Fatal(err)
	}
	deps.Auth = v
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	a, err := app.New(context.Background(), cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler)
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = a.Close(ctx)
	})
	return srv, a
}

// countingModel is the offline planner, counting its requests; a question
// holding "FAIL" gets a model error, and each request waits delay.
type countingModel struct {
	chat.Model
	requests atomic.Int64
	delay    time.Duration
}

func newCountingModel() *countingModel { return &countingModel{Model: offline.New()} }

func (m *countingModel) Complete(ctx context.Context, req chat.ModelRequest) (chat.ModelResponse, error) {
	m.requests.Add(1)
	if m.delay > 0 {
		select {
		case <-time.After(m.delay):
		case <-ctx.Done():
			return chat.ModelResponse{}, chat.Wrap(ctx.Err(), chat.CodeDeadline, "test.countingModel", "the turn ran out of time")
		}
	}
	for _, msg := range req.Messages {
		if msg.Role == chat.RoleUser && strings.Contains(msg.Content, "FAIL") {
			return chat.ModelResponse{}, chat.Errorf(chat.CodeModelError, "the model answered with something unusable (injected)")
		}
	}
	return m.Model.Complete(ctx, req)
}

// post sends POST /chat with extra headers and returns the raw answer.
func postChat(t *testing.T, srv *httptest.Server, tok string, body map[string]string, headers map[string]string) (*http.Response, []byte) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", srv.URL+"/chat", bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, raw
}

type jobView struct {
	JobID  string            `json:"job_id"`
	Status string            `json:"status"`
	Events []json.RawMessage `json:"events"`
	Result map[string]any    `json:"result"`
	Error  *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// waitJob polls GET /jobs/{id} until the job is done.
func waitJob(t *testing.T, srv *httptest.Server, tok, location string) jobView {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var j jobView
		if status := getJSON(t, srv.Client(), srv.URL+location, tok, &j); status != 200 {
			t.Fatalf("GET %s: %d", location, status)
		}
		if j.Status == "succeeded" || j.Status == "failed" {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s still %s after 60 s", location, j.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func eventSeq(t *testing.T, raw json.RawMessage) (string, int) {
	t.Helper()
	var e struct {
		Type     string `json:"type"`
		Metadata struct {
			Seq int `json:"seq"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatal(err)
	}
	return e.Type, e.Metadata.Seq
}

// queueSetups runs a test on both implementations of the Queue port: the
// in-process pool that `make run` uses, and SQS (moto's server) with the
// worker polling it as the event source mapping does.
func queueSetups(t *testing.T, run func(t *testing.T, deps app.Deps, start func(a *app.App))) {
	t.Run("in-process pool", func(t *testing.T) {
		run(t, app.Deps{}, func(*app.App) {})
	})
	t.Run("SQS", func(t *testing.T) {
		q := mototQueue(t)
		run(t, app.Deps{Queue: q}, func(a *app.App) {
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); _ = q.Poll(ctx, a.Worker.Handle, sqs.PollOptions{Wait: time.Second}) }()
			t.Cleanup(func() { cancel(); <-done })
		})
	})
}

// mototQueue is a fresh queue on moto's server, with a short visibility
// timeout so a failed delivery comes back within the test.
func mototQueue(t *testing.T) *sqs.Queue {
	t.Helper()
	ep := chattest.ServerEnv(t, "SQS_TEST_ENDPOINT", "scripts/start-moto.sh")
	c := awssqs.New(awssqs.Options{Region: "us-east-1", BaseEndpoint: aws.String(ep), Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	out, err := c.CreateQueue(t.Context(), &awssqs.CreateQueueInput{QueueName: aws.String("turns-" + hex.EncodeToString(b)), Attributes: map[string]string{"VisibilityTimeout": "2"}})
	if err != nil {
		t.Fatalf("CreateQueue: %v", err)
	}
	t.Cleanup(func() { _, _ = c.DeleteQueue(context.Background(), &awssqs.DeleteQueueInput{QueueUrl: out.QueueUrl}) })
	q, err := sqs.New(c, aws.ToString(out.QueueUrl))
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// A queued turn: 202 with the job, then polling, then the same answer as
// the synchronous one; its events page with ?after; another user's job is
// 404; a job on a model that fails is failed with the error.
func TestQueuedTurn(t *testing.T) {
	queueSetups(t, func(t *testing.T, deps app.Deps, start func(*app.App)) {
		model := newCountingModel()
		deps.Model = model
		srv, a := buildApp(t, deps, nil)
		start(a)
		alice, bob := tokenFor(t, "alice"), tokenFor(t, "bob")
		q := "What was the average closing price of the S&P 500 in 2008?"

		queuedAt := time.Now()
		resp, raw := postChat(t, srv, alice, map[string]string{"message": q}, map[string]string{"Prefer": "respond-async"})
		var accepted struct {
			JobID  string `json:"job_id"`
			Status string `json:"status"`
		}
		_ = json.Unmarshal(raw, &accepted)
		loc := resp.Header.Get("Location")
		if resp.StatusCode != 202 || accepted.Status != "queued" || accepted.JobID == "" || loc != "/jobs/"+accepted.JobID {
			t.Fatalf("queued POST /chat: %d %s Location %q; want 202 with a queued job and its Location", resp.StatusCode, raw, loc)
		}
		job := waitJob(t, srv, alice, loc)
		if job.Status != "succeeded" || job.Error != nil {
			t.Fatalf("job: %+v", job)
		}
		t.Logf("POST to succeeded, polling every 20 ms: %v (instant model)", time.Since(queuedAt).Round(time.Millisecond))

		_, syncRaw := postChat(t, srv, alice, map[string]string{"message": q}, nil)
		var sync map[string]any
		_ = json.Unmarshal(syncRaw, &sync)
		for _, k := range []string{"answer", "table", "chart", "citations", "verified", "usage", "finish_reason", "saved", "question", "turn"} {
			if g, w := fmt.Sprint(job.Result[k]), fmt.Sprint(sync[k]); g != w {
				t.Errorf("result.%s = %s, the synchronous answer's is %s", k, g, w)
			}
		}
		conv, _ := job.Result["conversation_id"].(string)
		var stored struct {
			Turns []map[string]any `json:"turns"`
		}
		if getJSON(t, srv.Client(), srv.URL+"/conversations/"+conv, alice, &stored) != 200 || len(stored.Turns) != 1 ||
			stored.Turns[0]["answer"] != job.Result["answer"] {
			t.Fatalf("the queued turn is not stored as answered: %+v", stored)
		}

		first, _ := eventSeq(t, job.Events[0])
		last, lastSeq := eventSeq(t, job.Events[len(job.Events)-1])
		if first != "RUN_STARTED" || last != "RUN_FINISHED" || len(job.Events) < 4 {
			t.Fatalf("events %d, from %s to %s; want RUN_STARTED ... RUN_FINISHED", len(job.Events), first, last)
		}
		_, cut := eventSeq(t, job.Events[2])
		var page jobView
		getJSON(t, srv.Client(), fmt.Sprintf("%s%s?after=%d", srv.URL, loc, cut), alice, &page)
		if len(page.Events) == 0 || len(page.Events) >= len(job.Events) {
			t.Fatalf("?after=%d gave %d of %d events", cut, len(page.Events), len(job.Events))
		}
		for _, e := range page.Events {
			if _, seq := eventSeq(t, e); seq <= cut {
				t.Fatalf("?after=%d returned event seq %d", cut, seq)
			}
		}
		getJSON(t, srv.Client(), fmt.Sprintf("%s%s?after=%d", srv.URL, loc, lastSeq), alice, &page)
		if len(page.Events) != 0 {
			t.Fatalf("?after=%d (the last) gave %d events, want none", lastSeq, len(page.Events))
		}
		if status := getJSON(t, srv.Client(), srv.URL+loc, bob, nil); status != 404 {
			t.Fatalf("another user's job: %d, want 404", status)
		}

		resp, raw = postChat(t, srv, alice, map[string]string{"message": "FAIL this one"}, map[string]string{"Prefer": "respond-async"})
		if resp.StatusCode != 202 {
			t.Fatalf("queued failing turn: %d %s", resp.StatusCode, raw)
		}
		failed := waitJob(t, srv, alice, resp.Header.Get("Location"))
		if failed.Status != "failed" || failed.Error == nil || failed.Error.Code != "model_error" || !strings.Contains(failed.Error.Message, "unusable") || failed.Result != nil {
			t.Fatalf("job on a failing model: %+v, want failed with model_error", failed)
		}
		if typ, _ := eventSeq(t, failed.Events[len(failed.Events)-1]); typ != "RUN_ERROR" {
			t.Fatalf("failed job's last event %s, want RUN_ERROR", typ)
		}
	})
}

// recordingQueue accepts jobs and runs none: the test delivers them.
type recordingQueue struct {
	mu   sync.Mutex
	jobs []chat.Job
}

func (q *recordingQueue) Enqueue(_ context.Context, j chat.Job) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.jobs = append(q.jobs, j)
	return nil
}

// A worker that claimed a job and died: another delivery while its lease
// runs leaves the job alone; after the lease the job is taken over and
// finishes once; a delivery after that runs nothing. Counted in the
// model's requests and the turns stored.
func TestJobTakenOverAfterItsLeaseAndRunOnce(t *testing.T) {
	clock := chattest.NewClock()
	clock.Advance(time.Since(clock.Now())) // real time: deadlines are on the real clock
	jobs := embedded.NewJobs(clock.Now)
	q := &recordingQueue{}
	model := newCountingModel()
	srv, a := buildApp(t, app.Deps{Model: model, Jobs: jobs, Queue: q, Now: clock.Now}, nil)
	alice := tokenFor(t, "alice")
	resp, raw := postChat(t, srv, alice, map[string]string{"message": "What was the average closing price of the S&P 500 in 2008?"}, map[string]string{"Prefer": "respond-async"})
	if resp.StatusCode != 202 || len(q.jobs) != 1 {
		t.Fatalf("queued POST: %d %s, %d jobs queued", resp.StatusCode, raw, len(q.jobs))
	}
	job := q.jobs[0]
	ctx := context.Background()
	// The first worker claims the job and dies (its lease: a minute).
	if _, err := jobs.ClaimJob(ctx, job.UserID, job.JobID, clock.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := a.Worker.Handle(ctx, job, 2); chat.ErrorCode(err) != chat.CodeConflict {
		t.Fatalf("delivery under the dead worker's lease: %v, want conflict (deliver again later)", err)
	}
	if n := model.requests.Load(); n != 0 {
		t.Fatalf("%d model requests under a live lease, want 0", n)
	}
	clock.Advance(2 * time.Minute)
	if err := a.Worker.Handle(ctx, job, 3); err != nil {
		t.Fatalf("delivery after the lease: %v", err)
	}
	oneTurn := model.requests.Load()
	if rec, _ := jobs.Job(ctx, job.UserID, job.JobID); rec.Status != chat.JobSucceeded {
		t.Fatalf("after the takeover: %+v", rec)
	}
	if err := a.Worker.Handle(ctx, job, 4); err != nil {
		t.Fatalf("delivery of a finished job: %v, want nil (dropped)", err)
	}
	if n := model.requests.Load(); n != oneTurn || n == 0 {
		t.Fatalf("model requests %d after a second delivery, %d after the first: a job must run one turn", n, oneTurn)
	}
	rec, err := jobs.Job(ctx, job.UserID, job.JobID)
	if err != nil || rec.Status != chat.JobSucceeded || rec.Attempt != 2 {
		t.Fatalf("job: %+v, %v; want succeeded on attempt 2", rec, err)
	}
	var res map[string]any
	_ = json.Unmarshal(rec.Result, &res)
	var list struct {
		Conversations []chat.Conversation `json:"conversations"`
	}
	getJSON(t, srv.Client(), srv.URL+"/conversations", alice, &list)
	if len(list.Conversations) != 1 || list.Conversations[0].Turns != 1 || list.Conversations[0].ID != res["conversation_id"] {
		t.Fatalf("conversations %+v; want the job's one, with one turn", list.Conversations)
	}
}

// Idempotency keys on the embedded store and on DynamoDB, where the key
// also holds across a restart (a new app on the same table).
func TestIdempotencyKey(t *testing.T) {
	t.Run("embedded", func(t *testing.T) {
		model := newCountingModel()
		srv, _ := buildApp(t, app.Deps{Model: model}, nil)
		checkIdempotency(t, srv, model, nil)
	})
	t.Run("DynamoDB", func(t *testing.T) {
		ep := dynamoEndpoint(t)
		table := createTable(t, ep)
		store := func() *dynamo.Store {
			c := dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(ep), Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
			s, err := dynamo.New(c, dynamo.Options{Table: table})
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		model := newCountingModel()
		srv, _ := buildApp(t, app.Deps{Model: model, Memory: store()}, nil)
		checkIdempotency(t, srv, model, func() *httptest.Server {
			restarted, _ := buildApp(t, app.Deps{Model: model, Memory: store()}, nil)
			return restarted
		})
	})
}

func checkIdempotency(t *testing.T, srv *httptest.Server, model *countingModel, restart func() *httptest.Server) {
	alice := tokenFor(t, "alice")
	q := map[string]string{"message": "What was the average closing price of the S&P 500 in 2008?"}
	key := func(k string) map[string]string { return map[string]string{"Idempotency-Key": k} }

	first, body := postChat(t, srv, alice, q, key("k-replay"))
	calls := model.requests.Load()
	again, replay := postChat(t, srv, alice, q, key("k-replay"))
	if first.StatusCode != 200 || again.StatusCode != 200 || !bytes.Equal(body, replay) || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %d then %d, bodies equal %v", first.StatusCode, again.StatusCode, bytes.Equal(body, replay))
	}
	if n := model.requests.Load(); n != calls {
		t.Fatalf("the replay ran the model (%d requests, %d before)", n, calls)
	}
	var a answer
	_ = json.Unmarshal(body, &a)
	var stored struct {
		Turns []any `json:"turns"`
	}
	if getJSON(t, srv.Client(), srv.URL+"/conversations/"+a.ConversationID, alice, &stored); len(stored.Turns) != 1 {
		t.Fatalf("%d turns stored for a request and its replay, want 1", len(stored.Turns))
	}
	if bob, _ := postChat(t, srv, tokenFor(t, "bob"), q, key("k-replay")); bob.StatusCode != 200 || bob.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("another user's equal key: %d replayed %q, want a turn of its own", bob.StatusCode, bob.Header.Get("Idempotent-Replayed"))
	}

	other, raw := postChat(t, srv, alice, map[string]string{"message": "And in 2009?"}, key("k-replay"))
	if other.StatusCode != 422 || !strings.Contains(string(raw), `"code":"key_reused"`) || !strings.Contains(string(raw), "different body") {
		t.Fatalf("the key with another body: %d %s, want 422 key_reused", other.StatusCode, raw)
	}

	// 50 at once with one key: one turn; the others wait (409 with
	// Retry-After) or get its answer.
	model.delay = 0
	before := model.requests.Load()
	var ok, conflict atomic.Int32
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			resp, raw := postChat(t, srv, alice, map[string]string{"message": "Which stock rose the most from 2005 to 2009?"}, key("k-50"))
			switch {
			case resp.StatusCode == 200:
				ok.Add(1)
			case resp.StatusCode == 409 && resp.Header.Get("Retry-After") != "":
				conflict.Add(1)
			default:
				t.Errorf("one of 50: %d %s", resp.StatusCode, raw)
			}
		})
	}
	wg.Wait()
	var list struct {
		Conversations []chat.Conversation `json:"conversations"`
	}
	getJSON(t, srv.Client(), srv.URL+"/conversations?limit=100", alice, &list)
	if len(list.Conversations) != 2 {
		t.Fatalf("%d conversations after 50 requests with one key (and the first turn), want 2", len(list.Conversations))
	}
	t.Logf("50 requests with one key: %d answered (1 ran, the rest replayed), %d told to retry; model requests %d (one turn)", ok.Load(), conflict.Load(), model.requests.Load()-before)

	queued, qbody := postChat(t, srv, alice, map[string]string{"message": "How many rows?"}, map[string]string{"Idempotency-Key": "k-async", "Prefer": "respond-async"})
	again2, qreplay := postChat(t, srv, alice, map[string]string{"message": "How many rows?"}, map[string]string{"Idempotency-Key": "k-async", "Prefer": "respond-async"})
	if queued.StatusCode != 202 || again2.StatusCode != 202 || !bytes.Equal(qbody, qreplay) || again2.Header.Get("Location") != queued.Header.Get("Location") {
		t.Fatalf("queued replay: %d %s then %d %s (Location %q, %q)", queued.StatusCode, qbody, again2.StatusCode, qreplay, queued.Header.Get("Location"), again2.Header.Get("Location"))
	}

	if restart == nil {
		return
	}
	calls = model.requests.Load()
	after, afterBody := postChat(t, restart(), alice, q, key("k-replay"))
	if after.StatusCode != 200 || !bytes.Equal(afterBody, body) || model.requests.Load() != calls {
		t.Fatalf("after a restart: %d, body equal %v, model requests %d -> %d; want the first answer again", after.StatusCode, bytes.Equal(afterBody, body), calls, model.requests.Load())
	}
}

// A job whose runner died on every delivery the queue gives it says so
// once its last lease has passed, instead of staying running until it
// expires.
func TestJobWhoseWorkerKeptDyingFails(t *testing.T) {
	clock := chattest.NewClock()
	clock.Advance(time.Since(clock.Now()))
	jobs := embedded.NewJobs(clock.Now)
	q := &recordingQueue{}
	srv, _ := buildApp(t, app.Deps{Jobs: jobs, Queue: q, Now: clock.Now}, nil)
	alice := tokenFor(t, "alice")
	resp, _ := postChat(t, srv, alice, map[string]string{"message": "What was the average closing price of the S&P 500 in 2008?"}, map[string]string{"Prefer": "respond-async"})
	loc := resp.Header.Get("Location")
	job := q.jobs[0]
	for attempt := 1; attempt <= httpapi.MaxJobAttempts; attempt++ {
		if _, err := jobs.ClaimJob(context.Background(), job.UserID, job.JobID, clock.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		var j jobView
		getJSON(t, srv.Client(), srv.URL+loc, alice, &j)
		if j.Status != "running" {
			t.Fatalf("attempt %d under its lease: %s, want running", attempt, j.Status)
		}
		clock.Advance(2 * time.Minute) // the runner dies; its lease passes
	}
	var j jobView
	getJSON(t, srv.Client(), srv.URL+loc, alice, &j)
	if j.Status != "failed" || j.Error == nil || !strings.Contains(j.Error.Message, "stopped before finishing, 3 times") {
		t.Fatalf("after %d dead runners: %+v, want failed saying so", httpapi.MaxJobAttempts, j)
	}
}

// dyingJobs loses every outcome the first claim of a job writes: its
// runner stored the turn and died before its record said so.
type dyingJobs struct{ *embedded.Jobs }

func (d *dyingJobs) UpdateJob(ctx context.Context, j chat.JobRecord) error {
	if j.Status.Done() && j.Attempt == 1 {
		return chat.Errorf(chat.CodeUnavailable, "the runner died before writing the outcome (injected)")
	}
	return d.Jobs.UpdateJob(ctx, j)
}

// A runner that stored the turn and died before writing the outcome: the
// job is taken over after the lease and finished from the stored turn,
// with no second model run and no second turn.
func TestJobTakenOverAfterItsTurnWasStored(t *testing.T) {
	clock := chattest.NewClock()
	clock.Advance(time.Since(clock.Now()))
	jobs := &dyingJobs{Jobs: embedded.NewJobs(clock.Now)}
	q := &recordingQueue{}
	model := newCountingModel()
	srv, a := buildApp(t, app.Deps{Model: model, Jobs: jobs, Queue: q, Now: clock.Now}, map[string]string{"SAVE_RESERVE": "100ms"})
	alice := tokenFor(t, "alice")
	resp, _ := postChat(t, srv, alice, map[string]string{"message": "What was the average closing price of the S&P 500 in 2008?"}, map[string]string{"Prefer": "respond-async"})
	job := q.jobs[0]
	ctx := context.Background()
	if err := a.Worker.Handle(ctx, job, 1); err == nil {
		t.Fatal("the first delivery's outcome was not lost")
	}
	oneTurn := model.requests.Load()
	clock.Advance(10 * time.Minute) // past the dead runner's lease
	if err := a.Worker.Handle(ctx, job, 2); err != nil {
		t.Fatalf("takeover: %v", err)
	}
	if n := model.requests.Load(); n != oneTurn {
		t.Fatalf("the takeover ran the model again: %d requests, %d before", n, oneTurn)
	}
	j := waitJob(t, srv, alice, resp.Header.Get("Location"))
	conv, _ := j.Result["conversation_id"].(string)
	var stored struct {
		Turns []map[string]any `json:"turns"`
	}
	getJSON(t, srv.Client(), srv.URL+"/conversations/"+conv, alice, &stored)
	if j.Status != "succeeded" || len(stored.Turns) != 1 || stored.Turns[0]["answer"] != j.Result["answer"] {
		t.Fatalf("job %s with %d stored turns; want succeeded from the one turn", j.Status, len(stored.Turns))
	}
}

func TestQueueURLNeedsTheTable(t *testing.T) {
	cfg, err := config.FromEnv(func(k string) string {
		return map[string]string{"QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/turns"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	v, _ := auth.NewHS256([]byte(secret), nil)
	_, err = app.New(context.Background(), cfg, app.Deps{Auth: v, Logger: slog.New(slog.DiscardHandler)})
	if err == nil || !strings.Contains(err.Error(), "TABLE_NAME") {
		t.Fatalf("QUEUE_URL without a table: %v, want refused naming TABLE_NAME", err)
	}
}

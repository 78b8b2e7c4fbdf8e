package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/datachat/datachat/shared/app"
	"github.com/datachat/datachat/shared/chat"
	"github.com/datachat/datachat/shared/chat/chattest"
	"github.com/datachat/datachat/shared/dynamo"
	"github.com/datachat/datachat/shared/sample"
	"github.com/datachat/datachat/shared/weaviate"
)

// syncBuffer collects log lines written from the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// withoutQueries is the Weaviate of `make test` for its schema (REST)
// with a gRPC endpoint that serves no query API: every Search and
// Aggregate is refused (Unimplemented), as by a server too old for gRPC
// queries, while discovery keeps working.
func withoutQueries(t *testing.T) (restURL, grpcAddr string) {
	t.Helper()
	weaviateWarehouse(t) // seeds the sample
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return chattest.ServerEnv(t, "WEAVIATE_TEST_URL", "scripts/start-weaviate.sh"), ln.Addr().String()
}

// A store whose queries fail is seen: the turn answers 503 unavailable
// (not a 200 that says nothing), and the failure is logged at WARN with its
// operation, detail and the request id.
func TestQueriesFailingIs503AndLogged(t *testing.T) {
	restURL, grpcAddr := withoutQueries(t)
	wh, err := weaviate.New(weaviate.Options{URL: restURL, GRPCURL: grpcAddr, Timeout: time.Minute, Collections: []string{sample.SP500, sample.Stocks}})
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	srv := newApp(t, app.Deps{Warehouse: wh, Logger: slog.New(slog.NewJSONHandler(logs, nil))}, nil)
	status, a := ask(t, srv.Client(), srv.URL, tokenFor(t, "ops"), "What was the average closing price of the S&P 500 in 2008?", "")
	if status != 503 || a.Error == nil || a.Error.Code != "unavailable" {
		t.Fatalf("got %d %+v, want 503 unavailable", status, a)
	}
	var failure, access map[string]any
	for _, line := range strings.Split(logs.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) != nil {
			continue
		}
		switch m["msg"] {
		case "tool failed":
			failure = m
		case "request":
			access = m
		}
	}
	if failure == nil || failure["level"] != "WARN" || failure["op"] != "weaviate.aggregate" || failure["tool"] != "aggregate" ||
		!strings.Contains(fmt.Sprint(failure["error"]), "Unimplemented") || failure["request_id"] == "" || failure["request_id"] != access["request_id"] {
		t.Fatalf("tool failure logged as %v (access line %v); want WARN with op weaviate.aggregate, the gRPC refusal and the request id; logs:\n%s", failure, access, logs)
	}
	if access["status"] != 503.0 {
		t.Fatalf("access line %v, want status 503", access)
	}
}

// countingWarehouse counts the calls that reach a warehouse and the most
// in flight at once.
type countingWarehouse struct {
	chat.Warehouse
	calls, now, peak atomic.Int64
}

func (c *countingWarehouse) Aggregate(ctx context.Context, a chat.Aggregation) (chat.Table, error) {
	if a.GroupBy != "month" || len(a.Metrics) != 1 || a.Metrics[0].Op != chat.MetricMean || a.Metrics[0].Field != "price" {
		// The system prompt's value hints, not the model's calls.
		return c.Warehouse.Aggregate(ctx, a)
	}
	c.calls.Add(1)
	n := c.now.Add(1)
	defer c.now.Add(-1)
	for p := c.peak.Load(); n > p && !c.peak.CompareAndSwap(p, n); p = c.peak.Load() {
	}
	return c.Warehouse.Aggregate(ctx, a)
}

// One model response asking for 300 grouped aggregates on Weaviate runs
// only the first MaxCallsPerResponse, at most MaxDataCallsInFlight at
// once; the others get a tool error saying why.
func TestToolCallsPerResponseAreBounded(t *testing.T) {
	wh := &countingWarehouse{Warehouse: weaviateWarehouse(t)}
	calls := make([]chat.ToolCall, 300)
	for i := range calls {
		calls[i] = chat.ToolCall{ID: fmt.Sprintf("c%d", i), Name: chat.ToolAggregate,
			Arguments: `{"collection":"Stocks","metrics":[{"op":"mean","field":"price"}],"group_by":"month","filters":null,"sort":null,"limit":null}`}
	}
	model := &chattest.ScriptedModel{Reply: func(_ context.Context, req chat.ModelRequest, n int) (chat.ModelResponse, error) {
		if n == 1 {
			return chattest.Calls(100, calls...), nil
		}
		return chattest.Answer("done", 100), nil
	}}
	limits := chat.DefaultLimits()
	limits.MaxTotalTokens = 10_000_000 // 300 tool results are a long request
	agent, err := chat.NewAgent(model, wh, limits)
	if err != nil {
		t.Fatal(err)
	}
	res, err := agent.Run(context.Background(), nil, "everything at once")
	if err != nil {
		t.Fatal(err)
	}
	if got := wh.calls.Load(); got != chat.MaxCallsPerResponse {
		t.Errorf("%d aggregate calls reached Weaviate, want %d", got, chat.MaxCallsPerResponse)
	}
	if got := wh.peak.Load(); got > chat.MaxDataCallsInFlight {
		t.Errorf("%d calls in flight at once, want at most %d", got, chat.MaxDataCallsInFlight)
	}
	refused := 0
	for _, m := range res.Messages {
		if m.Role == chat.RoleTool && strings.Contains(m.Content, "only the first 8 run") {
			refused++
		}
	}
	if refused != 300-chat.MaxCallsPerResponse {
		t.Errorf("%d calls were told they did not run, want %d", refused, 300-chat.MaxCallsPerResponse)
	}
	t.Logf("warehouse calls %d, peak in flight %d", wh.calls.Load(), wh.peak.Load())
}

var _ = io.Discard

// dynamoStore is a Store on its own table of the DynamoDB-compatible
// server, through client (which a test may wrap to inject faults).
func dynamoStore(t *testing.T, wrap func(dynamo.Client) dynamo.Client) *dynamo.Store {
	t.Helper()
	ep := dynamoEndpoint(t)
	table := createTable(t, ep)
	var client dynamo.Client = dynamodb.New(dynamodb.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(ep),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	if wrap != nil {
		client = wrap(client)
	}
	s, err := dynamo.New(client, dynamo.Options{Table: table, MaxBackoff: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A follow-up whose conversation is deleted while it is in the model
// answers 404 and stores nothing, on DynamoDB as on the embedded memory.
func TestDeleteDuringTurnOnDynamo(t *testing.T) {
	store := dynamoStore(t, nil)
	inModel, release := make(chan struct{}), make(chan struct{})
	model := &chattest.ScriptedModel{Reply: func(_ context.Context, req chat.ModelRequest, _ int) (chat.ModelResponse, error) {
		if req.Messages[len(req.Messages)-1].Content == "And in 2009?" {
			close(inModel)
			<-release
		}
		return chattest.Answer("ok", 10), nil
	}}
	srv := newApp(t, app.Deps{Memory: store, Model: model}, nil)
	tok := tokenFor(t, "deleter")
	status, a := ask(t, srv.Client(), srv.URL, tok, "first", "")
	if status != 200 {
		t.Fatalf("first turn: %d %+v", status, a)
	}
	type result struct {
		status int
		a      answer
	}
	done := make(chan result)
	go func() {
		s, f := ask(t, srv.Client(), srv.URL, tok, "And in 2009?", a.ConversationID)
		done <- result{s, f}
	}()
	<-inModel
	req, _ := http.NewRequest("DELETE", srv.URL+"/conversations/"+a.ConversationID, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := srv.Client().Do(req)
	if err != nil || resp.StatusCode != 204 {
		t.Fatalf("delete: %v %v", resp, err)
	}
	resp.Body.Close()
	close(release)
	if r := <-done; r.status != 404 || r.a.Error == nil || r.a.Error.Code != "not_found" {
		t.Fatalf("follow-up of a conversation deleted meanwhile: %d %+v, want 404", r.status, r.a)
	}
	if status := getJSON(t, srv.Client(), srv.URL+"/conversations/"+a.ConversationID, tok, nil); status != 404 {
		t.Fatalf("GET after delete: %d, want 404 (the conversation came back)", status)
	}
}

// throttledClient answers UpdateItem (an append's first write) with
// throttling while its budget of failures lasts, as a table at its
// capacity does.
type throttledClient struct {
	dynamo.Client
	failures atomic.Int64
	writes   atomic.Int64
}

func (c *throttledClient) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	c.writes.Add(1)
	if c.failures.Add(-1) >= 0 {
		return nil, &types.ProvisionedThroughputExceededException{Message: aws.String("throttled (injected)")}
	}
	return c.Client.UpdateItem(ctx, in, opts...)
}

// Saving a turn on a throttled DynamoDB is retried within the save
// reserve; when throttling outlasts it, the answer is still given, with
// "saved": false, and nothing is stored.
func TestSaveRetriedUnderThrottling(t *testing.T) {
	var tc *throttledClient
	store := dynamoStore(t, func(c dynamo.Client) dynamo.Client { tc = &throttledClient{Client: c}; return tc })
	srv := newApp(t, app.Deps{Memory: store}, map[string]string{"SAVE_RESERVE": "1500ms"})
	tok := tokenFor(t, "throttled")
	q := "What was the average closing price of the S&P 500 in 2008?"

	tc.failures.Store(3)
	status, raw := rawAsk(t, srv.Client(), srv.URL, tok, q, "")
	if status != 200 || raw["saved"] != true || !strings.Contains(fmt.Sprint(raw["answer"]), "1,220.04") {
		t.Fatalf("three throttled writes: %d %v, want 200 saved", status, raw)
	}
	if w := tc.writes.Load(); w != 4 {
		t.Errorf("%d writes, want 4 (3 throttled, then stored)", w)
	}
	conv := raw["conversation_id"].(string)
	if getJSON(t, srv.Client(), srv.URL+"/conversations/"+conv, tok, nil) != 200 {
		t.Fatal("the turn saved after throttling cannot be read")
	}

	tc.failures.Store(1 << 40)
	status, raw = rawAsk(t, srv.Client(), srv.URL, tok, q, "")
	if status != 200 || raw["saved"] != false || !strings.Contains(fmt.Sprint(raw["answer"]), "1,220.04") {
		t.Fatalf("throttled throughout: %d %v, want 200 with the answer and saved false", status, raw)
	}
	if getJSON(t, srv.Client(), srv.URL+"/conversations/"+raw["conversation_id"].(string), tok, nil) != 404 {
		t.Fatal("an unsaved turn can be read")
	}
}

package dynamo_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/datachat/datachat/shared/chat"
	"github.com/datachat/datachat/shared/dynamo"
)

// fast bounds SDK retries so that fault tests end quickly.
func fast() dynamo.Options { return dynamo.Options{MaxAttempts: 3, MaxBackoff: 5 * time.Millisecond} }

func wantUnavailable(t *testing.T, err error, words ...string) {
	t.Helper()
	var e *chat.Error
	if !errors.As(err, &e) || e.Code != chat.CodeUnavailable {
		t.Fatalf("got %v, want unavailable", err)
	}
	// The whole error (what the log gets) says what is wrong; the message
	// the caller sees names no table, endpoint or credential.
	for _, w := range words {
		if !strings.Contains(e.Error(), w) {
			t.Errorf("error %q does not say %q", e.Error(), w)
		}
	}
	for _, internal := range []string{"TABLE_NAME", "AWS_", "role", "127.0.0.1", "no-such-table"} {
		if strings.Contains(e.Message, internal) {
			t.Errorf("caller-facing message %q leaks %q", e.Message, internal)
		}
	}
}

// A port nothing listens on: every operation is unavailable and says why.
func TestConnectionRefused(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	opts := fast()
	opts.Table = "conversations"
	s, err := dynamo.New(newClient("http://"+addr), opts)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.History(ctx, "u", "c1", 10)
	wantUnavailable(t, err, "connection refused", "History", `"c1"`)
	_, err = s.Append(ctx, turn("u", "c1", "q"))
	wantUnavailable(t, err, "connection refused", "Append")
	_, _, err = s.List(ctx, "u", 10, "")
	wantUnavailable(t, err, "connection refused", "List")
	err = s.Delete(ctx, "u", "c1")
	wantUnavailable(t, err, "connection refused", "Delete")
	t.Logf("message: %s", chat.ErrorMessage(err))
}

// hangingServer accepts requests and never answers them.
func hangingServer(t *testing.T) *httptest.Server {
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-done:
		}
	}))
	t.Cleanup(func() {
		close(done)
		srv.Close()
	})
	return srv
}

// A server that never answers: the HTTP client's timeout gives unavailable.
func TestServerTimeout(t *testing.T) {
	t.Parallel()
	srv := hangingServer(t)
	opts := fast()
	opts.Table = "conversations"
	opts.MaxAttempts = 1
	client := dynamodb.New(dynamodb.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
		HTTPClient:  &http.Client{Timeout: 200 * time.Millisecond},
	})
	s, err := dynamo.New(client, opts)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.History(ctx, "u", "c1", 10)
	wantUnavailable(t, err, "did not answer in time", "History")
}

// The request's own deadline is the caller's, reported as deadline.
func TestCallerDeadline(t *testing.T) {
	t.Parallel()
	srv := hangingServer(t)
	opts := fast()
	opts.Table = "conversations"
	s, err := dynamo.New(newClient(srv.URL), opts)
	if err != nil {
		t.Fatal(err)
	}
	c, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := s.History(c, "u", "c1", 10); chat.ErrorCode(err) != chat.CodeDeadline {
		t.Fatalf("got %v, want deadline", err)
	}
}

// throttle answers every attempt of the named operation with an API error
// of code, inside the SDK's retry loop, and counts the attempts.
func throttle(op, code string, attempts *atomic.Int32) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("injectThrottling",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				if awsmiddleware.GetOperationName(ctx) != op {
					return next.HandleFinalize(ctx, in)
				}
				attempts.Add(1)
				return middleware.FinalizeOutput{}, middleware.Metadata{}, &smithy.GenericAPIError{Code: code, Message: "injected by the test", Fault: smithy.FaultServer}
			}), middleware.After)
	}
}

// Throttling is retried within the bound, then reported as unavailable,
// and a throttled append leaves nothing behind.
func TestThrottling(t *testing.T) {
	t.Parallel()
	for _, code := range []string{"ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded"} {
		t.Run(code, func(t *testing.T) {
			t.Parallel()
			var writes, reads atomic.Int32
			f := newFixture(t, fast(), throttle("UpdateItem", code, &writes), throttle("Query", code, &reads))
			_, err := f.store.Append(ctx, turn("u", "c1", "q"))
			wantUnavailable(t, err, "throttling", "Append", `"c1"`)
			if n := writes.Load(); n != 3 {
				t.Errorf("the SDK made %d attempts, want MaxAttempts = 3", n)
			}
			var e *chat.Error
			if errors.As(err, &e) && e.RetryAfter == 0 {
				t.Error("no RetryAfter hint")
			}
			if items := f.scan(t); len(items) != 0 {
				t.Errorf("a throttled append left %d items", len(items))
			}
			_, err = f.store.History(ctx, "u", "c1", 10)
			wantUnavailable(t, err, "throttling", "History")
		})
	}
}

// The turn's put fails after its seq was taken: nothing half-written is
// visible, the summary still counts the turns stored, and the next turn
// takes the next seq, leaving a gap the summary explains (one seq lost).
func TestAFailedPutLeavesAGapTheSummaryExplains(t *testing.T) {
	t.Parallel()
	var fail atomic.Bool
	failPuts := func(stack *middleware.Stack) error {
		return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("failPuts",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				if awsmiddleware.GetOperationName(ctx) == "PutItem" && fail.Load() {
					return middleware.FinalizeOutput{}, middleware.Metadata{}, &smithy.GenericAPIError{Code: "InternalServerError", Message: "injected by the test", Fault: smithy.FaultServer}
				}
				return next.HandleFinalize(ctx, in)
			}), middleware.After)
	}
	f := newFixture(t, fast(), failPuts)
	mustAppend(t, f.store, turn("u", "c1", "kept"))

	fail.Store(true)
	tr := turn("u", "c1", "lost")
	tr.Seq = 2
	if _, err := f.store.Append(ctx, tr); chat.ErrorCode(err) != chat.CodeUnavailable {
		t.Fatalf("Append whose put fails: %v, want unavailable", err)
	}
	fail.Store(false)

	if items := f.scan(t); len(items) != 2 {
		t.Fatalf("table holds %d items, want the first turn and its summary only", len(items))
	}
	list, _, err := f.store.List(ctx, "u", 10, "")
	if err != nil || len(list) != 1 || list[0].Turns != 1 {
		t.Fatalf("List: %+v, %v; want one conversation counting 1 turn", list, err)
	}
	tr = turn("u", "c1", "next")
	tr.Seq = 2
	if got := mustAppend(t, f.store, tr); got.Seq != 3 {
		t.Fatalf("next append has seq %d, want 3 (seq 2 is lost, never reused)", got.Seq)
	}
	h, err := f.store.History(ctx, "u", "c1", 10)
	if err != nil || len(h) != 2 || h[0].Seq != 1 || h[1].Seq != 3 {
		t.Fatalf("History: %v, %v; want seqs 1 and 3", h, err)
	}
	if list, _, _ := f.store.List(ctx, "u", 10, ""); list[0].Turns != 2 {
		t.Fatalf("summary counts %d turns, want 2", list[0].Turns)
	}
}

// A table that does not exist is unavailable, and the message names
// TABLE_NAME.
func TestMissingTable(t *testing.T) {
	t.Parallel()
	opts := fast()
	opts.Table = "no-such-table"
	s, err := dynamo.New(newClient(endpoint(t)), opts)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.History(ctx, "u", "c1", 10)
	wantUnavailable(t, err, "TABLE_NAME", "no-such-table", "History")
	_, err = s.Append(ctx, turn("u", "c1", "q"))
	wantUnavailable(t, err, "TABLE_NAME", "Append")
	_, _, err = s.List(ctx, "u", 10, "")
	wantUnavailable(t, err, "TABLE_NAME", "List")
	t.Logf("message: %s", chat.ErrorMessage(err))
}

func TestCreateTableIsIdempotent(t *testing.T) {
	t.Parallel()
	client := newClient(endpoint(t))
	name := newTable(t, client)
	if err := dynamo.CreateTable(ctx, client, name); err != nil {
		t.Fatalf("second CreateTable: %v", err)
	}
	ttl, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(name)})
	if err != nil || ttl.TimeToLiveDescription.TimeToLiveStatus != "ENABLED" || aws.ToString(ttl.TimeToLiveDescription.AttributeName) != dynamo.TTLAttribute {
		t.Fatalf("TTL: %+v, %v", ttl, err)
	}

	// A table of the same name with other keys is refused.
	other := name + "-other"
	def := dynamo.TableDefinition(other)
	def.KeySchema = def.KeySchema[:1]
	if _, err := client.CreateTable(ctx, def); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(other)})
	})
	if err := dynamo.CreateTable(ctx, client, other); err == nil || !strings.Contains(err.Error(), "other keys") {
		t.Fatalf("CreateTable over a table with other keys: %v", err)
	}
}

// unprocessed makes DynamoDB leave some deletes of a BatchWriteItem
// unprocessed: the last `hold` requests of the first `times` calls are
// taken out of the request and handed back as UnprocessedItems, as the
// service does when it is throttling; hold < 0 holds back every request.
func unprocessed(hold, times int) func(*middleware.Stack) error {
	var calls atomic.Int32
	return func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("holdBackWrites",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				bw, ok := in.Parameters.(*dynamodb.BatchWriteItemInput)
				if !ok || int(calls.Add(1)) > times {
					return next.HandleInitialize(ctx, in)
				}
				held := map[string][]types.WriteRequest{}
				for table, reqs := range bw.RequestItems {
					n := len(reqs) - hold
					if hold < 0 || n < 1 {
						n = 0
					}
					held[table], bw.RequestItems[table] = reqs[n:], reqs[:n]
					if n == 0 {
						delete(bw.RequestItems, table)
					}
				}
				if len(bw.RequestItems) == 0 {
					return middleware.InitializeOutput{Result: &dynamodb.BatchWriteItemOutput{UnprocessedItems: held}}, middleware.Metadata{}, nil
				}
				out, md, err := next.HandleInitialize(ctx, in)
				if err == nil {
					out.Result.(*dynamodb.BatchWriteItemOutput).UnprocessedItems = held
				}
				return out, md, err
			}), middleware.After)
	}
}

func TestDeleteSendsUnprocessedAgain(t *testing.T) {
	t.Parallel()
	f := newFixture(t, dynamo.Options{}, unprocessed(5, 2))
	for i := range 30 {
		mustAppend(t, f.store, turn("u", "c", fmt.Sprint(i)))
	}
	f.ops.reset()
	if err := f.store.Delete(ctx, "u", "c"); err != nil {
		t.Fatal(err)
	}
	// 30 turns: chunks of 25 and 5; 5 of each held back once.
	if n := f.ops.get("BatchWriteItem"); n != 4 {
		t.Errorf("%d BatchWriteItem calls, want 4", n)
	}
	if items := f.scan(t); len(items) != 0 {
		t.Fatalf("%d items left after Delete", len(items))
	}
}

func TestDeleteGivesUpOnUnprocessed(t *testing.T) {
	t.Parallel()
	f := newFixture(t, dynamo.Options{}, unprocessed(-1, 1000))
	mustAppend(t, f.store, turn("u", "c", "q"))
	err := f.store.Delete(ctx, "u", "c")
	wantUnavailable(t, err, "did not delete every turn", `"c"`)
	// The summary is deleted first, so the conversation is gone for every
	// reader even though turns are left, and deleting again sweeps them.
	if list, _, err := f.store.List(ctx, "u", 10, ""); err != nil || len(list) != 0 {
		t.Fatalf("List after a failed sweep: %+v, %v; want nothing", list, err)
	}
	if _, err := f.store.Turns(ctx, "u", "c"); chat.ErrorCode(err) != chat.CodeNotFound {
		t.Fatalf("Turns after a failed sweep: %v, want not_found", err)
	}
	err = f.store.Delete(ctx, "u", "c")
	wantUnavailable(t, err, "did not delete every turn", `"c"`)
}

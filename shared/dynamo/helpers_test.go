package dynamo_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/datachat/datachat/shared/chat/chattest"
	"github.com/datachat/datachat/shared/dynamo"
)

// endpoint is the dynalite that scripts/test.sh starts.
func endpoint(tb testing.TB) string {
	tb.Helper()
	ep := chattest.ServerEnv(tb, "DYNAMODB_TEST_ENDPOINT", "scripts/start-dynalite.sh")
	return ep
}

// newClient is a real SDK client on ep with dummy credentials; apiOptions
// add middleware (counters, injected faults).
func newClient(ep string, apiOptions ...func(*middleware.Stack) error) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(ep),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		APIOptions:   apiOptions,
	})
}

// newTable creates a table with a random name, so tests run in parallel
// on one server without meeting.
func newTable(tb testing.TB, client *dynamodb.Client) string {
	tb.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "conversations-" + hex.EncodeToString(b)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := dynamo.CreateTable(ctx, client, name); err != nil {
		tb.Fatalf("CreateTable: %v", err)
	}
	tb.Cleanup(func() {
		_, _ = client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
	})
	return name
}

type fixture struct {
	client *dynamodb.Client
	table  string
	store  *dynamo.Store
	ops    *opCounter
	clock  *clock
}

// newFixture is a store on its own table, with an operation counter and a
// clock the test moves. opts.Table and opts.Now are filled in.
func newFixture(tb testing.TB, opts dynamo.Options, apiOptions ...func(*middleware.Stack) error) *fixture {
	tb.Helper()
	ep := endpoint(tb)
	ops := &opCounter{}
	client := newClient(ep, append([]func(*middleware.Stack) error{ops.register}, apiOptions...)...)
	f := &fixture{client: client, table: newTable(tb, client), ops: ops, clock: newClock()}
	opts.Table = f.table
	if opts.Now == nil {
		opts.Now = f.clock.Now
	}
	s, err := dynamo.New(client, opts)
	if err != nil {
		tb.Fatal(err)
	}
	f.store = s
	ops.reset()
	return f
}

// scan returns every raw item of the table.
func (f *fixture) scan(tb testing.TB) []map[string]types.AttributeValue {
	tb.Helper()
	var items []map[string]types.AttributeValue
	p := dynamodb.NewScanPaginator(f.client, &dynamodb.ScanInput{TableName: aws.String(f.table), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			tb.Fatalf("scan: %v", err)
		}
		items = append(items, page.Items...)
	}
	return items
}

func str(item map[string]types.AttributeValue, name string) string {
	var s string
	_ = attributevalue.Unmarshal(item[name], &s)
	return s
}

// clock is a settable clock that also moves forward a little on every
// reading, so that successive writes get distinct times.
type clock struct {
	ns atomic.Int64
}

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano())
	return c
}

func (c *clock) Now() time.Time {
	return time.Unix(0, c.ns.Add(int64(time.Microsecond))).UTC()
}

func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// opCounter counts operations (not retry attempts) by name, with a
// middleware at the start of every operation's stack.
type opCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *opCounter) register(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("countOperations",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			c.mu.Lock()
			if c.n == nil {
				c.n = map[string]int{}
			}
			c.n[awsmiddleware.GetOperationName(ctx)]++
			c.mu.Unlock()
			return next.HandleInitialize(ctx, in)
		}), middleware.Before)
}

func (c *opCounter) reset() {
	c.mu.Lock()
	c.n = map[string]int{}
	c.mu.Unlock()
}

func (c *opCounter) get(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[op]
}

func (c *opCounter) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.n {
		n += v
	}
	return n
}

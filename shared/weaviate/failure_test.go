package weaviate_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/datachat/datachat/shared/chat"
	"github.com/datachat/datachat/shared/weaviate"
)

// fakeSchema is a /v1/schema answer with one collection.
const fakeSchema = `{"classes":[{"class":"Things","vectorizer":"none","properties":[
	{"name":"name","dataType":["text"],"tokenization":"field"},
	{"name":"n","dataType":["int"]}]}]}`

// fakeWeaviate is a real HTTP server speaking just enough of Weaviate's
// API: the schema, and GraphQL answered by graphql.
func fakeWeaviate(t *testing.T, schema string, graphql http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var schemaReads atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/schema", func(w http.ResponseWriter, r *http.Request) {
		schemaReads.Add(1)
		io.WriteString(w, schema)
	})
	mux.HandleFunc("POST /v1/graphql", graphql)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, &schemaReads
}

// returns fails the test if fn does not return within limit: a guard
// against hangs, far above the timeouts involved, not a speed check.
func returns(t *testing.T, limit time.Duration, fn func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		return err
	case <-time.After(limit):
		t.Fatalf("call still running after %s", limit)
		return nil
	}
}

// checkSafe fails when the caller-facing message leaks internals.
func checkSafe(t *testing.T, err error, leaks ...string) {
	t.Helper()
	msg := chat.ErrorMessage(err)
	for _, l := range leaks {
		if strings.Contains(msg, l) {
			t.Errorf("message %q leaks %q", msg, l)
		}
	}
}

func TestWeaviateDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	w, err := weaviate.New(weaviate.Options{URL: "http://" + addr, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatalf("New must not dial: %v", err)
	}
	err = returns(t, time.Minute, func() error {
		_, err := w.Query(context.Background(), chat.Query{Collection: "Stocks"})
		return err
	})
	if chat.ErrorCode(err) != chat.CodeUnavailable || !contains(chat.ErrorMessage(err), "query", "Stocks") {
		t.Errorf("got %v, want unavailable naming the query and Stocks", err)
	}
	checkSafe(t, err, addr, "connection refused", "dial")
	_, err = w.Schema(context.Background())
	if chat.ErrorCode(err) != chat.CodeUnavailable {
		t.Errorf("schema: got %v, want unavailable", err)
	}
}

// stallingServer accepts requests and never answers them until the client
// gives up (or the test ends).
func stallingServer(t *testing.T) string {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs first: frees handlers so Close returns
	return srv.URL
}

func TestWeaviateSlow(t *testing.T) {
	url := stallingServer(t)

	t.Run("per-call timeout", func(t *testing.T) {
		w, err := weaviate.New(weaviate.Options{URL: url, Timeout: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		err = returns(t, time.Minute, func() error {
			_, err := w.Aggregate(context.Background(), chat.Aggregation{Collection: "Stocks", Metrics: []chat.Metric{{Op: chat.MetricCount}}})
			return err
		})
		if chat.ErrorCode(err) != chat.CodeUnavailable || !contains(chat.ErrorMessage(err), "did not answer", "aggregate", "Stocks") {
			t.Errorf("got %v, want unavailable saying Weaviate did not answer the aggregate on Stocks", err)
		}
	})

	t.Run("caller deadline", func(t *testing.T) {
		w, err := weaviate.New(weaviate.Options{URL: url, Timeout: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		err = returns(t, time.Minute, func() error {
			_, err := w.Query(ctx, chat.Query{Collection: "Stocks"})
			return err
		})
		if chat.ErrorCode(err) != chat.CodeDeadline {
			t.Errorf("got %v, want deadline", err)
		}
	})

	t.Run("stall after the schema", func(t *testing.T) {
		release := make(chan struct{})
		srv, _ := fakeWeaviate(t, fakeSchema, func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		})
		t.Cleanup(func() { close(release) })
		w, err := weaviate.New(weaviate.Options{URL: srv.URL, Timeout: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		err = returns(t, time.Minute, func() error {
			_, err := w.Query(context.Background(), chat.Query{Collection: "Things"})
			return err
		})
		if chat.ErrorCode(err) != chat.CodeUnavailable || !contains(chat.ErrorMessage(err), "query on Things") {
			t.Errorf("got %v, want unavailable naming the query on Things", err)
		}
	})
}

func TestWeaviateErrors(t *testing.T) {
	t.Run("5xx", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "node1 panicked: secret internals", http.StatusServiceUnavailable)
		}))
		defer srv.Close()
		w, _ := weaviate.New(weaviate.Options{URL: srv.URL})
		_, err := w.Query(context.Background(), chat.Query{Collection: "Stocks"})
		if chat.ErrorCode(err) != chat.CodeUnavailable {
			t.Errorf("got %v, want unavailable", err)
		}
		checkSafe(t, err, "secret", "503", "node1")
		if !strings.Contains(err.Error(), "secret internals") {
			t.Errorf("the logged error %q should keep the cause", err)
		}
	})

	t.Run("graphql errors", func(t *testing.T) {
		srv, schemaReads := fakeWeaviate(t, fakeSchema, func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `{"errors":[{"message":"explorer: list class: search: internal detail xyz"}]}`)
		})
		w, _ := weaviate.New(weaviate.Options{URL: srv.URL})
		ctx := context.Background()
		_, err := w.Query(ctx, chat.Query{Collection: "Things"})
		if chat.ErrorCode(err) != chat.CodeUnavailable || !contains(chat.ErrorMessage(err), "query on Things") {
			t.Errorf("got %v, want unavailable naming the query on Things", err)
		}
		checkSafe(t, err, "internal detail", "explorer")
		// A GraphQL error may mean the schema changed: it is read again.
		_, err = w.Aggregate(ctx, chat.Aggregation{Collection: "Things", Metrics: []chat.Metric{{Op: chat.MetricCount}}})
		if chat.ErrorCode(err) != chat.CodeUnavailable {
			t.Errorf("aggregate: got %v, want unavailable", err)
		}
		if n := schemaReads.Load(); n != 2 {
			t.Errorf("schema read %d times, want 2 (once more after the GraphQL error)", n)
		}
	})

	t.Run("malformed answer", func(t *testing.T) {
		srv, _ := fakeWeaviate(t, fakeSchema, func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `{"data":{"Get":{"Things":[{"name":12,"n":"x"}]}}}`)
		})
		w, _ := weaviate.New(weaviate.Options{URL: srv.URL})
		_, err := w.Query(context.Background(), chat.Query{Collection: "Things"})
		if chat.ErrorCode(err) != chat.CodeUnavailable {
			t.Errorf("got %v, want unavailable", err)
		}
	})

	t.Run("api key", func(t *testing.T) {
		var auth atomic.Value
		srv, _ := fakeWeaviate(t, fakeSchema, func(w http.ResponseWriter, r *http.Request) {
			auth.Store(r.Header.Get("Authorization"))
			io.WriteString(w, `{"data":{"Get":{"Things":[]}}}`)
		})
		w, _ := weaviate.New(weaviate.Options{URL: srv.URL, APIKey: "k-123"})
		if _, err := w.Query(context.Background(), chat.Query{Collection: "Things"}); err != nil {
			t.Fatal(err)
		}
		if got := auth.Load(); got != "Bearer k-123" {
			t.Errorf("Authorization = %v, want Bearer k-123", got)
		}
	})

	t.Run("unauthorized", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, `{"error":[{"message":"anonymous access not enabled"}]}`, http.StatusUnauthorized)
		}))
		defer srv.Close()
		w, _ := weaviate.New(weaviate.Options{URL: srv.URL})
		_, err := w.Schema(context.Background())
		// The log (the whole error) names the key to check; the message the
		// model and the user see does not.
		if chat.ErrorCode(err) != chat.CodeUnavailable || !strings.Contains(err.Error(), "WEAVIATE_API_KEY") || strings.Contains(chat.ErrorMessage(err), "KEY") {
			t.Errorf("got %v, want unavailable with the key hint in the log only", err)
		}
	})
}

// TestGraphQLSent checks the text the client sends for typed filters:
// values quoted by the client, "in" as an Or of Equal, dates as RFC 3339.
func TestGraphQLSent(t *testing.T) {
	var sent atomic.Value
	srv, _ := fakeWeaviate(t, `{"classes":[{"class":"Things","vectorizer":"none","properties":[
		{"name":"name","dataType":["text"],"tokenization":"field"},{"name":"day","dataType":["date"]},{"name":"n","dataType":["int"]}]}]}`,
		func(w http.ResponseWriter, r *http.Request) {
			var body struct{ Query string }
			json.NewDecoder(r.Body).Decode(&body)
			sent.Store(body.Query)
			io.WriteString(w, `{"data":{"Get":{"Things":[]}}}`)
		})
	w, _ := weaviate.New(weaviate.Options{URL: srv.URL})
	_, err := w.Query(context.Background(), chat.Query{Collection: "Things", Fields: []string{"name"}, Filters: []chat.Filter{
		{Field: "name", Op: chat.OpIn, Value: []any{`a"b`, "c"}},
		{Field: "day", Op: chat.OpGte, Value: "2008-01-31"},
		{Field: "n", Op: chat.OpLt, Value: 5.0},
	}})
	if err != nil {
		t.Fatal(err)
	}
	q, _ := sent.Load().(string)
	for _, want := range []string{
		`operator: And`,
		`operator: Or`,
		`operator: Equal path: ["name"] valueText: "a\"b"`,
		`operator: Equal path: ["name"] valueText: "c"`,
		`operator: GreaterThanEqual path: ["day"] valueDate: "2008-01-31T00:00:00Z"`,
		`operator: LessThan path: ["n"] valueInt: 5`,
		`_additional{id}`,
	} {
		if !strings.Contains(q, want) {
			t.Errorf("query %s\nlacks %s", q, want)
		}
	}
}

// TestNewSendsNothing: building the adapter never waits on Weaviate, so a
// cold start is not held up by a slow or absent cluster.
func TestNewSendsNothing(t *testing.T) {
	hc, sent := countingClient()
	if _, err := weaviate.New(weaviate.Options{URL: stallingServer(t), HTTPClient: hc, Timeout: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if n := sent.n.Load(); n != 0 {
		t.Errorf("New sent %d requests, want 0", n)
	}
}

package weaviate_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"

	"github.com/datachat/datachat/shared/chat"
	"github.com/datachat/datachat/shared/weaviate"
)

// TestGraphQLIsOff: the test server refuses GraphQL, so every other test
// on it proves the adapter does without.
func TestGraphQLIsOff(t *testing.T) {
	resp, err := http.Post(serverURL(t)+"/v1/graphql", "application/json", strings.NewReader(`{"query":"{Get{SP500(limit:1){close}}}"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode < 400 || !strings.Contains(string(body), "disabled") {
		t.Fatalf("POST /v1/graphql: %s %s; want a refusal saying GraphQL is disabled (start the server with DISABLE_GRAPHQL=true)", resp.Status, body)
	}
}

// grpcCounter counts the gRPC calls of a Warehouse, by method.
type grpcCounter struct{ search, aggregate atomic.Int64 }

func (c *grpcCounter) option() grpc.DialOption {
	return grpc.WithUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		switch {
		case strings.HasSuffix(method, "/Search"):
			c.search.Add(1)
		case strings.HasSuffix(method, "/Aggregate"):
			c.aggregate.Add(1)
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	})
}

// TestBigInts: ints beyond 32 bits, up to 2^53-1 (the most Weaviate keeps
// exactly, as it computes in float64), come back exactly from a query, a
// search and an aggregation, each in one request.
func TestBigInts(t *testing.T) {
	values := []int64{1<<31 + 1, 1<<53 - 1, -(1<<53 - 1), 7}
	var objects []map[string]any
	for i, v := range values {
		objects = append(objects, map[string]any{"properties": map[string]any{"label": "row", "rank": i, "big": v}})
	}
	name := createCollection(t, "BigInts", map[string]any{
		"vectorizer": "none",
		"properties": []map[string]any{
			{"name": "label", "dataType": []string{"text"}, "tokenization": "field"},
			{"name": "rank", "dataType": []string{"int"}},
			{"name": "big", "dataType": []string{"int"}},
		},
	}, objects)
	var calls grpcCounter
	hc, rest := countingClient()
	w := newWarehouse(t, weaviate.Options{URL: serverURL(t), GRPCURL: grpcAddr(t), HTTPClient: hc, GRPCDialOptions: []grpc.DialOption{calls.option()}})
	ctx := context.Background()
	if _, err := w.Schema(ctx); err != nil {
		t.Fatal(err)
	}
	restBefore := rest.n.Load()

	tbl, err := w.Query(ctx, chat.Query{Collection: name, Fields: []string{"rank", "big"}, Sort: []chat.Sort{{Field: "rank"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(tbl.Rows) != len(values) {
		t.Fatalf("got %d rows, want %d", len(tbl.Rows), len(values))
	}
	for i, v := range values {
		if got := tbl.Rows[i][1]; got != v {
			t.Errorf("row %d: big = %v (%T), want %d exactly", i, got, got, v)
		}
	}
	if s, a := calls.search.Load(), calls.aggregate.Load(); s != 1 || a != 0 {
		t.Errorf("the query made %d Search and %d Aggregate calls, want one Search alone", s, a)
	}

	found, err := w.Search(ctx, chat.Search{Collection: name, Text: "row", Mode: chat.SearchKeyword, Fields: []string{"big"}})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[any]bool{}
	for _, r := range found.Rows {
		seen[r[0]] = true
	}
	for _, v := range values {
		if !seen[v] {
			t.Errorf("search: %d missing or inexact in %v", v, found.Rows)
		}
	}

	agg, err := w.Aggregate(ctx, chat.Aggregation{Collection: name, Metrics: []chat.Metric{
		{Op: chat.MetricMax, Field: "big"}, {Op: chat.MetricMin, Field: "big"}, {Op: chat.MetricSum, Field: "big"}},
		Filters: []chat.Filter{{Field: "big", Op: chat.OpGte, Value: int64(1<<31 + 1)}}})
	if err != nil {
		t.Fatal(err)
	}
	// 2^31+1 + 2^53-1 = 2^53 + 2^31: exact in float64.
	if want := []any{int64(1<<53 - 1), int64(1<<31 + 1), int64(1<<53 + 1<<31)}; !equalRows(agg.Rows, [][]any{want}) {
		t.Errorf("aggregate = %v, want %v", agg.Rows, want)
	}
	if s, a := calls.search.Load(), calls.aggregate.Load(); s != 2 || a != 1 {
		t.Errorf("%d Search and %d Aggregate calls in all, want 2 and 1", s, a)
	}
	if n := rest.n.Load() - restBefore; n != 0 {
		t.Errorf("%d REST requests after the schema was read, want 0", n)
	}
}

package weaviate_test

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	pb "github.com/weaviate/weaviate/grpc/generated/protocol/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	"github.com/datachat/datachat/shared/chat"
	"github.com/datachat/datachat/shared/weaviate"
)

// fakeSchema is a /v1/schema answer with one collection.
const fakeSchema = `{"classes":[{"class":"Things","vectorizer":"none","properties":[
	{"name":"name","dataType":["text"],"tokenization":"field"},
	{"name":"n","dataType":["int"]}]}]}`

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

// TestGRPCDown: REST answers but nothing listens on the gRPC port.
func TestGRPCDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	opts, _ := fakeWeaviate(t, fakeSchema, &fakeGRPC{})
	opts.GRPCURL, opts.GRPCDialOptions, opts.Timeout = addr, nil, 2*time.Second
	w := newWarehouse(t, opts)
	err = returns(t, time.Minute, func() error {
		_, err := w.Query(context.Background(), chat.Query{Collection: "Things"})
		return err
	})
	if chat.ErrorCode(err) != chat.CodeUnavailable || !contains(chat.ErrorMessage(err), "query on Things") {
		t.Errorf("got %v, want unavailable naming the query on Things", err)
	}
	if !strings.Contains(err.Error(), "WEAVIATE_GRPC_URL") {
		t.Errorf("the logged error %q should name WEAVIATE_GRPC_URL", err)
	}
	checkSafe(t, err, addr, "connection refused", "dial")
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

	t.Run("gRPC stalls after the schema", func(t *testing.T) {
		stall := func(ctx context.Context) { <-ctx.Done() }
		f := &fakeGRPC{
			search: func(ctx context.Context, _ *pb.SearchRequest) (*pb.SearchReply, error) {
				stall(ctx)
				return nil, ctx.Err()
			},
			aggregate: func(ctx context.Context, _ *pb.AggregateRequest) (*pb.AggregateReply, error) {
				stall(ctx)
				return nil, ctx.Err()
			},
		}
		opts, _ := fakeWeaviate(t, fakeSchema, f)
		opts.Timeout = 200 * time.Millisecond
		w := newWarehouse(t, opts)
		err := returns(t, time.Minute, func() error {
			_, err := w.Query(context.Background(), chat.Query{Collection: "Things"})
			return err
		})
		if chat.ErrorCode(err) != chat.CodeUnavailable || !contains(chat.ErrorMessage(err), "did not answer", "query on Things") {
			t.Errorf("query: got %v, want unavailable saying Weaviate did not answer the query on Things", err)
		}
		err = returns(t, time.Minute, func() error {
			_, err := w.Aggregate(context.Background(), chat.Aggregation{Collection: "Things", Metrics: []chat.Metric{{Op: chat.MetricCount}}})
			return err
		})
		if chat.ErrorCode(err) != chat.CodeUnavailable || !contains(chat.ErrorMessage(err), "did not answer", "aggregate on Things") {
			t.Errorf("aggregate: got %v, want unavailable saying Weaviate did not answer the aggregate on Things", err)
		}
		// The caller's own deadline is the caller's: CodeDeadline.
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		opts.Timeout = time.Hour
		slow := newWarehouse(t, opts)
		if _, err := slow.Schema(context.Background()); err != nil {
			t.Fatal(err)
		}
		err = returns(t, time.Minute, func() error {
			_, err := slow.Query(ctx, chat.Query{Collection: "Things"})
			return err
		})
		if chat.ErrorCode(err) != chat.CodeDeadline {
			t.Errorf("caller deadline during the gRPC call: got %v, want deadline", err)
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

	t.Run("server errors", func(t *testing.T) {
		f := &fakeGRPC{search: func(context.Context, *pb.SearchRequest) (*pb.SearchReply, error) {
			return nil, status.Error(codes.Unknown, "explorer: list class: search: internal detail xyz")
		}}
		opts, schemaReads := fakeWeaviate(t, fakeSchema, f)
		w := newWarehouse(t, opts)
		ctx := context.Background()
		_, err := w.Query(ctx, chat.Query{Collection: "Things"})
		if chat.ErrorCode(err) != chat.CodeUnavailable || !contains(chat.ErrorMessage(err), "query on Things") {
			t.Errorf("got %v, want unavailable naming the query on Things", err)
		}
		checkSafe(t, err, "internal detail", "explorer")
		if !strings.Contains(err.Error(), "internal detail") {
			t.Errorf("the logged error %q should keep the cause", err)
		}
		// A refused call may mean the schema changed: it is read again.
		if _, err := w.Aggregate(ctx, chat.Aggregation{Collection: "Things", Metrics: []chat.Metric{{Op: chat.MetricCount}}}); err != nil {
			t.Errorf("aggregate: %v", err)
		}
		if n := schemaReads.Load(); n != 2 {
			t.Errorf("schema read %d times, want 2 (once more after the refused call)", n)
		}
	})

	t.Run("malformed answer", func(t *testing.T) {
		f := &fakeGRPC{search: func(context.Context, *pb.SearchRequest) (*pb.SearchReply, error) {
			return &pb.SearchReply{Results: []*pb.SearchResult{result("11111111-1111-1111-1111-111111111111",
				map[string]*pb.Value{"name": intValue(12), "n": textValue("x")})}}, nil
		}}
		opts, _ := fakeWeaviate(t, fakeSchema, f)
		w := newWarehouse(t, opts)
		_, err := w.Query(context.Background(), chat.Query{Collection: "Things"})
		if chat.ErrorCode(err) != chat.CodeUnavailable {
			t.Errorf("got %v, want unavailable", err)
		}
	})

	t.Run("api key", func(t *testing.T) {
		var auth atomic.Value
		f := &fakeGRPC{}
		opts, _ := fakeWeaviate(t, fakeSchema, f)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			auth.Store(r.Header.Get("Authorization"))
			io.WriteString(w, fakeSchema)
		}))
		defer srv.Close()
		opts.URL, opts.APIKey = srv.URL, "k-123"
		w := newWarehouse(t, opts)
		ctx := context.Background()
		if _, err := w.Query(ctx, chat.Query{Collection: "Things"}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Aggregate(ctx, chat.Aggregation{Collection: "Things", Metrics: []chat.Metric{{Op: chat.MetricCount}}}); err != nil {
			t.Fatal(err)
		}
		if got := auth.Load(); got != "Bearer k-123" {
			t.Errorf("REST Authorization = %v, want Bearer k-123", got)
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		if len(f.md) != 2 {
			t.Fatalf("%d gRPC calls, want 2", len(f.md))
		}
		for i, md := range f.md {
			if got := md.Get("authorization"); len(got) != 1 || got[0] != "Bearer k-123" {
				t.Errorf("gRPC call %d: authorization = %v, want [Bearer k-123]", i, got)
			}
		}
	})

	t.Run("no api key", func(t *testing.T) {
		f := &fakeGRPC{}
		opts, _ := fakeWeaviate(t, fakeSchema, f)
		w := newWarehouse(t, opts)
		if _, err := w.Query(context.Background(), chat.Query{Collection: "Things"}); err != nil {
			t.Fatal(err)
		}
		if got := f.md[0].Get("authorization"); len(got) != 0 {
			t.Errorf("authorization = %v without a key, want none", got)
		}
	})

	t.Run("gRPC unauthenticated", func(t *testing.T) {
		f := &fakeGRPC{search: func(context.Context, *pb.SearchRequest) (*pb.SearchReply, error) {
			return nil, status.Error(codes.Unauthenticated, "anonymous access not enabled")
		}}
		opts, _ := fakeWeaviate(t, fakeSchema, f)
		w := newWarehouse(t, opts)
		_, err := w.Query(context.Background(), chat.Query{Collection: "Things"})
		if chat.ErrorCode(err) != chat.CodeUnavailable || !strings.Contains(err.Error(), "WEAVIATE_API_KEY") || strings.Contains(chat.ErrorMessage(err), "KEY") {
			t.Errorf("got %v, want unavailable with the key hint in the log only", err)
		}
	})

	t.Run("server without gRPC Aggregate", func(t *testing.T) {
		f := &fakeGRPC{aggregate: func(context.Context, *pb.AggregateRequest) (*pb.AggregateReply, error) {
			return nil, status.Error(codes.Unimplemented, "unknown method Aggregate for service weaviate.v1.Weaviate")
		}}
		opts, _ := fakeWeaviate(t, fakeSchema, f)
		w := newWarehouse(t, opts)
		_, err := w.Aggregate(context.Background(), chat.Aggregation{Collection: "Things", Metrics: []chat.Metric{{Op: chat.MetricCount}}})
		if chat.ErrorCode(err) != chat.CodeUnavailable || !strings.Contains(err.Error(), "1.28.5") {
			t.Errorf("got %v, want unavailable naming the server version needed", err)
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

// TestRequestMapping checks the requests sent for typed filters: values
// as typed protobuf fields, "in" as an Or of Equal, dates as RFC 3339,
// the selected properties and the object id, and the count that follows a
// full page.
func TestRequestMapping(t *testing.T) {
	f := &fakeGRPC{
		search: func(_ context.Context, r *pb.SearchRequest) (*pb.SearchReply, error) {
			return &pb.SearchReply{Results: []*pb.SearchResult{
				result("11111111-1111-1111-1111-111111111111", map[string]*pb.Value{"name": textValue(`a"b`)}),
				{Properties: &pb.PropertiesResult{NonRefProps: &pb.Properties{Fields: map[string]*pb.Value{"name": textValue("c")}}},
					Metadata: &pb.MetadataResult{IdAsBytes: []byte{0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22}}},
			}}, nil
		},
		aggregate: func(_ context.Context, r *pb.AggregateRequest) (*pb.AggregateReply, error) {
			// Seven matches, each with a value of every field asked about.
			n := int64(7)
			single := &pb.AggregateReply_Single{ObjectsCount: &n, Aggregations: &pb.AggregateReply_Aggregations{}}
			for _, a := range r.Aggregations {
				single.Aggregations.Aggregations = append(single.Aggregations.Aggregations, &pb.AggregateReply_Aggregations_Aggregation{
					Property: a.Property, Aggregation: &pb.AggregateReply_Aggregations_Aggregation_Int{Int: &pb.AggregateReply_Aggregations_Aggregation_Integer{Count: &n}}})
			}
			return &pb.AggregateReply{Result: &pb.AggregateReply_SingleResult{SingleResult: single}}, nil
		},
	}
	opts, _ := fakeWeaviate(t, `{"classes":[{"class":"Things","vectorizer":"none","properties":[
		{"name":"name","dataType":["text"],"tokenization":"field"},{"name":"day","dataType":["date"]},{"name":"n","dataType":["int"]}]}]}`, f)
	w := newWarehouse(t, opts)
	tbl, err := w.Query(context.Background(), chat.Query{Collection: "Things", Fields: []string{"name"}, Limit: 2,
		Sort: []chat.Sort{{Field: "day", Desc: true}, {Field: "n"}},
		Filters: []chat.Filter{
			{Field: "name", Op: chat.OpIn, Value: []any{`a"b`, "c"}},
			{Field: "day", Op: chat.OpGte, Value: "2008-01-31"},
			{Field: "n", Op: chat.OpLt, Value: 5.0},
		}})
	if err != nil {
		t.Fatal(err)
	}
	prop := func(name string) *pb.FilterTarget {
		return &pb.FilterTarget{Target: &pb.FilterTarget_Property{Property: name}}
	}
	where := &pb.Filters{Operator: pb.Filters_OPERATOR_AND, Filters: []*pb.Filters{
		{Operator: pb.Filters_OPERATOR_OR, Filters: []*pb.Filters{
			{Operator: pb.Filters_OPERATOR_EQUAL, Target: prop("name"), TestValue: &pb.Filters_ValueText{ValueText: `a"b`}},
			{Operator: pb.Filters_OPERATOR_EQUAL, Target: prop("name"), TestValue: &pb.Filters_ValueText{ValueText: "c"}},
		}},
		{Operator: pb.Filters_OPERATOR_GREATER_THAN_EQUAL, Target: prop("day"), TestValue: &pb.Filters_ValueText{ValueText: "2008-01-31T00:00:00Z"}},
		{Operator: pb.Filters_OPERATOR_LESS_THAN, Target: prop("n"), TestValue: &pb.Filters_ValueInt{ValueInt: 5}},
	}}
	// The sort keys are fetched to order the page by them (then dropped),
	// and the object id breaks ties (chat.CheckQuery's default order).
	want := &pb.SearchRequest{
		Collection:  "Things",
		Properties:  &pb.PropertiesRequest{NonRefProperties: []string{"name", "day", "n"}},
		Metadata:    &pb.MetadataRequest{Uuid: true},
		Limit:       2,
		SortBy:      []*pb.SortBy{{Path: []string{"day"}}, {Path: []string{"n"}, Ascending: true}, {Path: []string{chat.SortID}, Ascending: true}},
		Filters:     where,
		Uses_123Api: true, Uses_125Api: true, Uses_127Api: true,
	}
	if got := f.lastSearch(t); !proto.Equal(got, want) {
		t.Errorf("sent\n%v\nwant\n%v", prototext.Format(got), prototext.Format(want))
	}
	// A full page: the matches are counted, under the same filter; then,
	// for the ascending key, whether any match lacks a value (nulls sort
	// last in chat's order, first in Weaviate's). None does: one page.
	wantCount := &pb.AggregateRequest{Collection: "Things", ObjectsCount: true, Filters: where}
	wantNulls := &pb.AggregateRequest{Collection: "Things", ObjectsCount: true, Filters: where, Aggregations: []*pb.AggregateRequest_Aggregation{
		{Property: "n", Aggregation: &pb.AggregateRequest_Aggregation_Int{Int: &pb.AggregateRequest_Aggregation_Integer{Count: true}}}}}
	if len(f.aggregates) != 2 || !proto.Equal(f.aggregates[0], wantCount) || !proto.Equal(f.aggregates[1], wantNulls) {
		t.Errorf("aggregate requests %v, want the count then the null check: %v %v", f.aggregates, prototext.Format(wantCount), prototext.Format(wantNulls))
	}
	if tbl.TotalRows != 7 || !tbl.Truncated || tbl.Sources[1].ID != "22222222-2222-2222-2222-222222222222" {
		t.Errorf("table = %+v, want 2 of 7 rows, the second id read from its bytes", tbl)
	}
}

// TestAggregateMapping checks the Aggregate request of a grouped
// aggregation and how its typed answer becomes the table.
func TestAggregateMapping(t *testing.T) {
	n := func(v int64) *int64 { return &v }
	x := func(v float64) *float64 { return &v }
	group := func(year int64, count int64, sum int64, mean float64) *pb.AggregateReply_Group {
		return &pb.AggregateReply_Group{
			ObjectsCount: n(count),
			GroupedBy:    &pb.AggregateReply_Group_GroupedBy{Path: []string{"year"}, Value: &pb.AggregateReply_Group_GroupedBy_Int{Int: year}},
			Aggregations: &pb.AggregateReply_Aggregations{Aggregations: []*pb.AggregateReply_Aggregations_Aggregation{
				{Property: "n", Aggregation: &pb.AggregateReply_Aggregations_Aggregation_Int{Int: &pb.AggregateReply_Aggregations_Aggregation_Integer{Count: n(count), Sum: n(sum)}}},
				{Property: "x", Aggregation: &pb.AggregateReply_Aggregations_Aggregation_Number_{Number: &pb.AggregateReply_Aggregations_Aggregation_Number{Count: n(count), Mean: x(mean)}}},
			}},
		}
	}
	f := &fakeGRPC{aggregate: func(context.Context, *pb.AggregateRequest) (*pb.AggregateReply, error) {
		return &pb.AggregateReply{Result: &pb.AggregateReply_GroupedResults{GroupedResults: &pb.AggregateReply_Grouped{Groups: []*pb.AggregateReply_Group{
			group(2008, 2, 1<<53-1, 1.5), group(2009, 1, 1<<31+1, 2.5),
		}}}}, nil
	}}
	opts, _ := fakeWeaviate(t, `{"classes":[{"class":"Things","vectorizer":"none","properties":[
		{"name":"year","dataType":["int"]},{"name":"n","dataType":["int"]},{"name":"x","dataType":["number"]}]}]}`, f)
	opts.MaxGroups = 50
	w := newWarehouse(t, opts)
	tbl, err := w.Aggregate(context.Background(), chat.Aggregation{Collection: "Things", GroupBy: "year",
		Metrics: []chat.Metric{{Op: chat.MetricCount}, {Op: chat.MetricSum, Field: "n"}, {Op: chat.MetricMean, Field: "x"}}})
	if err != nil {
		t.Fatal(err)
	}
	limit := uint32(51)
	want := &pb.AggregateRequest{
		Collection: "Things", ObjectsCount: true,
		Aggregations: []*pb.AggregateRequest_Aggregation{
			{Property: "n", Aggregation: &pb.AggregateRequest_Aggregation_Int{Int: &pb.AggregateRequest_Aggregation_Integer{Count: true, Sum: true}}},
			{Property: "x", Aggregation: &pb.AggregateRequest_Aggregation_Number_{Number: &pb.AggregateRequest_Aggregation_Number{Count: true, Mean: true}}},
		},
		GroupBy: &pb.AggregateRequest_GroupBy{Collection: "Things", Property: "year"},
		Limit:   &limit,
	}
	if len(f.aggregates) != 1 || !proto.Equal(f.aggregates[0], want) {
		t.Errorf("sent %v, want %v", f.aggregates, prototext.Format(want))
	}
	wantRows := [][]any{{int64(2008), int64(2), int64(1<<53 - 1), 1.5}, {int64(2009), int64(1), int64(1<<31 + 1), 2.5}}
	if !equalRows(tbl.Rows, wantRows) {
		t.Errorf("rows = %v, want %v", tbl.Rows, wantRows)
	}
}

// TestTLS: the gRPC endpoint of an https cluster is reached over TLS with
// its certificate verified; Weaviate Cloud's endpoint is grpc-<host>:443.
func TestTLS(t *testing.T) {
	const host = "grpc-demo.c0.europe-west3.gcp.weaviate.cloud"
	cert, roots := selfSigned(t, host)
	f := &fakeGRPC{}
	var dialed atomic.Value
	dial := f.serve(t, credentials.NewServerTLSFromCert(&cert), func(addr string) { dialed.Store(addr) })
	// REST of the "cloud" is a local TLS server reached whatever the host.
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, fakeSchema) }))
	defer srv.Close()
	hc := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, srv.Listener.Addr().String())
		},
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // REST is not what this test checks
	}}
	opts := weaviate.Options{URL: "https://demo.c0.europe-west3.gcp.weaviate.cloud", HTTPClient: hc, APIKey: "k-1",
		RootCAs: roots, GRPCDialOptions: []grpc.DialOption{dial}, Timeout: 5 * time.Second}

	w := newWarehouse(t, opts)
	if _, err := w.Query(context.Background(), chat.Query{Collection: "Things"}); err != nil {
		t.Fatal(err)
	}
	if got := dialed.Load(); got != host+":443" {
		t.Errorf("dialed %v, want %s:443", got, host)
	}
	if !f.tls[0] || f.md[0].Get("authorization")[0] != "Bearer k-1" {
		t.Errorf("the call came over TLS: %v, with authorization %v; want TLS and the key", f.tls[0], f.md[0].Get("authorization"))
	}

	// A certificate the client does not trust is refused before anything is sent.
	opts.RootCAs = nil
	untrusting := newWarehouse(t, opts)
	before := f.calls()
	_, err := untrusting.Query(context.Background(), chat.Query{Collection: "Things"})
	if chat.ErrorCode(err) != chat.CodeUnavailable || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("untrusted certificate: got %v, want unavailable naming the certificate in the log", err)
	}
	if n := f.calls() - before; n != 0 {
		t.Errorf("%d calls reached a server whose certificate was not verified", n)
	}
}

// TestNewSendsNothing: building the adapter never waits on Weaviate, so a
// cold start is not held up by a slow or absent cluster: no REST request,
// no gRPC connection.
func TestNewSendsNothing(t *testing.T) {
	hc, sent := countingClient()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var accepted atomic.Int64
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	w, err := weaviate.New(weaviate.Options{URL: stallingServer(t), GRPCURL: l.Addr().String(), HTTPClient: hc, Timeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if n := sent.n.Load(); n != 0 {
		t.Errorf("New sent %d requests, want 0", n)
	}
	if n := accepted.Load(); n != 0 {
		t.Errorf("New opened %d gRPC connections, want 0", n)
	}
}

package weaviate_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/datachat/datachat/shared/chat"
	"github.com/datachat/datachat/shared/weaviate"
)

// notesClass is a collection as a user might have made it: default
// tokenization, types the agent cannot use, no description.
func notesClass() map[string]any {
	return map[string]any{
		"vectorizer": "none",
		"properties": []map[string]any{
			{"name": "title", "dataType": []string{"text"}},
			{"name": "body", "dataType": []string{"text"}},
			{"name": "stars", "dataType": []string{"int"}},
			{"name": "score", "dataType": []string{"number"}},
			{"name": "published", "dataType": []string{"date"}},
			{"name": "draft", "dataType": []string{"boolean"}},
			{"name": "tags", "dataType": []string{"text[]"}},
			{"name": "place", "dataType": []string{"geoCoordinates"}},
		},
	}
}

func notesObjects() []map[string]any {
	note := func(title, body string, stars int, score float64, published string, draft bool) map[string]any {
		return map[string]any{"properties": map[string]any{
			"title": title, "body": body, "stars": stars, "score": score,
			"published": published + "T00:00:00Z", "draft": draft, "tags": []string{"a", "b"},
		}}
	}
	return []map[string]any{
		note("Hello World", "the quick brown fox jumps over the lazy dog", 5, 4.5, "2024-05-01", false),
		note("Weaviate notes", "vector databases store objects and vectors", 3, 3.25, "2024-06-15", true),
		note("Shopping", "eggs milk bread", 1, 1.0, "2023-12-24", false),
		note("Fox facts", "a fox is quick", 4, 2.0, "2024-01-02", true),
	}
}

// TestUserCollection: a collection this code has never heard of is
// discovered and queried, aggregated and searched.
func TestUserCollection(t *testing.T) {
	name := createCollection(t, "Notes", notesClass(), notesObjects())
	w, err := weaviate.New(weaviate.Options{URL: serverURL(t), GRPCURL: grpcAddr(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	s, err := w.Schema(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c, ok := s.Collection(name)
	if !ok {
		t.Fatalf("schema lacks %s: %v", name, s.Names())
	}
	want := map[string]chat.Type{"title": chat.TypeText, "body": chat.TypeText, "stars": chat.TypeInt, "score": chat.TypeNumber, "published": chat.TypeDate, "draft": chat.TypeBoolean}
	if len(c.Fields) != len(want) {
		t.Errorf("fields = %+v, want %v", c.Fields, want)
	}
	for f, typ := range want {
		if got, ok := c.Field(f); !ok || got.Type != typ {
			t.Errorf("%s: got %+v, want %s", f, got, typ)
		}
	}
	if !contains(c.Description, "tags (text[])", "place (geoCoordinates)") {
		t.Errorf("description %q should name the fields left out", c.Description)
	}
	if f, _ := c.Field("title"); !strings.Contains(f.Description, "single words") {
		t.Errorf("title description %q should say eq matches words", f.Description)
	}
	if c.Vectorizer {
		t.Errorf("vectorizer = true for a collection without one")
	}

	tbl, err := w.Query(ctx, chat.Query{Collection: name, Fields: []string{"title", "published", "stars", "score", "draft"},
		Filters: []chat.Filter{{Field: "stars", Op: chat.OpGte, Value: 3.0}}, Sort: []chat.Sort{{Field: "score", Desc: true}}})
	if err != nil {
		t.Fatal(err)
	}
	wantRows := [][]any{
		{"Hello World", "2024-05-01", int64(5), 4.5, false},
		{"Weaviate notes", "2024-06-15", int64(3), 3.25, true},
		{"Fox facts", "2024-01-02", int64(4), 2.0, true},
	}
	if !equalRows(tbl.Rows, wantRows) || tbl.TotalRows != 3 || tbl.Truncated {
		t.Errorf("query rows = %v (total %d), want %v", tbl.Rows, tbl.TotalRows, wantRows)
	}

	// Word tokenization: eq matches a word, whatever its case.
	tbl, err = w.Query(ctx, chat.Query{Collection: name, Fields: []string{"title"}, Filters: []chat.Filter{{Field: "title", Op: chat.OpEq, Value: "hello"}}})
	if err != nil || len(tbl.Rows) != 1 || tbl.Rows[0][0] != "Hello World" {
		t.Errorf("eq on a word-tokenized field: %v %v, want the Hello World note", tbl.Rows, err)
	}

	agg, err := w.Aggregate(ctx, chat.Aggregation{Collection: name, GroupBy: "draft",
		Metrics: []chat.Metric{{Op: chat.MetricCount}, {Op: chat.MetricMean, Field: "score"}, {Op: chat.MetricMax, Field: "stars"}},
		Filters: []chat.Filter{{Field: "published", Op: chat.OpGte, Value: "2024-01-01"}}})
	if err != nil {
		t.Fatal(err)
	}
	wantAgg := [][]any{{false, int64(1), 4.5, int64(5)}, {true, int64(2), 2.625, int64(4)}}
	if !equalRows(agg.Rows, wantAgg) || agg.TotalRows != 2 {
		t.Errorf("aggregate rows = %v, want %v", agg.Rows, wantAgg)
	}

	found, err := w.Search(ctx, chat.Search{Collection: name, Text: "quick fox", Fields: []string{"title"}})
	if err != nil {
		t.Fatal(err)
	}
	var titles []string
	for _, r := range found.Rows {
		titles = append(titles, r[0].(string))
	}
	slices.Sort(titles)
	if !slices.Equal(titles, []string{"Fox facts", "Hello World"}) {
		t.Errorf("search quick fox found %v, want the two notes about a quick fox", titles)
	}
}

// TestSchemaTTL: a collection created while the schema is cached shows up
// once the TTL has passed, not before.
func TestSchemaTTL(t *testing.T) {
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	w, err := weaviate.New(weaviate.Options{URL: serverURL(t), GRPCURL: grpcAddr(t), SchemaTTL: time.Minute, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := w.Schema(ctx); err != nil {
		t.Fatal(err)
	}
	name := createCollection(t, "Late", notesClass(), nil)
	s, _ := w.Schema(ctx)
	if _, ok := s.Collection(name); ok {
		t.Fatalf("%s appeared before the TTL passed", name)
	}
	_, err = w.Query(ctx, chat.Query{Collection: name})
	if chat.ErrorCode(err) != chat.CodeInvalid {
		t.Fatalf("query on a collection not yet discovered: %v, want invalid", err)
	}
	now = now.Add(time.Minute)
	s, err = w.Schema(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Collection(name); !ok {
		t.Fatalf("%s missing after the TTL: %v", name, s.Names())
	}
}

// TestAllowList: collections outside Options.Collections are invisible and
// refused before any request is sent.
func TestAllowList(t *testing.T) {
	sampleWarehouse(t, weaviate.Options{})
	hc, sent := countingClient()
	var calls grpcCounter
	w := newWarehouse(t, weaviate.Options{URL: serverURL(t), GRPCURL: grpcAddr(t), Collections: []string{"Stocks"}, HTTPClient: hc,
		GRPCDialOptions: []grpc.DialOption{calls.option()}})
	ctx := context.Background()
	s, err := w.Schema(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Names(); !slices.Equal(got, []string{"Stocks"}) {
		t.Fatalf("schema names = %v, want only Stocks", got)
	}
	before := sent.n.Load()
	_, err = w.Query(ctx, chat.Query{Collection: "SP500"})
	if chat.ErrorCode(err) != chat.CodeInvalid || !strings.Contains(err.Error(), "available collections: Stocks") {
		t.Errorf("query on SP500: %v, want invalid listing only Stocks", err)
	}
	_, err = w.Aggregate(ctx, chat.Aggregation{Collection: "SP500", Metrics: []chat.Metric{{Op: chat.MetricCount}}})
	if chat.ErrorCode(err) != chat.CodeInvalid {
		t.Errorf("aggregate on SP500: %v, want invalid", err)
	}
	_, err = w.Search(ctx, chat.Search{Collection: "SP500", Text: "x"})
	if chat.ErrorCode(err) != chat.CodeInvalid {
		t.Errorf("search on SP500: %v, want invalid", err)
	}
	_, err = w.Query(ctx, chat.Query{Collection: "Stocks", Fields: []string{"close"}})
	if chat.ErrorCode(err) != chat.CodeInvalid || !strings.Contains(err.Error(), "symbol") {
		t.Errorf("unknown field: %v, want invalid listing the fields", err)
	}
	if n := sent.n.Load() - before + calls.search.Load() + calls.aggregate.Load(); n != 0 {
		t.Errorf("refused calls sent %d requests to Weaviate, want 0", n)
	}
	if _, err := w.Query(ctx, chat.Query{Collection: "Stocks", Limit: 1}); err != nil {
		t.Errorf("allowed collection: %v", err)
	}
}

func equalRows(got, want [][]any) bool {
	return slices.EqualFunc(got, want, func(a, b []any) bool { return slices.Equal(a, b) })
}

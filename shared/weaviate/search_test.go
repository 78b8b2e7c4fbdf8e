package weaviate_test

import (
	"context"
	"strings"
	"testing"

	pb "github.com/weaviate/weaviate/grpc/generated/protocol/v1"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	"github.com/datachat/datachat/shared/chat"
	"github.com/datachat/datachat/shared/weaviate"
)

func TestSearchKeyword(t *testing.T) {
	w, rows := sampleWarehouse(t, weaviate.Options{})
	ctx := context.Background()
	tbl, err := w.Search(ctx, chat.Search{Collection: "Stocks", Text: "AAPL", Mode: chat.SearchKeyword, Fields: []string{"symbol", "date"}, Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	if got := tbl.Columns; len(got) != 3 || got[2] != (chat.Column{Name: chat.ColumnScore, Type: chat.TypeNumber}) {
		t.Fatalf("columns = %v, want symbol, date, %s", got, chat.ColumnScore)
	}
	if len(tbl.Rows) != 5 || !tbl.Truncated || tbl.TotalRows != 6 {
		t.Fatalf("got %d rows (total %d, truncated %v), want 5 of at least 6", len(tbl.Rows), tbl.TotalRows, tbl.Truncated)
	}
	for i, r := range tbl.Rows {
		if r[0] != "AAPL" {
			t.Errorf("row %d = %v, want AAPL only", i, r)
		}
		if s, ok := r[2].(float64); !ok || s <= 0 {
			t.Errorf("row %d score = %v, want a positive number", i, r[2])
		}
		if tbl.Sources[i].ID == "" {
			t.Errorf("row %d has no source id", i)
		}
	}

	// Filters narrow the search; a short list is complete.
	tbl, err = w.Search(ctx, chat.Search{Collection: "Stocks", Text: "AAPL", In: []string{"symbol"},
		Filters: []chat.Filter{{Field: "year", Op: chat.OpEq, Value: 2005.0}}})
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, r := range rows["Stocks"] {
		if r["symbol"] == "AAPL" && r["year"] == int64(2005) {
			want++
		}
	}
	if len(tbl.Rows) != want || tbl.Truncated || tbl.TotalRows != want {
		t.Errorf("AAPL in 2005: got %d rows (total %d, truncated %v), want %d", len(tbl.Rows), tbl.TotalRows, tbl.Truncated, want)
	}

	// Nothing to find is an empty table, not an error.
	tbl, err = w.Search(ctx, chat.Search{Collection: "Stocks", Text: `nothing" } like this`})
	if err != nil || len(tbl.Rows) != 0 || tbl.TotalRows != 0 {
		t.Errorf("no match: %v %v, want an empty table", tbl.Rows, err)
	}
}

func TestSearchRefusals(t *testing.T) {
	w, _ := sampleWarehouse(t, weaviate.Options{})
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		s    chat.Search
		says string
	}{
		{"hybrid without vectorizer", chat.Search{Collection: "Stocks", Text: "x", Mode: chat.SearchHybrid}, "it can do: keyword"},
		{"semantic without vectorizer", chat.Search{Collection: "Stocks", Text: "x", Mode: chat.SearchSemantic}, "keyword"},
		{"unknown mode", chat.Search{Collection: "Stocks", Text: "x", Mode: "fuzzy"}, "keyword, hybrid or semantic"},
		{"number field", chat.Search{Collection: "Stocks", Text: "x", In: []string{"price"}}, "text fields: symbol, month"},
		{"empty text", chat.Search{Collection: "Stocks", Text: "  "}, "empty"},
		{"control character", chat.Search{Collection: "Stocks", Text: "a\x07b"}, "control character"},
		{"unknown collection", chat.Search{Collection: "Nope", Text: "x"}, "SP500, Stocks"},
		{"unknown field", chat.Search{Collection: "Stocks", Text: "x", Fields: []string{"close"}}, "symbol"},
	} {
		_, err := w.Search(ctx, tc.s)
		if chat.ErrorCode(err) != chat.CodeInvalid || !strings.Contains(chat.ErrorMessage(err), tc.says) {
			t.Errorf("%s: got %v, want invalid saying %q", tc.name, err, tc.says)
		}
	}
}

// TestSearchVectorModes checks the hybrid, nearText and BM25 requests on
// the in-process gRPC server, since the test Weaviate runs without
// vectorizer modules.
func TestSearchVectorModes(t *testing.T) {
	schema := `{"classes":[
		{"class":"Docs","vectorizer":"text2vec-openai","properties":[{"name":"body","dataType":["text"]},{"name":"n","dataType":["int"]}]},
		{"class":"Named","vectorConfig":{"plain":{"vectorizer":{"none":{}}},"content":{"vectorizer":{"text2vec-cohere":{}}}},
		 "properties":[{"name":"body","dataType":["text"]}]}]}`
	f := &fakeGRPC{search: func(_ context.Context, r *pb.SearchRequest) (*pb.SearchReply, error) {
		hit := func(id, body string, score, distance float32) *pb.SearchResult {
			res := result(id, map[string]*pb.Value{"body": textValue(body)})
			res.Metadata.Score, res.Metadata.ScorePresent = score, r.Metadata.Score
			res.Metadata.Distance, res.Metadata.DistancePresent = distance, r.Metadata.Distance
			return res
		}
		return &pb.SearchReply{Results: []*pb.SearchResult{
			hit("11111111-1111-1111-1111-111111111111", "a", 0.9, 0.1),
			hit("22222222-2222-2222-2222-222222222222", "b", 0.5, 0.25),
		}}, nil
	}}
	opts, _ := fakeWeaviate(t, schema, f)
	w := newWarehouse(t, opts)
	ctx := context.Background()

	s, err := w.Schema(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Docs", "Named"} {
		if c, _ := s.Collection(name); !c.Vectorizer {
			t.Errorf("%s: vectorizer = false, want true", name)
		}
	}
	check := func(what string, want *pb.SearchRequest) {
		t.Helper()
		want.Uses_123Api, want.Uses_125Api, want.Uses_127Api = true, true, true
		if got := f.lastSearch(t); !proto.Equal(got, want) {
			t.Errorf("%s sent\n%v\nwant\n%v", what, prototext.Format(got), prototext.Format(want))
		}
	}
	body := &pb.PropertiesRequest{NonRefProperties: []string{"body"}}

	tbl, err := w.Search(ctx, chat.Search{Collection: "Docs", Text: `say "hi"`, Fields: []string{"body"}, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	check("auto mode on a vectorized collection", &pb.SearchRequest{Collection: "Docs", Properties: body,
		Metadata: &pb.MetadataRequest{Uuid: true, Score: true}, Limit: 2,
		HybridSearch: &pb.Hybrid{Query: `say "hi"`, Properties: []string{"body"}, Alpha: 0.75, FusionType: pb.Hybrid_FUSION_TYPE_RELATIVE_SCORE}})
	if len(tbl.Rows) != 1 || !tbl.Truncated || tbl.TotalRows != 2 || tbl.Rows[0][1] != float64(float32(0.9)) {
		t.Errorf("hybrid table = %+v, want one row scored 0.9, truncated", tbl)
	}

	tbl, err = w.Search(ctx, chat.Search{Collection: "Named", Text: "fox", Mode: chat.SearchSemantic})
	if err != nil {
		t.Fatal(err)
	}
	check("semantic search", &pb.SearchRequest{Collection: "Named", Properties: body,
		Metadata: &pb.MetadataRequest{Uuid: true, Distance: true}, Limit: uint32(weaviate.DefaultRowCap + 1),
		NearText: &pb.NearTextSearch{Query: []string{"fox"}, Targets: &pb.Targets{TargetVectors: []string{"content"}}}})
	if last := tbl.Columns[len(tbl.Columns)-1]; last.Name != chat.ColumnDistance || tbl.Rows[1][1] != 0.25 {
		t.Errorf("semantic table = %+v, want a %s column", tbl, chat.ColumnDistance)
	}

	if _, err := w.Search(ctx, chat.Search{Collection: "Named", Text: "fox", Mode: chat.SearchHybrid, Limit: 3,
		Filters: []chat.Filter{{Field: "body", Op: chat.OpEq, Value: "x"}}}); err != nil {
		t.Fatal(err)
	}
	check("hybrid on a named vector", &pb.SearchRequest{Collection: "Named", Properties: body,
		Metadata: &pb.MetadataRequest{Uuid: true, Score: true}, Limit: 4,
		Filters: &pb.Filters{Operator: pb.Filters_OPERATOR_EQUAL, Target: &pb.FilterTarget{Target: &pb.FilterTarget_Property{Property: "body"}},
			TestValue: &pb.Filters_ValueText{ValueText: "x"}},
		HybridSearch: &pb.Hybrid{Query: "fox", Properties: []string{"body"}, Alpha: 0.75, FusionType: pb.Hybrid_FUSION_TYPE_RELATIVE_SCORE,
			Targets: &pb.Targets{TargetVectors: []string{"content"}}}})

	if _, err := w.Search(ctx, chat.Search{Collection: "Docs", Text: "fox", Mode: chat.SearchKeyword, Fields: []string{"body"}, Limit: 5}); err != nil {
		t.Fatal(err)
	}
	check("keyword search", &pb.SearchRequest{Collection: "Docs", Properties: body,
		Metadata: &pb.MetadataRequest{Uuid: true, Score: true}, Limit: 6,
		Bm25Search: &pb.BM25{Query: "fox", Properties: []string{"body"}}})
}

package weaviate_test

import (
	"context"
	"testing"

	"github.com/datachat/datachat/shared/chat"
	"github.com/datachat/datachat/shared/weaviate"
)

// TestLiteralValues stores values that would break a query built by
// formatting strings and checks that each is found exactly, and that
// injection attempts find nothing.
func TestLiteralValues(t *testing.T) {
	serverURL(t)
	stored := []string{
		`say "hi"`,
		`back\slash`,
		`two\\slashes\"`,
		"line one\nline two",
		"tab\tinside",
		`{braces} and [brackets] and (parens)`,
		"ÄÖÜ € 日本語 📈",
		`") { Get { SP500 { close } } } #`,
		`*`,
		`A?PL`,
		"plain",
	}
	var objects []map[string]any
	for i, v := range stored {
		objects = append(objects, map[string]any{"properties": map[string]any{"name": v, "n": i}})
	}
	name := createCollection(t, "Literal", map[string]any{
		"vectorizer": "none",
		"properties": []map[string]any{
			{"name": "name", "dataType": []string{"text"}, "tokenization": "field"},
			{"name": "n", "dataType": []string{"int"}},
		},
	}, objects)
	w, err := weaviate.New(weaviate.Options{URL: serverURL(t), GRPCURL: grpcAddr(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	query := func(f chat.Filter) chat.Table {
		t.Helper()
		tbl, err := w.Query(ctx, chat.Query{Collection: name, Fields: []string{"name", "n"}, Filters: []chat.Filter{f}})
		if err != nil {
			t.Fatalf("filter %+v: %v", f, err)
		}
		return tbl
	}

	for i, v := range stored {
		tbl := query(chat.Filter{Field: "name", Op: chat.OpEq, Value: v})
		if len(tbl.Rows) != 1 || tbl.TotalRows != 1 {
			t.Errorf("eq %q: got %d rows (total %d), want exactly 1", v, len(tbl.Rows), tbl.TotalRows)
			continue
		}
		if got := tbl.Rows[0][0]; got != v {
			t.Errorf("eq %q: got back %q", v, got)
		}
		if got := tbl.Rows[0][1]; got != int64(i) {
			t.Errorf("eq %q: n = %v, want %d", v, got, i)
		}
	}

	tbl := query(chat.Filter{Field: "name", Op: chat.OpIn, Value: []any{stored[0], stored[3]}})
	if tbl.TotalRows != 2 {
		t.Errorf("in [%q %q]: got %d rows, want 2", stored[0], stored[3], tbl.TotalRows)
	}
	tbl = query(chat.Filter{Field: "name", Op: chat.OpLike, Value: `say "*`})
	if tbl.TotalRows != 1 || tbl.Rows[0][0] != stored[0] {
		t.Errorf(`like 'say "*': got %v, want only %q`, tbl.Rows, stored[0])
	}
	tbl = query(chat.Filter{Field: "name", Op: chat.OpNe, Value: `say "hi"`})
	if tbl.TotalRows != len(stored)-1 {
		t.Errorf("ne: got %d rows, want %d", tbl.TotalRows, len(stored)-1)
	}

	// Attempts to close the string and add conditions or fields match
	// nothing and raise no error.
	for _, v := range []string{
		`plain" } ) { Get { ` + name + ` { name } } } #`,
		`plain", operator: Like, valueText: "*`,
		`plain\`,
		`plain\"`,
		`"}]}`,
		"plain\u0000",
	} {
		if v == "plain\u0000" {
			_, err := w.Query(ctx, chat.Query{Collection: name, Filters: []chat.Filter{{Field: "name", Op: chat.OpEq, Value: v}}})
			if chat.ErrorCode(err) != chat.CodeInvalid {
				t.Errorf("control character: got %v, want invalid", err)
			}
			continue
		}
		if tbl := query(chat.Filter{Field: "name", Op: chat.OpEq, Value: v}); tbl.TotalRows != 0 {
			t.Errorf("injection %q matched %v", v, tbl.Rows)
		}
	}
	// The same values in an aggregation's filter.
	agg, err := w.Aggregate(ctx, chat.Aggregation{Collection: name, Metrics: []chat.Metric{{Op: chat.MetricCount}},
		Filters: []chat.Filter{{Field: "name", Op: chat.OpEq, Value: `") { Get { SP500 { close } } } #`}}})
	if err != nil || agg.Rows[0][0] != int64(1) {
		t.Errorf("aggregate count of an injection-shaped value: %v %v, want 1", agg.Rows, err)
	}
}

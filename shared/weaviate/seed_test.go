package weaviate_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/datachat/datachat/shared/chat"
	"github.com/datachat/datachat/shared/sample"
	"github.com/datachat/datachat/shared/weaviate"
)

func countAll(t *testing.T, w *weaviate.Warehouse, collection string) int64 {
	t.Helper()
	tbl, err := w.Aggregate(context.Background(), chat.Aggregation{Collection: collection, Metrics: []chat.Metric{{Op: chat.MetricCount}}})
	if err != nil {
		t.Fatal(err)
	}
	return tbl.Rows[0][0].(int64)
}

// TestSeedTwice: seeding again overwrites the same objects.
func TestSeedTwice(t *testing.T) {
	w, rows := sampleWarehouse(t, weaviate.Options{})
	for _, name := range []string{sample.SP500, sample.Stocks} {
		if got, want := countAll(t, w, name), int64(len(rows[name])); got != want {
			t.Fatalf("%s after the first seed: %d objects, want %d", name, got, want)
		}
	}
	ds, err := sample.Load()
	if err != nil {
		t.Fatal(err)
	}
	var progress bytes.Buffer
	if err := weaviate.Seed(context.Background(), w, ds, &progress); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{sample.SP500, sample.Stocks} {
		if got, want := countAll(t, w, name), int64(len(rows[name])); got != want {
			t.Errorf("%s after seeding twice: %d objects, want %d", name, got, want)
		}
		if !strings.Contains(progress.String(), "seeded "+name) {
			t.Errorf("progress %q lacks a line for %s", progress.String(), name)
		}
	}
}

// TestSeedNewCollection seeds a small dataset into a collection that does
// not exist yet, twice, and reads it back.
func TestSeedNewCollection(t *testing.T) {
	w, err := weaviate.New(weaviate.Options{URL: serverURL(t), GRPCURL: grpcAddr(t)})
	if err != nil {
		t.Fatal(err)
	}
	name := uniqueName(t, "Seeded")
	d := sample.Dataset{
		Collection: chat.Collection{Name: name, Fields: []chat.Field{
			{Name: "symbol", Type: chat.TypeText}, {Name: "day", Type: chat.TypeDate},
			{Name: "big", Type: chat.TypeInt}, {Name: "ok", Type: chat.TypeBoolean},
		}},
		Rows: [][]any{{"ab", "2020-02-29", int64(1) << 40, true}, {"AB", "1999-12-31", int64(-3), false}, {" x", nil, nil, nil}},
		IDs:  []string{sample.ObjectID(name, "1"), sample.ObjectID(name, "2"), sample.ObjectID(name, "3")},
	}
	ctx := context.Background()
	for range 2 {
		if err := weaviate.Seed(ctx, w, []sample.Dataset{d}, &bytes.Buffer{}); err != nil {
			t.Fatal(err)
		}
	}
	if got := countAll(t, w, name); got != 3 {
		t.Fatalf("count = %d, want 3", got)
	}
	tbl, err := w.Query(ctx, chat.Query{Collection: name, Filters: []chat.Filter{{Field: "symbol", Op: chat.OpEq, Value: "ab"}}})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]any{{"ab", "2020-02-29", int64(1) << 40, true}}
	if !equalRows(tbl.Rows, want) {
		t.Errorf("eq ab (case-sensitive) = %v, want %v", tbl.Rows, want)
	}
	if tbl.Sources[0].ID != d.IDs[0] {
		t.Errorf("source id = %s, want the deterministic %s", tbl.Sources[0].ID, d.IDs[0])
	}
	// A null int stays null: only overflowing values are filled in.
	tbl, err = w.Query(ctx, chat.Query{Collection: name, Fields: []string{"symbol", "big"}, Sort: []chat.Sort{{Field: "symbol"}}})
	want = [][]any{{" x", nil}, {"AB", int64(-3)}, {"ab", int64(1) << 40}}
	if err != nil || !equalRows(tbl.Rows, want) {
		t.Errorf("all rows by symbol = %v %v, want %v", tbl.Rows, err, want)
	}
	tbl, err = w.Query(ctx, chat.Query{Collection: name, Fields: []string{"day", "big"}, Filters: []chat.Filter{{Field: "ok", Op: chat.OpEq, Value: false}}})
	if err != nil || !equalRows(tbl.Rows, [][]any{{"1999-12-31", int64(-3)}}) {
		t.Errorf("eq ok=false: %v %v", tbl.Rows, err)
	}
}

// TestSeedRefusesAnotherSchema: an existing collection whose text fields
// are tokenized by word would make equality inexact; Seed says so rather
// than load into it.
func TestSeedRefusesAnotherSchema(t *testing.T) {
	w, err := weaviate.New(weaviate.Options{URL: serverURL(t), GRPCURL: grpcAddr(t)})
	if err != nil {
		t.Fatal(err)
	}
	name := createCollection(t, "Clash", map[string]any{"vectorizer": "none", "properties": []map[string]any{
		{"name": "symbol", "dataType": []string{"text"}, "tokenization": "word"},
	}}, nil)
	d := sample.Dataset{Collection: chat.Collection{Name: name, Fields: []chat.Field{{Name: "symbol", Type: chat.TypeText}}},
		Rows: [][]any{{"A"}}, IDs: []string{sample.ObjectID(name, "A")}}
	err = weaviate.Seed(context.Background(), w, []sample.Dataset{d}, &bytes.Buffer{})
	if err == nil || !contains(err.Error(), name, "tokenization", "delete it") {
		t.Errorf("got %v, want an error naming the collection and its tokenization", err)
	}
}

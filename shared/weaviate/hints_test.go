package weaviate_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/datachat/datachat/shared/chat"
	"github.com/datachat/datachat/shared/embedded"
	"github.com/datachat/datachat/shared/sample"
	"github.com/datachat/datachat/shared/weaviate"
)

// TestValueHintsMatchEmbedded: the value hints of the system prompt
// (ranges, a few values of text fields) are the same from Weaviate as from
// the embedded warehouse over the same sample.
func TestValueHintsMatchEmbedded(t *testing.T) {
	w, _ := sampleWarehouse(t, weaviate.Options{RowCap: 500, Collections: []string{sample.SP500, sample.Stocks}})
	e, err := embedded.SampleWarehouse(500)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ws, err := w.Schema(ctx)
	if err != nil {
		t.Fatal(err)
	}
	es, _ := e.Schema(ctx)
	got, want := chat.ValueHints(ctx, w, ws), chat.ValueHints(ctx, e, es)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("hints from Weaviate:\n%v\nfrom the embedded warehouse:\n%v", got, want)
	}
	if want["Stocks"]["symbol"] != "one of AAPL, AMZN, GOOG, IBM, MSFT" {
		t.Fatalf("Stocks.symbol hint = %q", want["Stocks"]["symbol"])
	}
}

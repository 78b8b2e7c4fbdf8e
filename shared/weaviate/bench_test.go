package weaviate_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/datachat/datachat/shared/chat"
	"github.com/datachat/datachat/shared/weaviate"
)

// benchmark runs op b.N times against the sample on the test Weaviate and
// reports the median latency next to the mean (ns/op). The names and
// questions are those of the GraphQL adapter's benchmarks, so running both
// against one server compares the two APIs.
func benchmark(b *testing.B, op func(context.Context, *weaviate.Warehouse) error) {
	w, _ := sampleWarehouse(b, weaviate.Options{})
	ctx := context.Background()
	if err := op(ctx, w); err != nil { // warms the schema cache
		b.Fatal(err)
	}
	took := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		if err := op(ctx, w); err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Nanoseconds()), "p50-ns")
}

// A page of rows: one Search.
func BenchmarkQuerySmall(b *testing.B) {
	benchmark(b, func(ctx context.Context, w *weaviate.Warehouse) error {
		_, err := w.Query(ctx, chat.Query{Collection: "Stocks", Filters: []chat.Filter{
			{Field: "symbol", Op: chat.OpEq, Value: "AAPL"}, {Field: "year", Op: chat.OpEq, Value: 2005.0}}, Sort: []chat.Sort{{Field: "date"}}})
		return err
	})
}

// A year of daily rows with volumes beyond 32 bits: one Search (GraphQL
// needed a second request to fill the volumes).
func BenchmarkQueryYear(b *testing.B) {
	benchmark(b, func(ctx context.Context, w *weaviate.Warehouse) error {
		_, err := w.Query(ctx, chat.Query{Collection: "SP500", Fields: []string{"date", "close", "volume"},
			Filters: []chat.Filter{{Field: "year", Op: chat.OpEq, Value: 2008.0}}, Sort: []chat.Sort{{Field: "date"}}})
		return err
	})
}

// A full page (the row cap) of a larger result: the Search and the count.
func BenchmarkQueryPage(b *testing.B) {
	benchmark(b, func(ctx context.Context, w *weaviate.Warehouse) error {
		_, err := w.Query(ctx, chat.Query{Collection: "SP500", Fields: []string{"date", "close"}, Sort: []chat.Sort{{Field: "close", Desc: true}}})
		return err
	})
}

// Count, mean and max over a year.
func BenchmarkAggregateOverall(b *testing.B) {
	benchmark(b, func(ctx context.Context, w *weaviate.Warehouse) error {
		_, err := w.Aggregate(ctx, chat.Aggregation{Collection: "SP500",
			Metrics: []chat.Metric{{Op: chat.MetricCount}, {Op: chat.MetricMean, Field: "close"}, {Op: chat.MetricMax, Field: "volume"}},
			Filters: []chat.Filter{{Field: "year", Op: chat.OpEq, Value: 2008.0}}})
		return err
	})
}

// The 244 months of the S&P 500, top 10 by volume.
func BenchmarkAggregateGroupBy(b *testing.B) {
	benchmark(b, func(ctx context.Context, w *weaviate.Warehouse) error {
		_, err := w.Aggregate(ctx, chat.Aggregation{Collection: "SP500", GroupBy: "month",
			Metrics: []chat.Metric{{Op: chat.MetricMean, Field: "close"}, {Op: chat.MetricSum, Field: "volume"}},
			Sort:    []chat.Sort{{Field: "sum_volume", Desc: true}}, Limit: 10})
		return err
	})
}

package chattest

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/datachat/datachat/shared/chat"
)

// Row is one object of a dataset keyed by field name, for computing
// expected results independently of any implementation.
type Row map[string]any

// TestWarehouse runs the Warehouse contract against w, which must hold the
// sample collections SP500 and Stocks (see shared/sample), with rows given
// here by name so expectations are computed by plain loops in this file.
func TestWarehouse(t *testing.T, w chat.Warehouse, rows map[string][]Row, rowCap int) {
	ctx := context.Background()

	t.Run("Schema", func(t *testing.T) {
		s, err := w.Schema(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]map[string]chat.Type{
			"SP500":  {"date": chat.TypeDate, "close": chat.TypeNumber, "volume": chat.TypeInt, "year": chat.TypeInt, "month": chat.TypeText},
			"Stocks": {"symbol": chat.TypeText, "date": chat.TypeDate, "price": chat.TypeNumber, "year": chat.TypeInt},
		}
		for name, fields := range want {
			c, ok := s.Collection(name)
			if !ok {
				t.Fatalf("schema lacks %s; has %v", name, s.Names())
			}
			for f, typ := range fields {
				got, ok := c.Field(f)
				if !ok || got.Type != typ {
					t.Errorf("%s.%s: got %+v, want type %s", name, f, got, typ)
				}
			}
		}
	})

	count := func(coll string, keep func(Row) bool) int {
		n := 0
		for _, r := range rows[coll] {
			if keep(r) {
				n++
			}
		}
		return n
	}
	num := func(v any) float64 { f, _ := chat.AsFloat(v); return f }

	filterCases := []struct {
		name string
		coll string
		f    chat.Filter
		keep func(Row) bool
	}{
		{"text eq", "Stocks", chat.Filter{Field: "symbol", Op: chat.OpEq, Value: "AAPL"}, func(r Row) bool { return r["symbol"] == "AAPL" }},
		{"text ne", "Stocks", chat.Filter{Field: "symbol", Op: chat.OpNe, Value: "AAPL"}, func(r Row) bool { return r["symbol"] != "AAPL" }},
		{"text like", "Stocks", chat.Filter{Field: "symbol", Op: chat.OpLike, Value: "A*"}, func(r Row) bool { return strings.HasPrefix(r["symbol"].(string), "A") }},
		{"text in", "Stocks", chat.Filter{Field: "symbol", Op: chat.OpIn, Value: []any{"IBM", "MSFT"}}, func(r Row) bool { return r["symbol"] == "IBM" || r["symbol"] == "MSFT" }},
		{"number gt", "SP500", chat.Filter{Field: "close", Op: chat.OpGt, Value: 2000.0}, func(r Row) bool { return num(r["close"]) > 2000 }},
		{"number lte", "SP500", chat.Filter{Field: "close", Op: chat.OpLte, Value: 1000.0}, func(r Row) bool { return num(r["close"]) <= 1000 }},
		{"int eq", "SP500", chat.Filter{Field: "year", Op: chat.OpEq, Value: 2008.0}, func(r Row) bool { return num(r["year"]) == 2008 }},
		{"int gte", "SP500", chat.Filter{Field: "volume", Op: chat.OpGte, Value: 5e9}, func(r Row) bool { return num(r["volume"]) >= 5e9 }},
		{"int lt", "Stocks", chat.Filter{Field: "year", Op: chat.OpLt, Value: 2002.0}, func(r Row) bool { return num(r["year"]) < 2002 }},
		{"date gte", "SP500", chat.Filter{Field: "date", Op: chat.OpGte, Value: "2019-06-01"}, func(r Row) bool { return r["date"].(string) >= "2019-06-01" }},
		{"date lt", "Stocks", chat.Filter{Field: "date", Op: chat.OpLt, Value: "2001-01-01"}, func(r Row) bool { return r["date"].(string) < "2001-01-01" }},
		{"date eq", "SP500", chat.Filter{Field: "date", Op: chat.OpEq, Value: "2008-09-29"}, func(r Row) bool { return r["date"] == "2008-09-29" }},
		{"text like one char", "Stocks", chat.Filter{Field: "symbol", Op: chat.OpLike, Value: "?BM"}, func(r Row) bool { return r["symbol"] == "IBM" }},
		{"text eq is case-sensitive", "Stocks", chat.Filter{Field: "symbol", Op: chat.OpEq, Value: "aapl"}, func(r Row) bool { return false }},
		{"text in one value", "Stocks", chat.Filter{Field: "symbol", Op: chat.OpIn, Value: []any{"GOOG"}}, func(r Row) bool { return r["symbol"] == "GOOG" }},
		{"int in", "SP500", chat.Filter{Field: "year", Op: chat.OpIn, Value: []any{2001.0, 2011.0}}, func(r Row) bool { return num(r["year"]) == 2001 || num(r["year"]) == 2011 }},
		{"int ne", "Stocks", chat.Filter{Field: "year", Op: chat.OpNe, Value: 2000.0}, func(r Row) bool { return num(r["year"]) != 2000 }},
		{"date lte", "SP500", chat.Filter{Field: "date", Op: chat.OpLte, Value: "2000-01-31"}, func(r Row) bool { return r["date"].(string) <= "2000-01-31" }},
		{"month text gt", "SP500", chat.Filter{Field: "month", Op: chat.OpGt, Value: "2019-12"}, func(r Row) bool { return r["month"].(string) > "2019-12" }},
	}
	for _, tc := range filterCases {
		t.Run("Filter/"+tc.name, func(t *testing.T) {
			tbl, err := w.Query(ctx, chat.Query{Collection: tc.coll, Filters: []chat.Filter{tc.f}, Limit: 1})
			if err != nil {
				t.Fatal(err)
			}
			want := count(tc.coll, tc.keep)
			if tbl.TotalRows != want {
				t.Fatalf("total_rows = %d, want %d", tbl.TotalRows, want)
			}
			if want > 1 && (!tbl.Truncated || len(tbl.Rows) != 1) {
				t.Fatalf("limit 1 of %d: got %d rows, truncated %v", want, len(tbl.Rows), tbl.Truncated)
			}
		})
	}

	t.Run("SortLimitFields", func(t *testing.T) {
		tbl, err := w.Query(ctx, chat.Query{
			Collection: "SP500", Fields: []string{"date", "volume"},
			Filters: []chat.Filter{{Field: "year", Op: chat.OpEq, Value: 2010.0}},
			Sort:    []chat.Sort{{Field: "volume", Desc: true}}, Limit: 3,
		})
		if err != nil {
			t.Fatal(err)
		}
		var want []Row
		for _, r := range rows["SP500"] {
			if num(r["year"]) == 2010 {
				want = append(want, r)
			}
		}
		slices.SortStableFunc(want, func(a, b Row) int { return -compareNum(num(a["volume"]), num(b["volume"])) })
		if got := names(tbl.Columns); !slices.Equal(got, []string{"date", "volume"}) {
			t.Fatalf("columns = %v, want date, volume", got)
		}
		if len(tbl.Rows) != 3 || tbl.TotalRows != len(want) || !tbl.Truncated {
			t.Fatalf("got %d rows of %d (truncated %v), want 3 of %d", len(tbl.Rows), tbl.TotalRows, tbl.Truncated, len(want))
		}
		for i := range 3 {
			if tbl.Rows[i][0] != want[i]["date"] || num(tbl.Rows[i][1]) != num(want[i]["volume"]) {
				t.Errorf("row %d = %v, want %v %v", i, tbl.Rows[i], want[i]["date"], want[i]["volume"])
			}
		}
		if len(tbl.Sources) != 3 || tbl.Sources[0].Collection != "SP500" || tbl.Sources[0].ID == "" {
			t.Errorf("sources = %+v, want one per row naming SP500", tbl.Sources)
		}
	})

	t.Run("SortAscendingByDate", func(t *testing.T) {
		tbl, err := w.Query(ctx, chat.Query{Collection: "Stocks", Fields: []string{"date", "price"},
			Filters: []chat.Filter{{Field: "symbol", Op: chat.OpEq, Value: "GOOG"}}, Sort: []chat.Sort{{Field: "date"}}})
		if err != nil {
			t.Fatal(err)
		}
		want := count("Stocks", func(r Row) bool { return r["symbol"] == "GOOG" })
		if len(tbl.Rows) != want || tbl.Truncated {
			t.Fatalf("got %d rows (truncated %v), want all %d", len(tbl.Rows), tbl.Truncated, want)
		}
		for i := 1; i < len(tbl.Rows); i++ {
			if tbl.Rows[i-1][0].(string) > tbl.Rows[i][0].(string) {
				t.Fatalf("rows %d and %d out of order: %v, %v", i-1, i, tbl.Rows[i-1][0], tbl.Rows[i][0])
			}
		}
	})

	t.Run("RowCap", func(t *testing.T) {
		tbl, err := w.Query(ctx, chat.Query{Collection: "SP500", Fields: []string{"date"}, Limit: rowCap + 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(tbl.Rows) != rowCap || !tbl.Truncated || tbl.TotalRows != len(rows["SP500"]) {
			t.Fatalf("asked for cap+1: got %d rows of %d (truncated %v), want %d of %d", len(tbl.Rows), tbl.TotalRows, tbl.Truncated, rowCap, len(rows["SP500"]))
		}
	})

	t.Run("AggregateOverall", func(t *testing.T) {
		tbl, err := w.Aggregate(ctx, chat.Aggregation{Collection: "SP500",
			Metrics: []chat.Metric{{Op: chat.MetricCount}, {Op: chat.MetricMean, Field: "close"}, {Op: chat.MetricMin, Field: "close"}, {Op: chat.MetricMax, Field: "close"}, {Op: chat.MetricSum, Field: "volume"}},
			Filters: []chat.Filter{{Field: "year", Op: chat.OpEq, Value: 2008.0}}})
		if err != nil {
			t.Fatal(err)
		}
		var n int
		var sum, lo, hi, vol float64 = 0, math.Inf(1), math.Inf(-1), 0
		for _, r := range rows["SP500"] {
			if num(r["year"]) == 2008 {
				c := num(r["close"])
				n, sum, lo, hi, vol = n+1, sum+c, math.Min(lo, c), math.Max(hi, c), vol+num(r["volume"])
			}
		}
		if got := names(tbl.Columns); !slices.Equal(got, []string{"count", "mean_close", "min_close", "max_close", "sum_volume"}) {
			t.Fatalf("columns = %v", got)
		}
		if len(tbl.Rows) != 1 {
			t.Fatalf("got %d rows, want 1", len(tbl.Rows))
		}
		r := tbl.Rows[0]
		if int(num(r[0])) != n {
			t.Errorf("count = %v, want %d", r[0], n)
		}
		checkClose(t, "mean_close", num(r[1]), sum/float64(n))
		checkClose(t, "min_close", num(r[2]), lo)
		checkClose(t, "max_close", num(r[3]), hi)
		checkClose(t, "sum_volume", num(r[4]), vol)
	})

	t.Run("AggregateGroupBy", func(t *testing.T) {
		tbl, err := w.Aggregate(ctx, chat.Aggregation{Collection: "Stocks", GroupBy: "symbol",
			Metrics: []chat.Metric{{Op: chat.MetricMean, Field: "price"}, {Op: chat.MetricCount}},
			Sort:    []chat.Sort{{Field: "mean_price", Desc: true}}})
		if err != nil {
			t.Fatal(err)
		}
		sums, counts := map[string]float64{}, map[string]int{}
		for _, r := range rows["Stocks"] {
			s := r["symbol"].(string)
			sums[s] += num(r["price"])
			counts[s]++
		}
		if len(tbl.Rows) != len(counts) || tbl.TotalRows != len(counts) {
			t.Fatalf("got %d groups (total %d), want %d", len(tbl.Rows), tbl.TotalRows, len(counts))
		}
		prev := math.Inf(1)
		for _, r := range tbl.Rows {
			s := r[0].(string)
			checkClose(t, "mean_price "+s, num(r[1]), sums[s]/float64(counts[s]))
			if int(num(r[2])) != counts[s] {
				t.Errorf("count %s = %v, want %d", s, r[2], counts[s])
			}
			if num(r[1]) > prev {
				t.Errorf("groups not sorted by mean_price descending: %v", tbl.Rows)
			}
			prev = num(r[1])
		}
	})

	t.Run("AggregateGroupLimit", func(t *testing.T) {
		tbl, err := w.Aggregate(ctx, chat.Aggregation{Collection: "SP500", GroupBy: "year",
			Metrics: []chat.Metric{{Op: chat.MetricMax, Field: "volume"}},
			Sort:    []chat.Sort{{Field: "max_volume", Desc: true}}, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		years := map[float64]bool{}
		for _, r := range rows["SP500"] {
			years[num(r["year"])] = true
		}
		if len(tbl.Rows) != 2 || !tbl.Truncated || tbl.TotalRows != len(years) {
			t.Fatalf("got %d rows of %d (truncated %v), want 2 of %d", len(tbl.Rows), tbl.TotalRows, tbl.Truncated, len(years))
		}
	})

	t.Run("FiltersCombine", func(t *testing.T) {
		tbl, err := w.Query(ctx, chat.Query{Collection: "Stocks", Fields: []string{"symbol", "year"}, Filters: []chat.Filter{
			{Field: "symbol", Op: chat.OpIn, Value: []any{"AAPL", "MSFT"}},
			{Field: "year", Op: chat.OpGte, Value: 2005.0},
			{Field: "price", Op: chat.OpLt, Value: 100.0},
		}})
		if err != nil {
			t.Fatal(err)
		}
		want := count("Stocks", func(r Row) bool {
			return (r["symbol"] == "AAPL" || r["symbol"] == "MSFT") && num(r["year"]) >= 2005 && num(r["price"]) < 100
		})
		if tbl.TotalRows != want || len(tbl.Rows) != want {
			t.Fatalf("got %d rows (total %d), want %d", len(tbl.Rows), tbl.TotalRows, want)
		}
	})

	t.Run("QueryNoMatch", func(t *testing.T) {
		tbl, err := w.Query(ctx, chat.Query{Collection: "SP500", Filters: []chat.Filter{{Field: "year", Op: chat.OpEq, Value: 1990.0}}})
		if err != nil {
			t.Fatal(err)
		}
		if len(tbl.Rows) != 0 || tbl.TotalRows != 0 || tbl.Truncated || len(tbl.Columns) != 9 {
			t.Fatalf("got %d rows (total %d, truncated %v, %d columns), want none of 9 columns", len(tbl.Rows), tbl.TotalRows, tbl.Truncated, len(tbl.Columns))
		}
	})

	t.Run("AggregateNoMatch", func(t *testing.T) {
		tbl, err := w.Aggregate(ctx, chat.Aggregation{Collection: "SP500",
			Metrics: []chat.Metric{{Op: chat.MetricCount}, {Op: chat.MetricMean, Field: "close"}, {Op: chat.MetricSum, Field: "volume"}},
			Filters: []chat.Filter{{Field: "year", Op: chat.OpEq, Value: 1990.0}}})
		if err != nil {
			t.Fatal(err)
		}
		if len(tbl.Rows) != 1 || num(tbl.Rows[0][0]) != 0 || tbl.Rows[0][1] != nil || tbl.Rows[0][2] != nil {
			t.Fatalf("rows = %v, want one row: count 0, undefined (nil) mean and sum", tbl.Rows)
		}
		tbl, err = w.Aggregate(ctx, chat.Aggregation{Collection: "SP500", GroupBy: "year",
			Metrics: []chat.Metric{{Op: chat.MetricCount}}, Filters: []chat.Filter{{Field: "year", Op: chat.OpEq, Value: 1990.0}}})
		if err != nil {
			t.Fatal(err)
		}
		if len(tbl.Rows) != 0 || tbl.TotalRows != 0 {
			t.Fatalf("grouped rows = %v, want no groups", tbl.Rows)
		}
	})

	t.Run("AggregateGroupOrder", func(t *testing.T) {
		// Without sort, groups come by value ascending; ties on a sort
		// column fall back to the group value too.
		tbl, err := w.Aggregate(ctx, chat.Aggregation{Collection: "SP500", GroupBy: "year",
			Metrics: []chat.Metric{{Op: chat.MetricMin, Field: "volume"}, {Op: chat.MetricSum, Field: "volume"}}})
		if err != nil {
			t.Fatal(err)
		}
		for i := 1; i < len(tbl.Rows); i++ {
			if num(tbl.Rows[i-1][0]) >= num(tbl.Rows[i][0]) {
				t.Fatalf("years not ascending: %v then %v", tbl.Rows[i-1][0], tbl.Rows[i][0])
			}
		}
		var lo, sum float64 = math.Inf(1), 0
		for _, r := range rows["SP500"] {
			if num(r["year"]) == num(tbl.Rows[0][0]) {
				lo, sum = math.Min(lo, num(r["volume"])), sum+num(r["volume"])
			}
		}
		if num(tbl.Rows[0][1]) != lo || num(tbl.Rows[0][2]) != sum {
			t.Errorf("first year: min %v sum %v, want %v %v", tbl.Rows[0][1], tbl.Rows[0][2], lo, sum)
		}
		if c := tbl.Columns; c[1].Type != chat.TypeInt || c[2].Type != chat.TypeInt {
			t.Errorf("min and sum of an int field: column types %v, want int", c)
		}

		tbl, err = w.Aggregate(ctx, chat.Aggregation{Collection: "Stocks", GroupBy: "symbol",
			Metrics: []chat.Metric{{Op: chat.MetricCount}}, Sort: []chat.Sort{{Field: "count", Desc: true}}})
		if err != nil {
			t.Fatal(err)
		}
		counts := map[string]int{}
		for _, r := range rows["Stocks"] {
			counts[r["symbol"].(string)]++
		}
		var want []string
		for s := range counts {
			want = append(want, s)
		}
		slices.SortFunc(want, func(a, b string) int {
			if c := counts[b] - counts[a]; c != 0 {
				return c
			}
			return strings.Compare(a, b)
		})
		var got []string
		for _, r := range tbl.Rows {
			got = append(got, r[0].(string))
		}
		if !slices.Equal(got, want) {
			t.Errorf("groups by count desc = %v, want %v (ties by symbol)", got, want)
		}
	})

	t.Run("AggregateGroupByDate", func(t *testing.T) {
		tbl, err := w.Aggregate(ctx, chat.Aggregation{Collection: "SP500", GroupBy: "date",
			Metrics: []chat.Metric{{Op: chat.MetricMax, Field: "close"}},
			Filters: []chat.Filter{{Field: "month", Op: chat.OpEq, Value: "2008-10"}},
			Sort:    []chat.Sort{{Field: "max_close"}}, Limit: 3})
		if err != nil {
			t.Fatal(err)
		}
		var want []Row
		for _, r := range rows["SP500"] {
			if r["month"] == "2008-10" {
				want = append(want, r)
			}
		}
		slices.SortStableFunc(want, func(a, b Row) int {
			if c := compareNum(num(a["close"]), num(b["close"])); c != 0 {
				return c
			}
			return strings.Compare(a["date"].(string), b["date"].(string))
		})
		if len(tbl.Rows) != 3 || tbl.TotalRows != len(want) || !tbl.Truncated {
			t.Fatalf("got %d rows of %d, want 3 of %d", len(tbl.Rows), tbl.TotalRows, len(want))
		}
		for i, r := range tbl.Rows {
			if r[0] != want[i]["date"] || num(r[1]) != num(want[i]["close"]) {
				t.Errorf("row %d = %v, want %v %v", i, r, want[i]["date"], want[i]["close"])
			}
		}
	})

	t.Run("InvalidNames", func(t *testing.T) {
		_, err := w.Query(ctx, chat.Query{Collection: "Nope"})
		if chat.ErrorCode(err) != chat.CodeInvalid || !strings.Contains(err.Error(), "SP500") {
			t.Errorf("unknown collection: got %v, want invalid naming the valid collections", err)
		}
		_, err = w.Query(ctx, chat.Query{Collection: "SP500", Fields: []string{"closing"}})
		if chat.ErrorCode(err) != chat.CodeInvalid || !strings.Contains(err.Error(), "close") {
			t.Errorf("unknown field: got %v, want invalid naming the valid fields", err)
		}
		_, err = w.Aggregate(ctx, chat.Aggregation{Collection: "Stocks", Metrics: []chat.Metric{{Op: chat.MetricMean, Field: "symbol"}}})
		if chat.ErrorCode(err) != chat.CodeInvalid {
			t.Errorf("mean of a text field: got %v, want invalid", err)
		}
		_, err = w.Query(ctx, chat.Query{Collection: "SP500", Filters: []chat.Filter{{Field: "year", Op: chat.OpEq, Value: "2008"}}})
		if chat.ErrorCode(err) != chat.CodeInvalid {
			t.Errorf("string value for an int field: got %v, want invalid", err)
		}
	})

	t.Run("LiteralValues", func(t *testing.T) {
		// Values that would break a query built by formatting strings must
		// match nothing here (no such symbol) and never error.
		for _, v := range []string{`AAPL" } ) {`, `\`, "A\nB", `{symbol}`, "ÄÖÜ €", `*") OR (1=1`} {
			tbl, err := w.Query(ctx, chat.Query{Collection: "Stocks", Filters: []chat.Filter{{Field: "symbol", Op: chat.OpEq, Value: v}}})
			if err != nil {
				t.Fatalf("value %q: %v", v, err)
			}
			if tbl.TotalRows != 0 {
				t.Fatalf("value %q matched %d rows, want 0", v, tbl.TotalRows)
			}
		}
	})
}

func names(cols []chat.Column) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c.Name
	}
	return out
}

func compareNum(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// checkClose compares numbers to a relative 1e-9, as floating-point sums in
// different orders may differ in the last bits.
func checkClose(t *testing.T, what string, got, want float64) {
	t.Helper()
	if got == want {
		return
	}
	if math.Abs(got-want) > 1e-9*math.Max(math.Abs(got), math.Abs(want)) {
		t.Errorf("%s = %v, want %v (relative 1e-9)", what, got, want)
	}
}

// SampleRows turns datasets given as collection, field names and rows into
// the Row form TestWarehouse takes.
func SampleRows(collection string, fields []string, rows [][]any, into map[string][]Row) {
	for _, r := range rows {
		row := Row{}
		for i, f := range fields {
			row[f] = r[i]
		}
		into[collection] = append(into[collection], row)
	}
}

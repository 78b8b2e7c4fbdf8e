package compute_test

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/datachat/datachat/shared/chat"
	"github.com/datachat/datachat/shared/compute"
)

// prices is a small stock table with its dates out of order, a null and a
// zero price.
func prices() *chat.Table {
	return &chat.Table{
		Columns: []chat.Column{{Name: "symbol", Type: chat.TypeText}, {Name: "date", Type: chat.TypeDate}, {Name: "price", Type: chat.TypeNumber}},
		Rows: [][]any{
			{"A", "2008-03-03", 12.0},
			{"B", "2008-01-02", 0.0},
			{"A", "2008-01-02", 10.0},
			{"B", "2008-02-01", 5.0},
			{"A", "2008-02-01", nil},
			{"B", "2008-03-03", 6.0},
		},
		TotalRows: 6,
		ID:        "t1",
		Source:    &chat.Provenance{Tool: chat.ToolQuery, Collection: "Stocks"},
	}
}

func run(t *testing.T, tables map[string]*chat.Table, args string) *chat.Table {
	t.Helper()
	out, err := compute.New().Compute(json.RawMessage(args), func(id string) (*chat.Table, error) {
		if tb, ok := tables[id]; ok {
			return tb, nil
		}
		return nil, chat.Errorf(chat.CodeInvalid, "unknown table %q", id)
	})
	if err != nil {
		t.Fatalf("%s: %v", args, err)
	}
	// Whatever the edge, the table must encode: no NaN or Inf cells.
	if _, err := json.Marshal(out); err != nil {
		t.Fatalf("%s: result does not encode: %v", args, err)
	}
	return out
}

func column(t *testing.T, tb *chat.Table, name string) []any {
	t.Helper()
	i := tb.ColumnIndex(name)
	if i < 0 {
		t.Fatalf("no column %q in %v", name, tb.Columns)
	}
	out := make([]any, len(tb.Rows))
	for r, row := range tb.Rows {
		out[r] = row[i]
	}
	return out
}

func hasNote(tb *chat.Table, part string) bool {
	for _, n := range tb.Source.Notes {
		if strings.Contains(n, part) {
			return true
		}
	}
	return false
}

func TestPercentChangeWithinGroupsOrdersUnsortedDates(t *testing.T) {
	in := prices()
	out := run(t, map[string]*chat.Table{"t1": in}, `{"table":"t1","steps":[{"op":"percent_change","column":"price","group_by":"symbol"}]}`)
	// Ordered by date (stable): A 01-02, B 01-02, B 02-01, A 02-01, A 03-03, B 03-03.
	if got, want := column(t, out, "date"), []any{"2008-01-02", "2008-01-02", "2008-02-01", "2008-02-01", "2008-03-03", "2008-03-03"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("dates %v, want %v", got, want)
	}
	// A: 10, nil, 12 -> nil, nil (null now), nil (previous null). B: 0, 5, 6 -> nil, div by zero, 20.
	got := column(t, out, "pct_change_price")
	want := []any{nil, nil, nil, nil, nil, 20.0}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("pct_change %v, want %v", got, want)
	}
	if !hasNote(out, "divide by zero") || !hasNote(out, "ordered by date") {
		t.Fatalf("notes %v lack the division by zero or the reordering", out.Source.Notes)
	}
	if in.Rows[0][1] != "2008-03-03" || len(in.Rows[0]) != 3 {
		t.Fatalf("the input table changed: %v", in.Rows[0])
	}
	if out.Source.Tool != "compute" || out.Source.Table != "t1" || out.Source.Inputs[0].Collection != "Stocks" || out.Source.Steps[0].Op != "percent_change" {
		t.Fatalf("source %+v does not record how the table was made", out.Source)
	}
}

func TestDifferenceAndRatioAgainstAColumn(t *testing.T) {
	tb := &chat.Table{Columns: []chat.Column{{Name: "a", Type: chat.TypeNumber}, {Name: "b", Type: chat.TypeInt}},
		Rows: [][]any{{6.0, int64(3)}, {1.0, int64(0)}, {nil, int64(2)}}, ID: "t1"}
	out := run(t, map[string]*chat.Table{"t1": tb}, `{"table":"t1","steps":[{"op":"ratio","column":"a","other":"b"},{"op":"difference","column":"a","other":"b","as":"gap"}]}`)
	if got, want := column(t, out, "a_per_b"), []any{2.0, nil, nil}; !reflect.DeepEqual(got, want) {
		t.Fatalf("ratio %v, want %v", got, want)
	}
	if got, want := column(t, out, "gap"), []any{3.0, 1.0, nil}; !reflect.DeepEqual(got, want) {
		t.Fatalf("difference %v, want %v", got, want)
	}
	if !hasNote(out, "1 rows divide by zero") {
		t.Fatalf("notes %v", out.Source.Notes)
	}
}

func TestRollingWindowLongerThanTheSeries(t *testing.T) {
	out := run(t, map[string]*chat.Table{"t1": prices()}, `{"table":"t1","steps":[{"op":"rolling_mean","column":"price","window":5,"group_by":"symbol"}]}`)
	for _, v := range column(t, out, "rolling_mean_price_5") {
		if v != nil {
			t.Fatalf("a window of 5 over 3 rows gave %v, want null", v)
		}
	}
	if !hasNote(out, "longer than the series") {
		t.Fatalf("notes %v", out.Source.Notes)
	}
	out = run(t, map[string]*chat.Table{"t1": prices()}, `{"table":"t1","steps":[{"op":"rolling_sum","column":"price","window":2,"group_by":"symbol"},{"op":"cumulative_sum","column":"price"}]}`)
	// By date, ties in table order: B0 A10 B5 Anil A12 B6.
	if got, want := column(t, out, "rolling_sum_price_2"), []any{nil, nil, 5.0, 10.0, 12.0, 11.0}; !reflect.DeepEqual(got, want) {
		t.Fatalf("rolling sum %v, want %v", got, want)
	}
	if got, want := column(t, out, "cumsum_price"), []any{0.0, 10.0, 15.0, nil, 27.0, 33.0}; !reflect.DeepEqual(got, want) {
		t.Fatalf("cumulative sum %v, want %v", got, want)
	}
}

func TestOneRowAndEmptyTables(t *testing.T) {
	one := &chat.Table{Columns: prices().Columns, Rows: [][]any{{"A", "2008-01-02", 10.0}}, ID: "t1"}
	empty := &chat.Table{Columns: prices().Columns, ID: "t2"}
	tables := map[string]*chat.Table{"t1": one, "t2": empty}
	out := run(t, tables, `{"table":"t1","steps":[{"op":"change","column":"price","group_by":"symbol"}]}`)
	if !reflect.DeepEqual(out.Rows, [][]any{{"A", "2008-01-02", 10.0, "2008-01-02", 10.0, 0.0, 0.0}}) || !hasNote(out, "one value only") {
		t.Fatalf("one row: %v %v", out.Rows, out.Source.Notes)
	}
	out = run(t, tables, `{"table":"t1","steps":[{"op":"correlation","column":"price","other":"price"}]}`)
	if out.Rows[0][3] != nil || !hasNote(out, "fewer than two") {
		t.Fatalf("correlation of one row: %v", out.Rows)
	}
	for _, args := range []string{
		`{"table":"t2","steps":[{"op":"change","column":"price","group_by":"symbol"}]}`,
		`{"table":"t2","steps":[{"op":"bucket","column":"price","bucket":"month","agg":"mean"}]}`,
		`{"table":"t2","steps":[{"op":"last","group_by":"symbol"}]}`,
		`{"table":"t2","steps":[{"op":"top_n","column":"price","n":3}]}`,
	} {
		if out := run(t, tables, args); len(out.Rows) != 0 {
			t.Fatalf("%s on an empty table gave %v", args, out.Rows)
		}
	}
}

func TestChangePerGroupSkipsNulls(t *testing.T) {
	out := run(t, map[string]*chat.Table{"t1": prices()}, `{"table":"t1","steps":[{"op":"change","column":"price","group_by":"symbol"},{"op":"sort","column":"pct_change","desc":true}]}`)
	want := [][]any{
		{"A", "2008-01-02", 10.0, "2008-03-03", 12.0, 2.0, 20.0},
		{"B", "2008-01-02", 0.0, "2008-03-03", 6.0, 6.0, nil}, // from zero: no percent, sorted last
	}
	if !reflect.DeepEqual(out.Rows, want) {
		t.Fatalf("got %v, want %v", out.Rows, want)
	}
}

func TestBucketsWeekQuarterYear(t *testing.T) {
	tb := &chat.Table{Columns: []chat.Column{{Name: "date", Type: chat.TypeDate}, {Name: "close", Type: chat.TypeNumber}},
		Rows: [][]any{{"2008-04-01", 4.0}, {"2008-01-02", 1.0}, {"2008-03-31", 3.0}, {"2008-01-04", 2.0}, {"2009-01-02", nil}}, ID: "t1"}
	tables := map[string]*chat.Table{"t1": tb}
	out := run(t, tables, `{"table":"t1","steps":[{"op":"bucket","column":"close","bucket":"quarter","agg":"mean"}]}`)
	if want := [][]any{{"2008-Q1", 2.0, int64(3)}, {"2008-Q2", 4.0, int64(1)}, {"2009-Q1", nil, int64(0)}}; !reflect.DeepEqual(out.Rows, want) {
		t.Fatalf("quarters %v, want %v", out.Rows, want)
	}
	if !hasNote(out, "1 buckets have no close values") {
		t.Fatalf("notes %v", out.Source.Notes)
	}
	// 2008-01-02 is a Wednesday: its week starts on Monday 2007-12-31.
	out = run(t, tables, `{"table":"t1","steps":[{"op":"bucket","column":"close","bucket":"week","agg":"last"}]}`)
	if out.Rows[0][0] != "2007-12-31" || out.Rows[0][1] != 2.0 || out.Columns[0].Type != chat.TypeDate {
		t.Fatalf("weeks %v %v", out.Columns, out.Rows)
	}
	out = run(t, tables, `{"table":"t1","steps":[{"op":"bucket","bucket":"year","agg":"count"}]}`)
	if want := [][]any{{int64(2008), int64(4)}, {int64(2009), int64(1)}}; !reflect.DeepEqual(out.Rows, want) {
		t.Fatalf("years %v, want %v", out.Rows, want)
	}
}

func TestJoinWithMissingKeys(t *testing.T) {
	left := &chat.Table{Columns: []chat.Column{{Name: "year", Type: chat.TypeInt}, {Name: "mean_close", Type: chat.TypeNumber}},
		Rows: [][]any{{int64(2007), 1.0}, {int64(2008), 2.0}, {int64(2009), 3.0}}, ID: "t1"}
	right := &chat.Table{Columns: []chat.Column{{Name: "year", Type: chat.TypeInt}, {Name: "mean_close", Type: chat.TypeNumber}},
		Rows: [][]any{{int64(2008), 20.0}, {int64(2009), 30.0}, {int64(2009), 31.0}, {int64(2010), 40.0}}, ID: "t2",
		Source: &chat.Provenance{Tool: chat.ToolAggregate, Collection: "SP500"}}
	out := run(t, map[string]*chat.Table{"t1": left, "t2": right}, `{"table":"t1","steps":[{"op":"join","table":"t2","key":"year"},{"op":"ratio","column":"mean_close_t2","other":"mean_close"}]}`)
	want := [][]any{{int64(2007), 1.0, nil, nil}, {int64(2008), 2.0, 20.0, 10.0}, {int64(2009), 3.0, 30.0, 10.0}}
	if !reflect.DeepEqual(out.Rows, want) {
		t.Fatalf("join %v, want %v", out.Rows, want)
	}
	if !hasNote(out, "1 rows have no match in t2") || !hasNote(out, "repeat a year") || len(out.Source.Inputs) != 2 {
		t.Fatalf("source %+v", out.Source)
	}
}

func TestCorrelationAndTopN(t *testing.T) {
	tb := &chat.Table{Columns: []chat.Column{{Name: "g", Type: chat.TypeText}, {Name: "x", Type: chat.TypeNumber}, {Name: "y", Type: chat.TypeNumber}},
		Rows: [][]any{{"a", 1.0, 2.0}, {"a", 2.0, 4.0}, {"a", 3.0, 6.1}, {"b", 1.0, 5.0}, {"b", 2.0, 5.0}, {"b", nil, 1.0}}, ID: "t1"}
	tables := map[string]*chat.Table{"t1": tb}
	out := run(t, tables, `{"table":"t1","steps":[{"op":"correlation","column":"x","other":"y","group_by":"g"}]}`)
	if r, _ := out.Rows[0][4].(float64); math.Abs(r-0.9999009) > 1e-6 || out.Rows[1][4] != nil || out.Rows[1][3] != int64(2) {
		t.Fatalf("correlations %v", out.Rows)
	}
	out = run(t, tables, `{"table":"t1","steps":[{"op":"top_n","column":"x","n":1,"group_by":"g"}]}`)
	if want := [][]any{{"a", 3.0, 6.1}, {"b", 2.0, 5.0}}; !reflect.DeepEqual(out.Rows, want) {
		t.Fatalf("top 1 per group %v, want %v", out.Rows, want)
	}
	out = run(t, tables, `{"table":"t1","steps":[{"op":"top_n","column":"x","n":2,"desc":false}]}`)
	if want := [][]any{{"a", 1.0, 2.0}, {"b", 1.0, 5.0}}; !reflect.DeepEqual(out.Rows, want) || !hasNote(out, "null x are left out") {
		t.Fatalf("bottom 2 %v, want %v (%v)", out.Rows, want, out.Source.Notes)
	}
}

func TestBadArgumentsSayWhatToChange(t *testing.T) {
	tables := func(id string) (*chat.Table, error) {
		if id == "t1" {
			return prices(), nil
		}
		return nil, chat.Errorf(chat.CodeInvalid, "unknown table %q; tables of this turn: t1", id)
	}
	for args, want := range map[string]string{
		`{"table":"t1","steps":[{"op":"ratio","column":"price"}]}`:                  "needs other",
		`{"table":"t1","steps":[{"op":"difference","column":"symbol"}]}`:            "must be a number",
		`{"table":"t1","steps":[{"op":"rolling_mean","column":"price"}]}`:           "needs window",
		`{"table":"t1","steps":[{"op":"difference","column":"nope"}]}`:              "columns: symbol, date, price",
		`{"table":"t1","steps":[{"op":"join","table":"t9","key":"date"}]}`:          "unknown table",
		`{"table":"t1","steps":[{"op":"bucket","column":"price","bucket":"hour"}]}`: "bucket must be one of",
		`{"table":"t1","steps":[{"op":"explode"}]}`:                                 "unknown op",
	} {
		_, err := compute.New().Compute(json.RawMessage(args), tables)
		if chat.ErrorCode(err) != chat.CodeInvalid || !strings.Contains(chat.ErrorMessage(err), want) {
			t.Errorf("%s: got %v, want an invalid error saying %q", args, err, want)
		}
	}
}

package chattest

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/datachat/datachat/shared/chat"
)

// OrderCollection is a small collection made to test row order: nullable
// fields, ties on every field, two rows equal in everything but their id,
// and times within one day. Its rows are OrderRows, with ids OrderIDs,
// which are neither in row order nor in date order.
func OrderCollection(name string) chat.Collection {
	return chat.Collection{Name: name, Fields: []chat.Field{
		{Name: "at", Type: chat.TypeDate},
		{Name: "score", Type: chat.TypeNumber},
		{Name: "rank", Type: chat.TypeInt},
		{Name: "label", Type: chat.TypeText},
	}}
}

// OrderRows are the rows of OrderCollection, one cell per field in field
// order; r1 to r8 in the comments are the row names the expectations use.
func OrderRows() [][]any {
	return [][]any{
		{"2008-12-31T09:30:00Z", 1.0, int64(1), "b"}, // r1
		{"2008-12-31T15:45:00Z", nil, int64(2), nil}, // r2
		{"2008-12-30", 3.0, int64(1), "a"},           // r3
		{"2009-01-01", 2.0, int64(2), "c"},           // r4
		{nil, 2.0, int64(1), "a"},                    // r5
		{"2008-12-31", nil, int64(2), "b"},           // r6
		{"2009-01-01T12:00:00Z", nil, int64(3), "c"}, // r7
		{"2009-01-01", 2.0, int64(2), "c"},           // r8: r4 but for its id
	}
}

// OrderIDs are the object ids of OrderRows, in the same order.
func OrderIDs() []string {
	return []string{
		"c3000000-0000-4000-8000-000000000001",
		"0a000000-0000-4000-8000-000000000002",
		"f1000000-0000-4000-8000-000000000003",
		"5b000000-0000-4000-8000-000000000004",
		"9d000000-0000-4000-8000-000000000005",
		"27000000-0000-4000-8000-000000000006",
		"e4000000-0000-4000-8000-000000000007",
		"3c000000-0000-4000-8000-000000000008",
	}
}

// TestWarehouseOrder runs the ordering contract against w, which must hold
// OrderCollection(name) with OrderRows and OrderIDs. The expected orders are
// written out by hand from the rows above: sort keys with nulls last in
// both directions, then the default order (first date field, then id) as
// the tiebreak.
func TestWarehouseOrder(t *testing.T, w chat.Warehouse, name string) {
	ctx := context.Background()
	rowName := map[string]string{}
	for i, id := range OrderIDs() {
		rowName[id] = fmt.Sprint("r", i+1)
	}
	query := func(t *testing.T, q chat.Query) []string {
		t.Helper()
		q.Collection = name
		tbl, err := w.Query(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(tbl.Sources) != len(tbl.Rows) {
			t.Fatalf("%d sources for %d rows", len(tbl.Sources), len(tbl.Rows))
		}
		var got []string
		for _, s := range tbl.Sources {
			got = append(got, rowName[s.ID])
		}
		return got
	}
	sorted := func(field string, desc bool) []chat.Sort { return []chat.Sort{{Field: field, Desc: desc}} }
	for _, tc := range []struct {
		name string
		q    chat.Query
		want []string
	}{
		{"NullsLastDescending", chat.Query{Sort: sorted("score", true)}, []string{"r3", "r8", "r4", "r5", "r1", "r6", "r2", "r7"}},
		{"NullsLastDescendingLimit", chat.Query{Sort: sorted("score", true), Limit: 2}, []string{"r3", "r8"}},
		{"NullsLastAscending", chat.Query{Sort: sorted("score", false)}, []string{"r1", "r8", "r4", "r5", "r3", "r6", "r2", "r7"}},
		{"NullsLastAscendingLimit", chat.Query{Sort: sorted("score", false), Limit: 2}, []string{"r1", "r8"}},
		{"UnsortedIsByDateThenID", chat.Query{}, []string{"r3", "r6", "r1", "r2", "r8", "r4", "r7", "r5"}},
		{"UnsortedLimit", chat.Query{Limit: 3}, []string{"r3", "r6", "r1"}},
		{"TiesByDateThenID", chat.Query{Sort: sorted("rank", false)}, []string{"r3", "r1", "r5", "r6", "r2", "r8", "r4", "r7"}},
		{"TiesDescendingLimit", chat.Query{Sort: sorted("rank", true), Limit: 2}, []string{"r7", "r6"}},
		{"TextNullsLast", chat.Query{Sort: sorted("label", false)}, []string{"r3", "r5", "r6", "r1", "r8", "r4", "r7", "r2"}},
		{"TextDescendingLimit", chat.Query{Sort: sorted("label", true), Limit: 3}, []string{"r8", "r4", "r7"}},
		{"SelectedFieldsKeepTheOrder", chat.Query{Fields: []string{"rank"}, Sort: sorted("rank", false)}, []string{"r3", "r1", "r5", "r6", "r2", "r8", "r4", "r7"}},
	} {
		t.Run("Order/"+tc.name, func(t *testing.T) {
			if got := query(t, tc.q); !slices.Equal(got, tc.want) {
				t.Errorf("order = %v, want %v", got, tc.want)
			}
		})
	}

	// A day as an upper bound means the whole day: lte "2008-12-31" keeps
	// the events later that day, and gt "2008-12-31" starts the next day.
	for _, tc := range []struct {
		op   chat.Op
		want []string
	}{
		{chat.OpLte, []string{"r3", "r6", "r1", "r2"}},
		{chat.OpGt, []string{"r8", "r4", "r7"}},
		{chat.OpLt, []string{"r3"}},
		{chat.OpGte, []string{"r6", "r1", "r2", "r8", "r4", "r7"}},
	} {
		t.Run("WholeDay/"+string(tc.op), func(t *testing.T) {
			got := query(t, chat.Query{Filters: []chat.Filter{{Field: "at", Op: tc.op, Value: "2008-12-31"}}})
			if !slices.Equal(got, tc.want) {
				t.Errorf("at %s 2008-12-31: %v, want %v", tc.op, got, tc.want)
			}
		})
	}

	// Groups whose metric is undefined (every value null) come last both
	// ways; ties fall back to the group value.
	for _, desc := range []bool{false, true} {
		t.Run(fmt.Sprintf("Order/GroupsNullsLast/desc=%v", desc), func(t *testing.T) {
			tbl, err := w.Aggregate(ctx, chat.Aggregation{Collection: name, GroupBy: "rank",
				Metrics: []chat.Metric{{Op: chat.MetricMean, Field: "score"}}, Sort: sorted("mean_score", desc)})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range tbl.Rows {
				got = append(got, fmt.Sprint(r[0], ":", r[1]))
			}
			if want := []string{"1:2", "2:2", "3:<nil>"}; !slices.Equal(got, want) {
				t.Errorf("groups = %v, want %v", got, want)
			}
		})
	}
}

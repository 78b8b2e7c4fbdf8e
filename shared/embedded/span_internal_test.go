package embedded

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/datachat/datachat/shared/chat"
)

// Narrowing the scan by an ordered field never changes which rows match:
// random range and equality filters on ordered and unordered fields give
// the rows a full scan gives.
func TestSpanKeepsEveryMatch(t *testing.T) {
	col := chat.Collection{Name: "C", Fields: []chat.Field{{Name: "day", Type: chat.TypeDate}, {Name: "n", Type: chat.TypeNumber}, {Name: "sym", Type: chat.TypeText}}}
	rnd := rand.New(rand.NewPCG(1, 2))
	var rows [][]any
	var ids []string
	for i := range 400 {
		day := fmt.Sprintf("2008-%02d-%02d", 1+i/31%12, 1+i%28)
		rows = append(rows, []any{day, float64(i / 3), []string{"AAPL", "MSFT", "IBM"}[rnd.IntN(3)]})
		ids = append(ids, fmt.Sprint(i))
	}
	slices.SortStableFunc(rows, func(a, b []any) int { return compare(a[0], b[0]) })
	w, err := NewWarehouse([]Dataset{{Collection: col, Rows: rows, IDs: ids}}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	d := w.data["C"]
	if !d.ordered[0] || d.ordered[2] {
		t.Fatalf("ordered %v, want day ordered and sym not", d.ordered)
	}
	ops := []chat.Op{chat.OpEq, chat.OpGt, chat.OpGte, chat.OpLt, chat.OpLte, chat.OpNe}
	for range 2000 {
		var filters []chat.Filter
		for range 1 + rnd.IntN(3) {
			f := chat.Filter{Op: ops[rnd.IntN(len(ops))]}
			switch rnd.IntN(3) {
			case 0:
				f.Field, f.Value = "day", rows[rnd.IntN(len(rows))][0]
			case 1:
				f.Field, f.Value = "n", float64(rnd.IntN(140))
			default:
				f.Field, f.Value = "sym", []string{"AAPL", "MSFT", "IBM", "A"}[rnd.IntN(4)]
			}
			filters = append(filters, f)
		}
		got, err := w.filter(context.Background(), d, filters)
		if err != nil {
			t.Fatal(err)
		}
		var want []int
		for r, row := range rows {
			ok := true
			for _, f := range filters {
				ok = ok && matches(row[fieldIndex(col, f.Field)], f)
			}
			if ok {
				want = append(want, r)
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("filters %+v: %d rows, a full scan gives %d", filters, len(got), len(want))
		}
	}
}

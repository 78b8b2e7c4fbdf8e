package embedded_test

import (
	"testing"

	"github.com/datachat/datachat/shared/chat/chattest"
	"github.com/datachat/datachat/shared/embedded"
	"github.com/datachat/datachat/shared/sample"
)

func newSampleWarehouse(t testing.TB, rowCap int) (*embedded.Warehouse, map[string][]chattest.Row) {
	t.Helper()
	ds, err := sample.Load()
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string][]chattest.Row{}
	var sets []embedded.Dataset
	for _, d := range ds {
		chattest.SampleRows(d.Collection.Name, d.Collection.FieldNames(), d.Rows, rows)
		sets = append(sets, embedded.Dataset{Collection: d.Collection, Rows: d.Rows, IDs: d.IDs})
	}
	w, err := embedded.NewWarehouse(sets, rowCap)
	if err != nil {
		t.Fatal(err)
	}
	return w, rows
}

func TestWarehouseContract(t *testing.T) {
	w, rows := newSampleWarehouse(t, 500)
	chattest.TestWarehouse(t, w, rows, 500)
}

func TestLike(t *testing.T) {
	cases := []struct {
		pattern, s string
		want       bool
	}{
		{"A*", "AAPL", true}, {"*PL", "AAPL", true}, {"A?PL", "AAPL", true}, {"A?PL", "APL", false},
		{"*", "", true}, {"a/b*", "a/b/c", true}, {"[x]", "[x]", true}, {`\`, `\`, true}, {"*A*A*", "AAPL", true}, {"IBM", "ibm", false},
	}
	for _, c := range cases {
		if got := embedded.Like(c.pattern, c.s); got != c.want {
			t.Errorf("like(%q, %q) = %v, want %v", c.pattern, c.s, got, c.want)
		}
	}
}

package embedded

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/datachat/datachat/shared/chat"
)

// TestCompareIsCompareCells: the filter's comparison orders every pair of
// cells as chat.CompareCells does.
func TestCompareIsCompareCells(t *testing.T) {
	cells := []any{nil, "", "2008-01-01", "2008-01-02", "AAPL", "aapl", "é",
		0.0, -0.0, 1.5, -3.0, math.Inf(1), math.Inf(-1), math.NaN(), 1e300,
		int64(0), int64(2), int64(-7), int64(1 << 60), 2, json.Number("1.5"), json.Number("x"),
		true, false, []any{"a"}, map[string]any{}}
	for _, a := range cells {
		for _, b := range cells {
			if got, want := compare(a, b), chat.CompareCells(a, b); got != want {
				t.Errorf("compare(%#v, %#v) = %d, CompareCells = %d", a, b, got, want)
			}
		}
	}
}

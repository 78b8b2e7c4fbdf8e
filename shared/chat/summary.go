package chat

import (
	"fmt"
	"math"
)

// tableStats is the per-column statistics of a table summary: for each
// numeric column its min, max, mean and count over the table's rows, and
// where the extremes are: the row (0-based, in the table's order) and, when
// the table has another first column (a date, a month, a symbol), that
// row's value of it, so the model can say when the low was without seeing
// the row.
func tableStats(t *Table) obj {
	stats := obj{}
	for i, c := range t.Columns {
		if !c.Type.Numeric() {
			continue
		}
		lo, hi, sum, n, loRow, hiRow := math.Inf(1), math.Inf(-1), 0.0, 0, -1, -1
		for r, row := range t.Rows {
			v, ok := AsFloat(row[i])
			if !ok {
				continue
			}
			if v < lo {
				lo, loRow = v, r
			}
			if v > hi {
				hi, hiRow = v, r
			}
			sum, n = sum+v, n+1
		}
		if n == 0 {
			continue
		}
		st := obj{"min": lo, "max": hi, "mean": sum / float64(n), "count": n, "min_row": loRow, "max_row": hiRow}
		if i != 0 {
			key := t.Columns[0].Name
			st["min_at"] = obj{key: t.Rows[loRow][0]}
			st["max_at"] = obj{key: t.Rows[hiRow][0]}
		}
		stats[c.Name] = st
	}
	return stats
}

// statsCover says what the statistics were computed over: every matching
// row, or only the rows of a table cut at its row limit, in which case the
// model is told how to get figures over all of them.
func statsCover(t *Table) string {
	if !t.Truncated {
		return fmt.Sprintf("all %d rows of the result", len(t.Rows))
	}
	return fmt.Sprintf("only the %d rows returned, not all %d matches; use aggregate for statistics over every match", len(t.Rows), t.TotalRows)
}

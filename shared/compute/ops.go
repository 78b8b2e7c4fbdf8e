package compute

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/datachat/datachat/shared/chat"
)

func orDefault(s, dflt string) string {
	if s != "" {
		return s
	}
	return dflt
}

// derive adds difference, percent_change or ratio: against the previous
// row of the group (ordered by date) or, with other, against that column.
func (f *frame) derive(s Step) error {
	c, err := f.numericCol("column", s.Column)
	if err != nil {
		return err
	}
	o := -1
	if s.Other != "" {
		if o, err = f.numericCol("other", s.Other); err != nil {
			return err
		}
	} else if s.Op == OpRatio {
		return chat.Errorf(chat.CodeInvalid, "ratio needs other, the denominator column; columns: %s", f.names())
	}
	g, err := f.optionalCol("group_by", s.GroupBy)
	if err != nil {
		return err
	}
	var name string
	switch {
	case s.Op == OpRatio:
		name = s.Column + "_per_" + s.Other
	case s.Op == OpDifference:
		name = "diff_" + s.Column
	default:
		name = "pct_change_" + s.Column
	}
	name = orDefault(s.As, name)
	if err := f.newColumn(name); err != nil {
		return err
	}
	if o < 0 {
		d, err := f.dateCol(s.Date)
		if err != nil {
			return err
		}
		f.orderByDate(d)
	}
	prev := map[string]any{}
	seen := map[string]bool{}
	zero := 0
	for i, r := range f.rows {
		x, xok := chat.AsFloat(r[c])
		var base any
		if o >= 0 {
			base = r[o]
		} else {
			k := groupKey(r, g)
			base = prev[k]
			if !seen[k] {
				base = nil
			}
			prev[k], seen[k] = r[c], true
		}
		y, yok := chat.AsFloat(base)
		var v any
		switch {
		case !xok || !yok:
		case s.Op == OpDifference:
			v = number(x - y)
		case y == 0:
			zero++
		case s.Op == OpRatio:
			v = number(x / y)
		default:
			v = number(100 * (x - y) / y)
		}
		f.rows[i] = append(r, v)
	}
	f.cols = append(f.cols, chat.Column{Name: name, Type: chat.TypeNumber})
	if zero > 0 {
		f.note("%s: %d rows divide by zero and are null", name, zero)
	}
	if o < 0 {
		f.note("%s: null on the first row of each %s", name, orDefault(s.GroupBy, "table"))
	}
	return nil
}

// running adds a cumulative sum or a rolling mean or sum over window
// rows of the group. A rolling value is null until its window is full.
func (f *frame) running(s Step) error {
	c, err := f.numericCol("column", s.Column)
	if err != nil {
		return err
	}
	g, err := f.optionalCol("group_by", s.GroupBy)
	if err != nil {
		return err
	}
	if s.Op != OpCumulativeSum && s.Window < 1 {
		return chat.Errorf(chat.CodeInvalid, "%s needs window, a number of rows of at least 1", s.Op)
	}
	name := "cumsum_" + s.Column
	if s.Op != OpCumulativeSum {
		name = fmt.Sprintf("%s_%s_%d", s.Op, s.Column, s.Window)
	}
	name = orDefault(s.As, name)
	if err := f.newColumn(name); err != nil {
		return err
	}
	d, err := f.dateCol(s.Date)
	if err != nil {
		return err
	}
	f.orderByDate(d)
	sums := map[string]float64{}
	windows := map[string][]any{}
	longest := 0
	for i, r := range f.rows {
		k := groupKey(r, g)
		var v any
		if s.Op == OpCumulativeSum {
			if x, ok := chat.AsFloat(r[c]); ok {
				sums[k] += x
				v = number(sums[k])
			}
		} else {
			w := append(windows[k], r[c])
			if len(w) > s.Window {
				w = w[1:]
			}
			windows[k] = w
			longest = max(longest, len(w))
			if len(w) == s.Window {
				sum, n := 0.0, 0
				for _, cell := range w {
					if x, ok := chat.AsFloat(cell); ok {
						sum, n = sum+x, n+1
					}
				}
				switch {
				case n == 0:
				case s.Op == OpRollingSum:
					v = number(sum)
				default:
					v = number(sum / float64(n))
				}
			}
		}
		f.rows[i] = append(r, v)
	}
	f.cols = append(f.cols, chat.Column{Name: name, Type: chat.TypeNumber})
	switch {
	case s.Op == OpCumulativeSum:
		f.note("%s: null cells are skipped", name)
	case longest < s.Window:
		f.note("%s: the window of %d rows is longer than the series (%d rows), so every value is null", name, s.Window, longest)
	default:
		f.note("%s: null until %d rows are in the window; null cells in a window are skipped", name, s.Window)
	}
	return nil
}

// groups returns the rows of each group in order of first appearance.
func (f *frame) groups(g int) ([]string, map[string][][]any) {
	var keys []string
	by := map[string][][]any{}
	for _, r := range f.rows {
		k := groupKey(r, g)
		if _, ok := by[k]; !ok {
			keys = append(keys, k)
		}
		by[k] = append(by[k], r)
	}
	return keys, by
}

// firstLast keeps the first or last row (by date) of each group.
func (f *frame) firstLast(s Step) error {
	g, err := f.optionalCol("group_by", s.GroupBy)
	if err != nil {
		return err
	}
	d, err := f.dateCol(s.Date)
	if err != nil {
		return err
	}
	f.orderByDate(d)
	keys, by := f.groups(g)
	out := make([][]any, 0, len(keys))
	for _, k := range keys {
		rows := by[k]
		if s.Op == OpFirst {
			out = append(out, rows[0])
		} else {
			out = append(out, rows[len(rows)-1])
		}
	}
	if len(f.rows) == 0 {
		f.note("the table has no rows")
	}
	f.rows = out
	return nil
}

// change gives, per group, the first and last non-null value of column
// (by date), the change between them and the percent change.
func (f *frame) change(s Step) error {
	c, err := f.numericCol("column", s.Column)
	if err != nil {
		return err
	}
	g, err := f.optionalCol("group_by", s.GroupBy)
	if err != nil {
		return err
	}
	d, err := f.dateCol(s.Date)
	if err != nil {
		return err
	}
	f.orderByDate(d)
	keys, by := f.groups(g)
	var cols []chat.Column
	if g >= 0 {
		cols = append(cols, f.cols[g])
	}
	dateType := chat.TypeText
	dateName := "row"
	if d >= 0 {
		dateType, dateName = f.cols[d].Type, f.cols[d].Name
	}
	cols = append(cols,
		chat.Column{Name: "first_" + dateName, Type: dateType}, chat.Column{Name: "first_" + s.Column, Type: chat.TypeNumber},
		chat.Column{Name: "last_" + dateName, Type: dateType}, chat.Column{Name: "last_" + s.Column, Type: chat.TypeNumber},
		chat.Column{Name: "change", Type: chat.TypeNumber}, chat.Column{Name: "pct_change", Type: chat.TypeNumber})
	out := make([][]any, 0, len(keys))
	for _, k := range keys {
		first, last := -1, -1
		for i, r := range by[k] {
			if _, ok := chat.AsFloat(r[c]); ok {
				if first < 0 {
					first = i
				}
				last = i
			}
		}
		var row []any
		if g >= 0 {
			row = append(row, by[k][0][g])
		}
		if first < 0 {
			f.note("%s: no %s values, so its change is null", orDefault(k, "the table"), s.Column)
			row = append(row, nil, nil, nil, nil, nil, nil)
			out = append(out, row)
			continue
		}
		label := func(i int) any {
			if d >= 0 {
				return by[k][i][d]
			}
			return strconv.Itoa(i)
		}
		a, _ := chat.AsFloat(by[k][first][c])
		b, _ := chat.AsFloat(by[k][last][c])
		var pct any
		if a != 0 {
			pct = number(100 * (b - a) / a)
		} else {
			f.note("%s: the first %s is zero, so its percent change is null", orDefault(k, "the table"), s.Column)
		}
		if first == last {
			f.note("%s: one value only, so its change is zero", orDefault(k, "the table"))
		}
		row = append(row, label(first), a, label(last), b, number(b-a), pct)
		out = append(out, row)
	}
	if len(f.rows) == 0 {
		f.note("the table has no rows")
	}
	f.cols, f.rows = cols, out
	return nil
}

// parseDay reads a date cell: "2006-01-02", "2006-01" or a year.
func parseDay(v any) (time.Time, bool) {
	switch x := v.(type) {
	case string:
		if t, ok := chat.ParseDate(x); ok {
			return t, true
		}
		if t, err := time.Parse("2006-01", x); err == nil {
			return t, true
		}
	default:
		if y, ok := chat.AsFloat(v); ok && y == math.Trunc(y) && y > 0 && y < 10000 {
			return time.Date(int(y), 1, 1, 0, 0, 0, 0, time.UTC), true
		}
	}
	return time.Time{}, false
}

// bucketOf labels the bucket of t: a date for days and weeks (the
// Monday), "2006-01" for months, "2006-Q1" for quarters, the year as an
// int for years, so charts read days, weeks and months as dates.
func bucketOf(t time.Time, unit string) (any, chat.Type) {
	switch unit {
	case "day":
		return chat.FormatDate(t), chat.TypeDate
	case "week":
		wd := (int(t.Weekday()) + 6) % 7 // days since Monday
		return chat.FormatDate(t.AddDate(0, 0, -wd)), chat.TypeDate
	case "month":
		return t.Format("2006-01"), chat.TypeText
	case "quarter":
		return fmt.Sprintf("%d-Q%d", t.Year(), (int(t.Month())-1)/3+1), chat.TypeText
	}
	return int64(t.Year()), chat.TypeInt
}

// bucket groups rows by a time bucket of the date column (and group_by)
// and aggregates column in each.
func (f *frame) bucket(s Step) error {
	if !slices.Contains(bucketUnits, s.Bucket) {
		return chat.Errorf(chat.CodeInvalid, "bucket must be one of %v", bucketUnits)
	}
	agg := orDefault(s.Agg, "mean")
	if !slices.Contains(bucketAggs, agg) {
		return chat.Errorf(chat.CodeInvalid, "agg must be one of %v", bucketAggs)
	}
	c := -1
	var err error
	if agg != "count" || s.Column != "" {
		if c, err = f.numericCol("column", s.Column); err != nil {
			return err
		}
	}
	g, err := f.optionalCol("group_by", s.GroupBy)
	if err != nil {
		return err
	}
	d, err := f.dateCol(s.Date)
	if err != nil {
		return err
	}
	if d < 0 {
		return chat.Errorf(chat.CodeInvalid, "bucket needs a date column; columns: %s", f.names())
	}
	f.orderByDate(d)
	type acc struct {
		label, group any
		values       []float64
		rows         int
	}
	var order []string
	accs := map[string]*acc{}
	var labelType chat.Type
	skipped := 0
	for _, r := range f.rows {
		t, ok := parseDay(r[d])
		if !ok {
			skipped++
			continue
		}
		label, typ := bucketOf(t, s.Bucket)
		labelType = typ
		var grp any
		if g >= 0 {
			grp = r[g]
		}
		k := fmt.Sprint(label) + "\x00" + groupKey(r, g)
		a := accs[k]
		if a == nil {
			a = &acc{label: label, group: grp}
			accs[k] = a
			order = append(order, k)
		}
		a.rows++
		if c >= 0 {
			if x, ok := chat.AsFloat(r[c]); ok {
				a.values = append(a.values, x)
			}
		}
	}
	if labelType == "" {
		_, labelType = bucketOf(time.Time{}, s.Bucket)
	}
	name := agg + "_" + s.Column
	if agg == "count" {
		name = "count"
	}
	name = orDefault(s.As, name)
	cols := []chat.Column{{Name: s.Bucket, Type: labelType}}
	if g >= 0 {
		cols = append(cols, f.cols[g])
	}
	cols = append(cols, chat.Column{Name: name, Type: chat.TypeNumber})
	if name != "count" {
		cols = append(cols, chat.Column{Name: "count", Type: chat.TypeInt})
	} else {
		cols[len(cols)-1].Type = chat.TypeInt
	}
	out := make([][]any, 0, len(order))
	empty := 0
	for _, k := range order {
		a := accs[k]
		row := []any{a.label}
		if g >= 0 {
			row = append(row, a.group)
		}
		var v any
		vs := a.values
		switch {
		case agg == "count":
			v = int64(a.rows)
			if c >= 0 {
				v = int64(len(vs))
			}
		case len(vs) == 0:
			empty++
		case agg == "sum", agg == "mean":
			sum := 0.0
			for _, x := range vs {
				sum += x
			}
			v = number(sum)
			if agg == "mean" {
				v = number(sum / float64(len(vs)))
			}
		case agg == "min":
			v = slices.Min(vs)
		case agg == "max":
			v = slices.Max(vs)
		case agg == "first":
			v = vs[0]
		case agg == "last":
			v = vs[len(vs)-1]
		}
		row = append(row, v)
		if name != "count" {
			row = append(row, int64(len(vs)))
		}
		out = append(out, row)
	}
	slices.SortStableFunc(out, func(a, b []any) int {
		if c := compareNullsLast(a[0], b[0]); c != 0 {
			return c
		}
		if g >= 0 {
			return compareNullsLast(a[1], b[1])
		}
		return 0
	})
	if skipped > 0 {
		f.note("%d rows have no readable %s and are left out", skipped, f.cols[d].Name)
	}
	if empty > 0 {
		f.note("%s: %d buckets have no %s values and are null", name, empty, s.Column)
	}
	f.cols, f.rows = cols, out
	return nil
}

// sortRows orders rows by column, nulls last in both directions; ties keep
// their order.
func (f *frame) sortRows(c int, desc bool) {
	slices.SortStableFunc(f.rows, func(a, b []any) int {
		x, y := a[c], b[c]
		switch {
		case x == nil || y == nil:
			return compareNullsLast(x, y)
		case desc:
			return chat.CompareCells(y, x)
		}
		return chat.CompareCells(x, y)
	})
}

func (f *frame) sort(s Step) error {
	c, err := f.col("column", s.Column)
	if err != nil {
		return err
	}
	f.sortRows(c, s.Desc != nil && *s.Desc)
	return nil
}

// topN keeps the n rows with the highest column (lowest with desc false),
// per group when group_by is set; rows with a null column are left out.
func (f *frame) topN(s Step) error {
	c, err := f.col("column", s.Column)
	if err != nil {
		return err
	}
	if s.N < 1 {
		return chat.Errorf(chat.CodeInvalid, "top_n needs n, at least 1")
	}
	g, err := f.optionalCol("group_by", s.GroupBy)
	if err != nil {
		return err
	}
	f.sortRows(c, s.Desc == nil || *s.Desc)
	kept := map[string]int{}
	out := f.rows[:0:0]
	nulls := 0
	for _, r := range f.rows {
		if r[c] == nil {
			nulls++
			continue
		}
		k := groupKey(r, g)
		if kept[k] < s.N {
			kept[k]++
			out = append(out, r)
		}
	}
	if nulls > 0 {
		f.note("top_n: %d rows with a null %s are left out", nulls, s.Column)
	}
	f.rows = out
	return nil
}

// join adds the other table's columns to each row whose key matches (a
// left join: a row without a match keeps null cells, and the note counts
// them). A key repeated in the other table uses its first row.
func (f *frame) join(s Step, other *chat.Table) error {
	k, err := f.col("key", s.Key)
	if err != nil {
		return err
	}
	ok := -1
	for i, c := range other.Columns {
		if c.Name == s.Key {
			ok = i
		}
	}
	if ok < 0 {
		return chat.Errorf(chat.CodeInvalid, "table %s has no column %q to join on", s.Table, s.Key)
	}
	index := map[string]int{}
	repeated := 0
	for i, r := range other.Rows {
		key := fmt.Sprint(r[ok])
		if _, dup := index[key]; dup {
			repeated++
			continue
		}
		index[key] = i
	}
	var add []int
	for i, c := range other.Columns {
		if i == ok {
			continue
		}
		name := c.Name
		for f.newColumn(name) != nil {
			name += "_" + s.Table
		}
		add = append(add, i)
		f.cols = append(f.cols, chat.Column{Name: name, Type: c.Type})
	}
	missing := 0
	for i, r := range f.rows {
		j, found := index[fmt.Sprint(r[k])]
		if r[k] == nil {
			found = false
		}
		if !found {
			missing++
		}
		for _, c := range add {
			var v any
			if found {
				v = other.Rows[j][c]
			}
			r = append(r, v)
		}
		f.rows[i] = r
	}
	if missing > 0 {
		f.note("join: %d rows have no match in %s on %s; their %s columns are null", missing, s.Table, s.Key, s.Table)
	}
	if repeated > 0 {
		f.note("join: %d rows of %s repeat a %s and were not used", repeated, s.Table, s.Key)
	}
	return nil
}

// correlation gives the Pearson correlation of column and other over the
// rows where both are set, per group when asked.
func (f *frame) correlation(s Step) error {
	x, err := f.numericCol("column", s.Column)
	if err != nil {
		return err
	}
	y, err := f.numericCol("other", s.Other)
	if err != nil {
		return err
	}
	g, err := f.optionalCol("group_by", s.GroupBy)
	if err != nil {
		return err
	}
	keys, by := f.groups(g)
	if len(keys) == 0 {
		keys = []string{""}
	}
	var cols []chat.Column
	if g >= 0 {
		cols = append(cols, f.cols[g])
	}
	cols = append(cols, chat.Column{Name: "x", Type: chat.TypeText}, chat.Column{Name: "y", Type: chat.TypeText},
		chat.Column{Name: "n", Type: chat.TypeInt}, chat.Column{Name: "correlation", Type: chat.TypeNumber})
	var out [][]any
	for _, k := range keys {
		var xs, ys []float64
		for _, r := range by[k] {
			a, aok := chat.AsFloat(r[x])
			b, bok := chat.AsFloat(r[y])
			if aok && bok {
				xs, ys = append(xs, a), append(ys, b)
			}
		}
		var row []any
		if g >= 0 {
			if len(by[k]) > 0 {
				row = append(row, by[k][0][g])
			} else {
				row = append(row, nil)
			}
		}
		r := pearson(xs, ys)
		if r == nil {
			f.note("%s: fewer than two pairs or a constant column, so the correlation is null", orDefault(k, "the table"))
		}
		out = append(out, append(row, s.Column, s.Other, int64(len(xs)), r))
	}
	f.cols, f.rows = cols, out
	return nil
}

func pearson(xs, ys []float64) any {
	n := float64(len(xs))
	if n < 2 {
		return nil
	}
	var mx, my float64
	for i := range xs {
		mx, my = mx+xs[i], my+ys[i]
	}
	mx, my = mx/n, my/n
	var sxy, sxx, syy float64
	for i := range xs {
		dx, dy := xs[i]-mx, ys[i]-my
		sxy, sxx, syy = sxy+dx*dy, sxx+dx*dx, syy+dy*dy
	}
	if sxx == 0 || syy == 0 {
		return nil
	}
	return number(sxy / math.Sqrt(sxx*syy))
}

// appendRows adds the rows of another table with the same columns (by
// name, in any order), such as the two halves of a long series.
func (f *frame) appendRows(s Step, other *chat.Table) error {
	idx := make([]int, len(f.cols))
	for i, c := range f.cols {
		idx[i] = -1
		for j, oc := range other.Columns {
			if oc.Name == c.Name {
				idx[i] = j
			}
		}
		if idx[i] < 0 || len(other.Columns) != len(f.cols) {
			return chat.Errorf(chat.CodeInvalid, "table %s does not have the same columns (%s)", s.Table, f.names())
		}
	}
	for _, r := range other.Rows {
		row := make([]any, len(idx))
		for i, j := range idx {
			row[i] = r[j]
		}
		f.rows = append(f.rows, row)
	}
	return nil
}

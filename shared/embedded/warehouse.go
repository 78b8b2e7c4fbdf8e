// Package embedded holds the in-process stand-ins used when no cloud
// service is configured: a Warehouse over datasets held in memory and a
// Memory that keeps conversations for the life of the process.
package embedded

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"unicode"

	"github.com/datachat/datachat/shared/chat"
)

// Dataset is one collection and its rows (one cell per field, in field
// order) with an object id per row.
type Dataset struct {
	Collection chat.Collection
	Rows       [][]any
	IDs        []string

	// ordered[f] is true when field f never decreases from row to row and
	// is never missing (the sample is stored by date, the stocks by
	// symbol): a range or equality filter on it needs only the rows a
	// binary search finds. Set by NewWarehouse.
	ordered []bool
}

// Warehouse answers queries, aggregations and keyword searches over
// datasets in memory. It is immutable after NewWarehouse, so any number of
// turns may use it at once.
type Warehouse struct {
	schema chat.Schema
	data   map[string]Dataset
	rowCap int
}

var (
	_ chat.Warehouse = (*Warehouse)(nil)
	_ chat.Searcher  = (*Warehouse)(nil)
)

// NewWarehouse indexes datasets. rowCap bounds the rows of any one table.
func NewWarehouse(datasets []Dataset, rowCap int) (*Warehouse, error) {
	if rowCap < 1 {
		return nil, fmt.Errorf("embedded.NewWarehouse: row cap must be positive, got %d", rowCap)
	}
	w := &Warehouse{data: map[string]Dataset{}, rowCap: rowCap}
	for _, d := range datasets {
		if _, dup := w.data[d.Collection.Name]; dup {
			return nil, fmt.Errorf("embedded.NewWarehouse: collection %s appears twice", d.Collection.Name)
		}
		if len(d.IDs) != len(d.Rows) {
			return nil, fmt.Errorf("embedded.NewWarehouse: %s has %d rows but %d ids", d.Collection.Name, len(d.Rows), len(d.IDs))
		}
		for i, r := range d.Rows {
			if len(r) != len(d.Collection.Fields) {
				return nil, fmt.Errorf("embedded.NewWarehouse: %s row %d has %d cells, want %d", d.Collection.Name, i, len(r), len(d.Collection.Fields))
			}
		}
		// Nothing here computes vectors, so the schema must not promise
		// hybrid or semantic search, whatever the dataset declares.
		d.Collection.Vectorizer = false
		d.ordered = orderedFields(d)
		w.data[d.Collection.Name] = d
		w.schema.Collections = append(w.schema.Collections, d.Collection)
	}
	return w, nil
}

// Schema implements chat.Warehouse.
func (w *Warehouse) Schema(context.Context) (chat.Schema, error) {
	return w.schema, nil
}

// Query implements chat.Warehouse.
func (w *Warehouse) Query(ctx context.Context, q chat.Query) (chat.Table, error) {
	q, err := w.schema.CheckQuery(q, w.rowCap)
	if err != nil {
		return chat.Table{}, err
	}
	d := w.data[q.Collection]
	match, err := w.filter(ctx, d, q.Filters)
	if err != nil {
		return chat.Table{}, err
	}
	// CheckQuery ended the sort with the object id, so this is one total
	// order (chat.CompareKey: nil last either way).
	keys := make([]int, len(q.Sort))
	for i, s := range q.Sort {
		keys[i] = fieldIndex(d.Collection, s.Field) // -1 for chat.SortID
	}
	slices.SortStableFunc(match, func(a, b int) int {
		for i, s := range q.Sort {
			var c int
			if keys[i] < 0 {
				c = chat.CompareKey(d.IDs[a], d.IDs[b], s.Desc)
			} else {
				c = chat.CompareKey(d.Rows[a][keys[i]], d.Rows[b][keys[i]], s.Desc)
			}
			if c != 0 {
				return c
			}
		}
		return 0
	})
	return project(d, q.Fields, match, q.Limit), nil
}

// project builds the table of the given rows (indexes into d.Rows, in
// order) with the named fields, all fields when none are named, keeping
// the first limit rows.
func project(d Dataset, fields []string, match []int, limit int) chat.Table {
	if len(fields) == 0 {
		fields = d.Collection.FieldNames()
	}
	t := chat.Table{TotalRows: len(match)}
	idx := make([]int, len(fields))
	for i, name := range fields {
		idx[i] = fieldIndex(d.Collection, name)
		t.Columns = append(t.Columns, chat.Column{Name: name, Type: d.Collection.Fields[idx[i]].Type})
	}
	if len(match) > limit {
		match, t.Truncated = match[:limit], true
	}
	t.Rows = make([][]any, len(match))
	t.Sources = make([]chat.Source, len(match))
	for i, r := range match {
		row := make([]any, len(idx))
		for j, k := range idx {
			row[j] = d.Rows[r][k]
		}
		t.Rows[i] = row
		t.Sources[i] = chat.Source{Collection: d.Collection.Name, ID: d.IDs[r]}
	}
	return t
}

// Search implements chat.Searcher with keyword search only: with no
// vectorizer there is nothing to rank by meaning, so hybrid and semantic
// are CodeInvalid (every collection here reports no vectorizer, so
// CheckSearch refuses them and names keyword instead).
//
// The score of a row is the number of distinct words of the text that
// appear among the words of its searched fields (s.In, or every text
// field when empty). Words are maximal runs of letters and digits, compared
// case-insensitively, so "msft" finds "MSFT" and "2008" finds the month
// "2008-10". Rows scoring zero are not results; the rest come best first,
// ties in dataset order, and TotalRows counts all of them. It is a plain
// overlap count rather than BM25: enough to look values up by their words
// in local runs, with no index to build or keep.
func (w *Warehouse) Search(ctx context.Context, s chat.Search) (chat.Table, error) {
	s, err := w.schema.CheckSearch(s, w.rowCap)
	if err != nil {
		return chat.Table{}, err
	}
	if s.Mode != chat.SearchKeyword {
		// Unreachable while NewWarehouse clears Vectorizer; kept so a
		// change there cannot turn a semantic search into a keyword one.
		return chat.Table{}, chat.Errorf(chat.CodeInvalid, "collection %s cannot do %s search here (no vectorizer); it can do: keyword", s.Collection, s.Mode)
	}
	d := w.data[s.Collection]
	match, err := w.filter(ctx, d, s.Filters)
	if err != nil {
		return chat.Table{}, err
	}
	var in []int
	for i, f := range d.Collection.Fields {
		if (len(s.In) == 0 && f.Type == chat.TypeText) || slices.Contains(s.In, f.Name) {
			in = append(in, i)
		}
	}
	// Each distinct word of the text gets a slot in found, reset per row.
	want := map[string]int{}
	for _, word := range words(s.Text) {
		if _, dup := want[word]; !dup {
			want[word] = len(want)
		}
	}
	found := make([]bool, len(want))
	type hit struct {
		row   int
		score int
	}
	var hits []hit
	for n, r := range match {
		if n%1024 == 0 && ctx.Err() != nil {
			return chat.Table{}, chat.Wrap(ctx.Err(), chat.CodeDeadline, "embedded.Search", "the search ran out of time")
		}
		clear(found)
		score := 0
		for _, i := range in {
			text, _ := d.Rows[r][i].(string) // nil cells hold no words
			for _, word := range words(text) {
				if k, ok := want[word]; ok && !found[k] {
					found[k], score = true, score+1
				}
			}
		}
		if score > 0 {
			hits = append(hits, hit{row: r, score: score})
		}
	}
	// Stable, so equal scores keep dataset order.
	slices.SortStableFunc(hits, func(a, b hit) int { return cmp.Compare(b.score, a.score) })
	rows := make([]int, len(hits))
	for i, h := range hits {
		rows[i] = h.row
	}
	t := project(d, s.Fields, rows, s.Limit)
	t.Columns = append(t.Columns, chat.Column{Name: chat.ColumnScore, Type: chat.TypeNumber})
	for i := range t.Rows {
		t.Rows[i] = append(t.Rows[i], float64(hits[i].score))
	}
	return t, nil
}

// words splits s into lower-cased runs of letters and digits.
func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// Aggregate implements chat.Warehouse.
func (w *Warehouse) Aggregate(ctx context.Context, a chat.Aggregation) (chat.Table, error) {
	a, err := w.schema.CheckAggregation(a, w.rowCap)
	if err != nil {
		return chat.Table{}, err
	}
	d := w.data[a.Collection]
	match, err := w.filter(ctx, d, a.Filters)
	if err != nil {
		return chat.Table{}, err
	}
	group := -1
	if a.GroupBy != "" {
		group = fieldIndex(d.Collection, a.GroupBy)
	}
	// Groups keep the order in which their value first appears, then are
	// sorted; rows of a group are aggregated in one pass.
	type bucket struct {
		key  any
		rows []int
	}
	var buckets []*bucket
	byKey := map[any]*bucket{}
	for _, r := range match {
		var key any
		if group >= 0 {
			key = d.Rows[r][group]
		}
		b := byKey[key]
		if b == nil {
			b = &bucket{key: key}
			byKey[key] = b
			buckets = append(buckets, b)
		}
		b.rows = append(b.rows, r)
	}
	if group < 0 && len(buckets) == 0 {
		buckets = []*bucket{{}} // one overall row even when nothing matched: count 0
	}
	cols := w.schema.AggregationColumns(a)
	t := chat.Table{Columns: cols}
	for _, b := range buckets {
		var row []any
		if group >= 0 {
			row = append(row, b.key)
		}
		for _, m := range a.Metrics {
			row = append(row, metric(d, m, b.rows))
		}
		t.Rows = append(t.Rows, row)
	}
	chat.SortGroups(&t, a)
	t.TotalRows = len(t.Rows)
	if len(t.Rows) > a.Limit {
		t.Rows, t.Truncated = t.Rows[:a.Limit], true
	}
	return t, nil
}

func metric(d Dataset, m chat.Metric, rows []int) any {
	if m.Op == chat.MetricCount {
		return int64(len(rows))
	}
	i := fieldIndex(d.Collection, m.Field)
	isInt := d.Collection.Fields[i].Type == chat.TypeInt
	var (
		n              int
		sum, lo, hi    float64
		isum, ilo, ihi int64
	)
	for _, r := range rows {
		v := d.Rows[r][i]
		if v == nil {
			continue
		}
		f, _ := chat.AsFloat(v)
		iv, _ := v.(int64)
		if n == 0 {
			lo, hi, ilo, ihi = f, f, iv, iv
		}
		n++
		sum += f
		isum += iv
		lo, hi = min(lo, f), max(hi, f)
		ilo, ihi = min(ilo, iv), max(ihi, iv)
	}
	if n == 0 {
		return nil // no values: the metric is undefined, not zero
	}
	switch m.Op {
	case chat.MetricMean:
		return sum / float64(n)
	case chat.MetricSum:
		if isInt {
			return isum
		}
		return sum
	case chat.MetricMin:
		if isInt {
			return ilo
		}
		return lo
	case chat.MetricMax:
		if isInt {
			return ihi
		}
		return hi
	}
	return nil
}

// filter returns the indexes of the rows matching every filter.
func (w *Warehouse) filter(ctx context.Context, d Dataset, filters []chat.Filter) ([]int, error) {
	idx := make([]int, len(filters))
	for i, f := range filters {
		idx[i] = fieldIndex(d.Collection, f.Field)
	}
	lo, hi := d.span(filters, idx)
	var out []int
	for r := lo; r < hi; r++ {
		if (r-lo)%1024 == 0 && ctx.Err() != nil {
			return nil, chat.Wrap(ctx.Err(), chat.CodeDeadline, "embedded.filter", "the query ran out of time")
		}
		row := d.Rows[r]
		ok := true
		for i, f := range filters {
			if !matches(row[idx[i]], f) {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, r)
		}
	}
	return out, nil
}

// span narrows the rows to scan to those an ordered field's range or
// equality filters allow; every filter is still applied to each of them,
// so the rows outside are only the ones no filter could pass.
func (d Dataset) span(filters []chat.Filter, idx []int) (lo, hi int) {
	lo, hi = 0, len(d.Rows)
	for i, f := range filters {
		col := idx[i]
		if col < 0 || col >= len(d.ordered) || !d.ordered[col] || f.Value == nil {
			continue
		}
		at := func(pass func(c int) bool) int {
			return sort.Search(len(d.Rows), func(r int) bool { return pass(compare(d.Rows[r][col], f.Value)) })
		}
		atLeast := func(c int) bool { return c >= 0 }
		above := func(c int) bool { return c > 0 }
		switch f.Op {
		case chat.OpEq:
			lo, hi = max(lo, at(atLeast)), min(hi, at(above))
		case chat.OpGte:
			lo = max(lo, at(atLeast))
		case chat.OpGt:
			lo = max(lo, at(above))
		case chat.OpLt:
			hi = min(hi, at(atLeast))
		case chat.OpLte:
			hi = min(hi, at(above))
		}
	}
	return lo, max(lo, hi)
}

// orderedFields finds the fields of d that never decrease and are never
// missing.
func orderedFields(d Dataset) []bool {
	out := make([]bool, len(d.Collection.Fields))
	for f := range out {
		ok := len(d.Rows) > 0
		for r, row := range d.Rows {
			if row[f] == nil || r > 0 && compare(d.Rows[r-1][f], row[f]) > 0 {
				ok = false
				break
			}
		}
		out[f] = ok
	}
	return out
}

func matches(v any, f chat.Filter) bool {
	if v == nil {
		return f.Op == chat.OpNe
	}
	switch f.Op {
	case chat.OpEq:
		return compare(v, f.Value) == 0
	case chat.OpNe:
		return compare(v, f.Value) != 0
	case chat.OpGt:
		return compare(v, f.Value) > 0
	case chat.OpGte:
		return compare(v, f.Value) >= 0
	case chat.OpLt:
		return compare(v, f.Value) < 0
	case chat.OpLte:
		return compare(v, f.Value) <= 0
	case chat.OpLike:
		s, _ := v.(string)
		pattern, _ := f.Value.(string)
		return Like(pattern, s)
	case chat.OpIn:
		list, _ := f.Value.([]any)
		return slices.ContainsFunc(list, func(x any) bool { return compare(v, x) == 0 })
	}
	return false
}

// compare is chat.CompareCells, answering first for the pairs a filter
// meets on almost every row (a date or text against a string, a number
// against a float64) with the comparison CompareCells makes for them; it
// is called once per row and filter, and CompareCells ranks both kinds
// and converts both numbers before comparing.
func compare(a, b any) int {
	switch x := a.(type) {
	case string:
		if y, ok := b.(string); ok {
			return strings.Compare(x, y)
		}
	case float64:
		if y, ok := b.(float64); ok {
			return cmp.Compare(x, y)
		}
	}
	return chat.CompareCells(a, b)
}

// Like reports whether s matches pattern, where * matches any run of
// characters (including none) and ? exactly one; everything else is literal.
// Greedy matching with one backtrack point keeps it linear in practice.
func Like(pattern, s string) bool {
	p, t := []rune(pattern), []rune(s)
	pi, ti, star, mark := 0, 0, -1, 0
	for ti < len(t) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == t[ti]):
			pi, ti = pi+1, ti+1
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, ti
			pi++
		case star >= 0:
			pi, mark = star+1, mark+1
			ti = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

func fieldIndex(c chat.Collection, name string) int {
	for i, f := range c.Fields {
		if f.Name == name {
			return i
		}
	}
	return -1
}

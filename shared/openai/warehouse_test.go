package openai_test

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/datachat/datachat/shared/chat"
)

// sp500 is a tiny chat.Warehouse for driving the agent in these tests: one
// collection, SP500, with a fixed month-end close for 2007 to 2009. The
// real in-process warehouse lives in another package; this one only needs
// to give the model's tool calls honest tables.
type sp500 struct{}

var _ chat.Warehouse = sp500{}

func sp500Schema() chat.Schema {
	return chat.Schema{Collections: []chat.Collection{{
		Name:        "SP500",
		Description: "S&P 500 index, month-end close",
		Fields: []chat.Field{
			{Name: "date", Type: chat.TypeDate},
			{Name: "close", Type: chat.TypeNumber},
			{Name: "year", Type: chat.TypeInt},
		},
	}}}
}

// sp500Rows returns date, close, year for 36 month ends.
func sp500Rows() [][]any {
	var rows [][]any
	for i := range 36 {
		year := int64(2007 + i/12)
		month := i%12 + 1
		close := math.Round((1400+300*math.Sin(float64(i)/6))*100) / 100
		rows = append(rows, []any{fmt.Sprintf("%d-%02d-28", year, month), close, year})
	}
	return rows
}

func (sp500) Schema(context.Context) (chat.Schema, error) { return sp500Schema(), nil }

func (sp500) Query(_ context.Context, q chat.Query) (chat.Table, error) {
	c, _ := sp500Schema().Collection(q.Collection)
	fields := q.Fields
	if len(fields) == 0 {
		fields = c.FieldNames()
	}
	t := chat.Table{}
	idx := make([]int, len(fields))
	for i, name := range fields {
		f, _ := c.Field(name)
		t.Columns = append(t.Columns, chat.Column{Name: f.Name, Type: f.Type})
		idx[i] = slices.Index(c.FieldNames(), name)
	}
	for _, r := range matching(c, q.Filters) {
		t.TotalRows++
		if len(t.Rows) == q.Limit {
			t.Truncated = true
			continue
		}
		row := make([]any, len(idx))
		for i, j := range idx {
			row[i] = r[j]
		}
		t.Rows = append(t.Rows, row)
	}
	return t, nil
}

func (sp500) Aggregate(_ context.Context, a chat.Aggregation) (chat.Table, error) {
	c, _ := sp500Schema().Collection(a.Collection)
	groups := map[any][][]any{}
	var keys []any
	g := slices.Index(c.FieldNames(), a.GroupBy)
	for _, r := range matching(c, a.Filters) {
		var k any = "all"
		if g >= 0 {
			k = r[g]
		}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], r)
	}
	t := chat.Table{Columns: sp500Schema().AggregationColumns(a)}
	for _, k := range keys {
		var row []any
		if g >= 0 {
			row = append(row, k)
		}
		for _, m := range a.Metrics {
			row = append(row, metric(c, m, groups[k]))
		}
		t.Rows = append(t.Rows, row)
	}
	t.TotalRows = len(t.Rows)
	return t, nil
}

func metric(c chat.Collection, m chat.Metric, rows [][]any) any {
	if m.Op == chat.MetricCount {
		return int64(len(rows))
	}
	j := slices.Index(c.FieldNames(), m.Field)
	sum, lo, hi := 0.0, math.Inf(1), math.Inf(-1)
	for _, r := range rows {
		v, _ := chat.AsFloat(r[j])
		sum, lo, hi = sum+v, min(lo, v), max(hi, v)
	}
	switch m.Op {
	case chat.MetricMean:
		return sum / float64(len(rows))
	case chat.MetricMin:
		return lo
	case chat.MetricMax:
		return hi
	}
	return sum
}

// matching applies the checked filters (eq, ne, gt, gte, lt, lte; nothing
// else is needed here). Checked values already have the field's Go type.
func matching(c chat.Collection, filters []chat.Filter) [][]any {
	var out [][]any
rows:
	for _, r := range sp500Rows() {
		for _, f := range filters {
			v := r[slices.Index(c.FieldNames(), f.Field)]
			if !holds(f.Op, compare(v, f.Value)) {
				continue rows
			}
		}
		out = append(out, r)
	}
	return out
}

func compare(a, b any) int {
	switch x := a.(type) {
	case string:
		y, _ := b.(string)
		return cmp.Compare(x, y)
	case float64:
		y, _ := b.(float64)
		return cmp.Compare(x, y)
	case int64:
		y, _ := b.(int64)
		return cmp.Compare(x, y)
	}
	return 0
}

func holds(op chat.Op, c int) bool {
	switch op {
	case chat.OpEq:
		return c == 0
	case chat.OpNe:
		return c != 0
	case chat.OpGt:
		return c > 0
	case chat.OpGte:
		return c >= 0
	case chat.OpLt:
		return c < 0
	case chat.OpLte:
		return c <= 0
	}
	return false
}

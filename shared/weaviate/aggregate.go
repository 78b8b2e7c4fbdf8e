package weaviate

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/weaviate/weaviate-go-client/v4/weaviate/graphql"

	"github.com/datachat/datachat/shared/chat"
)

// Aggregate implements chat.Warehouse. Weaviate computes every number; this
// adapter only orders the groups and applies the limit, as the embedded
// warehouse does, so both give the same table.
func (w *Warehouse) Aggregate(ctx context.Context, a chat.Aggregation) (chat.Table, error) {
	d, err := w.discover(ctx, "aggregate", a.Collection)
	if err != nil {
		return chat.Table{}, err
	}
	a, err = d.schema.CheckAggregation(a, w.rowCap)
	if err != nil {
		return chat.Table{}, err
	}
	c, _ := d.schema.Collection(a.Collection)
	if err := checkFilterable(c, d.info[c.Name], a.Filters); err != nil {
		return chat.Table{}, err
	}
	where, err := buildWhere(c, a.Filters)
	if err != nil {
		return chat.Table{}, err
	}

	agg := w.client.GraphQL().Aggregate().WithClassName(c.Name).WithFields(aggregateFields(a)...)
	if where != nil {
		agg = agg.WithWhere(where)
	}
	if a.GroupBy != "" {
		// Weaviate keeps only the 100 largest groups unless told otherwise,
		// and which ones survive depends on counts, not on the requested
		// order; ask for one more than we accept so a cut is detected,
		// never silently sorted and returned as if complete.
		agg = agg.WithGroupBy(a.GroupBy).WithLimit(w.maxGroups + 1)
	}
	var rows []aggregateRow
	err = w.call(ctx, "aggregate", c.Name, func(ctx context.Context) error {
		resp, err := agg.Do(ctx)
		if err != nil {
			return err
		}
		if err := w.graphQLError(resp); err != nil {
			return err
		}
		return decodeClass(resp, "Aggregate", c.Name, &rows)
	})
	if err != nil {
		return chat.Table{}, err
	}
	if a.GroupBy != "" && len(rows) > w.maxGroups {
		return chat.Table{}, chat.Errorf(chat.CodeInvalid,
			"group_by %q yields more than %d groups; add filters or group by a field with fewer values", a.GroupBy, w.maxGroups)
	}

	t := chat.Table{Columns: d.schema.AggregationColumns(a), Rows: [][]any{}}
	for _, r := range rows {
		row, err := aggregateCells(c, a, r)
		if err != nil {
			return chat.Table{}, w.translate(ctx, ctx, "aggregate", c.Name, err)
		}
		t.Rows = append(t.Rows, row)
	}
	if a.GroupBy == "" && len(t.Rows) == 0 {
		// One overall row even when nothing matched, as the port promises.
		t.Rows = append(t.Rows, metricRowZero(a))
	}
	chat.SortGroups(&t, a)
	t.TotalRows = len(t.Rows)
	if len(t.Rows) > a.Limit {
		t.Rows, t.Truncated = t.Rows[:a.Limit], true
	}
	return t, nil
}

// metricRowZero is the overall row of an aggregation nothing matched:
// count 0, every other metric undefined.
func metricRowZero(a chat.Aggregation) []any {
	row := make([]any, len(a.Metrics))
	for i, m := range a.Metrics {
		if m.Op == chat.MetricCount {
			row[i] = int64(0)
		}
	}
	return row
}

// aggregateFields selects meta.count (the count metric, and the size of
// each group), the group value, and per metric field its count (to tell an
// undefined metric from zero) and the requested statistics.
func aggregateFields(a chat.Aggregation) []graphql.Field {
	fields := []graphql.Field{{Name: "meta", Fields: []graphql.Field{{Name: "count"}}}}
	if a.GroupBy != "" {
		fields = append(fields, graphql.Field{Name: "groupedBy", Fields: []graphql.Field{{Name: "value"}}})
	}
	var order []string
	stats := map[string][]string{}
	for _, m := range a.Metrics {
		if m.Op == chat.MetricCount {
			continue
		}
		if _, seen := stats[m.Field]; !seen {
			order = append(order, m.Field)
			stats[m.Field] = []string{"count"}
		}
		stats[m.Field] = append(stats[m.Field], statName(m.Op))
	}
	for _, f := range order {
		sub := make([]graphql.Field, len(stats[f]))
		for i, s := range stats[f] {
			sub[i] = graphql.Field{Name: s}
		}
		fields = append(fields, graphql.Field{Name: f, Fields: sub})
	}
	return fields
}

// statName is Weaviate's name of a metric.
func statName(op chat.MetricOp) string {
	switch op {
	case chat.MetricMin:
		return "minimum"
	case chat.MetricMax:
		return "maximum"
	}
	return string(op) // mean, sum
}

// aggregateRow is one row of an Aggregate answer: meta, groupedBy and one
// object of statistics per property.
type aggregateRow map[string]json.RawMessage

type propStats struct {
	Count   *float64 `json:"count"`
	Mean    *float64 `json:"mean"`
	Minimum *float64 `json:"minimum"`
	Maximum *float64 `json:"maximum"`
	Sum     *float64 `json:"sum"`
}

func (r aggregateRow) count() (int, error) {
	var meta struct {
		Count *float64 `json:"count"`
	}
	if err := json.Unmarshal(r["meta"], &meta); err != nil || meta.Count == nil {
		return 0, fmt.Errorf("aggregate answer lacks meta.count: %s", r["meta"])
	}
	n, err := toInt(*meta.Count)
	return int(n), err
}

func aggregateCells(c chat.Collection, a chat.Aggregation, r aggregateRow) ([]any, error) {
	var row []any
	if a.GroupBy != "" {
		var g struct {
			Value *string `json:"value"`
		}
		if err := json.Unmarshal(r["groupedBy"], &g); err != nil || g.Value == nil {
			return nil, fmt.Errorf("aggregate answer lacks groupedBy.value: %s", r["groupedBy"])
		}
		f, _ := c.Field(a.GroupBy)
		v, err := parseGroupValue(f.Type, *g.Value)
		if err != nil {
			return nil, fmt.Errorf("group value %q of %s: %w", *g.Value, f.Name, err)
		}
		row = append(row, v)
	}
	for _, m := range a.Metrics {
		if m.Op == chat.MetricCount {
			n, err := r.count()
			if err != nil {
				return nil, err
			}
			row = append(row, int64(n))
			continue
		}
		var s propStats
		if err := json.Unmarshal(r[m.Field], &s); err != nil {
			return nil, fmt.Errorf("statistics of %s: %w", m.Field, err)
		}
		v, err := metricCell(c, m, s)
		if err != nil {
			return nil, err
		}
		row = append(row, v)
	}
	return row, nil
}

// metricCell is one metric: nil when the field has no values in the group
// (the metric is undefined, not zero), int64 for min, max and sum of an int
// field, float64 otherwise.
func metricCell(c chat.Collection, m chat.Metric, s propStats) (any, error) {
	if s.Count == nil || *s.Count == 0 {
		return nil, nil
	}
	var p *float64
	switch m.Op {
	case chat.MetricMean:
		p = s.Mean
	case chat.MetricMin:
		p = s.Minimum
	case chat.MetricMax:
		p = s.Maximum
	case chat.MetricSum:
		p = s.Sum
	}
	if p == nil {
		return nil, nil
	}
	if f, _ := c.Field(m.Field); f.Type == chat.TypeInt && m.Op != chat.MetricMean {
		return toInt(*p)
	}
	return *p, nil
}

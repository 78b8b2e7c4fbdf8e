package weaviate

import (
	"context"
	"errors"
	"fmt"

	pb "github.com/weaviate/weaviate/grpc/generated/protocol/v1"

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

	req := &pb.AggregateRequest{Collection: c.Name, ObjectsCount: true, Aggregations: aggregations(c, a), Filters: where}
	if a.GroupBy != "" {
		// Weaviate keeps only the largest groups unless told otherwise, and
		// which ones survive depends on counts, not on the requested order;
		// ask for one more than we accept so a cut is detected, never
		// silently sorted and returned as if complete.
		limit := uint32(w.maxGroups + 1)
		req.GroupBy = &pb.AggregateRequest_GroupBy{Collection: c.Name, Property: a.GroupBy}
		req.Limit = &limit
	}
	reply, err := w.aggregate(ctx, "aggregate", c.Name, req)
	if err != nil {
		return chat.Table{}, err
	}
	var rows []aggregateRow
	switch r := reply.Result.(type) {
	case *pb.AggregateReply_SingleResult:
		rows = []aggregateRow{{count: r.SingleResult.ObjectsCount, stats: r.SingleResult.Aggregations}}
	case *pb.AggregateReply_GroupedResults:
		for _, g := range r.GroupedResults.GetGroups() {
			rows = append(rows, aggregateRow{count: g.ObjectsCount, stats: g.Aggregations, group: g.GroupedBy})
		}
	}
	// No result at all is what Weaviate answers when nothing matched.
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

// aggregations asks, per metric field, for its count (to tell an
// undefined metric from zero) and the requested statistics. Ints are asked
// for as ints, so their sum, minimum and maximum come back as int64.
func aggregations(c chat.Collection, a chat.Aggregation) []*pb.AggregateRequest_Aggregation {
	var order []string
	ops := map[string][]chat.MetricOp{}
	for _, m := range a.Metrics {
		if m.Op == chat.MetricCount {
			continue
		}
		if _, seen := ops[m.Field]; !seen {
			order = append(order, m.Field)
		}
		ops[m.Field] = append(ops[m.Field], m.Op)
	}
	out := make([]*pb.AggregateRequest_Aggregation, 0, len(order))
	for _, name := range order {
		var want [5]bool // count, mean, min, max, sum
		want[0] = true
		for _, op := range ops[name] {
			switch op {
			case chat.MetricMean:
				want[1] = true
			case chat.MetricMin:
				want[2] = true
			case chat.MetricMax:
				want[3] = true
			case chat.MetricSum:
				want[4] = true
			}
		}
		agg := &pb.AggregateRequest_Aggregation{Property: name}
		if f, _ := c.Field(name); f.Type == chat.TypeInt {
			agg.Aggregation = &pb.AggregateRequest_Aggregation_Int{Int: &pb.AggregateRequest_Aggregation_Integer{
				Count: want[0], Mean: want[1], Minimum: want[2], Maximum: want[3], Sum: want[4]}}
		} else {
			agg.Aggregation = &pb.AggregateRequest_Aggregation_Number_{Number: &pb.AggregateRequest_Aggregation_Number{
				Count: want[0], Mean: want[1], Minimum: want[2], Maximum: want[3], Sum: want[4]}}
		}
		out = append(out, agg)
	}
	return out
}

// aggregateRow is the overall result or one group of an Aggregate answer.
type aggregateRow struct {
	count *int64
	stats *pb.AggregateReply_Aggregations
	group *pb.AggregateReply_Group_GroupedBy
}

// propStats are the statistics of one property, ints and numbers alike:
// a nil pointer is a statistic Weaviate did not send.
type propStats struct {
	Count                  *int64
	Mean                   *float64
	Minimum, Maximum, Sum  *float64
	IntMin, IntMax, IntSum *int64
}

func (r aggregateRow) objects() (int64, error) {
	if r.count == nil {
		return 0, errors.New("aggregate answer lacks objects_count")
	}
	return *r.count, nil
}

// property returns the statistics of the property name.
func (r aggregateRow) property(name string) (propStats, error) {
	for _, a := range r.stats.GetAggregations() {
		if a.GetProperty() != name {
			continue
		}
		switch k := a.Aggregation.(type) {
		case *pb.AggregateReply_Aggregations_Aggregation_Int:
			i := k.Int
			return propStats{Count: i.Count, Mean: i.Mean, IntMin: i.Minimum, IntMax: i.Maximum, IntSum: i.Sum}, nil
		case *pb.AggregateReply_Aggregations_Aggregation_Number_:
			n := k.Number
			return propStats{Count: n.Count, Mean: n.Mean, Minimum: n.Minimum, Maximum: n.Maximum, Sum: n.Sum}, nil
		}
		return propStats{}, fmt.Errorf("statistics of %s are %T, want numbers", name, a.Aggregation)
	}
	return propStats{}, fmt.Errorf("aggregate answer lacks the statistics of %s", name)
}

// groupValue is the value a group stands for, in the Go type of its field.
func groupValue(f chat.Field, g *pb.AggregateReply_Group_GroupedBy) (any, error) {
	if g == nil {
		return nil, errors.New("aggregate answer lacks grouped_by")
	}
	switch v := g.Value.(type) {
	case *pb.AggregateReply_Group_GroupedBy_Text:
		return parseGroupValue(f.Type, v.Text)
	case *pb.AggregateReply_Group_GroupedBy_Int:
		if f.Type == chat.TypeInt {
			return v.Int, nil
		}
		if f.Type == chat.TypeNumber {
			return float64(v.Int), nil
		}
	case *pb.AggregateReply_Group_GroupedBy_Number:
		switch f.Type {
		case chat.TypeNumber:
			return v.Number, nil
		case chat.TypeInt:
			return toInt(v.Number)
		}
	case *pb.AggregateReply_Group_GroupedBy_Boolean:
		if f.Type == chat.TypeBoolean {
			return v.Boolean, nil
		}
	}
	return nil, fmt.Errorf("a %T group value for a %s field", g.Value, f.Type)
}

func aggregateCells(c chat.Collection, a chat.Aggregation, r aggregateRow) ([]any, error) {
	var row []any
	if a.GroupBy != "" {
		f, _ := c.Field(a.GroupBy)
		v, err := groupValue(f, r.group)
		if err != nil {
			return nil, fmt.Errorf("group value of %s: %w", f.Name, err)
		}
		row = append(row, v)
	}
	for _, m := range a.Metrics {
		if m.Op == chat.MetricCount {
			n, err := r.objects()
			if err != nil {
				return nil, err
			}
			row = append(row, n)
			continue
		}
		s, err := r.property(m.Field)
		if err != nil {
			return nil, err
		}
		row = append(row, metricCell(c, m, s))
	}
	return row, nil
}

// metricCell is one metric: nil when the field has no values in the group
// (the metric is undefined, not zero), int64 for min, max and sum of an int
// field, float64 otherwise.
func metricCell(c chat.Collection, m chat.Metric, s propStats) any {
	if s.Count == nil || *s.Count == 0 {
		return nil
	}
	if f, _ := c.Field(m.Field); f.Type == chat.TypeInt && m.Op != chat.MetricMean {
		var p *int64
		switch m.Op {
		case chat.MetricMin:
			p = s.IntMin
		case chat.MetricMax:
			p = s.IntMax
		case chat.MetricSum:
			p = s.IntSum
		}
		if p == nil {
			return nil
		}
		return *p
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
		return nil
	}
	return *p
}

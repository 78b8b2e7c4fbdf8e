package weaviate

import (
	"context"
	"errors"
	"fmt"
	"slices"

	pb "github.com/weaviate/weaviate/grpc/generated/protocol/v1"
	"google.golang.org/protobuf/proto"

	"github.com/datachat/datachat/shared/chat"
)

// maxSortFetch bounds the matches nullsLast fetches to order in Go:
// Weaviate's default QUERY_MAXIMUM_RESULTS.
const maxSortFetch = 10000

// withSortFields returns cols plus the sort fields that are not among
// them, so the rows can be ordered by every key; dropColumns removes the
// extra ones again.
func withSortFields(c chat.Collection, cols []chat.Column, sorts []chat.Sort) []chat.Column {
	out := slices.Clone(cols)
	for _, s := range sorts {
		if s.Field == chat.SortID || slices.ContainsFunc(out, func(col chat.Column) bool { return col.Name == s.Field }) {
			continue
		}
		f, _ := c.Field(s.Field)
		out = append(out, chat.Column{Name: f.Name, Type: f.Type})
	}
	return out
}

// dropColumns keeps the first n columns of t and at most limit rows.
func dropColumns(t chat.Table, n, limit int) chat.Table {
	if len(t.Rows) > limit {
		t.Rows, t.Sources = t.Rows[:limit], t.Sources[:limit]
	}
	t.Columns = t.Columns[:n]
	for i, r := range t.Rows {
		t.Rows[i] = r[:n]
	}
	return t
}

// nullsLast makes a truncated page hold the rows chat's order puts first.
// Weaviate sorts a missing value before every other one, so with an
// ascending key on a field that has nulls among the matches its first page
// starts with them, where chat.CompareKey puts them last. Then every match
// (at most maxSortFetch) is fetched, for sortRows to order and cut; beyond
// that the page stays as Weaviate ordered it. One aggregate request tells
// whether any ascending key has nulls; without one the page is kept.
func (w *Warehouse) nullsLast(ctx context.Context, c chat.Collection, req *pb.SearchRequest, q chat.Query, page chat.Table) (chat.Table, error) {
	var asc []string
	for _, s := range q.Sort {
		if !s.Desc && s.Field != chat.SortID {
			asc = append(asc, s.Field)
		}
	}
	if len(asc) == 0 || page.TotalRows > maxSortFetch {
		return page, nil
	}
	agg := &pb.AggregateRequest{Collection: c.Name, ObjectsCount: true, Filters: req.Filters}
	for _, name := range asc {
		agg.Aggregations = append(agg.Aggregations, countOf(c, name))
	}
	reply, err := w.aggregate(ctx, "query", c.Name, agg)
	if err != nil {
		return chat.Table{}, err
	}
	single := reply.GetSingleResult()
	if single == nil || single.ObjectsCount == nil {
		return chat.Table{}, w.translate(ctx, ctx, "query", c.Name, errors.New("aggregate answer lacks objects_count"))
	}
	total := int(*single.ObjectsCount)
	nulls := false
	for _, name := range asc {
		n, err := propertyCount(single.GetAggregations(), name)
		if err != nil {
			return chat.Table{}, w.translate(ctx, ctx, "query", c.Name, err)
		}
		nulls = nulls || n < total
	}
	if !nulls {
		return page, nil
	}
	all := proto.Clone(req).(*pb.SearchRequest)
	all.Limit = uint32(min(max(total, page.TotalRows), maxSortFetch))
	reply2, err := w.search(ctx, "query", c.Name, all)
	if err != nil {
		return chat.Table{}, err
	}
	t, err := table(c.Name, page.Columns, reply2.Results)
	if err != nil {
		return chat.Table{}, w.translate(ctx, ctx, "query", c.Name, err)
	}
	t.TotalRows, t.Truncated = page.TotalRows, page.Truncated
	return t, nil
}

// countOf asks for the number of objects that have a value of name.
func countOf(c chat.Collection, name string) *pb.AggregateRequest_Aggregation {
	a := &pb.AggregateRequest_Aggregation{Property: name}
	f, _ := c.Field(name)
	switch f.Type {
	case chat.TypeInt:
		a.Aggregation = &pb.AggregateRequest_Aggregation_Int{Int: &pb.AggregateRequest_Aggregation_Integer{Count: true}}
	case chat.TypeNumber:
		a.Aggregation = &pb.AggregateRequest_Aggregation_Number_{Number: &pb.AggregateRequest_Aggregation_Number{Count: true}}
	case chat.TypeDate:
		a.Aggregation = &pb.AggregateRequest_Aggregation_Date_{Date: &pb.AggregateRequest_Aggregation_Date{Count: true}}
	case chat.TypeBoolean:
		a.Aggregation = &pb.AggregateRequest_Aggregation_Boolean_{Boolean: &pb.AggregateRequest_Aggregation_Boolean{Count: true}}
	default:
		a.Aggregation = &pb.AggregateRequest_Aggregation_Text_{Text: &pb.AggregateRequest_Aggregation_Text{Count: true}}
	}
	return a
}

// propertyCount reads the count countOf asked for.
func propertyCount(aggs *pb.AggregateReply_Aggregations, name string) (int, error) {
	for _, a := range aggs.GetAggregations() {
		if a.GetProperty() != name {
			continue
		}
		var n *int64
		switch k := a.Aggregation.(type) {
		case *pb.AggregateReply_Aggregations_Aggregation_Int:
			n = k.Int.Count
		case *pb.AggregateReply_Aggregations_Aggregation_Number_:
			n = k.Number.Count
		case *pb.AggregateReply_Aggregations_Aggregation_Date_:
			n = k.Date.Count
		case *pb.AggregateReply_Aggregations_Aggregation_Boolean_:
			n = k.Boolean.Count
		case *pb.AggregateReply_Aggregations_Aggregation_Text_:
			n = k.Text.Count
		}
		if n == nil {
			return 0, fmt.Errorf("aggregate answer lacks the count of %s", name)
		}
		return int(*n), nil
	}
	return 0, fmt.Errorf("aggregate answer lacks the count of %s", name)
}

package weaviate

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/google/uuid"
	pb "github.com/weaviate/weaviate/grpc/generated/protocol/v1"

	"github.com/datachat/datachat/shared/chat"
)

// Query implements chat.Warehouse.
func (w *Warehouse) Query(ctx context.Context, q chat.Query) (chat.Table, error) {
	d, err := w.discover(ctx, "query", q.Collection)
	if err != nil {
		return chat.Table{}, err
	}
	q, err = d.schema.CheckQuery(q, w.rowCap)
	if err != nil {
		return chat.Table{}, err
	}
	c, _ := d.schema.Collection(q.Collection)
	if err := checkFilterable(c, d.info[c.Name], q.Filters); err != nil {
		return chat.Table{}, err
	}
	where, err := buildWhere(c, q.Filters)
	if err != nil {
		return chat.Table{}, err
	}
	cols := columns(c, q.Fields)

	req := &pb.SearchRequest{
		Collection: c.Name,
		Properties: properties(cols),
		Metadata:   &pb.MetadataRequest{Uuid: true},
		Limit:      uint32(q.Limit),
		Filters:    where,
	}
	for _, s := range q.Sort {
		req.SortBy = append(req.SortBy, &pb.SortBy{Path: []string{s.Field}, Ascending: !s.Desc})
	}
	reply, err := w.search(ctx, "query", c.Name, req)
	if err != nil {
		return chat.Table{}, err
	}
	t, err := table(c.Name, cols, reply.Results)
	if err != nil {
		return chat.Table{}, w.translate(ctx, ctx, "query", c.Name, err)
	}
	t.TotalRows = len(t.Rows)
	// Fewer rows than asked for means every match is here; only a full page
	// needs a second round trip to count the matches.
	if len(t.Rows) == q.Limit {
		if t.TotalRows, err = w.count(ctx, c.Name, where); err != nil {
			return chat.Table{}, err
		}
		// Objects written between the two calls could make the count
		// smaller than the page; a table never claims fewer than it holds.
		t.TotalRows = max(t.TotalRows, len(t.Rows))
	}
	t.Truncated = len(t.Rows) < t.TotalRows
	if !t.Truncated {
		sortRows(&t, q.Sort)
	}
	return t, nil
}

// sortRows re-sorts a complete result the way the embedded warehouse
// does. Weaviate orders text case-insensitively ("ab" before "AB"), the
// embedded warehouse bytewise; when every match is in the table the order
// can be made the same. A truncated table keeps Weaviate's order, since
// which rows made the cut was decided by it.
func sortRows(t *chat.Table, sorts []chat.Sort) {
	keys := make([]int, len(sorts))
	text := false
	for i, s := range sorts {
		keys[i] = t.ColumnIndex(s.Field)
		if keys[i] < 0 {
			return // sorted by a field that is not selected: nothing to compare
		}
		text = text || t.Columns[keys[i]].Type == chat.TypeText
	}
	if !text {
		return
	}
	idx := make([]int, len(t.Rows))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		for i, s := range sorts {
			c := chat.CompareCells(t.Rows[a][keys[i]], t.Rows[b][keys[i]])
			if s.Desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return 0
	})
	rows, sources := make([][]any, len(idx)), make([]chat.Source, len(idx))
	for i, j := range idx {
		rows[i], sources[i] = t.Rows[j], t.Sources[j]
	}
	t.Rows, t.Sources = rows, sources
}

// columns lists the selected fields of c as table columns, all of them
// when none are named.
func columns(c chat.Collection, fields []string) []chat.Column {
	if len(fields) == 0 {
		fields = c.FieldNames()
	}
	cols := make([]chat.Column, len(fields))
	for i, name := range fields {
		f, _ := c.Field(name)
		cols[i] = chat.Column{Name: f.Name, Type: f.Type}
	}
	return cols
}

// properties asks for the properties of cols.
func properties(cols []chat.Column) *pb.PropertiesRequest {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	return &pb.PropertiesRequest{NonRefProperties: names}
}

// count returns the number of objects of collection matching where.
func (w *Warehouse) count(ctx context.Context, collection string, where *pb.Filters) (int, error) {
	reply, err := w.aggregate(ctx, "count", collection, &pb.AggregateRequest{Collection: collection, ObjectsCount: true, Filters: where})
	if err != nil {
		return 0, err
	}
	single := reply.GetSingleResult()
	if single == nil || single.ObjectsCount == nil {
		return 0, w.translate(ctx, ctx, "count", collection, errors.New("aggregate answer lacks objects_count"))
	}
	return int(*single.ObjectsCount), nil
}

// table turns search results into rows of typed cells.
func table(collection string, cols []chat.Column, results []*pb.SearchResult) (chat.Table, error) {
	t := chat.Table{Columns: cols, Rows: make([][]any, 0, len(results)), Sources: make([]chat.Source, 0, len(results))}
	for _, r := range results {
		props := r.GetProperties().GetNonRefProps().GetFields()
		row := make([]any, len(cols))
		for i, c := range cols {
			v, err := cell(c.Type, props[c.Name])
			if err != nil {
				return chat.Table{}, fmt.Errorf("%s.%s: %w", collection, c.Name, err)
			}
			row[i] = v
		}
		id, err := objectID(r.GetMetadata())
		if err != nil {
			return chat.Table{}, fmt.Errorf("%s: %w", collection, err)
		}
		t.Rows = append(t.Rows, row)
		t.Sources = append(t.Sources, chat.Source{Collection: collection, ID: id})
	}
	return t, nil
}

// objectID reads the object's id, which servers send as text or as the
// 16 bytes of the UUID.
func objectID(m *pb.MetadataResult) (string, error) {
	if m.GetId() != "" {
		return m.GetId(), nil
	}
	if b := m.GetIdAsBytes(); len(b) > 0 {
		id, err := uuid.FromBytes(b)
		if err != nil {
			return "", fmt.Errorf("object id: %w", err)
		}
		return id.String(), nil
	}
	return "", errors.New("result lacks the object id")
}

// cell converts one property value to the Go type of its column: dates
// from Weaviate's RFC 3339 back to "YYYY-MM-DD", ints exactly as the
// int64 they travel as. A value of another kind than the column's type
// is an error, never a guess.
func cell(t chat.Type, v *pb.Value) (any, error) {
	if v == nil || v.Kind == nil {
		return nil, nil
	}
	if _, ok := v.Kind.(*pb.Value_NullValue); ok {
		return nil, nil
	}
	switch t {
	case chat.TypeText:
		switch k := v.Kind.(type) {
		case *pb.Value_TextValue:
			return k.TextValue, nil
		case *pb.Value_StringValue:
			return k.StringValue, nil
		}
	case chat.TypeNumber:
		switch k := v.Kind.(type) {
		case *pb.Value_NumberValue:
			return k.NumberValue, nil
		case *pb.Value_IntValue:
			return float64(k.IntValue), nil
		}
	case chat.TypeInt:
		switch k := v.Kind.(type) {
		case *pb.Value_IntValue:
			return k.IntValue, nil
		case *pb.Value_NumberValue:
			return toInt(k.NumberValue)
		}
	case chat.TypeBoolean:
		if k, ok := v.Kind.(*pb.Value_BoolValue); ok {
			return k.BoolValue, nil
		}
	case chat.TypeDate:
		switch k := v.Kind.(type) {
		case *pb.Value_DateValue:
			return dateCell(k.DateValue)
		case *pb.Value_TextValue:
			return dateCell(k.TextValue)
		}
	default:
		return nil, fmt.Errorf("unsupported type %s", t)
	}
	return nil, fmt.Errorf("a %T value in a %s field", v.Kind, t)
}

func dateCell(s string) (any, error) {
	d, ok := chat.ParseDate(s)
	if !ok {
		return nil, fmt.Errorf("date %q is not RFC 3339", s)
	}
	return chat.FormatDate(d), nil
}

// toInt converts a float64 that stands for an int (a group value sent as
// text, a number where an int was expected).
func toInt(f float64) (int64, error) {
	if f != math.Trunc(f) || math.IsInf(f, 0) || math.Abs(f) > math.MaxInt64 {
		return 0, fmt.Errorf("%v is not an int", f)
	}
	return int64(f), nil
}

// parseGroupValue converts a group value Weaviate sends as text: dates
// (RFC 3339), and values of any type from servers that send every group
// value as text ("2008", "1.2e+09", "true").
func parseGroupValue(t chat.Type, s string) (any, error) {
	switch t {
	case chat.TypeText:
		return s, nil
	case chat.TypeInt:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, err
		}
		return toInt(f)
	case chat.TypeNumber:
		return strconv.ParseFloat(s, 64)
	case chat.TypeBoolean:
		return strconv.ParseBool(s)
	case chat.TypeDate:
		return dateCell(s)
	}
	return nil, fmt.Errorf("unsupported type %s", t)
}

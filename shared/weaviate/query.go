package weaviate

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/weaviate/weaviate-go-client/v4/weaviate/filters"
	"github.com/weaviate/weaviate-go-client/v4/weaviate/graphql"
	"github.com/weaviate/weaviate/entities/models"

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
	fetch := withSortFields(c, cols, q.Sort) // sort keys are fetched to order by them, then dropped

	get := w.client.GraphQL().Get().WithClassName(c.Name).
		WithFields(selection(fetch, "id")...).
		WithLimit(q.Limit)
	if where != nil {
		get = get.WithWhere(where)
	}
	if len(q.Sort) > 0 {
		sorts := make([]graphql.Sort, len(q.Sort))
		for i, s := range q.Sort {
			sorts[i] = graphql.Sort{Path: []string{s.Field}, Order: graphql.Asc}
			if s.Desc {
				sorts[i].Order = graphql.Desc
			}
		}
		get = get.WithSort(sorts...)
	}
	objs, err := w.get(ctx, "query", c.Name, get)
	if err != nil {
		return chat.Table{}, err
	}
	t, err := table(c.Name, fetch, objs)
	if err != nil {
		return chat.Table{}, w.translate(ctx, ctx, "query", c.Name, err)
	}
	if err := w.fillBigInts(ctx, "query", c.Name, &t); err != nil {
		return chat.Table{}, err
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
	if t.Truncated {
		if t, err = w.nullsLast(ctx, c, where, get, q, t); err != nil {
			return chat.Table{}, err
		}
	}
	sortRows(&t, q.Sort)
	return dropColumns(t, len(cols), q.Limit), nil
}

// sortRows re-sorts a complete result in chat's one order (chat.CompareKey:
// nulls last both ways, text bytewise, chat.SortID by object id), which is
// the embedded warehouse's. Weaviate orders text case-insensitively and
// puts nulls first when ascending; when every match is in the table the
// order can be made the same. A truncated table keeps Weaviate's order,
// since which rows made the cut was decided by it.
func sortRows(t *chat.Table, sorts []chat.Sort) {
	keys := make([]int, len(sorts))
	for i, s := range sorts {
		keys[i] = t.ColumnIndex(s.Field)
		if keys[i] < 0 && s.Field != chat.SortID {
			return // sorted by a field that is not selected: nothing to compare
		}
	}
	idx := make([]int, len(t.Rows))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		for i, s := range sorts {
			var c int
			if keys[i] < 0 {
				c = chat.CompareKey(t.Sources[a].ID, t.Sources[b].ID, s.Desc)
			} else {
				c = chat.CompareKey(t.Rows[a][keys[i]], t.Rows[b][keys[i]], s.Desc)
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

// selection is the GraphQL selection of cols plus _additional fields.
func selection(cols []chat.Column, additional ...string) []graphql.Field {
	fields := make([]graphql.Field, 0, len(cols)+1)
	for _, c := range cols {
		fields = append(fields, graphql.Field{Name: c.Name})
	}
	extra := make([]graphql.Field, len(additional))
	for i, a := range additional {
		extra[i] = graphql.Field{Name: a}
	}
	return append(fields, graphql.Field{Name: "_additional", Fields: extra})
}

// object is one object of a Get answer: its properties by name and
// _additional.
type object map[string]json.RawMessage

type additional struct {
	ID string `json:"id"`
}

// get runs a Get query and returns the objects of collection.
func (w *Warehouse) get(ctx context.Context, op, collection string, get *graphql.GetBuilder) ([]object, error) {
	var out []object
	err := w.call(ctx, op, collection, func(ctx context.Context) error {
		resp, err := get.Do(ctx)
		if err != nil {
			return err
		}
		if err := w.graphQLError(resp); err != nil {
			return err
		}
		return decodeClass(resp, "Get", collection, &out)
	})
	return out, err
}

// count returns the number of objects of collection matching where.
func (w *Warehouse) count(ctx context.Context, collection string, where *filters.WhereBuilder) (int, error) {
	agg := w.client.GraphQL().Aggregate().WithClassName(collection).
		WithFields(graphql.Field{Name: "meta", Fields: []graphql.Field{{Name: "count"}}})
	if where != nil {
		agg = agg.WithWhere(where)
	}
	var rows []aggregateRow
	err := w.call(ctx, "count", collection, func(ctx context.Context) error {
		resp, err := agg.Do(ctx)
		if err != nil {
			return err
		}
		if err := w.graphQLError(resp); err != nil {
			return err
		}
		return decodeClass(resp, "Aggregate", collection, &rows)
	})
	if err != nil {
		return 0, err
	}
	if len(rows) != 1 {
		return 0, w.translate(ctx, ctx, "count", collection, fmt.Errorf("aggregate answered %d rows, want 1", len(rows)))
	}
	return rows[0].count()
}

// decodeClass decodes data[kind][collection] of a GraphQL answer into out.
// The client has already decoded the answer into generic values; a JSON
// round trip into typed targets is simpler and safer than type switches.
func decodeClass(resp *models.GraphQLResponse, kind, collection string, out any) error {
	raw, err := json.Marshal(resp.Data[kind])
	if err != nil {
		return fmt.Errorf("decode %s: %w", kind, err)
	}
	var byClass map[string]json.RawMessage
	if err := json.Unmarshal(raw, &byClass); err != nil {
		return fmt.Errorf("decode %s: %w", kind, err)
	}
	body, ok := byClass[collection]
	if !ok {
		return fmt.Errorf("decode %s: answer lacks %s", kind, collection)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("decode %s.%s: %w", kind, collection, err)
	}
	return nil
}

// table turns objects into rows of typed cells.
func table(collection string, cols []chat.Column, objs []object) (chat.Table, error) {
	t := chat.Table{Columns: cols, Rows: make([][]any, 0, len(objs)), Sources: make([]chat.Source, 0, len(objs))}
	for _, o := range objs {
		row := make([]any, len(cols))
		for i, c := range cols {
			v, err := cell(c.Type, o[c.Name])
			if err != nil {
				return chat.Table{}, fmt.Errorf("%s.%s: %w", collection, c.Name, err)
			}
			row[i] = v
		}
		var add additional
		if raw, ok := o["_additional"]; ok {
			if err := json.Unmarshal(raw, &add); err != nil {
				return chat.Table{}, fmt.Errorf("%s._additional: %w", collection, err)
			}
		}
		t.Rows = append(t.Rows, row)
		t.Sources = append(t.Sources, chat.Source{Collection: collection, ID: add.ID})
	}
	return t, nil
}

// cell converts one property value to the Go type of its column: dates
// from Weaviate's RFC 3339 back to "YYYY-MM-DD", ints to int64.
func cell(t chat.Type, raw json.RawMessage) (any, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	switch t {
	case chat.TypeText:
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	case chat.TypeNumber:
		var f float64
		err := json.Unmarshal(raw, &f)
		return f, err
	case chat.TypeInt:
		var f float64
		if err := json.Unmarshal(raw, &f); err != nil {
			return nil, err
		}
		return toInt(f)
	case chat.TypeBoolean:
		var b bool
		err := json.Unmarshal(raw, &b)
		return b, err
	case chat.TypeDate:
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		return dateCell(s)
	}
	return nil, fmt.Errorf("unsupported type %s", t)
}

func dateCell(s string) (any, error) {
	d, ok := chat.ParseDate(s)
	if !ok {
		return nil, fmt.Errorf("date %q is not RFC 3339", s)
	}
	return chat.FormatDate(d), nil
}

// toInt converts a JSON number that stands for an int. The client decodes
// numbers as float64, so ints beyond 2^53 arrive rounded.
func toInt(f float64) (int64, error) {
	if f != math.Trunc(f) || math.IsInf(f, 0) || math.Abs(f) > math.MaxInt64 {
		return 0, fmt.Errorf("%v is not an int", f)
	}
	return int64(f), nil
}

// parseGroupValue converts a groupedBy value, which Weaviate sends as a
// string whatever the property type ("2008", "1.2e+09", "true", RFC 3339).
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

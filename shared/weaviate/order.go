package weaviate

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/weaviate/weaviate-go-client/v4/weaviate/filters"
	"github.com/weaviate/weaviate-go-client/v4/weaviate/graphql"

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
func (w *Warehouse) nullsLast(ctx context.Context, c chat.Collection, where *filters.WhereBuilder, get *graphql.GetBuilder, q chat.Query, page chat.Table) (chat.Table, error) {
	var asc []string
	for _, s := range q.Sort {
		if !s.Desc && s.Field != chat.SortID {
			asc = append(asc, s.Field)
		}
	}
	if len(asc) == 0 || page.TotalRows > maxSortFetch {
		return page, nil
	}
	fields := []graphql.Field{{Name: "meta", Fields: []graphql.Field{{Name: "count"}}}}
	for _, f := range asc {
		fields = append(fields, graphql.Field{Name: f, Fields: []graphql.Field{{Name: "count"}}})
	}
	agg := w.client.GraphQL().Aggregate().WithClassName(c.Name).WithFields(fields...)
	if where != nil {
		agg = agg.WithWhere(where)
	}
	var rows []aggregateRow
	err := w.call(ctx, "query", c.Name, func(ctx context.Context) error {
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
	if len(rows) != 1 {
		return chat.Table{}, w.translate(ctx, ctx, "query", c.Name, fmt.Errorf("aggregate answered %d rows, want 1", len(rows)))
	}
	total, err := rows[0].count()
	if err != nil {
		return chat.Table{}, w.translate(ctx, ctx, "query", c.Name, err)
	}
	nulls := false
	for _, f := range asc {
		var st propStats
		if err := json.Unmarshal(rows[0][f], &st); err != nil || st.Count == nil {
			return chat.Table{}, w.translate(ctx, ctx, "query", c.Name, fmt.Errorf("aggregate answer lacks %s.count: %s", f, rows[0][f]))
		}
		nulls = nulls || int(*st.Count) < total
	}
	if !nulls {
		return page, nil
	}
	objs, err := w.get(ctx, "query", c.Name, get.WithLimit(min(max(total, page.TotalRows), maxSortFetch)))
	if err != nil {
		return chat.Table{}, err
	}
	all, err := table(c.Name, page.Columns, objs)
	if err != nil {
		return chat.Table{}, w.translate(ctx, ctx, "query", c.Name, err)
	}
	if err := w.fillBigInts(ctx, "query", c.Name, &all); err != nil {
		return chat.Table{}, err
	}
	all.TotalRows, all.Truncated = page.TotalRows, page.Truncated
	return all, nil
}

package weaviate

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/weaviate/weaviate-go-client/v4/weaviate/graphql"

	"github.com/datachat/datachat/shared/chat"
)

// Search implements chat.Searcher: keyword search is BM25, hybrid fuses
// BM25 with the collection's vectors, semantic is nearText. Beyond
// chat.Schema.CheckSearch it refuses fields Weaviate has not indexed for
// search or filters, and text the client cannot carry.
func (w *Warehouse) Search(ctx context.Context, s chat.Search) (chat.Table, error) {
	d, err := w.discover(ctx, "search", s.Collection)
	if err != nil {
		return chat.Table{}, err
	}
	s, err = d.schema.CheckSearch(s, w.rowCap)
	if err != nil {
		return chat.Table{}, err
	}
	c, _ := d.schema.Collection(s.Collection)
	info := d.info[c.Name]
	if err := checkFilterable(c, info, s.Filters); err != nil {
		return chat.Table{}, err
	}
	if err := checkText("text", s.Text); err != nil {
		return chat.Table{}, err
	}
	in, err := searchFields(c, info, s.In)
	if err != nil {
		return chat.Table{}, err
	}
	if s.Mode == chat.SearchKeyword && len(in) == 0 {
		// The schema has text fields (CheckSearch saw to that), but none
		// is in Weaviate's keyword index.
		if c.Vectorizer {
			return chat.Table{}, chat.Errorf(chat.CodeInvalid, "collection %s has no text fields indexed for keyword search; it can do: hybrid, semantic", c.Name)
		}
		return chat.Table{}, chat.Errorf(chat.CodeInvalid, "collection %s cannot be searched: it has no vectorizer and no text fields indexed for search; use query with filters", c.Name)
	}
	where, err := buildWhere(c, s.Filters)
	if err != nil {
		return chat.Table{}, err
	}

	cols := columns(c, s.Fields)
	scoreCol, scoreField := chat.ColumnScore, "score"
	if s.Mode == chat.SearchSemantic {
		scoreCol, scoreField = chat.ColumnDistance, "distance"
	}
	// One more than asked for tells whether the ranking goes on.
	get := w.client.GraphQL().Get().WithClassName(c.Name).
		WithFields(selection(cols, "id", scoreField)...).
		WithLimit(s.Limit + 1)
	if where != nil {
		get = get.WithWhere(where)
	}
	switch s.Mode {
	case chat.SearchKeyword:
		get = get.WithBM25((&graphql.BM25ArgumentBuilder{}).WithQuery(s.Text).WithProperties(in...))
	case chat.SearchHybrid:
		h := (&graphql.HybridArgumentBuilder{}).WithQuery(s.Text).WithProperties(in)
		if len(info.targetVectors) > 0 {
			h = h.WithTargetVectors(info.targetVectors[0])
		}
		get = get.WithHybrid(h)
	case chat.SearchSemantic:
		// nearText sends its concepts JSON-encoded, which GraphQL reads
		// back exactly.
		nt := (&graphql.NearTextArgumentBuilder{}).WithConcepts([]string{s.Text})
		if len(info.targetVectors) > 0 {
			nt = nt.WithTargetVectors(info.targetVectors[0])
		}
		get = get.WithNearText(nt)
	}
	objs, err := w.get(ctx, "search", c.Name, get)
	if err != nil {
		return chat.Table{}, err
	}
	more := len(objs) > s.Limit
	if more {
		objs = objs[:s.Limit]
	}
	t, err := table(c.Name, cols, objs)
	if err != nil {
		return chat.Table{}, w.translate(ctx, ctx, "search", c.Name, err)
	}
	if err := w.fillBigInts(ctx, "search", c.Name, &t); err != nil {
		return chat.Table{}, err
	}
	t.Columns = append(t.Columns, chat.Column{Name: scoreCol, Type: chat.TypeNumber})
	for i, o := range objs {
		t.Rows[i] = append(t.Rows[i], score(o, scoreField))
	}
	t.TotalRows, t.Truncated = len(t.Rows), more
	if more {
		t.TotalRows++
	}
	return t, nil
}

// searchFields checks that the fields to search (text fields, as
// CheckSearch made sure) are in the keyword index, and defaults to every
// text field that is.
func searchFields(c chat.Collection, info collectionInfo, in []string) ([]string, error) {
	var searchable []string
	for _, f := range c.Fields {
		if info.props[f.Name].searchable {
			searchable = append(searchable, f.Name)
		}
	}
	if len(in) == 0 {
		return searchable, nil
	}
	for _, name := range in {
		if !slices.Contains(searchable, name) {
			if len(searchable) == 0 {
				return nil, chat.Errorf(chat.CodeInvalid, "collection %s has no text fields indexed for search", c.Name)
			}
			return nil, chat.Errorf(chat.CodeInvalid, "cannot search in %q of %s: it is not indexed for search; searchable text fields: %s", name, c.Name, strings.Join(searchable, ", "))
		}
	}
	return in, nil
}

// score reads _additional.score or .distance, which Weaviate sends as a
// string or a number depending on the field.
func score(o object, field string) any {
	raw, ok := o["_additional"]
	if !ok {
		return nil
	}
	var add map[string]any
	if err := json.Unmarshal(raw, &add); err != nil {
		return nil
	}
	switch v := add[field].(type) {
	case float64:
		return v
	case string:
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return f
		}
	}
	return nil
}

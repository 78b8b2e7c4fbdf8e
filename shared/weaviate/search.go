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

// SearchMode chooses how Search ranks objects.
type SearchMode string

const (
	// SearchAuto is hybrid when the collection has a vectorizer, keyword
	// otherwise.
	SearchAuto SearchMode = ""
	// SearchKeyword ranks by BM25 over text fields; needs no vectorizer.
	SearchKeyword SearchMode = "keyword"
	// SearchHybrid fuses BM25 with vector similarity; needs a vectorizer.
	SearchHybrid SearchMode = "hybrid"
	// SearchSemantic ranks by vector similarity alone (nearText); needs a
	// text vectorizer.
	SearchSemantic SearchMode = "semantic"
)

// Score columns Search appends to the selected fields. They start with an
// underscore because Weaviate reserves such names, so no property clashes.
const (
	ColumnScore    = "_score"    // keyword and hybrid: higher is more relevant
	ColumnDistance = "_distance" // semantic: lower is more relevant
)

// MaxSearchText bounds the search text, which is sent to Weaviate whole.
const MaxSearchText = 1000

// Search asks for the objects of one collection most relevant to a text.
type Search struct {
	Collection string     `json:"collection"`
	Text       string     `json:"text"`
	Mode       SearchMode `json:"mode,omitempty"`
	// In names the text fields to search; empty means every text field in
	// the keyword index.
	In      []string      `json:"in,omitempty"`
	Fields  []string      `json:"fields,omitempty"` // fields to return; empty means all
	Filters []chat.Filter `json:"filters,omitempty"`
	Limit   int           `json:"limit,omitempty"` // 0 means the row cap
}

// Searcher ranks objects by relevance to a text. It is the search port
// this package offers until the domain declares one.
type Searcher interface {
	// Search returns at most s.Limit objects matching s.Filters, most
	// relevant first, as a table of the selected fields plus a score
	// column (ColumnScore, or ColumnDistance for semantic search). A ranked
	// search has no total: TotalRows is the number of rows, plus one when
	// more results exist, and then Truncated is true.
	//
	// Names are checked like Warehouse.Query (CodeInvalid listing the valid
	// ones); a mode the collection cannot serve is CodeInvalid naming the
	// modes it can; failures to reach the store are CodeUnavailable.
	Search(ctx context.Context, s Search) (chat.Table, error)
}

// Search implements Searcher.
func (w *Warehouse) Search(ctx context.Context, s Search) (chat.Table, error) {
	d, err := w.discover(ctx, "search", s.Collection)
	if err != nil {
		return chat.Table{}, err
	}
	q, err := d.schema.CheckQuery(chat.Query{Collection: s.Collection, Fields: s.Fields, Filters: s.Filters, Limit: s.Limit}, w.rowCap)
	if err != nil {
		return chat.Table{}, err
	}
	c, _ := d.schema.Collection(q.Collection)
	info := d.info[c.Name]
	if err := checkFilterable(c, info, q.Filters); err != nil {
		return chat.Table{}, err
	}
	text := strings.TrimSpace(s.Text)
	switch {
	case text == "":
		return chat.Table{}, chat.Errorf(chat.CodeInvalid, "search text is empty; say what to look for")
	case len(text) > MaxSearchText:
		return chat.Table{}, chat.Errorf(chat.CodeInvalid, "search text is %d bytes; keep it under %d", len(text), MaxSearchText)
	}
	if err := checkText("text", text); err != nil {
		return chat.Table{}, err
	}
	in, err := searchFields(c, info, s.In)
	if err != nil {
		return chat.Table{}, err
	}
	mode, err := searchMode(c, s.Mode, len(in) > 0)
	if err != nil {
		return chat.Table{}, err
	}
	where, err := buildWhere(c, q.Filters)
	if err != nil {
		return chat.Table{}, err
	}

	cols := columns(c, q.Fields)
	scoreCol, scoreField := ColumnScore, "score"
	if mode == SearchSemantic {
		scoreCol, scoreField = ColumnDistance, "distance"
	}
	// One more than asked for tells whether the ranking goes on.
	get := w.client.GraphQL().Get().WithClassName(c.Name).
		WithFields(selection(cols, "id", scoreField)...).
		WithLimit(q.Limit + 1)
	if where != nil {
		get = get.WithWhere(where)
	}
	switch mode {
	case SearchKeyword:
		get = get.WithBM25((&graphql.BM25ArgumentBuilder{}).WithQuery(text).WithProperties(in...))
	case SearchHybrid:
		h := (&graphql.HybridArgumentBuilder{}).WithQuery(text).WithProperties(in)
		if len(info.targetVectors) > 0 {
			h = h.WithTargetVectors(info.targetVectors[0])
		}
		get = get.WithHybrid(h)
	case SearchSemantic:
		// nearText sends its concepts JSON-encoded, which GraphQL reads
		// back exactly.
		nt := (&graphql.NearTextArgumentBuilder{}).WithConcepts([]string{text})
		if len(info.targetVectors) > 0 {
			nt = nt.WithTargetVectors(info.targetVectors[0])
		}
		get = get.WithNearText(nt)
	}
	objs, err := w.get(ctx, "search", c.Name, get)
	if err != nil {
		return chat.Table{}, err
	}
	more := len(objs) > q.Limit
	if more {
		objs = objs[:q.Limit]
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

// searchFields checks the fields to search and defaults to every text
// field in the keyword index.
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
			return nil, chat.Errorf(chat.CodeInvalid, "cannot search in %q of %s; searchable text fields: %s", name, c.Name, strings.Join(searchable, ", "))
		}
	}
	return in, nil
}

// searchMode resolves SearchAuto and refuses modes the collection cannot
// serve, naming those it can.
func searchMode(c chat.Collection, m SearchMode, keyword bool) (SearchMode, error) {
	var can []string
	if keyword {
		can = append(can, string(SearchKeyword))
	}
	if c.Vectorizer {
		can = append(can, string(SearchHybrid), string(SearchSemantic))
	}
	if m == SearchAuto {
		switch {
		case c.Vectorizer:
			return SearchHybrid, nil
		case keyword:
			return SearchKeyword, nil
		}
	}
	switch m {
	case SearchKeyword, SearchHybrid, SearchSemantic:
		if slices.Contains(can, string(m)) {
			return m, nil
		}
	default:
		return "", chat.Errorf(chat.CodeInvalid, "unknown search mode %q; use keyword, hybrid or semantic", m)
	}
	if len(can) == 0 {
		return "", chat.Errorf(chat.CodeInvalid, "collection %s cannot be searched: it has no vectorizer and no text fields indexed for search; use query with filters", c.Name)
	}
	return "", chat.Errorf(chat.CodeInvalid, "collection %s cannot do %s search; it can do: %s", c.Name, m, strings.Join(can, ", "))
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

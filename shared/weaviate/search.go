package weaviate

import (
	"context"
	"slices"
	"strings"

	pb "github.com/weaviate/weaviate/grpc/generated/protocol/v1"

	"github.com/datachat/datachat/shared/chat"
)

// Search implements chat.Searcher: keyword search is BM25, hybrid fuses
// BM25 with the collection's vectors, semantic is nearText. Beyond
// chat.Schema.CheckSearch it refuses fields Weaviate has not indexed for
// search or filters, and text that is a caller's mistake (see checkText).
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
	scoreCol := chat.ColumnScore
	if s.Mode == chat.SearchSemantic {
		scoreCol = chat.ColumnDistance
	}
	// One more than asked for tells whether the ranking goes on.
	req := &pb.SearchRequest{
		Collection: c.Name,
		Properties: properties(cols),
		Metadata:   &pb.MetadataRequest{Uuid: true, Score: s.Mode != chat.SearchSemantic, Distance: s.Mode == chat.SearchSemantic},
		Limit:      uint32(s.Limit + 1),
		Filters:    where,
	}
	var targets *pb.Targets
	if len(info.targetVectors) > 0 {
		targets = &pb.Targets{TargetVectors: info.targetVectors[:1]}
	}
	switch s.Mode {
	case chat.SearchKeyword:
		req.Bm25Search = &pb.BM25{Query: s.Text, Properties: in}
	case chat.SearchHybrid:
		// GraphQL's defaults, which gRPC leaves to the caller: alpha 0 would
		// be keyword search alone.
		req.HybridSearch = &pb.Hybrid{Query: s.Text, Properties: in, Alpha: hybridAlpha,
			FusionType: pb.Hybrid_FUSION_TYPE_RELATIVE_SCORE, Targets: targets}
	case chat.SearchSemantic:
		req.NearText = &pb.NearTextSearch{Query: []string{s.Text}, Targets: targets}
	}
	reply, err := w.search(ctx, "search", c.Name, req)
	if err != nil {
		return chat.Table{}, err
	}
	results := reply.Results
	more := len(results) > s.Limit
	if more {
		results = results[:s.Limit]
	}
	t, err := table(c.Name, cols, results)
	if err != nil {
		return chat.Table{}, w.translate(ctx, ctx, "search", c.Name, err)
	}
	t.Columns = append(t.Columns, chat.Column{Name: scoreCol, Type: chat.TypeNumber})
	for i, r := range results {
		t.Rows[i] = append(t.Rows[i], score(r.GetMetadata(), s.Mode))
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

// hybridAlpha weighs the vector search against BM25 in a hybrid search,
// as Weaviate's other APIs do by default.
const hybridAlpha = 0.75

// score is the result's score (keyword, hybrid) or distance (semantic),
// nil when Weaviate sent none. They travel as float32; the conversion to
// float64 is exact.
func score(m *pb.MetadataResult, mode chat.SearchMode) any {
	if mode == chat.SearchSemantic {
		if m.GetDistancePresent() {
			return float64(m.GetDistance())
		}
		return nil
	}
	if m.GetScorePresent() {
		return float64(m.GetScore())
	}
	return nil
}

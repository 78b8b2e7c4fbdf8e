package chat_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/datachat/datachat/shared/chat"
)

func searchSchema() chat.Schema {
	return chat.Schema{Collections: []chat.Collection{
		{Name: "Notes", Fields: []chat.Field{{Name: "title", Type: chat.TypeText}, {Name: "body", Type: chat.TypeText}, {Name: "stars", Type: chat.TypeInt}}},
		{Name: "Docs", Vectorizer: true, Fields: []chat.Field{{Name: "body", Type: chat.TypeText}}},
		{Name: "Points", Fields: []chat.Field{{Name: "x", Type: chat.TypeNumber}}},
		{Name: "Embedded", Vectorizer: true, Fields: []chat.Field{{Name: "x", Type: chat.TypeNumber}}},
	}}
}

func TestCheckSearchNormalises(t *testing.T) {
	s := searchSchema()
	for _, tc := range []struct {
		name string
		in   chat.Search
		want chat.Search
	}{
		{"auto without vectorizer is keyword", chat.Search{Collection: "Notes", Text: " fox "},
			chat.Search{Collection: "Notes", Text: "fox", Mode: chat.SearchKeyword, Filters: []chat.Filter{}, Limit: 50}},
		{"auto with vectorizer is hybrid", chat.Search{Collection: "Docs", Text: "fox"},
			chat.Search{Collection: "Docs", Text: "fox", Mode: chat.SearchHybrid, Filters: []chat.Filter{}, Limit: 50}},
		{"auto on vectors alone is hybrid", chat.Search{Collection: "Embedded", Text: "fox", Limit: 3},
			chat.Search{Collection: "Embedded", Text: "fox", Mode: chat.SearchHybrid, Filters: []chat.Filter{}, Limit: 3}},
		{"semantic with vectorizer", chat.Search{Collection: "Docs", Text: "fox", Mode: chat.SearchSemantic, Limit: 51},
			chat.Search{Collection: "Docs", Text: "fox", Mode: chat.SearchSemantic, Filters: []chat.Filter{}, Limit: 50}},
		{"filter values take the field's type", chat.Search{Collection: "Notes", Text: "fox", In: []string{"title"}, Fields: []string{"stars"},
			Filters: []chat.Filter{{Field: "stars", Op: chat.OpGte, Value: 3.0}}},
			chat.Search{Collection: "Notes", Text: "fox", Mode: chat.SearchKeyword, In: []string{"title"}, Fields: []string{"stars"},
				Filters: []chat.Filter{{Field: "stars", Op: chat.OpGte, Value: int64(3)}}, Limit: 50}},
	} {
		got, err := s.CheckSearch(tc.in, 50)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if got.Collection != tc.want.Collection || got.Text != tc.want.Text || got.Mode != tc.want.Mode || got.Limit != tc.want.Limit ||
			!slices.Equal(got.In, tc.want.In) || !slices.Equal(got.Fields, tc.want.Fields) || !slices.EqualFunc(got.Filters, tc.want.Filters, func(a, b chat.Filter) bool { return a == b }) {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestCheckSearchRefusals(t *testing.T) {
	s := searchSchema()
	for _, tc := range []struct {
		name string
		in   chat.Search
		says string
	}{
		{"unknown collection", chat.Search{Collection: "Nope", Text: "x"}, "available collections: Notes, Docs, Points, Embedded"},
		{"empty text", chat.Search{Collection: "Notes", Text: " \t"}, "empty"},
		{"long text", chat.Search{Collection: "Notes", Text: strings.Repeat("x", chat.MaxSearchText+1)}, "keep it under 1000"},
		{"unknown in field", chat.Search{Collection: "Notes", Text: "x", In: []string{"titel"}}, "its fields are: title, body, stars"},
		{"number in field", chat.Search{Collection: "Notes", Text: "x", In: []string{"stars"}}, "it is int, not text; text fields: title, body"},
		{"no text fields at all", chat.Search{Collection: "Points", Text: "x", In: []string{"x"}}, "Points has no text fields"},
		{"unknown return field", chat.Search{Collection: "Notes", Text: "x", Fields: []string{"author"}}, "its fields are"},
		{"bad filter value", chat.Search{Collection: "Notes", Text: "x", Filters: []chat.Filter{{Field: "stars", Op: chat.OpEq, Value: "3"}}}, "does not fit"},
		{"negative limit", chat.Search{Collection: "Notes", Text: "x", Limit: -1}, "limit must be positive"},
		{"unknown mode", chat.Search{Collection: "Notes", Text: "x", Mode: "fuzzy"}, "keyword, hybrid or semantic"},
		{"semantic without vectorizer", chat.Search{Collection: "Notes", Text: "x", Mode: chat.SearchSemantic}, "no vectorizer); it can do: keyword"},
		{"hybrid without vectorizer", chat.Search{Collection: "Notes", Text: "x", Mode: chat.SearchHybrid}, "it can do: keyword"},
		{"keyword without text fields", chat.Search{Collection: "Embedded", Text: "x", Mode: chat.SearchKeyword}, "no text fields); it can do: hybrid, semantic"},
		{"nothing to search", chat.Search{Collection: "Points", Text: "x"}, "use query with filters"},
	} {
		_, err := s.CheckSearch(tc.in, 50)
		if chat.ErrorCode(err) != chat.CodeInvalid || !strings.Contains(chat.ErrorMessage(err), tc.says) {
			t.Errorf("%s: got %v, want invalid saying %q", tc.name, err, tc.says)
		}
	}
}

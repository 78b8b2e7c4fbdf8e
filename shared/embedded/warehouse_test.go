package embedded_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/datachat/datachat/shared/chat"
	"github.com/datachat/datachat/shared/chat/chattest"
	"github.com/datachat/datachat/shared/embedded"
	"github.com/datachat/datachat/shared/sample"
)

func newSampleWarehouse(t testing.TB, rowCap int) (*embedded.Warehouse, map[string][]chattest.Row) {
	t.Helper()
	ds, err := sample.Load()
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string][]chattest.Row{}
	var sets []embedded.Dataset
	for _, d := range ds {
		chattest.SampleRows(d.Collection.Name, d.Collection.FieldNames(), d.Rows, rows)
		sets = append(sets, embedded.Dataset{Collection: d.Collection, Rows: d.Rows, IDs: d.IDs})
	}
	w, err := embedded.NewWarehouse(sets, rowCap)
	if err != nil {
		t.Fatal(err)
	}
	return w, rows
}

func TestWarehouseContract(t *testing.T) {
	w, rows := newSampleWarehouse(t, 500)
	chattest.TestWarehouse(t, w, rows, 500)
}

func TestSearcherContract(t *testing.T) {
	w, rows := newSampleWarehouse(t, 500)
	chattest.TestSearcher(t, w, rows, 500)
}

func TestLike(t *testing.T) {
	cases := []struct {
		pattern, s string
		want       bool
	}{
		{"A*", "AAPL", true}, {"*PL", "AAPL", true}, {"A?PL", "AAPL", true}, {"A?PL", "APL", false},
		{"*", "", true}, {"a/b*", "a/b/c", true}, {"[x]", "[x]", true}, {`\`, `\`, true}, {"*A*A*", "AAPL", true}, {"IBM", "ibm", false},
	}
	for _, c := range cases {
		if got := embedded.Like(c.pattern, c.s); got != c.want {
			t.Errorf("like(%q, %q) = %v, want %v", c.pattern, c.s, got, c.want)
		}
	}
}

func notes(t *testing.T, vectorizer bool) *embedded.Warehouse {
	t.Helper()
	c := chat.Collection{Name: "Notes", Vectorizer: vectorizer, Fields: []chat.Field{
		{Name: "title", Type: chat.TypeText}, {Name: "tag", Type: chat.TypeText}, {Name: "stars", Type: chat.TypeInt},
	}}
	rows := [][]any{
		{"The quick brown fox", "animals", int64(5)},
		{"A lazy dog", "animals", int64(3)},
		{"Quick notes", nil, int64(4)},
		{"Fox-hunting, banned", "law", int64(1)},
		{"Nothing here", "quick", int64(2)},
	}
	w, err := embedded.NewWarehouse([]embedded.Dataset{{Collection: c, Rows: rows, IDs: []string{"a", "b", "c", "d", "e"}}}, 3)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// TestSearchScore pins down the documented score: distinct words of the
// text found among the words of the searched fields, case-insensitively,
// best first and ties in dataset order.
func TestSearchScore(t *testing.T) {
	w := notes(t, false)
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		s      chat.Search
		titles []string
		scores []float64
		total  int
	}{
		{"every text field", chat.Search{Collection: "Notes", Text: "QUICK fox quick"},
			[]string{"The quick brown fox", "Quick notes", "Fox-hunting, banned"}, []float64{2, 1, 1}, 4},
		{"one field", chat.Search{Collection: "Notes", Text: "quick fox", In: []string{"title"}},
			[]string{"The quick brown fox", "Quick notes", "Fox-hunting, banned"}, []float64{2, 1, 1}, 3},
		{"punctuation splits words", chat.Search{Collection: "Notes", Text: "hunting!"},
			[]string{"Fox-hunting, banned"}, []float64{1}, 1},
		{"filters first", chat.Search{Collection: "Notes", Text: "quick fox", Filters: []chat.Filter{{Field: "stars", Op: chat.OpLt, Value: 5.0}}},
			[]string{"Quick notes", "Fox-hunting, banned", "Nothing here"}, []float64{1, 1, 1}, 3},
		{"limit keeps the best", chat.Search{Collection: "Notes", Text: "animals quick", Limit: 1},
			[]string{"The quick brown fox"}, []float64{2}, 4},
		{"no words", chat.Search{Collection: "Notes", Text: "?!"}, nil, nil, 0},
	} {
		tbl, err := w.Search(ctx, tc.s)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		var titles []string
		var scores []float64
		for _, r := range tbl.Rows {
			titles = append(titles, r[0].(string))
			scores = append(scores, r[len(r)-1].(float64))
		}
		if !slices.Equal(titles, tc.titles) || !slices.Equal(scores, tc.scores) || tbl.TotalRows != tc.total || tbl.Truncated != (tc.total > len(tc.titles)) {
			t.Errorf("%s: got %q scored %v (total %d, truncated %v), want %q scored %v (total %d)",
				tc.name, titles, scores, tbl.TotalRows, tbl.Truncated, tc.titles, tc.scores, tc.total)
		}
	}
}

func TestSearchSample(t *testing.T) {
	w, rows := newSampleWarehouse(t, 500)
	ctx := context.Background()
	// Words are compared case-insensitively, and the month "2008-10" holds
	// the words 2008 and 10, so a year finds its months.
	for _, tc := range []struct {
		s    chat.Search
		keep func(chattest.Row) bool
	}{
		{chat.Search{Collection: "Stocks", Text: "msft"}, func(r chattest.Row) bool { return r["symbol"] == "MSFT" }},
		{chat.Search{Collection: "SP500", Text: "2008", In: []string{"month"}}, func(r chattest.Row) bool { return r["year"] == int64(2008) }},
	} {
		tbl, err := w.Search(ctx, tc.s)
		if err != nil {
			t.Fatal(err)
		}
		want := 0
		for _, r := range rows[tc.s.Collection] {
			if tc.keep(r) {
				want++
			}
		}
		if tbl.TotalRows != want || len(tbl.Rows) != min(want, 500) {
			t.Errorf("search %q in %s: %d rows of %d, want %d", tc.s.Text, tc.s.Collection, len(tbl.Rows), tbl.TotalRows, want)
		}
	}
}

// TestSearchNoVectors: a dataset that declares a vectorizer is served
// without one, and the schema says so rather than promising semantic search.
func TestSearchNoVectors(t *testing.T) {
	w := notes(t, true)
	ctx := context.Background()
	s, err := w.Schema(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := s.Collection("Notes"); c.Vectorizer {
		t.Error("schema reports a vectorizer the embedded warehouse does not have")
	}
	for _, m := range []chat.SearchMode{chat.SearchHybrid, chat.SearchSemantic} {
		_, err := w.Search(ctx, chat.Search{Collection: "Notes", Text: "fox", Mode: m})
		if chat.ErrorCode(err) != chat.CodeInvalid || !strings.Contains(chat.ErrorMessage(err), "it can do: keyword") {
			t.Errorf("%s search: got %v, want invalid naming keyword", m, err)
		}
	}
	tbl, err := w.Search(ctx, chat.Search{Collection: "Notes", Text: "fox"})
	if err != nil || len(tbl.Rows) != 2 {
		t.Errorf("auto search: %v rows, %v; want the two fox notes by keyword", len(tbl.Rows), err)
	}
}

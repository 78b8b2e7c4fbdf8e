package chattest

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/datachat/datachat/shared/chat"
)

// TestSearcher runs the Searcher contract against s, which must hold the
// sample collections (see TestWarehouse) without a vectorizer. It checks
// keyword search only, the one mode every implementation serves; how
// results are scored is each store's own, so the cases search a field
// whose values are single words, where any keyword ranking finds the
// same rows.
func TestSearcher(t *testing.T, s chat.Searcher, rows map[string][]Row, rowCap int) {
	ctx := context.Background()
	num := func(v any) float64 { f, _ := chat.AsFloat(v); return f }
	count := func(keep func(Row) bool) int {
		n := 0
		for _, r := range rows["Stocks"] {
			if keep(r) {
				n++
			}
		}
		return n
	}
	msft := count(func(r Row) bool { return r["symbol"] == "MSFT" })
	if msft <= 5 {
		t.Fatalf("the sample has %d MSFT rows; the cases below need more than 5", msft)
	}

	// checkRanked checks the shape every search result has: the selected
	// columns then a number score column, one source per row, scores best
	// first, and every row a MSFT one.
	checkRanked := func(t *testing.T, tbl chat.Table, fields []string) {
		t.Helper()
		want := append(slices.Clone(fields), chat.ColumnScore)
		if got := names(tbl.Columns); !slices.Equal(got, want) {
			t.Fatalf("columns = %v, want %v", got, want)
		}
		if last := tbl.Columns[len(tbl.Columns)-1]; last.Type != chat.TypeNumber {
			t.Errorf("%s column has type %s, want number", chat.ColumnScore, last.Type)
		}
		if len(tbl.Sources) != len(tbl.Rows) {
			t.Errorf("%d sources for %d rows, want one per row", len(tbl.Sources), len(tbl.Rows))
		}
		for i, r := range tbl.Rows {
			if r[0] != "MSFT" {
				t.Errorf("row %d = %v, want MSFT only", i, r)
			}
			score, ok := r[len(r)-1].(float64)
			if !ok || score <= 0 {
				t.Errorf("row %d score = %v, want a positive number", i, r[len(r)-1])
			}
			if i > 0 && score > num(tbl.Rows[i-1][len(r)-1]) {
				t.Errorf("row %d scores %v, more than row %d: want best first", i, score, i-1)
			}
			if i < len(tbl.Sources) && (tbl.Sources[i].Collection != "Stocks" || tbl.Sources[i].ID == "") {
				t.Errorf("row %d source = %+v, want a Stocks object", i, tbl.Sources[i])
			}
		}
	}

	t.Run("KeywordInField", func(t *testing.T) {
		tbl, err := s.Search(ctx, chat.Search{Collection: "Stocks", Text: "MSFT", Mode: chat.SearchKeyword,
			In: []string{"symbol"}, Fields: []string{"symbol", "date"}, Limit: 5})
		if err != nil {
			t.Fatal(err)
		}
		checkRanked(t, tbl, []string{"symbol", "date"})
		// A store that cannot count its matches reports one more than
		// the rows it returned; one that can reports them all.
		if len(tbl.Rows) != 5 || !tbl.Truncated || tbl.TotalRows <= 5 || tbl.TotalRows > msft {
			t.Fatalf("got %d rows (total %d, truncated %v), want 5 of more than 5 and at most %d", len(tbl.Rows), tbl.TotalRows, tbl.Truncated, msft)
		}
	})

	t.Run("AutoEveryTextFieldWholeList", func(t *testing.T) {
		// No mode on a collection without a vectorizer is keyword; no In
		// searches every text field (symbol and month, which holds no
		// word MSFT). Asking for more than the cap is capped, not refused.
		tbl, err := s.Search(ctx, chat.Search{Collection: "Stocks", Text: "MSFT", Fields: []string{"symbol"}, Limit: rowCap + 1})
		if err != nil {
			t.Fatal(err)
		}
		checkRanked(t, tbl, []string{"symbol"})
		want := min(msft, rowCap)
		if len(tbl.Rows) != want || tbl.Truncated != (msft > rowCap) {
			t.Fatalf("got %d rows (truncated %v), want %d of %d", len(tbl.Rows), tbl.Truncated, want, msft)
		}
		if msft <= rowCap && tbl.TotalRows != msft {
			t.Fatalf("total_rows = %d, want all %d matches when they fit", tbl.TotalRows, msft)
		}
	})

	t.Run("Filters", func(t *testing.T) {
		tbl, err := s.Search(ctx, chat.Search{Collection: "Stocks", Text: "MSFT", In: []string{"symbol"},
			Fields:  []string{"symbol", "year"},
			Filters: []chat.Filter{{Field: "year", Op: chat.OpEq, Value: 2005.0}}})
		if err != nil {
			t.Fatal(err)
		}
		checkRanked(t, tbl, []string{"symbol", "year"})
		want := count(func(r Row) bool { return r["symbol"] == "MSFT" && num(r["year"]) == 2005 })
		if len(tbl.Rows) != want || tbl.TotalRows != want || tbl.Truncated {
			t.Fatalf("MSFT in 2005: got %d rows (total %d, truncated %v), want %d", len(tbl.Rows), tbl.TotalRows, tbl.Truncated, want)
		}
		for i, r := range tbl.Rows {
			if num(r[1]) != 2005 {
				t.Errorf("row %d = %v, want year 2005", i, r)
			}
		}
	})

	t.Run("NoMatch", func(t *testing.T) {
		// Nothing to find is an empty table, not an error, whatever
		// characters the text holds.
		tbl, err := s.Search(ctx, chat.Search{Collection: "Stocks", Text: `nothing" } like this`})
		if err != nil {
			t.Fatal(err)
		}
		if len(tbl.Rows) != 0 || tbl.TotalRows != 0 || tbl.Truncated {
			t.Fatalf("got %v (total %d, truncated %v), want an empty table", tbl.Rows, tbl.TotalRows, tbl.Truncated)
		}
	})

	t.Run("Refusals", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			s    chat.Search
			says string // part of the message: the valid choices
		}{
			{"unknown collection", chat.Search{Collection: "Nope", Text: "x"}, "Stocks"},
			{"unknown field to search", chat.Search{Collection: "Stocks", Text: "x", In: []string{"ticker"}}, "symbol"},
			{"number field to search", chat.Search{Collection: "Stocks", Text: "x", In: []string{"price"}}, "symbol"},
			{"unknown field to return", chat.Search{Collection: "Stocks", Text: "x", Fields: []string{"close"}}, "symbol"},
			{"filter value of the wrong type", chat.Search{Collection: "Stocks", Text: "x", Filters: []chat.Filter{{Field: "year", Op: chat.OpEq, Value: "2005"}}}, "year"},
			{"semantic without a vectorizer", chat.Search{Collection: "Stocks", Text: "x", Mode: chat.SearchSemantic}, "keyword"},
			{"hybrid without a vectorizer", chat.Search{Collection: "Stocks", Text: "x", Mode: chat.SearchHybrid}, "keyword"},
			{"unknown mode", chat.Search{Collection: "Stocks", Text: "x", Mode: "fuzzy"}, "keyword"},
			{"empty text", chat.Search{Collection: "Stocks", Text: "  "}, "empty"},
		} {
			_, err := s.Search(ctx, tc.s)
			if chat.ErrorCode(err) != chat.CodeInvalid || !strings.Contains(chat.ErrorMessage(err), tc.says) {
				t.Errorf("%s: got %v, want invalid saying %q", tc.name, err, tc.says)
			}
		}
	})
}

package dynamo

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/datachat/datachat/shared/chat"
)

func TestFitTurn(t *testing.T) {
	const budget = 300 << 10
	rows := func(n int) *chat.Table {
		tbl := &chat.Table{Columns: []chat.Column{{Name: "v", Type: chat.TypeText}}, TotalRows: n}
		for range n {
			tbl.Rows = append(tbl.Rows, []any{strings.Repeat("r", 100)})
		}
		return tbl
	}
	wide := &chat.Table{Rows: [][]any{{"x"}}}
	for range 5000 {
		wide.Columns = append(wide.Columns, chat.Column{Name: strings.Repeat("c", 100), Type: chat.TypeText})
	}
	for _, tc := range []struct {
		name       string
		turn       chat.Turn
		wantCapped bool
		check      func(t *testing.T, got chat.Turn)
	}{
		{"small turn is kept whole", chat.Turn{Question: "q", Answer: "a", Table: rows(10)}, false, func(t *testing.T, got chat.Turn) {
			if len(got.Table.Rows) != 10 || got.Table.Truncated {
				t.Errorf("table changed: %d rows, truncated %v", len(got.Table.Rows), got.Table.Truncated)
			}
		}},
		{"a long message is cut, the table kept", chat.Turn{Table: rows(10), Messages: []chat.Message{{Role: chat.RoleTool, Content: strings.Repeat("m", 1<<20)}}}, true, func(t *testing.T, got chat.Turn) {
			if c := got.Messages[0].Content; len(c) > messageCap || !strings.HasSuffix(c, "of 1048576 bytes kept]") {
				t.Errorf("message of %d bytes ends %q", len(c), c[len(c)-40:])
			}
			if len(got.Table.Rows) != 10 {
				t.Errorf("table lost rows: %d", len(got.Table.Rows))
			}
		}},
		{"a big table keeps its first rows", chat.Turn{Table: rows(10_000)}, true, func(t *testing.T, got chat.Turn) {
			n := len(got.Table.Rows)
			b, _ := json.Marshal(got)
			// One more row (105 bytes with its comma) would not fit.
			if !got.Table.Truncated || got.Table.TotalRows != 10_000 || n == 0 || len(b)+105 <= budget-markerRoom {
				t.Errorf("kept %d rows in %d bytes (truncated %v, total %d); want as many as fit", n, len(b), got.Table.Truncated, got.Table.TotalRows)
			}
		}},
		{"huge text drops the messages and cuts question and answer", chat.Turn{Question: strings.Repeat("q", 1<<20), Answer: strings.Repeat("é", 1<<20),
			Messages: []chat.Message{{Role: chat.RoleAssistant, Content: "x"}}}, true, func(t *testing.T, got chat.Turn) {
			if got.Messages != nil || len(got.Question) > textCap || len(got.Answer) > textCap || !strings.Contains(got.Answer, "cut for storage") {
				t.Errorf("messages %d, question %d bytes, answer %d bytes", len(got.Messages), len(got.Question), len(got.Answer))
			}
			if !json.Valid([]byte(`"` + got.Answer[:10] + `"`)) {
				t.Error("answer was cut inside a rune")
			}
		}},
		{"a table too wide for any row is dropped with a note", chat.Turn{Answer: "a", Table: wide}, true, func(t *testing.T, got chat.Turn) {
			if got.Table != nil || !strings.Contains(got.Answer, "too large to store") {
				t.Errorf("table kept or not noted: %v, %q", got.Table != nil, got.Answer)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, capped, err := fitTurn(tc.turn, budget)
			if err != nil {
				t.Fatal(err)
			}
			if capped != tc.wantCapped {
				t.Errorf("capped = %v, want %v", capped, tc.wantCapped)
			}
			b, _ := json.Marshal(got)
			if len(b) > budget {
				t.Fatalf("fitted turn is %d bytes, budget %d", len(b), budget)
			}
			tc.check(t, got)
		})
	}
}

func TestEscapeKeepsIDsApart(t *testing.T) {
	ids := []string{"a", "a#", "a%23", "a%", "%", "#", "%25", "%2523", "a#CONV#b", "a%23CONV%23b", "USER#a"}
	seen := map[string]string{}
	for _, id := range ids {
		e := escape(id)
		if strings.Contains(e, "#") {
			t.Errorf("escape(%q) = %q holds the separator", id, e)
		}
		if prev, ok := seen[e]; ok {
			t.Errorf("escape(%q) = escape(%q) = %q", id, prev, e)
		}
		seen[e] = id
	}
	if a, b := (convKey{"alice", "x#CONV#y"}).pk(), (convKey{"alice#CONV#x", "y"}).pk(); a == b {
		t.Errorf("two conversations share key %q", a)
	}
}

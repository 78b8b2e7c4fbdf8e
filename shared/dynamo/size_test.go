package dynamo_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/datachat/datachat/shared/chat"
	"github.com/datachat/datachat/shared/dynamo"
)

// bigTurn is a turn whose tools returned several MB: a table of 100,000
// rows, a chart of 50,000 points and a 3 MB tool message.
func bigTurn(user, conv string) chat.Turn {
	const rows, points = 100_000, 50_000
	tbl := &chat.Table{
		Columns: []chat.Column{{Name: "date", Type: chat.TypeDate}, {Name: "name", Type: chat.TypeText},
			{Name: "close", Type: chat.TypeNumber}, {Name: "volume", Type: chat.TypeInt}, {Name: "up", Type: chat.TypeBoolean}},
		TotalRows: rows,
	}
	for i := range rows {
		tbl.Rows = append(tbl.Rows, []any{fmt.Sprintf("2008-%02d-%02d", i%12+1, i%28+1), "Société Générale", 123.45 + float64(i), int64(1_000_000 + i), i%2 == 0})
	}
	ch := &chat.Chart{Schema: chat.VegaLiteSchema, Title: "close", Mark: chat.ChartMark{Type: "line"},
		Encoding: chat.ChartEncoding{X: chat.ChartChannel{Field: "date", Type: "temporal"}, Y: chat.ChartChannel{Field: "close", Type: "quantitative"}}}
	for i := range points {
		ch.Data.Values = append(ch.Data.Values, map[string]any{"date": fmt.Sprintf("2008-01-%05d", i), "close": float64(i)})
	}
	huge := strings.Repeat(`{"row":"Société Générale 2008"},`, 100_000) // 3.2 MB
	return chat.Turn{
		UserID: user, ConversationID: conv, Question: "show me everything", Answer: "here it is",
		Table: tbl, Chart: ch, FinishReason: chat.FinishStop,
		Messages: []chat.Message{
			{Role: chat.RoleAssistant, ToolCalls: []chat.ToolCall{{ID: "c1", Name: "query", Arguments: `{"collection":"Stocks"}`}}},
			{Role: chat.RoleTool, ToolCallID: "c1", Content: huge},
			{Role: chat.RoleAssistant, Content: "here it is"},
		},
	}
}

func TestSeveralMegabyteToolResult(t *testing.T) {
	t.Parallel()
	f := newFixture(t, dynamo.Options{})
	mustAppend(t, f.store, turn("u", "big", "before"))
	got := mustAppend(t, f.store, bigTurn("u", "big"))
	if got.Seq != 2 || !got.Table.Truncated || len(got.Table.Rows) >= 100_000 {
		t.Fatalf("Append returned seq %d with %d rows; want seq 2 and the turn as stored, cut down", got.Seq, len(got.Table.Rows))
	}
	mustAppend(t, f.store, turn("u", "big", "after"))

	largest := 0
	for _, it := range f.scan(t) {
		n := dynamo.ItemSize(it)
		if n > 400*1024 {
			t.Errorf("item %s/%s is %d bytes, over 400 KB", str(it, "pk"), str(it, "sk"), n)
		}
		largest = max(largest, n)
	}
	t.Logf("largest item written: %d bytes (limit %d)", largest, 400*1024)

	h, err := f.store.History(ctx, "u", "big", 10)
	if err != nil || len(h) != 3 {
		t.Fatalf("History: %d turns, %v; want 3", len(h), err)
	}
	stored := h[1]
	if len(stored.Table.Rows) != len(got.Table.Rows) || stored.Answer != got.Answer {
		t.Fatalf("Append returned %d rows, a read gives %d: the answer must be the turn as stored", len(got.Table.Rows), len(stored.Table.Rows))
	}
	if stored.Table == nil || !stored.Table.Truncated || stored.Table.TotalRows != 100_000 || len(stored.Table.Rows) == 0 || len(stored.Table.Rows) >= 100_000 {
		t.Fatalf("stored table: truncated %v, total %d, %d rows; want truncated with total 100000 and some rows",
			stored.Table != nil && stored.Table.Truncated, stored.Table.TotalRows, len(stored.Table.Rows))
	}
	if r := stored.Table.Rows[0]; r[1] != "Société Générale" {
		t.Fatalf("first stored row %v", r)
	}
	if stored.Chart == nil || !strings.Contains(stored.Chart.Description, "of its 50000 points") {
		t.Fatalf("stored chart is not marked as cut: %+v", stored.Chart)
	}
	if len(stored.Messages) != 3 || !strings.Contains(stored.Messages[1].Content, "cut for storage") || len(stored.Messages[1].Content) > 20<<10 {
		t.Fatalf("stored tool message: %d bytes, marked %v", len(stored.Messages[1].Content), strings.Contains(stored.Messages[1].Content, "cut for storage"))
	}
	t.Logf("stored %d of 100000 rows and %d of 50000 points", len(stored.Table.Rows), len(stored.Chart.Data.Values))
	if h[2].Question != "after" || h[2].Seq != 3 {
		t.Fatalf("the turn after the big one: %+v", h[2])
	}
}

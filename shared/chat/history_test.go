package chat_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/datachat/datachat/shared/chat"
)

// TestHistoryKeepsLastTurnWhenTooLarge: a last turn with several queries
// and a chart (well over the budget) used to leave "Do the same for MSFT"
// with no history at all; its question, answer and table summary stay.
func TestHistoryKeepsLastTurnWhenTooLarge(t *testing.T) {
	table := &chat.Table{
		Columns: []chat.Column{{Name: "month", Type: chat.TypeText}, {Name: "mean_price", Type: chat.TypeNumber}},
		Rows:    [][]any{{"2008-01", 135.36}, {"2008-02", 125.02}}, TotalRows: 2,
		Sources: []chat.Source{{Collection: "Stocks", ID: "x"}},
	}
	var msgs []chat.Message
	for i := range 6 {
		id := fmt.Sprint("c", i)
		msgs = append(msgs,
			chat.Message{Role: chat.RoleAssistant, ToolCalls: []chat.ToolCall{call(id, "query", queryA)}},
			chat.Message{Role: chat.RoleTool, ToolCallID: id, Content: strings.Repeat(`["2008-01-02",1447.160034,3452650000],`, 30)})
	}
	msgs = append(msgs, chat.Message{Role: chat.RoleAssistant, Content: "AAPL averaged 135.36 in January 2008."})
	older := chat.Turn{Seq: 1, Question: "first question", Answer: "first answer"}
	last := chat.Turn{Seq: 2, Question: "Monthly average price of AAPL in 2008", Answer: "AAPL averaged 135.36 in January 2008.", Table: table, Messages: msgs}
	if n := chat.EstimateMessages(append([]chat.Message{{Role: chat.RoleUser, Content: last.Question}}, msgs...)); n <= 3000 {
		t.Fatalf("the last turn is estimated at %d tokens; the test needs it over the 3000 budget", n)
	}
	got := chat.HistoryMessages([]chat.Turn{older, last}, 3000)
	if len(got) != 2 || got[0].Role != chat.RoleUser || got[0].Content != last.Question || got[1].Role != chat.RoleAssistant {
		t.Fatalf("history = %+v, want the last question and its answer", got)
	}
	if !strings.Contains(got[1].Content, last.Answer) || !strings.Contains(got[1].Content, `"mean_price"`) || !strings.Contains(got[1].Content, "135.36") {
		t.Fatalf("answer message %q lacks the answer or its table summary", got[1].Content)
	}
	for _, m := range got {
		if len(m.ToolCalls) > 0 || m.Role == chat.RoleTool {
			t.Fatalf("the digest kept a tool message: %+v", m)
		}
	}
}

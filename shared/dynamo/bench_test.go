package dynamo_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/datachat/datachat/shared/chat"
	"github.com/datachat/datachat/shared/dynamo"
)

// BenchmarkTurn is the store's share of one chat turn: History (the latest
// 10 turns) then Append, on a conversation that grows with b.N. Besides
// ns/op it reports the median turn as p50-ns/turn.
func BenchmarkTurn(b *testing.B) {
	f := newFixture(b, dynamo.Options{Now: time.Now})
	tr := chat.Turn{UserID: "bench", ConversationID: "c", Answer: "The average close was 1,220.04.", FinishReason: chat.FinishStop,
		Table: &chat.Table{Columns: []chat.Column{{Name: "year", Type: chat.TypeInt}, {Name: "mean_close", Type: chat.TypeNumber}},
			Rows: [][]any{{int64(2008), 1220.04}}, TotalRows: 1},
		Messages: []chat.Message{
			{Role: chat.RoleAssistant, ToolCalls: []chat.ToolCall{{ID: "c1", Name: "aggregate", Arguments: `{"collection":"Stocks","metrics":[{"op":"mean","field":"close"}]}`}}},
			{Role: chat.RoleTool, ToolCallID: "c1", Content: `{"table_id":"t1","rows":[[2008,1220.04]]}`},
			{Role: chat.RoleAssistant, Content: "The average close was 1,220.04."},
		}}
	var durations []time.Duration
	next := 0
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		h, err := f.store.History(ctx, "bench", "c", 10)
		if err == nil {
			next = h[len(h)-1].Seq + 1
		} else if chat.ErrorCode(err) != chat.CodeNotFound {
			b.Fatal(err)
		}
		tr.Seq, tr.Question = next, fmt.Sprintf("question %d", i)
		if _, err := f.store.Append(ctx, tr); err != nil {
			b.Fatal(err)
		}
		durations = append(durations, time.Since(start))
	}
	slices.Sort(durations)
	b.ReportMetric(float64(durations[len(durations)/2].Nanoseconds()), "p50-ns/turn")
}

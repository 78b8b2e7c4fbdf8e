package chat_test

import (
	"context"
	"strings"
	"testing"

	"github.com/datachat/datachat/shared/chat"
	"github.com/datachat/datachat/shared/chat/chattest"
	"github.com/datachat/datachat/shared/cite"
	"github.com/datachat/datachat/shared/compute"
)

// A compute call in the same response as the query it reads runs after
// it; its table carries the steps, the answer's numbers are checked, and
// the response's table is cut to the row cap while the turn keeps all.
func TestComputeRunsAfterTheDataCallsOfItsResponse(t *testing.T) {
	const steps = `{"table":"t1","steps":[{"op":"percent_change","column":"price","other":null,"as":null,"group_by":"symbol","window":null,"bucket":null,"agg":null,"date":null,"desc":null,"n":null,"table":null,"key":null}]}`
	m := &chattest.ScriptedModel{Reply: func(_ context.Context, req chat.ModelRequest, n int) (chat.ModelResponse, error) {
		if n == 1 {
			return chattest.Calls(100, call("q", chat.ToolQuery, queryA), call("c", chat.ToolCompute, steps)), nil
		}
		for _, msg := range req.Messages {
			if msg.Role == chat.RoleTool && strings.Contains(msg.Content, `"error"`) {
				t.Fatalf("tool error: %s", msg.Content)
			}
		}
		return chattest.Answer("A rose 40% to 14.00, then fell 14.29%; not 99.", 100), nil
	}}
	l := chat.DefaultLimits()
	l.RowCap = 2
	a, err := chat.NewAgent(m, tinyWarehouse(t), l, chat.WithComputer(compute.New()), chat.WithChecker(cite.New()))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(a.Tools()[len(a.Tools())-1].Parameters), `"percent_change"`) {
		t.Fatalf("compute is not declared: %v", a.Tools())
	}
	res, err := a.Run(context.Background(), nil, "how did A move?")
	if err != nil {
		t.Fatal(err)
	}
	tb := res.Table
	if tb == nil || tb.ID != "t2" || tb.Source.Tool != chat.ToolCompute || tb.Source.Inputs[0].Collection != "Prices" {
		t.Fatalf("table %+v, want the compute result t2 with its source", tb)
	}
	if len(tb.Rows) != 2 || !tb.Truncated || tb.TotalRows != 3 {
		t.Fatalf("response table has %d rows, truncated %v, total %d; want 2 of 3", len(tb.Rows), tb.Truncated, tb.TotalRows)
	}
	if len(res.Citations) != 4 || res.Verified || res.Citations[3].Text != "99" || res.Citations[3].Table != nil {
		t.Fatalf("citations %+v, want 40%%, 14.00 and 14.29%% matched and 99 not", res.Citations)
	}
	for _, c := range res.Citations[:3] {
		if !c.Matched() {
			t.Fatalf("%s is not matched: %+v", c.Text, res.Citations)
		}
	}
	turn := res.Turn("u", "c", "q")
	if turn.Verified || len(turn.Citations) != 4 {
		t.Fatalf("the stored turn lost the citations: %+v", turn)
	}
}

package chat_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/datachat/datachat/shared/chat"
	"github.com/datachat/datachat/shared/chat/chattest"
	"github.com/datachat/datachat/shared/embedded"
)

// tinyWarehouse holds one small collection, enough for the loop's tests.
func tinyWarehouse(t *testing.T) chat.Warehouse {
	t.Helper()
	c := chat.Collection{Name: "Prices", Fields: []chat.Field{
		{Name: "day", Type: chat.TypeDate}, {Name: "symbol", Type: chat.TypeText}, {Name: "price", Type: chat.TypeNumber}, {Name: "year", Type: chat.TypeInt},
	}}
	rows := [][]any{
		{"2008-01-02", "A", 10.0, int64(2008)}, {"2008-06-02", "A", 14.0, int64(2008)},
		{"2009-01-02", "A", 12.0, int64(2009)}, {"2009-01-02", "B", 30.0, int64(2009)},
	}
	w, err := embedded.NewWarehouse([]embedded.Dataset{{Collection: c, Rows: rows, IDs: []string{"1", "2", "3", "4"}}}, 100)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func newAgent(t *testing.T, m chat.Model, mutate func(*chat.Limits)) *chat.Agent {
	t.Helper()
	l := chat.DefaultLimits()
	if mutate != nil {
		mutate(&l)
	}
	a, err := chat.NewAgent(m, tinyWarehouse(t), l)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func call(id, name, args string) chat.ToolCall {
	return chat.ToolCall{ID: id, Name: name, Arguments: args}
}

const queryA = `{"collection":"Prices","fields":null,"filters":[{"field":"symbol","op":"eq","value":"A"}],"sort":[{"field":"day","desc":false}],"limit":null}`

func TestRequestLimitStopsAfterExactlyTen(t *testing.T) {
	m := &chattest.ScriptedModel{Reply: func(_ context.Context, _ chat.ModelRequest, n int) (chat.ModelResponse, error) {
		return chattest.Calls(100, call(fmt.Sprint("c", n), "query", queryA)), nil
	}}
	res, err := newAgent(t, m, nil).Run(context.Background(), nil, "loop forever")
	if err != nil {
		t.Fatal(err)
	}
	if m.Calls() != 10 {
		t.Fatalf("model received %d requests, want exactly 10", m.Calls())
	}
	if res.FinishReason != chat.FinishUsageLimit || res.Limit != chat.LimitModelRequests {
		t.Fatalf("finish = %s/%s, want usage_limit/model_requests", res.FinishReason, res.Limit)
	}
	if res.Usage.ModelRequests != 10 || res.Table == nil || len(res.Table.Rows) != 3 {
		t.Fatalf("usage %+v, table %+v: want 10 requests and the table found so far", res.Usage, res.Table)
	}
	if !strings.Contains(res.Answer, "limit of 10 model requests") {
		t.Fatalf("answer %q does not say which limit was reached", res.Answer)
	}
}

func TestRequestLimitBoundary(t *testing.T) {
	// A model that answers on its Nth request: N = limit succeeds, and the
	// limit is checked before a request, so limit-1 stops one short.
	for _, tc := range []struct {
		limit  int
		finish chat.FinishReason
	}{{3, chat.FinishStop}, {2, chat.FinishUsageLimit}} {
		m := &chattest.ScriptedModel{Reply: func(_ context.Context, _ chat.ModelRequest, n int) (chat.ModelResponse, error) {
			if n == 3 {
				return chattest.Answer("done", 10), nil
			}
			return chattest.Calls(10, call(fmt.Sprint("c", n), "query", queryA)), nil
		}}
		res, err := newAgent(t, m, func(l *chat.Limits) { l.MaxModelRequests = tc.limit }).Run(context.Background(), nil, "q")
		if err != nil {
			t.Fatal(err)
		}
		if res.FinishReason != tc.finish || m.Calls() != min(3, tc.limit) {
			t.Errorf("limit %d: finish %s after %d requests, want %s", tc.limit, res.FinishReason, m.Calls(), tc.finish)
		}
	}
}

func TestTokenLimit(t *testing.T) {
	t.Run("crossed by a response", func(t *testing.T) {
		m := &chattest.ScriptedModel{Reply: func(_ context.Context, _ chat.ModelRequest, n int) (chat.ModelResponse, error) {
			return chattest.Calls(12_000, call(fmt.Sprint("c", n), "query", queryA)), nil
		}}
		res, err := newAgent(t, m, nil).Run(context.Background(), nil, "q")
		if err != nil {
			t.Fatal(err)
		}
		if res.FinishReason != chat.FinishUsageLimit || res.Limit != chat.LimitTotalTokens || m.Calls() != 2 {
			t.Fatalf("finish %s/%s after %d requests, want usage_limit/total_tokens after 2", res.FinishReason, res.Limit, m.Calls())
		}
		for _, msg := range res.Messages {
			if len(msg.ToolCalls) > 0 {
				for _, c := range msg.ToolCalls {
					if !hasResult(res.Messages, c.ID) {
						t.Fatalf("tool call %s kept without its result", c.ID)
					}
				}
			}
		}
	})
	t.Run("at the boundary", func(t *testing.T) {
		// Exactly the limit is allowed; one more token is not.
		for _, tc := range []struct {
			used   int
			finish chat.FinishReason
		}{{20_000, chat.FinishStop}, {20_001, chat.FinishUsageLimit}} {
			m := &chattest.ScriptedModel{Reply: func(context.Context, chat.ModelRequest, int) (chat.ModelResponse, error) {
				return chattest.Answer("answer", tc.used), nil
			}}
			res, err := newAgent(t, m, nil).Run(context.Background(), nil, "q")
			if err != nil {
				t.Fatal(err)
			}
			if res.FinishReason != tc.finish {
				t.Errorf("usage %d: finish %s, want %s", tc.used, res.FinishReason, tc.finish)
			}
		}
	})
	t.Run("estimated before a request", func(t *testing.T) {
		m := &chattest.ScriptedModel{Reply: func(context.Context, chat.ModelRequest, int) (chat.ModelResponse, error) {
			return chattest.Answer("never", 1), nil
		}}
		res, err := newAgent(t, m, func(l *chat.Limits) { l.MaxTotalTokens = 200 }).Run(context.Background(), nil, strings.Repeat("word ", 400))
		if err != nil {
			t.Fatal(err)
		}
		if m.Calls() != 0 || res.Limit != chat.LimitTotalTokens {
			t.Fatalf("a request estimated over the budget was sent (%d calls, limit %q)", m.Calls(), res.Limit)
		}
	})
}

func hasResult(msgs []chat.Message, id string) bool {
	for _, m := range msgs {
		if m.Role == chat.RoleTool && m.ToolCallID == id {
			return true
		}
	}
	return false
}

func TestInvalidToolCallsGoBackToTheModel(t *testing.T) {
	cases := map[string]chat.ToolCall{
		"not json":           call("x", "query", `{"collection":`),
		"unknown tool":       call("x", "drop_table", `{}`),
		"schema violation":   call("x", "query", `{"collection":"Prices"}`),
		"unknown field":      call("x", "query", `{"collection":"Prices","fields":["nope"],"filters":null,"sort":null,"limit":null}`),
		"wrong value type":   call("x", "query", `{"collection":"Prices","fields":null,"filters":[{"field":"year","op":"eq","value":"2008"}],"sort":null,"limit":null}`),
		"unknown collection": call("x", "aggregate", `{"collection":"Nope","metrics":[{"op":"count","field":null}],"group_by":null,"filters":null,"sort":null,"limit":null}`),
		"chart before data":  call("x", "chart", `{"type":"line","x":"day","y":"price","color":null,"table":null,"title":null}`),
		"limit over the cap": call("x", "query", `{"collection":"Prices","fields":null,"filters":null,"sort":null,"limit":501}`),
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			m := &chattest.ScriptedModel{Reply: func(_ context.Context, req chat.ModelRequest, n int) (chat.ModelResponse, error) {
				if n == 1 {
					return chattest.Calls(10, c), nil
				}
				last := req.Messages[len(req.Messages)-1]
				if last.Role != chat.RoleTool || last.ToolCallID != "x" || !strings.Contains(last.Content, `"error"`) {
					return chat.ModelResponse{}, fmt.Errorf("second request should end with the tool error, got %+v", last)
				}
				return chattest.Answer("corrected", 10), nil
			}}
			res, err := newAgent(t, m, nil).Run(context.Background(), nil, "q")
			if err != nil {
				t.Fatal(err)
			}
			if res.Answer != "corrected" || m.Calls() != 2 {
				t.Fatalf("answer %q after %d calls", res.Answer, m.Calls())
			}
		})
	}
}

func TestParallelCallsAndChart(t *testing.T) {
	agg := `{"collection":"Prices","metrics":[{"op":"mean","field":"price"}],"group_by":"symbol","filters":null,"sort":null,"limit":null}`
	chart := `{"type":"line","x":"day","y":"price","color":null,"table":"t1","title":"A"}`
	m := &chattest.ScriptedModel{Reply: func(_ context.Context, req chat.ModelRequest, n int) (chat.ModelResponse, error) {
		switch n {
		case 1:
			return chattest.Calls(10, call("q", "query", queryA), call("a", "aggregate", agg)), nil
		case 2:
			return chattest.Calls(10, call("c", "chart", chart)), nil
		}
		return chattest.Answer("done", 10), nil
	}}
	res, err := newAgent(t, m, nil).Run(context.Background(), nil, "q")
	if err != nil {
		t.Fatal(err)
	}
	second := m.Requests()[1].Messages
	if !hasResult(second, "q") || !hasResult(second, "a") {
		t.Fatal("the results of both parallel calls must be sent back")
	}
	if res.Chart == nil || res.Table == nil || res.Table.ColumnIndex("day") < 0 {
		t.Fatalf("chart %v, table %+v: want the chart of t1 and t1 as the turn's table", res.Chart, res.Table)
	}
	b, _ := json.Marshal(res.Chart)
	for _, want := range []string{`"$schema":"https://vega.github.io/schema/vega-lite/v5.json"`, `"mark":{"type":"line"`, `"x":{"field":"day","type":"temporal"}`, `"values":[{"day":"2008-01-02","price":10}`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("chart lacks %s: %s", want, b)
		}
	}
}

func TestDeadline(t *testing.T) {
	stall := func(ctx context.Context, _ chat.ModelRequest, n int) (chat.ModelResponse, error) {
		if n == 1 {
			return chattest.Calls(10, call("q", "query", queryA)), nil
		}
		<-ctx.Done()
		return chat.ModelResponse{}, chat.Wrap(ctx.Err(), chat.CodeDeadline, "test", "deadline")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	res, err := newAgent(t, &chattest.ScriptedModel{Reply: stall}, nil).Run(ctx, nil, "q")
	if err != nil {
		t.Fatal(err)
	}
	if res.FinishReason != chat.FinishDeadline || res.Table == nil {
		t.Fatalf("finish %s, table %v: want deadline with the table found so far", res.FinishReason, res.Table)
	}

	// Nothing found before the deadline: an error, so nothing is stored.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel2()
	_, err = newAgent(t, &chattest.ScriptedModel{Reply: func(ctx context.Context, _ chat.ModelRequest, _ int) (chat.ModelResponse, error) {
		<-ctx.Done()
		return chat.ModelResponse{}, ctx.Err()
	}}, nil).Run(ctx2, nil, "q")
	if chat.ErrorCode(err) != chat.CodeDeadline {
		t.Fatalf("got %v, want a deadline error", err)
	}
}

func TestHistoryKeepsWholeTurnsWithinBudget(t *testing.T) {
	var history []chat.Turn
	for i := range 50 {
		history = append(history, chat.Turn{Seq: i + 1, Question: fmt.Sprintf("question %d %s", i, strings.Repeat("x", 400)), Messages: []chat.Message{
			{Role: chat.RoleAssistant, ToolCalls: []chat.ToolCall{call(fmt.Sprint("c", i), "query", queryA)}},
			{Role: chat.RoleTool, ToolCallID: fmt.Sprint("c", i), Content: strings.Repeat("r", 800)},
			{Role: chat.RoleAssistant, Content: "answer"},
		}})
	}
	msgs := chat.HistoryMessages(history, 3000)
	if n := chat.EstimateMessages(msgs); n > 3000 || n < 2000 {
		t.Fatalf("history of %d estimated tokens; want close to and within 3000", n)
	}
	if msgs[0].Role != chat.RoleUser {
		t.Fatalf("history starts with %s; want a whole turn starting with the question", msgs[0].Role)
	}
	for _, m := range msgs {
		for _, c := range m.ToolCalls {
			if !hasResult(msgs, c.ID) {
				t.Fatalf("call %s without its result", c.ID)
			}
		}
	}
	if !strings.HasPrefix(msgs[len(msgs)-3-1].Content, "question 49") {
		t.Fatalf("the newest turn must be kept")
	}
}

package chat_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
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
		"not json":            call("x", "query", `{"collection":`),
		"unknown tool":        call("x", "drop_table", `{}`),
		"schema violation":    call("x", "query", `{"collection":"Prices"}`),
		"unknown field":       call("x", "query", `{"collection":"Prices","fields":["nope"],"filters":null,"sort":null,"limit":null}`),
		"wrong value type":    call("x", "query", `{"collection":"Prices","fields":null,"filters":[{"field":"year","op":"eq","value":"2008"}],"sort":null,"limit":null}`),
		"unknown collection":  call("x", "aggregate", `{"collection":"Nope","metrics":[{"op":"count","field":null}],"group_by":null,"filters":null,"sort":null,"limit":null}`),
		"chart before data":   call("x", "chart", `{"type":"line","x":"day","y":"price","color":null,"table":null,"title":null}`),
		"limit over the cap":  call("x", "query", `{"collection":"Prices","fields":null,"filters":null,"sort":null,"limit":501}`),
		"search mode unknown": call("x", "search", `{"collection":"Prices","text":"a","mode":"fuzzy","in":null,"fields":null,"filters":null,"limit":null}`),
		"search in a number":  call("x", "search", `{"collection":"Prices","text":"a","mode":null,"in":["price"],"fields":null,"filters":null,"limit":null}`),
		"search by meaning":   call("x", "search", `{"collection":"Prices","text":"a","mode":"semantic","in":null,"fields":null,"filters":null,"limit":null}`),
		"search without in":   call("x", "search", `{"collection":"Prices","text":"a","mode":null,"fields":null,"filters":null,"limit":null}`),
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
	for _, want := range []string{`"$schema":"https://vega.github.io/schema/vega-lite/v6.json"`, `"mark":{"type":"line"`, `"x":{"field":"day","type":"temporal"}`, `"values":[{"day":"2008-01-02","price":10}`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("chart lacks %s: %s", want, b)
		}
	}
}

func TestDeadline(t *testing.T) {
	// The model reports the deadline the way adapters do (CodeDeadline)
	// rather than the test racing a real timer, which a loaded machine
	// loses: the loop must treat both the same.
	deadline := chat.Wrap(context.DeadlineExceeded, chat.CodeDeadline, "test", "deadline")
	stall := func(_ context.Context, _ chat.ModelRequest, n int) (chat.ModelResponse, error) {
		if n == 1 {
			return chattest.Calls(10, call("q", "query", queryA)), nil
		}
		return chat.ModelResponse{}, deadline
	}
	res, err := newAgent(t, &chattest.ScriptedModel{Reply: stall}, nil).Run(context.Background(), nil, "q")
	if err != nil {
		t.Fatal(err)
	}
	if res.FinishReason != chat.FinishDeadline || res.Table == nil {
		t.Fatalf("finish %s, table %v: want deadline with the table found so far", res.FinishReason, res.Table)
	}

	// Nothing found before the deadline: an error, so nothing is stored.
	_, err = newAgent(t, &chattest.ScriptedModel{Reply: func(context.Context, chat.ModelRequest, int) (chat.ModelResponse, error) {
		return chat.ModelResponse{}, deadline
	}}, nil).Run(context.Background(), nil, "q")
	if chat.ErrorCode(err) != chat.CodeDeadline {
		t.Fatalf("got %v, want a deadline error", err)
	}

	// A context whose deadline has passed stops the loop before a request.
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	m := &chattest.ScriptedModel{Reply: stall}
	if _, err := newAgent(t, m, nil).Run(ctx, nil, "q"); chat.ErrorCode(err) != chat.CodeDeadline && chat.ErrorCode(err) != chat.CodeUnavailable {
		t.Fatalf("got %v, want the turn stopped by its deadline", err)
	}
	if m.Calls() != 0 {
		t.Fatalf("the model got %d requests after the deadline", m.Calls())
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

const searchB = `{"collection":"Prices","text":"b","mode":null,"in":["symbol"],"fields":["day","symbol","price"],"filters":null,"limit":null}`

func toolNames(specs []chat.ToolSpec) []string {
	var names []string
	for _, s := range specs {
		names = append(names, s.Name)
	}
	return names
}

// TestSearchTool: the embedded warehouse is a Searcher, so the model is
// offered search, and its ranked rows become the turn's table.
func TestSearchTool(t *testing.T) {
	chart := `{"type":"bar","x":"day","y":"price","color":null,"table":null,"title":null}`
	m := &chattest.ScriptedModel{Reply: func(_ context.Context, req chat.ModelRequest, n int) (chat.ModelResponse, error) {
		switch n {
		case 1:
			return chattest.Calls(10, call("s", chat.ToolSearch, searchB)), nil
		case 2:
			return chattest.Calls(10, call("c", chat.ToolChart, chart)), nil
		}
		return chattest.Answer("B traded at 30.", 10), nil
	}}
	res, err := newAgent(t, m, nil).Run(context.Background(), nil, "what about b?")
	if err != nil {
		t.Fatal(err)
	}
	first := m.Requests()[0]
	if got := toolNames(first.Tools); !slices.Equal(got, []string{"describe", "query", "aggregate", "chart", "search"}) {
		t.Errorf("tools = %v, want search after the others", got)
	}
	if prompt := first.Messages[0].Content; !strings.Contains(prompt, "Use search to find rows") {
		t.Errorf("system prompt does not mention search:\n%s", prompt)
	}
	result := m.Requests()[1].Messages[3]
	for _, want := range []string{`"table_id":"t1"`, `"collection":"Prices"`, `"total_rows":1`, `"name":"_score"`, `["2009-01-02","B",30,1]`} {
		if result.ToolCallID != "s" || !strings.Contains(result.Content, want) {
			t.Errorf("search result %s lacks %s", result.Content, want)
		}
	}
	if res.Table == nil || len(res.Table.Rows) != 1 || res.Table.ColumnIndex(chat.ColumnScore) != 3 || res.Chart == nil {
		t.Fatalf("table %+v, chart %v: want the one B row with its score, charted", res.Table, res.Chart != nil)
	}
}

// plainWarehouse hides every method but the Warehouse ones, as a store
// without search would be.
type plainWarehouse struct{ chat.Warehouse }

func TestSearchToolOnlyWithASearcher(t *testing.T) {
	m := &chattest.ScriptedModel{Reply: func(_ context.Context, req chat.ModelRequest, n int) (chat.ModelResponse, error) {
		if n == 1 {
			return chattest.Calls(10, call("s", chat.ToolSearch, searchB)), nil
		}
		return chattest.Answer("no search", 10), nil
	}}
	a, err := chat.NewAgent(m, plainWarehouse{tinyWarehouse(t)}, chat.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if got := toolNames(a.Tools()); !slices.Equal(got, []string{"describe", "query", "aggregate", "chart"}) {
		t.Errorf("tools = %v, want no search", got)
	}
	if _, err := a.Run(context.Background(), nil, "q"); err != nil {
		t.Fatal(err)
	}
	first := m.Requests()[0]
	if got := toolNames(first.Tools); slices.Contains(got, chat.ToolSearch) {
		t.Errorf("request declares %v, want no search", got)
	}
	if prompt := first.Messages[0].Content; strings.Contains(prompt, "search") {
		t.Errorf("system prompt mentions search without a Searcher:\n%s", prompt)
	}
	result := m.Requests()[1].Messages[3]
	if !strings.Contains(result.Content, `unknown tool \"search\"; available tools: describe, query, aggregate, chart"`) {
		t.Errorf("a search call without a Searcher got %s, want unknown tool", result.Content)
	}
}

// searchingWarehouse is a Warehouse whose Search the test decides.
type searchingWarehouse struct {
	chat.Warehouse
	search func(context.Context, chat.Search) (chat.Table, error)
}

func (w searchingWarehouse) Search(ctx context.Context, s chat.Search) (chat.Table, error) {
	return w.search(ctx, s)
}

// TestSearchToolSendsTheCheckedSearch: the Searcher gets the search as
// CheckSearch leaves it, and its failures go back to the model.
func TestSearchToolSendsTheCheckedSearch(t *testing.T) {
	var got []chat.Search
	w := searchingWarehouse{Warehouse: tinyWarehouse(t), search: func(_ context.Context, s chat.Search) (chat.Table, error) {
		got = append(got, s) // calls of one response may run at once; there is one per response here
		if len(got) == 2 {
			return chat.Table{}, chat.Errorf(chat.CodeUnavailable, "search backend down")
		}
		return chat.Table{Columns: []chat.Column{{Name: "symbol", Type: chat.TypeText}, {Name: chat.ColumnScore, Type: chat.TypeNumber}}, Rows: [][]any{{"A", 1.0}}, TotalRows: 1}, nil
	}}
	args := `{"collection":"Prices","text":"  a  ","mode":null,"in":null,"fields":["symbol"],"filters":[{"field":"year","op":"gte","value":2009}],"limit":null}`
	m := &chattest.ScriptedModel{Reply: func(_ context.Context, req chat.ModelRequest, n int) (chat.ModelResponse, error) {
		if n <= 2 {
			return chattest.Calls(10, call(fmt.Sprint("s", n), chat.ToolSearch, args)), nil
		}
		return chattest.Answer("done", 10), nil
	}}
	a, err := chat.NewAgent(m, w, chat.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Run(context.Background(), nil, "q"); err != nil {
		t.Fatal(err)
	}
	want := chat.Search{Collection: "Prices", Text: "a", Mode: chat.SearchKeyword, Fields: []string{"symbol"},
		Filters: []chat.Filter{{Field: "year", Op: chat.OpGte, Value: int64(2009)}}, Limit: chat.DefaultLimits().RowCap}
	if len(got) != 2 {
		t.Fatalf("searcher called %d times, want 2", len(got))
	}
	if s := got[0]; s.Collection != want.Collection || s.Text != want.Text || s.Mode != want.Mode || s.Limit != want.Limit ||
		s.In != nil || !slices.Equal(s.Fields, want.Fields) || len(s.Filters) != 1 || s.Filters[0] != want.Filters[0] {
		t.Errorf("searcher got %+v, want %+v", s, want)
	}
	last := m.Requests()[2].Messages
	if r := last[len(last)-1]; r.ToolCallID != "s2" || !strings.Contains(r.Content, "the data store is unavailable right now: search backend down") {
		t.Errorf("failed search reached the model as %s, want the unavailable message", r.Content)
	}
}

// TestToolSchemasAreStrict walks every declared schema: each object lists
// all its properties as required and allows no others, which strict
// function calling demands, so a tool cannot quietly fall out of it.
func TestToolSchemasAreStrict(t *testing.T) {
	var walk func(path string, s any)
	walk = func(path string, s any) {
		m, ok := s.(map[string]any)
		if !ok {
			return
		}
		if props, ok := m["properties"].(map[string]any); ok {
			var keys, required []string
			for k, v := range props {
				keys = append(keys, k)
				walk(path+"."+k, v)
			}
			for _, r := range m["required"].([]any) {
				required = append(required, r.(string))
			}
			slices.Sort(keys)
			if !slices.Equal(keys, required) || m["additionalProperties"] != false {
				t.Errorf("%s: required %v of %v, additionalProperties %v: want all required, none additional", path, required, keys, m["additionalProperties"])
			}
		}
		walk(path+"[]", m["items"])
		if alts, ok := m["anyOf"].([]any); ok {
			for i, alt := range alts {
				walk(fmt.Sprintf("%s|%d", path, i), alt)
			}
		}
	}
	for _, spec := range newAgent(t, &chattest.ScriptedModel{}, nil).Tools() {
		var s any
		if err := json.Unmarshal(spec.Parameters, &s); err != nil {
			t.Fatalf("%s: %v", spec.Name, err)
		}
		walk(spec.Name, s)
	}
}

// panicWarehouse fails in a way no adapter should, to prove the loop
// contains it.
type panicWarehouse struct{ chat.Warehouse }

func (panicWarehouse) Query(context.Context, chat.Query) (chat.Table, error) { panic("adapter bug") }

func TestPanickingToolBecomesToolError(t *testing.T) {
	m := &chattest.ScriptedModel{Reply: func(_ context.Context, req chat.ModelRequest, n int) (chat.ModelResponse, error) {
		if n == 1 {
			return chattest.Calls(10, call("q", "query", queryA)), nil
		}
		if last := req.Messages[len(req.Messages)-1]; !strings.Contains(last.Content, `"error"`) || strings.Contains(last.Content, "adapter bug") {
			return chat.ModelResponse{}, fmt.Errorf("want a tool error without internals, got %q", last.Content)
		}
		return chattest.Answer("recovered", 10), nil
	}}
	a, err := chat.NewAgent(m, panicWarehouse{tinyWarehouse(t)}, chat.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	res, err := a.Run(context.Background(), nil, "q")
	if err != nil || res.Answer != "recovered" {
		t.Fatalf("%+v %v", res, err)
	}
}

func TestCancelledTurnStoresNothing(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	m := &chattest.ScriptedModel{Reply: func(_ context.Context, _ chat.ModelRequest, n int) (chat.ModelResponse, error) {
		cancel() // the client goes away while the model works
		return chattest.Calls(10, call(fmt.Sprint("c", n), "query", queryA)), nil
	}}
	_, err := newAgent(t, m, nil).Run(ctx, nil, "q")
	if err == nil {
		t.Fatal("a cancelled turn produced a result to store")
	}
}

func TestCompletionIsCappedByTheRemainingBudget(t *testing.T) {
	var caps []int
	m := &chattest.ScriptedModel{Reply: func(_ context.Context, req chat.ModelRequest, n int) (chat.ModelResponse, error) {
		caps = append(caps, req.MaxOutputTokens)
		if n == 1 {
			return chattest.Calls(15_000, call("q", "query", queryA)), nil
		}
		return chattest.Answer("done", 10), nil
	}}
	res, err := newAgent(t, m, nil).Run(context.Background(), nil, "q")
	if err != nil {
		t.Fatal(err)
	}
	req := m.Requests()[1]
	est := chat.EstimateMessages(req.Messages)
	if len(caps) != 2 || caps[1] <= 0 || 15_000+est+caps[1] > 20_000 {
		t.Fatalf("caps %v: the second completion may use %d tokens after 15,000 used and ~%d of input; the turn would pass 20,000", caps, caps[1], est)
	}
	if res.FinishReason != chat.FinishStop {
		t.Fatalf("finish %s", res.FinishReason)
	}
}

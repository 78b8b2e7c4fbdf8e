// Package offline is the model used when no OpenAI configuration is given:
// a small deterministic planner that recognises common question shapes by
// pattern matching (symbols, years, date ranges, metric words), emits real
// tool calls through the same agent loop as a hosted model, and writes its
// answer from the tool results. It is not an NLP project; anything it does
// not recognise gets a helpful description of what it can answer.
package offline

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/datachat/datachat/shared/chat"
)

// Model is the offline planner. It holds only compiled patterns, so one
// value serves any number of turns at once.
type Model struct {
	vocab *vocabulary
}

var _ chat.Model = (*Model)(nil)

// New compiles the planner's vocabulary.
func New() *Model { return &Model{vocab: newVocabulary()} }

// Complete implements chat.Model. It reads the latest question (and, for
// follow-ups such as "And in 2009?", the earlier ones), then returns the
// next step of its plan: tool calls, or the final answer once the results
// are in.
func (m *Model) Complete(ctx context.Context, req chat.ModelRequest) (chat.ModelResponse, error) {
	if err := ctx.Err(); err != nil {
		return chat.ModelResponse{}, chat.Wrap(err, chat.CodeDeadline, "offline.Complete", "the turn ran out of time")
	}
	last := -1
	for i, msg := range req.Messages {
		if msg.Role == chat.RoleUser {
			last = i
		}
	}
	if last < 0 {
		return chat.ModelResponse{}, chat.Errorf(chat.CodeModelError, "the request holds no question")
	}
	p := m.understand(req.Messages, last)
	turn := req.Messages[last+1:]
	step := 0
	for _, msg := range turn {
		if msg.Role == chat.RoleAssistant && len(msg.ToolCalls) > 0 {
			step++
		}
	}
	steps := p.steps()
	var out chat.Message
	if step < len(steps) {
		out = chat.Message{Role: chat.RoleAssistant, ToolCalls: steps[step]}
		for i := range out.ToolCalls {
			out.ToolCalls[i].ID = fmt.Sprintf("call_%d_%d", step+1, i+1)
		}
	} else {
		out = chat.Message{Role: chat.RoleAssistant, Content: p.answer(toolResults(turn))}
		streamText(req.OnText, out.Content)
	}
	in := chat.EstimateMessages(req.Messages)
	for _, t := range req.Tools {
		in += chat.EstimateTokens(string(t.Parameters)) + chat.EstimateTokens(t.Description)
	}
	outTokens := chat.EstimateMessages([]chat.Message{out})
	return chat.ModelResponse{Message: out, Usage: chat.Usage{InputTokens: in, OutputTokens: outTokens, TotalTokens: in + outTokens}}, nil
}

// understand parses the latest question; when it is a follow-up that
// names only a period or symbols, it completes the most recent earlier
// question that had a shape with them.
func (m *Model) understand(msgs []chat.Message, last int) plan {
	p := m.vocab.parse(msgs[last].Content)
	if p.shape != shapeNone {
		return p
	}
	for i := last - 1; i >= 0; i-- {
		if msgs[i].Role != chat.RoleUser {
			continue
		}
		prev := m.vocab.parse(msgs[i].Content)
		if prev.shape == shapeNone {
			continue
		}
		if p.period.empty() && len(p.symbols) == 0 {
			break // nothing to carry over: not a follow-up
		}
		if !p.period.empty() {
			prev.period = p.period
		}
		if len(p.symbols) > 0 {
			prev.symbols, prev.coll = p.symbols, "Stocks"
			prev.field = "price"
		}
		return prev
	}
	return p
}

// toolResults decodes the JSON content of the turn's tool messages in order.
func toolResults(turn []chat.Message) []map[string]any {
	var out []map[string]any
	for _, msg := range turn {
		if msg.Role != chat.RoleTool {
			continue
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(msg.Content), &v); err != nil {
			v = map[string]any{"error": "unreadable tool result"}
		}
		out = append(out, v)
	}
	return out
}

// call builds a tool call whose arguments follow the strict schema: every
// property present, null for the unset ones.
func call(name string, args map[string]any) chat.ToolCall {
	b, _ := json.Marshal(args)
	return chat.ToolCall{Name: name, Arguments: string(b)}
}

func (p plan) filters() []map[string]any {
	var fs []map[string]any
	switch {
	case p.coll != "Stocks" || len(p.symbols) == 0:
		// Only the stock prices have symbols.
	case len(p.symbols) == 1:
		fs = append(fs, map[string]any{"field": "symbol", "op": "eq", "value": p.symbols[0]})
	default:
		fs = append(fs, map[string]any{"field": "symbol", "op": "in", "value": p.symbols})
	}
	if p.period.from != "" {
		fs = append(fs, map[string]any{"field": "date", "op": "gte", "value": p.period.from})
	}
	if p.period.to != "" {
		fs = append(fs, map[string]any{"field": "date", "op": "lte", "value": p.period.to})
	}
	return fs
}

func queryCall(coll string, fields []string, filters []map[string]any, sortField string, desc bool, limit any) chat.ToolCall {
	return call(chat.ToolQuery, map[string]any{
		"collection": coll, "fields": fields, "filters": filters,
		"sort": []map[string]any{{"field": sortField, "desc": desc}}, "limit": limit,
	})
}

func aggregateCall(coll string, metrics []map[string]any, groupBy any, filters []map[string]any, sort []map[string]any, limit any) chat.ToolCall {
	return call(chat.ToolAggregate, map[string]any{
		"collection": coll, "metrics": metrics, "group_by": groupBy, "filters": filters, "sort": sort, "limit": limit,
	})
}

// chartCall plots table (a table_id such as "t1"), or the latest table when nil.
func chartCall(kind, x, y string, color, table any, title string) chat.ToolCall {
	return call(chat.ToolChart, map[string]any{"type": kind, "x": x, "y": y, "color": color, "table": table, "title": title})
}

func metric(op chat.MetricOp, field string) map[string]any {
	if op == chat.MetricCount {
		return map[string]any{"op": "count", "field": nil}
	}
	return map[string]any{"op": string(op), "field": field}
}

// seriesDays is the longest range plotted day by day; longer ones are
// plotted as monthly averages, which keeps the table under the row cap
// and the chart readable.
const seriesDays = 400

// steps returns the tool calls of each step of the plan; the answer
// follows the last step.
func (p plan) steps() [][]chat.ToolCall {
	if p.coll == "" && p.shape != shapeNone {
		p.coll = "SP500"
	}
	f := p.filters()
	switch p.shape {
	case shapeMetric:
		metrics := []map[string]any{metric(p.op, p.field), metric(chat.MetricCount, "")}
		if p.op == chat.MetricCount {
			metrics = metrics[1:]
		}
		return [][]chat.ToolCall{{aggregateCall(p.coll, metrics, nil, f, nil, nil)}}
	case shapeExtreme:
		if p.months && p.coll == "SP500" {
			call, _ := p.monthlyRanking(f, 1)
			return [][]chat.ToolCall{{call}}
		}
		return [][]chat.ToolCall{{queryCall(p.coll, p.rowFields(), f, p.field, p.desc, 1)}}
	case shapeTopN:
		if p.months && p.coll == "SP500" {
			call, col := p.monthlyRanking(f, p.n)
			return [][]chat.ToolCall{{call}, {chartCall("bar", "month", col, nil, nil, p.title())}}
		}
		x := "date"
		if p.coll == "Stocks" {
			x = "month"
		}
		return [][]chat.ToolCall{
			{queryCall(p.coll, p.rowFields(), f, p.field, p.desc, p.n)},
			{chartCall("bar", x, p.field, nil, nil, p.title())},
		}
	case shapeSeries:
		if p.coll == "SP500" && p.spanDays() > seriesDays {
			return [][]chat.ToolCall{
				{aggregateCall(p.coll, []map[string]any{metric(chat.MetricMean, p.field)}, "month", f, nil, nil)},
				{chartCall("line", "month", "mean_"+p.field, nil, nil, p.title())},
			}
		}
		color := any(nil)
		if p.coll == "Stocks" && len(p.symbols) != 1 {
			color = "symbol"
		}
		return [][]chat.ToolCall{
			{queryCall(p.coll, p.rowFields(), f, "date", false, nil)},
			{chartCall("line", "date", p.field, color, nil, p.title())},
		}
	case shapeComparison:
		p.coll, p.field = "Stocks", "price"
		f = p.filters()
		return [][]chat.ToolCall{
			{
				queryCall(p.coll, []string{"symbol", "date", "price"}, f, "date", false, nil),
				aggregateCall(p.coll, []map[string]any{metric(chat.MetricMean, "price"), metric(chat.MetricMin, "price"), metric(chat.MetricMax, "price")}, "symbol", f, nil, nil),
			},
			// The query's table is t1: the aggregate came second.
			{chartCall("line", "date", "price", "symbol", "t1", p.title())},
		}
	case shapeGrouping:
		col := string(p.op) + "_" + p.field
		metrics := []map[string]any{metric(p.op, p.field)}
		if p.op == chat.MetricCount {
			col = "count"
		}
		kind := "bar"
		if p.groupBy == "month" {
			kind = "line"
		}
		return [][]chat.ToolCall{
			{aggregateCall(p.coll, metrics, p.groupBy, f, nil, nil)},
			{chartCall(kind, p.groupBy, col, nil, nil, p.title())},
		}
	}
	return [][]chat.ToolCall{{call(chat.ToolDescribe, map[string]any{"collection": nil})}}
}

// monthlyRanking ranks the S&P 500's months by the field (summed for
// volume, averaged otherwise) and returns the call and its value column.
func (p plan) monthlyRanking(filters []map[string]any, limit int) (chat.ToolCall, string) {
	op := aggOp(p.field)
	col := string(op) + "_" + p.field
	return aggregateCall(p.coll, []map[string]any{metric(op, p.field)}, "month", filters, []map[string]any{{"field": col, "desc": p.desc}}, limit), col
}

func (p plan) rowFields() []string {
	if p.coll == "Stocks" {
		return []string{"symbol", "date", "month", "price"}
	}
	if p.field == "close" {
		return []string{"date", "close", "volume"}
	}
	return []string{"date", p.field, "close"}
}

func (p plan) spanDays() int {
	from, to := p.period.from, p.period.to
	if from == "" {
		from = "2000-01-01"
	}
	if to == "" {
		to = "2020-12-31"
	}
	a, _ := chat.ParseDate(from)
	b, _ := chat.ParseDate(to)
	return int(b.Sub(a).Hours() / 24)
}

func (p plan) subject() string {
	switch {
	case p.coll == "SP500":
		return "the S&P 500"
	case len(p.symbols) > 0:
		return strings.Join(p.symbols, " and ")
	}
	return "the five stocks"
}

func (p plan) title() string {
	t := fieldLabel(p.field)
	switch p.shape {
	case shapeGrouping:
		t = strings.TrimSpace(opLabel(p.op) + " " + t + " by " + p.groupBy)
	case shapeTopN:
		t = fmt.Sprintf("Top %d by %s", p.n, t)
	}
	t = strings.ToUpper(t[:1]) + t[1:] + " of " + p.subject()
	if p.period.label != "" {
		t += " " + p.period.label
	}
	return t
}

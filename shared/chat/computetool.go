package chat

import (
	"encoding/json"
	"slices"
)

// runsLate reports whether a tool runs after a response's data calls:
// compute and chart read the turn's tables, so they see the tables fetched
// by the same response.
func runsLate(name string) bool { return name == ToolChart || name == ToolCompute }

// add records t as the turn's next table and returns its summary for the
// model.
func (tt *turnTables) add(t *Table, collection string) string {
	tt.tables = append(tt.tables, t)
	id := tt.id(len(tt.tables) - 1)
	t.ID = id
	return summarize(id, collection, t)
}

// runCompute runs a compute call over the turn's tables; its result
// becomes a table of the turn like any other.
func (a *Agent) runCompute(tt *turnTables, call ToolCall) (string, error) {
	var args json.RawMessage
	if err := a.tools.tools[ToolCompute].decode(call.Arguments, &args); err != nil {
		return "", err
	}
	t, err := a.computer.Compute(args, func(id string) (*Table, error) {
		if id == "" {
			return nil, Errorf(CodeInvalid, "name the table to compute on (table_id such as \"t1\")")
		}
		i, err := tt.lookup(id)
		if err != nil {
			return nil, err
		}
		return tt.tables[i], nil
	})
	if err != nil {
		return "", err
	}
	if len(t.Rows) > a.limits.ChartPoints {
		t.Rows, t.Truncated = t.Rows[:a.limits.ChartPoints], true
	}
	return tt.add(t, "compute"), nil
}

// computeMessage runs a compute call and reports it like a data call: a
// tool-ended event and, on success, the new table.
func (a *Agent) computeMessage(tt *turnTables, c ToolCall, events *Events) Message {
	content, err := a.runCompute(tt, c)
	ended := ToolEvent{ID: c.ID, Name: c.Name}
	if err != nil {
		content = toolError(err)
		ended.Error = content
	} else {
		t := tt.tables[len(tt.tables)-1]
		ended.TableID, ended.Rows, ended.Total = t.ID, len(t.Rows), t.TotalRows
	}
	if events != nil {
		ended.Content = content
		events.Emit(Event{Kind: EventToolEnded, Tool: &ended})
		if err == nil {
			events.Emit(Event{Kind: EventTable, Table: tt.tables[len(tt.tables)-1]})
		}
	}
	return Message{Role: RoleTool, ToolCallID: c.ID, Content: content}
}

// fetchCap is how many rows a query without a limit fetches: a whole
// series, up to the points of a chart, never fewer than a table's rows.
func (a *Agent) fetchCap() int { return max(a.limits.RowCap, a.limits.ChartPoints) }

// responseTable is the table as the response carries it: at most rowCap
// rows. The turn keeps the full table (up to the chart's points) for
// charts, compute and citations; the response says it was cut.
func responseTable(t *Table, rowCap int) *Table {
	if t == nil || len(t.Rows) <= rowCap {
		return t
	}
	c := *t
	c.Rows = slices.Clone(t.Rows[:rowCap])
	c.Truncated = true
	if len(t.Sources) > rowCap {
		c.Sources = slices.Clone(t.Sources[:rowCap])
	}
	return &c
}

// promptTail tells the model how its numbers are checked and, when the
// compute tool is declared, to use it for every derived number.
func (a *Agent) promptTail() string {
	s := "\n\nEvery number you write is checked against the values of this turn's tool results: " +
		"copy figures from the tables (rounding to fewer digits, thousands separators, K/M/B, % and $ are fine; " +
		"a fraction such as 0.234 may be written 23.4%). A number that is in no table marks the answer unverified. " +
		"Write dates as YYYY-MM-DD or YYYY-MM."
	if a.computer != nil {
		s += " Never do arithmetic yourself: use compute for changes, percent changes, ratios, running or moving values, " +
			"first/last values, weekly/monthly/quarterly/yearly buckets, rankings, joins and correlations, then cite its table."
	}
	return s
}

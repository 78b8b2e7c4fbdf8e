// Package compute is the agent's compute tool: deterministic operations
// over the tables of a turn, so that every derived number (a change, a
// percent change, a moving average, a quarterly mean, a correlation) is
// computed by code from the data and never by the model. It depends only
// on chat's value types; the agent reaches it through chat.Computer.
//
// Every operation is total: nulls, empty groups, one row, a division by
// zero or a window longer than the series give null cells and a note in
// the result's source, never an error, an infinity or a NaN.
package compute

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/datachat/datachat/shared/chat"
)

// Operation names, as the model sends them.
const (
	OpDifference    = "difference"     // column minus the previous row's (or minus other)
	OpPercentChange = "percent_change" // 100 * (column - previous) / previous (or against other)
	OpRatio         = "ratio"          // column / other
	OpCumulativeSum = "cumulative_sum" // running total of column
	OpRollingMean   = "rolling_mean"   // mean of column over the last window rows
	OpRollingSum    = "rolling_sum"    // sum of column over the last window rows
	OpFirst         = "first"          // the first row (by date) per group
	OpLast          = "last"           // the last row (by date) per group
	OpChange        = "change"         // first and last value per group, their change and percent change
	OpBucket        = "bucket"         // one row per day/week/month/quarter/year (and group) with an aggregate
	OpSort          = "sort"           // order rows by column
	OpTopN          = "top_n"          // the n rows with the highest (or lowest) column, per group when asked
	OpJoin          = "join"           // add the columns of another table matched on key
	OpAppend        = "append"         // add the rows of another table with the same columns
	OpCorrelation   = "correlation"    // Pearson correlation of column and other (per group)
)

// Ops lists every operation, for the schema and error messages.
func Ops() []string {
	return []string{OpDifference, OpPercentChange, OpRatio, OpCumulativeSum, OpRollingMean, OpRollingSum,
		OpFirst, OpLast, OpChange, OpBucket, OpSort, OpTopN, OpJoin, OpAppend, OpCorrelation}
}

// Buckets and aggregates of OpBucket.
var (
	bucketUnits = []string{"day", "week", "month", "quarter", "year"}
	bucketAggs  = []string{"mean", "sum", "min", "max", "count", "first", "last"}
)

// MaxSteps bounds one call, so a call's cost is bounded too.
const MaxSteps = 8

// Step is one operation. Fields an operation does not use are ignored.
type Step struct {
	Op      string `json:"op"`
	Column  string `json:"column,omitempty"`
	Other   string `json:"other,omitempty"`
	As      string `json:"as,omitempty"`
	GroupBy string `json:"group_by,omitempty"`
	Window  int    `json:"window,omitempty"`
	Bucket  string `json:"bucket,omitempty"`
	Agg     string `json:"agg,omitempty"`
	Date    string `json:"date,omitempty"`
	Desc    *bool  `json:"desc,omitempty"`
	N       int    `json:"n,omitempty"`
	Table   string `json:"table,omitempty"`
	Key     string `json:"key,omitempty"`
}

// Args is the compute tool's argument: an input table and the steps
// applied to it in order, each to the previous step's result.
type Args struct {
	Table string `json:"table"`
	Steps []Step `json:"steps"`
}

// Tool implements chat.Computer. It holds nothing, so one value serves
// every turn at once.
type Tool struct{}

var _ chat.Computer = Tool{}

// New returns the compute tool.
func New() Tool { return Tool{} }

// Spec implements chat.Computer. The schema follows OpenAI's strict mode:
// every property required, the unused ones null.
func (Tool) Spec() chat.ToolSpec {
	type obj = map[string]any
	nullable := func(t, desc string) obj { return obj{"type": []string{t, "null"}, "description": desc} }
	enum := func(values []string, desc string) obj {
		return obj{"anyOf": []any{obj{"type": "string", "enum": values}, obj{"type": "null"}}, "description": desc}
	}
	step := obj{
		"op":       obj{"type": "string", "enum": Ops()},
		"column":   nullable("string", "The value column (for sort and top_n the column to order by)."),
		"other":    nullable("string", "A second column: ratio's denominator; difference or percent_change against it instead of the previous row; correlation's second column."),
		"as":       nullable("string", "Name of the new column; null for a default such as pct_change_close."),
		"group_by": nullable("string", "Compute within each value of this column (e.g. symbol); null for the whole table."),
		"window":   nullable("integer", "Rows in a rolling window."),
		"bucket":   enum(bucketUnits, "Time bucket of op bucket."),
		"agg":      enum(bucketAggs, "Aggregate of op bucket; null for mean."),
		"date":     nullable("string", "The date column that orders rows; null for the table's first date column."),
		"desc":     nullable("boolean", "sort and top_n: true for highest first (top_n's default)."),
		"n":        nullable("integer", "Rows kept by top_n (per group when group_by is set)."),
		"table":    nullable("string", "join and append: the other table_id."),
		"key":      nullable("string", "join: the column both tables share."),
	}
	required := make([]string, 0, len(step))
	for k := range step {
		required = append(required, k)
	}
	slices.Sort(required)
	params := obj{
		"type": "object", "additionalProperties": false, "required": []string{"steps", "table"},
		"properties": obj{
			"table": obj{"type": "string", "description": "table_id to start from, such as \"t1\"."},
			"steps": obj{"type": "array", "minItems": 1, "maxItems": MaxSteps, "description": "Operations applied in order, each to the previous result.",
				"items": obj{"type": "object", "additionalProperties": false, "required": required, "properties": step}},
		},
	}
	raw, _ := json.Marshal(params)
	return chat.ToolSpec{
		Name: chat.ToolCompute,
		Description: "Compute derived numbers from a table of this turn, deterministically: " + strings.Join(Ops(), ", ") +
			". Rows are ordered by date (within group_by) for the operations that need an order; percent values are in percent (-38.5 means -38.5%). " +
			"Division by zero and missing values give null. The result becomes a new table (table_id) that chart can plot.",
		Parameters: raw,
	}
}

// Compute implements chat.Computer.
func (Tool) Compute(raw json.RawMessage, tables func(id string) (*chat.Table, error)) (*chat.Table, error) {
	var args Args
	if err := json.Unmarshal(raw, &args); err != nil {
		return nil, chat.Errorf(chat.CodeInvalid, "arguments of compute: %v", err)
	}
	if len(args.Steps) == 0 || len(args.Steps) > MaxSteps {
		return nil, chat.Errorf(chat.CodeInvalid, "compute takes 1 to %d steps, got %d", MaxSteps, len(args.Steps))
	}
	in, err := tables(args.Table)
	if err != nil {
		return nil, err
	}
	src := &chat.Provenance{Tool: chat.ToolCompute, Table: args.Table, Inputs: []*chat.Provenance{in.Source}}
	cur := &frame{cols: slices.Clone(in.Columns), rows: cloneRows(in.Rows)}
	if in.Truncated {
		cur.note("%s holds %d of its %d rows; computed over those %d", args.Table, len(in.Rows), in.TotalRows, len(in.Rows))
	}
	for i, s := range args.Steps {
		var other *chat.Table
		if s.Op == OpJoin || s.Op == OpAppend {
			if other, err = tables(s.Table); err != nil {
				return nil, err
			}
			src.Inputs = append(src.Inputs, other.Source)
			if other.Truncated {
				cur.note("%s holds %d of its %d rows; joined with those %d", s.Table, len(other.Rows), other.TotalRows, len(other.Rows))
			}
		}
		if err := cur.apply(s, other); err != nil {
			return nil, chat.Errorf(chat.CodeInvalid, "compute step %d (%s): %s", i+1, s.Op, chat.ErrorMessage(err))
		}
		b, _ := json.Marshal(s)
		src.Steps = append(src.Steps, chat.ComputeStep{Op: s.Op, Args: b})
	}
	src.Notes = cur.notes
	return &chat.Table{Columns: cur.cols, Rows: cur.rows, TotalRows: len(cur.rows), Source: src}, nil
}

// frame is the table a call works on, step by step.
type frame struct {
	cols  []chat.Column
	rows  [][]any
	notes []string
}

func (f *frame) note(format string, args ...any) {
	n := fmt.Sprintf(format, args...)
	if !slices.Contains(f.notes, n) {
		f.notes = append(f.notes, n)
	}
}

func cloneRows(rows [][]any) [][]any {
	out := make([][]any, len(rows))
	for i, r := range rows {
		out[i] = slices.Clone(r)
	}
	return out
}

func (f *frame) names() string {
	names := make([]string, len(f.cols))
	for i, c := range f.cols {
		names[i] = c.Name
	}
	return strings.Join(names, ", ")
}

// col finds a column by name; what says which argument named it.
func (f *frame) col(what, name string) (int, error) {
	if name == "" {
		return -1, chat.Errorf(chat.CodeInvalid, "%s is required; columns: %s", what, f.names())
	}
	for i, c := range f.cols {
		if c.Name == name {
			return i, nil
		}
	}
	return -1, chat.Errorf(chat.CodeInvalid, "no column %q for %s; columns: %s", name, what, f.names())
}

func (f *frame) numericCol(what, name string) (int, error) {
	i, err := f.col(what, name)
	if err != nil {
		return i, err
	}
	if !f.cols[i].Type.Numeric() {
		return -1, chat.Errorf(chat.CodeInvalid, "%s %q is %s; it must be a number or int column", what, name, f.cols[i].Type)
	}
	return i, nil
}

func (f *frame) optionalCol(what, name string) (int, error) {
	if name == "" {
		return -1, nil
	}
	return f.col(what, name)
}

// newColumn checks that a derived column's name is free.
func (f *frame) newColumn(name string) error {
	for _, c := range f.cols {
		if c.Name == name {
			return chat.Errorf(chat.CodeInvalid, "column %q already exists; name the result with as", name)
		}
	}
	return nil
}

// dateCol is the column that orders rows: the one named, or the first
// date column, or -1 when there is none (rows keep the table's order).
func (f *frame) dateCol(name string) (int, error) {
	if name != "" {
		return f.col("date", name)
	}
	for i, c := range f.cols {
		if c.Type == chat.TypeDate {
			return i, nil
		}
	}
	for i, c := range f.cols {
		if c.Name == "month" || c.Name == "date" || c.Name == "year" {
			return i, nil
		}
	}
	return -1, nil
}

// orderByDate sorts rows by the date column (stable, nulls last) and notes
// when that changed their order.
func (f *frame) orderByDate(d int) {
	if d < 0 {
		return
	}
	sorted := slices.IsSortedFunc(f.rows, func(a, b []any) int { return compareNullsLast(a[d], b[d]) })
	if !sorted {
		slices.SortStableFunc(f.rows, func(a, b []any) int { return compareNullsLast(a[d], b[d]) })
		f.note("rows were ordered by %s first", f.cols[d].Name)
	}
}

// compareNullsLast orders cells with nulls after every value.
func compareNullsLast(a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	return chat.CompareCells(a, b)
}

// groupKey is the text of a row's group, "" when there are no groups.
func groupKey(r []any, g int) string {
	if g < 0 {
		return ""
	}
	return fmt.Sprint(r[g])
}

// number returns a finite cell value, or null: a derived value is never
// an infinity or a NaN.
func number(v float64) any {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return v
}

func (f *frame) apply(s Step, other *chat.Table) error {
	switch s.Op {
	case OpDifference, OpPercentChange, OpRatio:
		return f.derive(s)
	case OpCumulativeSum, OpRollingMean, OpRollingSum:
		return f.running(s)
	case OpFirst, OpLast:
		return f.firstLast(s)
	case OpChange:
		return f.change(s)
	case OpBucket:
		return f.bucket(s)
	case OpSort:
		return f.sort(s)
	case OpTopN:
		return f.topN(s)
	case OpJoin:
		return f.join(s, other)
	case OpAppend:
		return f.appendRows(s, other)
	case OpCorrelation:
		return f.correlation(s)
	}
	return chat.Errorf(chat.CodeInvalid, "unknown op %q; use one of %s", s.Op, strings.Join(Ops(), ", "))
}

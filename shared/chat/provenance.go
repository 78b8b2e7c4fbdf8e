package chat

import (
	"encoding/json"
)

// Provenance says how a table was produced, enough for a person to
// reproduce it: the tool and collection, the filters, sort and limit or
// the aggregation, and every compute step applied after. It is stored
// with the turn and returned with the table as "source".
type Provenance struct {
	Tool       string   `json:"tool"` // query, aggregate, search or compute
	Collection string   `json:"collection,omitempty"`
	Fields     []string `json:"fields,omitempty"`
	Filters    []Filter `json:"filters,omitempty"`
	Sort       []Sort   `json:"sort,omitempty"`
	Limit      int      `json:"limit,omitempty"`
	Metrics    []Metric `json:"metrics,omitempty"`
	GroupBy    string   `json:"group_by,omitempty"`
	SearchText string   `json:"search_text,omitempty"`
	SearchMode string   `json:"search_mode,omitempty"`
	// Table is the turn's table id the compute steps started from.
	Table string `json:"table,omitempty"`
	// Inputs are the sources of the tables a compute step read (the
	// input table, and for a join the second one).
	Inputs []*Provenance `json:"inputs,omitempty"`
	Steps  []ComputeStep `json:"steps,omitempty"`
	Notes  []string      `json:"notes,omitempty"`
}

// ComputeStep is one operation of the compute tool, as it was asked for.
type ComputeStep struct {
	Op   string          `json:"op"`
	Args json.RawMessage `json:"args,omitempty"`
}

// Citation ties one number of an answer's text to the cell it came from.
// Table, Row and Column are nil when no value of the turn's tool results
// matches; Stat names a column statistic (min, max, mean, count, rows,
// total_rows) or a filter's value ("filter") when the number is one, with
// Row nil.
type Citation struct {
	Text   string  `json:"text"`  // the number as written: "1,220.04", "23.4%", "$1.2B"
	Value  float64 `json:"value"` // what the text states, suffixes applied: 1220.04, 23.4, 1.2e9
	Table  *string `json:"table"` // the turn's table id, "t1"
	Row    *int    `json:"row"`   // 0-based row of that table
	Column *string `json:"column"`
	Stat   string  `json:"stat,omitempty"`
}

// Matched reports whether the citation found its value in the data.
func (c Citation) Matched() bool { return c.Table != nil }

// Checker matches the numbers of an answer against the tables of the
// turn. Used by the agent once the answer is final. It cannot fail: a
// number it does not find is a Citation with a nil Table, and the
// answer is then unverified. Safe for concurrent use.
type Checker interface {
	Check(answer string, tables []*Table) []Citation
}

// Verified reports whether every citation matched; an answer without
// numbers is verified.
func Verified(cs []Citation) bool {
	for _, c := range cs {
		if !c.Matched() {
			return false
		}
	}
	return true
}

// Computer runs the compute tool: deterministic operations over the
// tables of a turn (derived columns, buckets, joins, correlations). Used
// by the agent, which declares Spec to the model and validates the
// arguments against its schema before Compute runs.
//
// tables resolves a table id of the turn ("t1"); it returns a CodeInvalid
// *Error naming the valid ids. Compute returns a new table (never one of
// its inputs) whose Source records the steps, or a CodeInvalid *Error
// whose message says what to change. Safe for concurrent use.
type Computer interface {
	Spec() ToolSpec
	Compute(args json.RawMessage, tables func(id string) (*Table, error)) (*Table, error)
}

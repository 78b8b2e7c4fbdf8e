package chat

import "context"

// Warehouse is where the user's data lives: Weaviate in production, an
// in-process engine over the sample data locally. Used by the agent's tools.
//
// Implementations validate names against their schema: a collection or field
// that does not exist (or is not allowed) is an *Error with CodeInvalid whose
// message lists the valid names, so the model can correct itself. Failures to
// reach the store are CodeUnavailable. All methods are safe for concurrent use.
type Warehouse interface {
	// Schema lists the collections the agent may use.
	Schema(ctx context.Context) (Schema, error)
	// Query returns matching rows, at most q.Limit of them (capped by the
	// implementation's row limit), with TotalRows counting all matches.
	Query(ctx context.Context, q Query) (Table, error)
	// Aggregate computes metrics over matching rows, optionally per group.
	Aggregate(ctx context.Context, a Aggregation) (Table, error)
}

// Schema describes what the warehouse holds.
type Schema struct {
	Collections []Collection `json:"collections"`
}

// Collection finds a collection by name.
func (s Schema) Collection(name string) (Collection, bool) {
	for _, c := range s.Collections {
		if c.Name == name {
			return c, true
		}
	}
	return Collection{}, false
}

// Names returns the collection names in schema order.
func (s Schema) Names() []string {
	names := make([]string, len(s.Collections))
	for i, c := range s.Collections {
		names[i] = c.Name
	}
	return names
}

// Collection is one table-like set of objects.
type Collection struct {
	Name        string  `json:"name"`
	Description string  `json:"description,omitempty"`
	Fields      []Field `json:"fields"`
	// Vectorizer reports whether semantic search is available.
	Vectorizer bool `json:"vectorizer,omitempty"`
}

// Field finds a field by name.
func (c Collection) Field(name string) (Field, bool) {
	for _, f := range c.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// FieldNames returns the field names in schema order.
func (c Collection) FieldNames() []string {
	names := make([]string, len(c.Fields))
	for i, f := range c.Fields {
		names[i] = f.Name
	}
	return names
}

// Field is one typed property of a collection.
type Field struct {
	Name        string `json:"name"`
	Type        Type   `json:"type"`
	Description string `json:"description,omitempty"`
}

// Op is a filter operator.
type Op string

const (
	OpEq   Op = "eq"
	OpNe   Op = "ne"
	OpGt   Op = "gt"
	OpGte  Op = "gte"
	OpLt   Op = "lt"
	OpLte  Op = "lte"
	OpLike Op = "like" // text only; * matches any run of characters, ? one character
	OpIn   Op = "in"   // Value is a list; matches any of them
)

// Ops lists every operator, for schemas and error messages.
func Ops() []Op { return []Op{OpEq, OpNe, OpGt, OpGte, OpLt, OpLte, OpLike, OpIn} }

// Filter is one condition; a query's filters are combined with AND.
// Value is a string, float64, bool or, for OpIn, a []any of those.
type Filter struct {
	Field string `json:"field"`
	Op    Op     `json:"op"`
	Value any    `json:"value"`
}

// Sort orders by one field (or, for aggregations, one output column).
type Sort struct {
	Field string `json:"field"`
	Desc  bool   `json:"desc,omitempty"`
}

// Query selects rows.
type Query struct {
	Collection string   `json:"collection"`
	Fields     []string `json:"fields,omitempty"` // empty means every field
	Filters    []Filter `json:"filters,omitempty"`
	Sort       []Sort   `json:"sort,omitempty"`
	Limit      int      `json:"limit,omitempty"` // 0 means the row cap
}

// Metric kinds for Aggregation.
type MetricOp string

const (
	MetricCount MetricOp = "count"
	MetricMean  MetricOp = "mean"
	MetricMin   MetricOp = "min"
	MetricMax   MetricOp = "max"
	MetricSum   MetricOp = "sum"
)

// MetricOps lists every metric, for schemas and error messages.
func MetricOps() []MetricOp {
	return []MetricOp{MetricCount, MetricMean, MetricMin, MetricMax, MetricSum}
}

// Metric is one computed column. Count ignores Field.
type Metric struct {
	Op    MetricOp `json:"op"`
	Field string   `json:"field,omitempty"`
}

// Column is the output column name of the metric: "count", "mean_close".
func (m Metric) Column() string {
	if m.Op == MetricCount {
		return "count"
	}
	return string(m.Op) + "_" + m.Field
}

// Aggregation computes metrics over the rows matching Filters, per value of
// GroupBy when set. Groups are ordered by Sort (output columns), then by the
// group value ascending; Limit caps the number of groups.
type Aggregation struct {
	Collection string   `json:"collection"`
	Metrics    []Metric `json:"metrics"`
	GroupBy    string   `json:"group_by,omitempty"`
	Filters    []Filter `json:"filters,omitempty"`
	Sort       []Sort   `json:"sort,omitempty"`
	Limit      int      `json:"limit,omitempty"`
}

package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/jsonschema-go/jsonschema"
)

// Tool names the model may call.
const (
	ToolDescribe  = "describe"
	ToolQuery     = "query"
	ToolAggregate = "aggregate"
	ToolChart     = "chart"
	ToolSearch    = "search"  // declared only when the warehouse is a Searcher
	ToolCompute   = "compute" // declared only when the agent has a Computer
)

// tool is one callable tool: its declaration and the compiled schema its
// arguments are validated against before they are decoded.
type tool struct {
	spec   ToolSpec
	schema *jsonschema.Resolved
}

// toolbox holds the tools of an Agent. It is built once and only read.
type toolbox struct {
	tools map[string]tool
	specs []ToolSpec
}

// The schemas follow OpenAI's strict mode: every property is required and
// optional ones are nullable, with no additional properties. The same
// schema validates what any model sends. search adds the search tool,
// which only a warehouse that is also a Searcher can serve.
func newToolbox(rowCap int, search bool, computer Computer) (*toolbox, error) {
	value := obj{"anyOf": []any{
		obj{"type": "string"}, obj{"type": "number"}, obj{"type": "boolean"},
		obj{"type": "array", "items": obj{"anyOf": []any{obj{"type": "string"}, obj{"type": "number"}}}},
	}, "description": "Dates as \"YYYY-MM-DD\". For op \"in\", a list of values."}
	filters := obj{"type": []string{"array", "null"}, "description": "Conditions combined with AND; null for none.", "items": strictObject(obj{
		"field": obj{"type": "string"},
		"op":    obj{"type": "string", "enum": Ops(), "description": "eq, ne, gt, gte, lt, lte, like (text; * and ? wildcards), in (list)"},
		"value": value,
	})}
	sort := func(what, order string) obj {
		return obj{"type": []string{"array", "null"}, "description": "Sort keys (" + what + "); null for the default order: " + order + ". Missing values sort last either way.", "items": strictObject(obj{
			"field": obj{"type": "string"},
			"desc":  obj{"type": "boolean", "description": "true for descending"},
		})}
	}
	limit := obj{"type": []string{"integer", "null"}, "minimum": 1, "maximum": rowCap, "description": fmt.Sprintf("Maximum rows, at most %d; null for the maximum (a query with null fetches a whole series for charts and compute, up to the chart's points).", rowCap)}
	nullableString := func(desc string) obj { return obj{"type": []string{"string", "null"}, "description": desc} }
	fields := obj{"type": []string{"array", "null"}, "items": obj{"type": "string"}, "description": "Fields to return; null for all."}

	type def struct {
		name, desc string
		params     obj
	}
	defs := []def{
		{ToolDescribe, "List the collections with their fields and types, or one collection's.", strictObject(obj{
			"collection": nullableString("A collection name, or null for all."),
		})},
		{ToolQuery, "Fetch rows of one collection with filters, sort, limit and selected fields. The rows become a table (table_id) that chart can plot.", strictObject(obj{
			"collection": obj{"type": "string"},
			"fields":     fields,
			"filters":    filters,
			"sort":       sort("fields", "the collection's first date field ascending, then the object id; ties on any sort keys are broken the same way"),
			"limit":      limit,
		})},
		{ToolAggregate, "Compute count, mean, min, max or sum over one collection, optionally per value of one field (group_by), over the rows matching the filters. The result becomes a table.", strictObject(obj{
			"collection": obj{"type": "string"},
			"metrics": obj{"type": "array", "minItems": 1, "items": strictObject(obj{
				"op":    obj{"type": "string", "enum": MetricOps()},
				"field": nullableString("A number or int field; null for count."),
			})},
			"group_by": nullableString("A field to group by; null for one overall row."),
			"filters":  filters,
			"sort":     sort("output columns such as mean_close or count", "the group value ascending; ties are broken the same way"),
			"limit":    limit,
		})},
		{ToolChart, "Draw a line, bar or scatter chart from a table of this turn.", strictObject(obj{
			"type":  obj{"type": "string", "enum": []string{"line", "bar", "scatter"}},
			"x":     obj{"type": "string", "description": "Column for the x axis."},
			"y":     obj{"type": "string", "description": "Numeric column for the y axis."},
			"color": nullableString("Column that splits the data into series, or null."),
			"table": nullableString("table_id to plot, or null for the latest table."),
			"title": nullableString("Chart title, or null."),
		})},
	}
	if search {
		desc := fmt.Sprintf("Find the rows of one collection most relevant to a text, best first: keyword matches its words in text fields; "+
			"hybrid and semantic also match meaning, on collections with a vectorizer only. Use it to look things up by words or meaning; use query for exact conditions. "+
			"The rows, with a relevance column (%s, or %s for semantic where lower is closer), become a table.", ColumnScore, ColumnDistance)
		defs = append(defs, def{ToolSearch, desc, strictObject(obj{
			"collection": obj{"type": "string"},
			"text":       obj{"type": "string", "description": fmt.Sprintf("What to look for, at most %d bytes.", MaxSearchText)},
			// anyOf rather than a nullable enum: a null inside "enum" is
			// refused by some providers' schema checks.
			"mode": obj{"anyOf": []any{obj{"type": "string", "enum": SearchModes()}, obj{"type": "null"}},
				"description": "keyword, hybrid or semantic; null for hybrid where the collection has a vectorizer, keyword otherwise."},
			"in":      obj{"type": []string{"array", "null"}, "items": obj{"type": "string"}, "description": "Text fields to search in; null for all."},
			"fields":  fields,
			"filters": filters,
			"limit":   limit,
		})})
	}
	if computer != nil {
		spec := computer.Spec()
		var params obj
		if err := json.Unmarshal(spec.Parameters, &params); err != nil {
			return nil, fmt.Errorf("tool %s: parse schema: %w", spec.Name, err)
		}
		defs = append(defs, def{ToolCompute, spec.Description, params})
	}
	tb := &toolbox{tools: map[string]tool{}}
	for _, d := range defs {
		raw, err := json.Marshal(d.params)
		if err != nil {
			return nil, fmt.Errorf("tool %s: marshal schema: %w", d.name, err)
		}
		resolved, err := resolveForValidation(raw)
		if err != nil {
			return nil, fmt.Errorf("tool %s: resolve schema: %w", d.name, err)
		}
		spec := ToolSpec{Name: d.name, Description: d.desc, Parameters: raw}
		tb.tools[d.name] = tool{spec: spec, schema: resolved}
		tb.specs = append(tb.specs, spec)
	}
	return tb, nil
}

type obj = map[string]any

// resolveForValidation resolves the schema the model is given, after
// rewriting each anyOf of plain types ({"anyOf": [{"type": "string"},
// {"type": "number"}, {"type": "array", "items": ...}]}) as one type list
// ({"type": ["string", "number", "array"], "items": ...}), which accepts
// exactly the same values. The model keeps the anyOf form, which strict
// mode documents; the validator gets the list, because it tries anyOf
// alternatives one by one and formats an error for every one that fails:
// a third of a turn's validation cost, and deep recursion on every call.
func resolveForValidation(raw []byte) (*jsonschema.Resolved, error) {
	var tree any
	if err := json.Unmarshal(raw, &tree); err != nil {
		return nil, fmt.Errorf("parse schema: %w", err)
	}
	b, err := json.Marshal(collapseTypeUnions(tree))
	if err != nil {
		return nil, fmt.Errorf("encode schema: %w", err)
	}
	var s jsonschema.Schema
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("parse schema: %w", err)
	}
	return s.Resolve(nil)
}

// collapseTypeUnions rewrites, bottom up, every anyOf whose alternatives
// are each only a distinct "type" (and, for one "array" alternative, its
// "items") into a type list. Anything else is kept as it is.
func collapseTypeUnions(v any) any {
	switch n := v.(type) {
	case []any:
		out := make([]any, len(n))
		for i, e := range n {
			out[i] = collapseTypeUnions(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(n))
		for k, e := range n {
			out[k] = collapseTypeUnions(e)
		}
		alts, ok := out["anyOf"].([]any)
		if _, typed := out["type"]; !ok || typed {
			return out
		}
		var types []any
		var items any
		seen := map[string]bool{}
		for _, a := range alts {
			alt, ok := a.(map[string]any)
			t, isString := alt["type"].(string)
			if !ok || !isString || seen[t] {
				return out
			}
			for k := range alt {
				if k != "type" && !(k == "items" && t == "array") {
					return out
				}
			}
			seen[t] = true
			types = append(types, t)
			if it, ok := alt["items"]; ok {
				items = it
			}
		}
		delete(out, "anyOf")
		out["type"] = types
		if items != nil {
			out["items"] = items
		}
		return out
	}
	return v
}

func strictObject(props obj) obj {
	required := make([]string, 0, len(props))
	for k := range props {
		required = append(required, k)
	}
	// Map order is random; sort so the declared schema is byte-for-byte stable.
	slices.Sort(required)
	return obj{"type": "object", "properties": props, "required": required, "additionalProperties": false}
}

// decode validates raw against the tool's schema and decodes it into v.
func (t tool) decode(raw string, v any) error {
	var instance any
	dec := json.NewDecoder(strings.NewReader(raw))
	if err := dec.Decode(&instance); err != nil {
		return Errorf(CodeInvalid, "arguments of %s are not valid JSON: %v", t.spec.Name, err)
	}
	if dec.More() {
		return Errorf(CodeInvalid, "arguments of %s hold more than one JSON value", t.spec.Name)
	}
	if err := t.schema.Validate(instance); err != nil {
		return Errorf(CodeInvalid, "arguments of %s do not match its schema: %v", t.spec.Name, err)
	}
	// Decode once more into the typed struct; numbers stay float64 in
	// `any` values, which FieldValue converts to the field's type.
	d := json.NewDecoder(strings.NewReader(raw))
	if err := d.Decode(v); err != nil {
		return Errorf(CodeInvalid, "arguments of %s: %v", t.spec.Name, err)
	}
	return nil
}

// Argument shapes as the model sends them (nullable fields as pointers
// would add nothing: null and absent both mean "not set").
type describeArgs struct {
	Collection string `json:"collection"`
}

type queryArgs = Query

type searchArgs = Search

type aggregateArgs struct {
	Collection string `json:"collection"`
	Metrics    []struct {
		Op    MetricOp `json:"op"`
		Field string   `json:"field"`
	} `json:"metrics"`
	GroupBy string   `json:"group_by"`
	Filters []Filter `json:"filters"`
	Sort    []Sort   `json:"sort"`
	Limit   int      `json:"limit"`
}

type chartArgs struct {
	Type  ChartKind `json:"type"`
	X     string    `json:"x"`
	Y     string    `json:"y"`
	Color string    `json:"color"`
	Table string    `json:"table"`
	Title string    `json:"title"`
}

// turnTables is the request-scoped record of the tables a turn produced.
type turnTables struct {
	tables []*Table
	chart  *Chart
	// chartTable is the index of the table the chart was drawn from.
	chartTable int
}

func (tt *turnTables) id(i int) string { return fmt.Sprintf("t%d", i+1) }

func (tt *turnTables) lookup(id string) (int, error) {
	if id == "" {
		if len(tt.tables) == 0 {
			return -1, Errorf(CodeInvalid, "there is no table to chart yet; run query or aggregate first")
		}
		return len(tt.tables) - 1, nil
	}
	for i := range tt.tables {
		if tt.id(i) == id {
			return i, nil
		}
	}
	ids := make([]string, len(tt.tables))
	for i := range tt.tables {
		ids[i] = tt.id(i)
	}
	return -1, Errorf(CodeInvalid, "unknown table %q; tables of this turn: %s", id, strings.Join(ids, ", "))
}

// dataResult is what a data tool produced before it is given a table id.
type dataResult struct {
	content string // for describe
	table   *Table
	source  string // collection
	err     error
}

// runData runs a describe, query, aggregate or search call.
func (a *Agent) runData(ctx context.Context, schema Schema, call ToolCall) dataResult {
	t, ok := a.tools.tools[call.Name]
	if !ok {
		names := make([]string, len(a.tools.specs))
		for i, s := range a.tools.specs {
			names[i] = s.Name
		}
		return dataResult{err: Errorf(CodeInvalid, "unknown tool %q; available tools: %s", call.Name, strings.Join(names, ", "))}
	}
	switch call.Name {
	case ToolDescribe:
		var args describeArgs
		if err := t.decode(call.Arguments, &args); err != nil {
			return dataResult{err: err}
		}
		out := schema
		if args.Collection != "" {
			c, err := schema.lookup(args.Collection)
			if err != nil {
				return dataResult{err: err}
			}
			out = Schema{Collections: []Collection{c}}
		}
		b, err := json.Marshal(out)
		if err != nil {
			return dataResult{err: fmt.Errorf("describe: %w", err)}
		}
		return dataResult{content: string(b)}
	case ToolQuery:
		var q queryArgs
		if err := t.decode(call.Arguments, &q); err != nil {
			return dataResult{err: err}
		}
		all := q.Limit == 0
		q, err := schema.CheckQuery(q, a.limits.RowCap)
		if err != nil {
			return dataResult{err: err}
		}
		if all {
			// A series keeps its own resolution up to the chart's points;
			// the response shows the first RowCap rows of it.
			q.Limit = a.fetchCap()
		}
		tbl, err := a.warehouse.Query(ctx, q)
		if err != nil {
			return dataResult{err: err}
		}
		tbl.Source = &Provenance{Tool: ToolQuery, Collection: q.Collection, Fields: q.Fields, Filters: q.Filters, Sort: q.Sort, Limit: q.Limit}
		return dataResult{table: &tbl, source: q.Collection}
	case ToolAggregate:
		var args aggregateArgs
		if err := t.decode(call.Arguments, &args); err != nil {
			return dataResult{err: err}
		}
		agg := Aggregation{Collection: args.Collection, GroupBy: args.GroupBy, Filters: args.Filters, Sort: args.Sort, Limit: args.Limit}
		for _, m := range args.Metrics {
			agg.Metrics = append(agg.Metrics, Metric{Op: m.Op, Field: m.Field})
		}
		agg, err := schema.CheckAggregation(agg, a.limits.RowCap)
		if err != nil {
			return dataResult{err: err}
		}
		tbl, err := a.warehouse.Aggregate(ctx, agg)
		if err != nil {
			return dataResult{err: err}
		}
		tbl.Source = &Provenance{Tool: ToolAggregate, Collection: agg.Collection, Metrics: agg.Metrics, GroupBy: agg.GroupBy, Filters: agg.Filters, Sort: agg.Sort, Limit: agg.Limit}
		return dataResult{table: &tbl, source: agg.Collection}
	case ToolSearch:
		// The tool is declared only when a.searcher is set, so the lookup
		// above has already refused it otherwise.
		var s searchArgs
		if err := t.decode(call.Arguments, &s); err != nil {
			return dataResult{err: err}
		}
		s, err := schema.CheckSearch(s, a.limits.RowCap)
		if err != nil {
			return dataResult{err: err}
		}
		tbl, err := a.searcher.Search(ctx, s)
		if err != nil {
			return dataResult{err: err}
		}
		tbl.Source = &Provenance{Tool: ToolSearch, Collection: s.Collection, Fields: s.Fields, Filters: s.Filters, Limit: s.Limit, SearchText: s.Text, SearchMode: string(s.Mode)}
		return dataResult{table: &tbl, source: s.Collection}
	}
	return dataResult{err: Errorf(CodeInvalid, "tool %s cannot run here", call.Name)}
}

// runChart runs a chart call against the turn's tables.
func (a *Agent) runChart(tt *turnTables, call ToolCall) (string, error) {
	var args chartArgs
	if err := a.tools.tools[ToolChart].decode(call.Arguments, &args); err != nil {
		return "", err
	}
	i, err := tt.lookup(args.Table)
	if err != nil {
		return "", err
	}
	ch, err := BuildChart(tt.tables[i], ChartSpec{Kind: args.Type, X: args.X, Y: args.Y, Color: args.Color, Title: args.Title}, a.limits.ChartPoints)
	if err != nil {
		return "", err
	}
	tt.chart, tt.chartTable = ch, i
	return jsonString(obj{"chart": args.Type, "table_id": tt.id(i), "x": args.X, "y": args.Y, "color": args.Color, "points": len(ch.Data.Values)}), nil
}

// toolError is the content of a tool message that reports a failure. The
// model sees the message and may try again; internals are never included.
func toolError(err error) string {
	msg := ErrorMessage(err)
	var e *Error
	if errors.As(err, &e) && e.Code == CodeUnavailable {
		msg = "the data store is unavailable right now: " + msg
	}
	return jsonString(obj{"error": msg})
}

func jsonString(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return `{"error":"result could not be encoded"}`
	}
	return string(b)
}

// SummaryRows is how many rows of a table the model sees; it sees
// statistics of the rest, never the full table, so a large result cannot
// blow the token budget.
const SummaryRows = 30

// summarize renders a table for the model: its id, shape, first rows, last
// rows when there are more, and per-column statistics of numeric columns.
func summarize(id, collection string, t *Table) string {
	s := obj{
		"table_id":      id,
		"collection":    collection,
		"columns":       t.Columns,
		"total_rows":    t.TotalRows,
		"rows_in_table": len(t.Rows),
		"truncated":     t.Truncated,
	}
	if len(t.Rows) <= SummaryRows {
		s["rows"] = t.Rows
	} else {
		// The ends of a table carry the most: the first rows and the last few.
		s["first_rows"] = t.Rows[:SummaryRows-5]
		s["last_rows"] = t.Rows[len(t.Rows)-5:]
	}
	if stats := tableStats(t); len(stats) > 0 {
		s["stats"] = stats
		s["stats_cover"] = statsCover(t)
	}
	return jsonString(s)
}

// AsFloat converts a numeric cell to float64.
func AsFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int64:
		return float64(n), true
	case int:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

package chat

import "slices"

// VegaLiteSchema is the $schema every chart carries.
const VegaLiteSchema = "https://vega.github.io/schema/vega-lite/v6.json"

// ChartKind is the mark of a chart.
type ChartKind string

const (
	ChartLine    ChartKind = "line"
	ChartBar     ChartKind = "bar"
	ChartScatter ChartKind = "scatter"
)

// Chart is a Vega-Lite v5 specification with its data inline, so a client
// renders it with vega-embed and nothing else.
type Chart struct {
	Schema      string                  `json:"$schema"`
	Title       string                  `json:"title,omitempty"`
	Description string                  `json:"description,omitempty"`
	Width       string                  `json:"width,omitempty"`
	Data        ChartData               `json:"data"`
	Mark        ChartMark               `json:"mark"`
	Encoding    map[string]ChartChannel `json:"encoding"`
}

// ChartData holds the chart's rows as objects keyed by column name.
type ChartData struct {
	Values []map[string]any `json:"values"`
}

// ChartMark is the Vega-Lite mark definition.
type ChartMark struct {
	Type    string `json:"type"`
	Point   bool   `json:"point,omitempty"`
	Tooltip bool   `json:"tooltip,omitempty"`
}

// ChartChannel is one encoding channel.
type ChartChannel struct {
	Field string `json:"field"`
	Type  string `json:"type"` // temporal, quantitative, ordinal or nominal
	Title string `json:"title,omitempty"`
}

// ChartSpec is what the chart tool asks for.
type ChartSpec struct {
	Kind  ChartKind
	X, Y  string
	Color string // optional series column
	Title string
}

// isYearMonth matches values such as "2008-03", which Vega-Lite parses as dates.
func isYearMonth(s string) bool {
	if len(s) != 7 || s[4] != '-' {
		return false
	}
	for i, r := range s {
		if i != 4 && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// BuildChart makes a Vega-Lite spec of spec.Kind from t. Columns must exist;
// y must be numeric. Points are capped at maxPoints (the first ones).
func BuildChart(t *Table, spec ChartSpec, maxPoints int) (*Chart, error) {
	if t == nil || len(t.Rows) == 0 {
		return nil, Errorf(CodeInvalid, "there is no table with rows to chart yet; run query or aggregate first")
	}
	names := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		names[i] = c.Name
	}
	col := func(role, name string) (int, error) {
		i := t.ColumnIndex(name)
		if i < 0 {
			return -1, Errorf(CodeInvalid, "%s column %q is not in the table; its columns are: %s", role, name, joinQuoted(names))
		}
		return i, nil
	}
	if !slices.Contains([]ChartKind{ChartLine, ChartBar, ChartScatter}, spec.Kind) {
		return nil, Errorf(CodeInvalid, "unknown chart type %q; use line, bar or scatter", spec.Kind)
	}
	xi, err := col("x", spec.X)
	if err != nil {
		return nil, err
	}
	yi, err := col("y", spec.Y)
	if err != nil {
		return nil, err
	}
	if !t.Columns[yi].Type.Numeric() {
		return nil, Errorf(CodeInvalid, "y column %q is %s; a chart needs a number or int column on y", spec.Y, t.Columns[yi].Type)
	}
	ci := -1
	if spec.Color != "" {
		if ci, err = col("color", spec.Color); err != nil {
			return nil, err
		}
	}
	rows := t.Rows
	if len(rows) > maxPoints {
		rows = rows[:maxPoints]
	}
	values := make([]map[string]any, len(rows))
	for i, r := range rows {
		v := map[string]any{spec.X: r[xi], spec.Y: r[yi]}
		if ci >= 0 {
			v[spec.Color] = r[ci]
		}
		values[i] = v
	}
	mark := ChartMark{Type: string(spec.Kind), Tooltip: true}
	if spec.Kind == ChartScatter {
		mark.Type = "point"
	}
	if spec.Kind == ChartLine && len(rows) <= 60 {
		mark.Point = true
	}
	enc := map[string]ChartChannel{
		"x": {Field: spec.X, Type: channelType(t.Columns[xi], spec.Kind, rows, xi)},
		"y": {Field: spec.Y, Type: "quantitative"},
	}
	if ci >= 0 {
		enc["color"] = ChartChannel{Field: spec.Color, Type: "nominal"}
	}
	return &Chart{
		Schema:   VegaLiteSchema,
		Title:    spec.Title,
		Width:    "container",
		Data:     ChartData{Values: values},
		Mark:     mark,
		Encoding: enc,
	}, nil
}

func channelType(c Column, kind ChartKind, rows [][]any, i int) string {
	switch {
	case kind == ChartBar && !(c.Type == TypeNumber):
		// Bars need discrete positions: dates, months and years as ordinal
		// categories, in the table's order.
		return "ordinal"
	case c.Type == TypeDate:
		return "temporal"
	case c.Type == TypeText && len(rows) > 0:
		if s, ok := rows[0][i].(string); ok && isYearMonth(s) {
			return "temporal"
		}
		return "nominal"
	case c.Type.Numeric():
		return "quantitative"
	}
	return "nominal"
}

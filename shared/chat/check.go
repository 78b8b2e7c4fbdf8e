package chat

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// CheckQuery validates q against the schema and returns it normalised:
// filter values converted to the field's type, Limit set within (0, rowCap],
// and Sort completed with the default order's keys (DefaultSort) as
// tiebreaks, so every warehouse returns rows in one defined order.
// Every problem is a CodeInvalid *Error whose message names the valid choices,
// because it goes back to the model as a tool error for it to correct.
func (s Schema) CheckQuery(q Query, rowCap int) (Query, error) {
	c, err := s.lookup(q.Collection)
	if err != nil {
		return q, err
	}
	for _, f := range q.Fields {
		if _, ok := c.Field(f); !ok {
			return q, unknownField(c, f)
		}
	}
	if q.Filters, err = checkFilters(c, q.Filters); err != nil {
		return q, err
	}
	for _, o := range q.Sort {
		if _, ok := c.Field(o.Field); !ok && o.Field != SortID {
			return q, unknownField(c, o.Field)
		}
	}
	q.Sort = completeSort(c, q.Sort)
	switch {
	case q.Limit < 0:
		return q, Errorf(CodeInvalid, "limit must be positive, got %d", q.Limit)
	case q.Limit == 0 || q.Limit > rowCap:
		q.Limit = rowCap
	}
	return q, nil
}

// CheckAggregation validates a against the schema, like CheckQuery.
func (s Schema) CheckAggregation(a Aggregation, rowCap int) (Aggregation, error) {
	c, err := s.lookup(a.Collection)
	if err != nil {
		return a, err
	}
	if len(a.Metrics) == 0 {
		return a, Errorf(CodeInvalid, "metrics must name at least one of %s", joinQuoted(MetricOps()))
	}
	columns := []string{}
	if a.GroupBy != "" {
		f, ok := c.Field(a.GroupBy)
		if !ok {
			return a, unknownField(c, a.GroupBy)
		}
		if f.Type == TypeNumber {
			return a, Errorf(CodeInvalid, "group_by %q is a number field; group by a text, int, date or boolean field", f.Name)
		}
		columns = append(columns, a.GroupBy)
	}
	for i, m := range a.Metrics {
		if !slices.Contains(MetricOps(), m.Op) {
			return a, Errorf(CodeInvalid, "unknown metric %q; use one of %s", m.Op, joinQuoted(MetricOps()))
		}
		if m.Op == MetricCount {
			a.Metrics[i].Field = ""
		} else {
			f, ok := c.Field(m.Field)
			if !ok {
				return a, unknownField(c, m.Field)
			}
			if !f.Type.Numeric() {
				return a, Errorf(CodeInvalid, "metric %s needs a number or int field; %q is %s (numeric fields of %s: %s)",
					m.Op, f.Name, f.Type, c.Name, strings.Join(numericFields(c), ", "))
			}
		}
		if col := a.Metrics[i].Column(); slices.Contains(columns, col) {
			return a, Errorf(CodeInvalid, "metric %s appears twice", col)
		} else {
			columns = append(columns, col)
		}
	}
	if a.Filters, err = checkFilters(c, a.Filters); err != nil {
		return a, err
	}
	for _, o := range a.Sort {
		if !slices.Contains(columns, o.Field) {
			return a, Errorf(CodeInvalid, "cannot sort by %q; an aggregation sorts by its output columns: %s", o.Field, strings.Join(columns, ", "))
		}
	}
	switch {
	case a.Limit < 0:
		return a, Errorf(CodeInvalid, "limit must be positive, got %d", a.Limit)
	case a.Limit == 0 || a.Limit > rowCap:
		a.Limit = rowCap
	}
	return a, nil
}

// CheckSearch validates s against the schema and returns it normalised
// like CheckQuery (fields, filter values, Limit within (0, rowCap]), with
// the text trimmed and SearchAuto resolved to the mode the collection
// serves. Every problem is a CodeInvalid *Error that names the valid
// choices. A store may refuse more (a field it has not indexed); these are
// the rules that follow from the schema alone.
func (s Schema) CheckSearch(search Search, rowCap int) (Search, error) {
	c, err := s.lookup(search.Collection)
	if err != nil {
		return search, err
	}
	text := strings.TrimSpace(search.Text)
	switch {
	case text == "":
		return search, Errorf(CodeInvalid, "search text is empty; say what to look for")
	case len(text) > MaxSearchText:
		return search, Errorf(CodeInvalid, "search text is %d bytes; keep it under %d", len(text), MaxSearchText)
	}
	search.Text = text
	texts := textFields(c)
	for _, name := range search.In {
		f, ok := c.Field(name)
		if !ok {
			return search, unknownField(c, name)
		}
		if f.Type != TypeText {
			if len(texts) == 0 {
				return search, Errorf(CodeInvalid, "cannot search in %q of %s: it is %s, not text, and %s has no text fields", name, c.Name, f.Type, c.Name)
			}
			return search, Errorf(CodeInvalid, "cannot search in %q of %s: it is %s, not text; text fields: %s", name, c.Name, f.Type, strings.Join(texts, ", "))
		}
	}
	q, err := s.CheckQuery(Query{Collection: search.Collection, Fields: search.Fields, Filters: search.Filters, Limit: search.Limit}, rowCap)
	if err != nil {
		return search, err
	}
	search.Fields, search.Filters, search.Limit = q.Fields, q.Filters, q.Limit
	search.Mode, err = searchMode(c, search.Mode, len(texts) > 0)
	return search, err
}

// searchMode resolves SearchAuto and refuses a mode the collection cannot
// serve, naming those it can.
func searchMode(c Collection, m SearchMode, hasText bool) (SearchMode, error) {
	if m != SearchAuto && !slices.Contains(SearchModes(), m) {
		return m, Errorf(CodeInvalid, "unknown search mode %q; use keyword, hybrid or semantic", m)
	}
	var can []SearchMode
	if hasText {
		can = append(can, SearchKeyword)
	}
	if c.Vectorizer {
		can = append(can, SearchHybrid, SearchSemantic)
	}
	if m == SearchAuto {
		switch {
		case c.Vectorizer:
			return SearchHybrid, nil
		case hasText:
			return SearchKeyword, nil
		}
	}
	if slices.Contains(can, m) {
		return m, nil
	}
	if len(can) == 0 {
		return m, Errorf(CodeInvalid, "collection %s cannot be searched: it has no text fields and no vectorizer; use query with filters", c.Name)
	}
	why := "it has no vectorizer"
	if m == SearchKeyword {
		why = "it has no text fields"
	}
	return m, Errorf(CodeInvalid, "collection %s cannot do %s search (%s); it can do: %s", c.Name, m, why, joinQuoted(can))
}

func textFields(c Collection) []string {
	var names []string
	for _, f := range c.Fields {
		if f.Type == TypeText {
			names = append(names, f.Name)
		}
	}
	return names
}

// AggregationColumns returns the output columns of a checked aggregation.
func (s Schema) AggregationColumns(a Aggregation) []Column {
	c, _ := s.Collection(a.Collection)
	var cols []Column
	if a.GroupBy != "" {
		f, _ := c.Field(a.GroupBy)
		cols = append(cols, Column{Name: f.Name, Type: f.Type})
	}
	for _, m := range a.Metrics {
		t := TypeNumber
		if f, _ := c.Field(m.Field); m.Op == MetricCount || (f.Type == TypeInt && m.Op != MetricMean) {
			t = TypeInt
		}
		cols = append(cols, Column{Name: m.Column(), Type: t})
	}
	return cols
}

func (s Schema) lookup(name string) (Collection, error) {
	if c, ok := s.Collection(name); ok {
		return c, nil
	}
	return Collection{}, Errorf(CodeInvalid, "unknown collection %q; available collections: %s", name, strings.Join(s.Names(), ", "))
}

func unknownField(c Collection, name string) error {
	return Errorf(CodeInvalid, "unknown field %q in collection %s; its fields are: %s", name, c.Name, strings.Join(c.FieldNames(), ", "))
}

func numericFields(c Collection) []string {
	var names []string
	for _, f := range c.Fields {
		if f.Type.Numeric() {
			names = append(names, f.Name)
		}
	}
	return names
}

func checkFilters(c Collection, filters []Filter) ([]Filter, error) {
	out := make([]Filter, len(filters))
	for i, flt := range filters {
		f, ok := c.Field(flt.Field)
		if !ok {
			return nil, unknownField(c, flt.Field)
		}
		v, err := checkFilter(f, flt)
		if err != nil {
			return nil, err
		}
		op, v := wholeDay(f, flt, v)
		out[i] = Filter{Field: flt.Field, Op: op, Value: v}
	}
	return out, nil
}

func checkFilter(f Field, flt Filter) (any, error) {
	switch flt.Op {
	case OpEq, OpNe:
	case OpGt, OpGte, OpLt, OpLte:
		if f.Type == TypeBoolean {
			return nil, Errorf(CodeInvalid, "operator %s does not apply to boolean field %q; use eq or ne", flt.Op, f.Name)
		}
	case OpLike:
		if f.Type != TypeText {
			return nil, Errorf(CodeInvalid, "operator like applies to text fields only; %q is %s", f.Name, f.Type)
		}
	case OpIn:
		list, ok := flt.Value.([]any)
		if !ok || len(list) == 0 {
			return nil, Errorf(CodeInvalid, "operator in on %q needs a non-empty list of values", f.Name)
		}
		out := make([]any, len(list))
		for i, v := range list {
			cv, err := FieldValue(f, v)
			if err != nil {
				return nil, err
			}
			out[i] = cv
		}
		return out, nil
	default:
		return nil, Errorf(CodeInvalid, "unknown operator %q; use one of %s", flt.Op, joinQuoted(Ops()))
	}
	return FieldValue(f, flt.Value)
}

// FieldValue converts a JSON value to the Go value of field f's type:
// string for text and date ("2006-01-02"), float64 for number, int64 for
// int, bool for boolean.
func FieldValue(f Field, v any) (any, error) {
	bad := func() error {
		return Errorf(CodeInvalid, "value %s does not fit field %q of type %s%s", describeValue(v), f.Name, f.Type, typeHint(f.Type))
	}
	switch f.Type {
	case TypeText:
		s, ok := v.(string)
		if !ok {
			return nil, bad()
		}
		return s, nil
	case TypeDate:
		s, ok := v.(string)
		if !ok {
			return nil, bad()
		}
		d, ok := ParseDate(s)
		if !ok {
			return nil, bad()
		}
		return FormatDate(d), nil
	case TypeNumber:
		switch n := v.(type) {
		case float64:
			return n, nil
		case int64:
			return float64(n), nil
		case int:
			return float64(n), nil
		}
		return nil, bad()
	case TypeInt:
		var n float64
		switch x := v.(type) {
		case float64:
			n = x
		case int64:
			return x, nil
		case int:
			return int64(x), nil
		default:
			return nil, bad()
		}
		if n != math.Trunc(n) || math.Abs(n) > 1<<53 {
			return nil, bad()
		}
		return int64(n), nil
	case TypeBoolean:
		b, ok := v.(bool)
		if !ok {
			return nil, bad()
		}
		return b, nil
	}
	return nil, bad()
}

func typeHint(t Type) string {
	switch t {
	case TypeDate:
		return " (use \"YYYY-MM-DD\")"
	case TypeInt:
		return " (use a whole number)"
	}
	return ""
}

func describeValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("%q", x)
	}
	return fmt.Sprintf("%v", v)
}

// ParseDate accepts "2006-01-02" or RFC 3339.
func ParseDate(s string) (time.Time, bool) {
	if d, err := time.Parse(time.DateOnly, s); err == nil {
		return d, true
	}
	if d, err := time.Parse(time.RFC3339, s); err == nil {
		return d.UTC(), true
	}
	return time.Time{}, false
}

// FormatDate renders a date as "2006-01-02" when it falls on midnight UTC
// (every date in the sample data), and as RFC 3339 otherwise.
func FormatDate(d time.Time) string {
	d = d.UTC()
	if d.Equal(d.Truncate(24 * time.Hour)) {
		return d.Format(time.DateOnly)
	}
	return d.Format(time.RFC3339)
}

func joinQuoted[T ~string](xs []T) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = string(x)
	}
	return strings.Join(q, ", ")
}

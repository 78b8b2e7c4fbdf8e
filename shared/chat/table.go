package chat

import (
	"cmp"
	"slices"
	"strings"
)

// Type is the data type of a field or column. The names follow Weaviate's
// data types so that schema discovery maps one to one.
type Type string

const (
	TypeText    Type = "text"
	TypeNumber  Type = "number"
	TypeInt     Type = "int"
	TypeDate    Type = "date" // values are "2006-01-02" strings in tables and filters
	TypeBoolean Type = "boolean"
)

// Numeric reports whether values of t are numbers.
func (t Type) Numeric() bool { return t == TypeNumber || t == TypeInt }

// Column names and types one column of a table.
type Column struct {
	Name string `json:"name"`
	Type Type   `json:"type"`
}

// Source names an object a table row came from.
type Source struct {
	Collection string `json:"collection"`
	ID         string `json:"id"`
}

// Table is the "dataframe" of a turn. Rows only ever come from tool results
// (the warehouse), never from model text. Cells are string, float64, int64,
// bool or nil.
type Table struct {
	Columns   []Column `json:"columns"`
	Rows      [][]any  `json:"rows"`
	TotalRows int      `json:"total_rows"` // rows that matched, before the row cap
	Truncated bool     `json:"truncated"`  // true when Rows holds fewer than TotalRows
	Sources   []Source `json:"sources,omitempty"`
	// ID is the table's id in its turn ("t1"), the one citations name.
	ID string `json:"id,omitempty"`
	// Source says how the table was produced.
	Source *Provenance `json:"source,omitempty"`
}

// ColumnIndex returns the index of the named column, or -1.
func (t *Table) ColumnIndex(name string) int {
	for i, c := range t.Columns {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// CompareCells orders two cells of one column, the same way in every
// warehouse: numbers as numbers whatever their Go type, strings bytewise,
// false before true, and nil equal to anything.
func CompareCells(a, b any) int {
	if fa, ok := AsFloat(a); ok {
		if fb, ok := AsFloat(b); ok {
			return cmp.Compare(fa, fb)
		}
	}
	switch x := a.(type) {
	case string:
		y, _ := b.(string)
		return strings.Compare(x, y)
	case bool:
		y, _ := b.(bool)
		switch {
		case x == y:
			return 0
		case !x:
			return -1
		}
		return 1
	}
	return 0
}

// SortGroups orders an aggregation's rows by its Sort columns, then by the
// group value ascending, so every warehouse returns groups in one
// deterministic order whatever its store returns.
func SortGroups(t *Table, a Aggregation) {
	keys := make([]int, len(a.Sort))
	for i, s := range a.Sort {
		keys[i] = t.ColumnIndex(s.Field)
	}
	slices.SortStableFunc(t.Rows, func(x, y []any) int {
		for i, s := range a.Sort {
			c := CompareCells(x[keys[i]], y[keys[i]])
			if s.Desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		if a.GroupBy != "" {
			return CompareCells(x[0], y[0])
		}
		return 0
	})
}

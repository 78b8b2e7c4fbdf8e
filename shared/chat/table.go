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
// warehouse, as a total order: numbers as numbers whatever their Go type,
// strings bytewise, false before true, and nil after every value (two nils
// are equal). Values of different kinds, which one column never mixes,
// order as numbers, strings, booleans. Sorting uses CompareKey, which keeps
// nil last in descending order too.
func CompareCells(a, b any) int {
	if c := cmp.Compare(cellRank(a), cellRank(b)); c != 0 {
		return c
	}
	if fa, ok := AsFloat(a); ok {
		fb, _ := AsFloat(b)
		return cmp.Compare(fa, fb)
	}
	switch x := a.(type) {
	case string:
		return strings.Compare(x, b.(string))
	case bool:
		y := b.(bool)
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

// cellRank orders the kinds of cells: numbers, strings, booleans, then
// anything else, then nil.
func cellRank(v any) int {
	if _, ok := AsFloat(v); ok {
		return 0
	}
	switch v.(type) {
	case string:
		return 1
	case bool:
		return 2
	case nil:
		return 4
	}
	return 3
}

// CompareKey orders two cells for one sort key: by CompareCells, reversed
// when desc, with nil last in both directions (a missing value is never
// the top or the bottom of anything).
func CompareKey(a, b any, desc bool) int {
	if an, bn := a == nil, b == nil; an || bn {
		switch {
		case an && bn:
			return 0
		case an:
			return 1
		}
		return -1
	}
	c := CompareCells(a, b)
	if desc {
		c = -c
	}
	return c
}

// SortGroups orders an aggregation's rows by its Sort columns, then by the
// group value ascending, with nil last (CompareKey), so every warehouse
// returns groups in one deterministic order whatever its store returns.
func SortGroups(t *Table, a Aggregation) {
	keys := make([]int, len(a.Sort))
	for i, s := range a.Sort {
		keys[i] = t.ColumnIndex(s.Field)
	}
	slices.SortStableFunc(t.Rows, func(x, y []any) int {
		for i, s := range a.Sort {
			if c := CompareKey(x[keys[i]], y[keys[i]], s.Desc); c != 0 {
				return c
			}
		}
		if a.GroupBy != "" {
			return CompareKey(x[0], y[0], false)
		}
		return 0
	})
}

package chat

import (
	"slices"
	"time"
)

// SortID is the sort key of an object's id. Every query's sort ends with
// it, so rows that tie on every other key still come in one order, the
// same in every warehouse (ids compare as strings; Weaviate's UUIDs, in
// their canonical lower-case form, order the same way as their bytes).
const SortID = "_id"

// DefaultSort is the order of a query that names none: the collection's
// first date field ascending, then the object id. A collection without a
// date field is ordered by id alone.
func DefaultSort(c Collection) []Sort {
	var out []Sort
	if f, ok := firstDateField(c); ok {
		out = append(out, Sort{Field: f})
	}
	return append(out, Sort{Field: SortID})
}

// completeSort returns sorts with the tiebreak keys appended: the default
// order's keys that are not already there, so every query has one defined
// order. It is idempotent, so checking a checked query changes nothing.
func completeSort(c Collection, sorts []Sort) []Sort {
	out := slices.Clone(sorts)
	for _, d := range DefaultSort(c) {
		if !slices.ContainsFunc(out, func(s Sort) bool { return s.Field == d.Field }) {
			out = append(out, d)
		}
	}
	return out
}

func firstDateField(c Collection) (string, bool) {
	for _, f := range c.Fields {
		if f.Type == TypeDate {
			return f.Name, true
		}
	}
	return "", false
}

// wholeDay makes a day given as an upper bound mean the whole day: on a
// date field, lte "2008-12-31" becomes lt "2009-01-01" and gt "2008-12-31"
// becomes gte "2009-01-01", so events later on that day are on the side a
// person means. v is the checked value of flt; bounds with a time of day,
// and every other operator, are left as they are.
func wholeDay(f Field, flt Filter, v any) (Op, any) {
	if f.Type != TypeDate || (flt.Op != OpLte && flt.Op != OpGt) {
		return flt.Op, v
	}
	s, _ := flt.Value.(string)
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return flt.Op, v
	}
	next := FormatDate(d.AddDate(0, 0, 1))
	if flt.Op == OpLte {
		return OpLt, next
	}
	return OpGte, next
}

package chat

import "encoding/json"

// Byte budgets for what leaves the service. A Lambda function's response
// is at most 6 MB, counted after API Gateway's payload wraps the body in a
// JSON string (every quote escaped), so a body has to stay well under 3 MB
// to be sure; a table is capped far below that, so one answer, a table
// and its chart, is always sendable and a page can hold several turns.
const (
	// MaxTableBytes caps the JSON of each table a turn returns or stores.
	MaxTableBytes = 256 << 10
	// MaxPageBytes caps the JSON of one page of a conversation's turns.
	MaxPageBytes = 2 << 20
)

// CapTableBytes returns t when its JSON fits limit bytes; otherwise a copy
// holding the longest prefix of its rows (and their sources) that fits,
// marked Truncated, with TotalRows kept.
func CapTableBytes(t *Table, limit int) *Table {
	if t == nil {
		return nil
	}
	empty := *t
	empty.Rows, empty.Sources, empty.Truncated = [][]any{}, nil, true
	head, err := json.Marshal(empty)
	if err != nil {
		return t
	}
	used := len(head) + len(`,"sources":[]`)
	withSources := len(t.Sources) == len(t.Rows)
	keep := 0
	for i, row := range t.Rows {
		b, err := json.Marshal(row)
		if err != nil {
			return t
		}
		n := len(b) + 1
		if withSources {
			s, err := json.Marshal(t.Sources[i])
			if err != nil {
				return t
			}
			n += len(s) + 1
		}
		if used+n > limit {
			break
		}
		used, keep = used+n, keep+1
	}
	if keep == len(t.Rows) {
		return t
	}
	out := *t
	out.Rows = t.Rows[:keep:keep]
	if withSources {
		out.Sources = t.Sources[:keep:keep]
	}
	out.Truncated = true
	out.TotalRows = max(t.TotalRows, len(t.Rows))
	return &out
}

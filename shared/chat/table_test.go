package chat_test

import (
	"slices"
	"testing"

	"github.com/datachat/datachat/shared/chat"
)

func TestSortGroups(t *testing.T) {
	tbl := chat.Table{Rows: [][]any{{"b", int64(2)}, {"c", int64(1)}, {"a", int64(2)}, {"d", nil}},
		Columns: []chat.Column{{Name: "k", Type: chat.TypeText}, {Name: "count", Type: chat.TypeInt}}}
	a := chat.Aggregation{GroupBy: "k", Sort: []chat.Sort{{Field: "count", Desc: true}}}
	chat.SortGroups(&tbl, a)
	var keys []string
	for _, r := range tbl.Rows {
		keys = append(keys, r[0].(string))
	}
	// Ties (and nil, equal to anything, as in the embedded warehouse) fall
	// back to the group value ascending.
	if want := []string{"a", "b", "c", "d"}; !slices.Equal(keys, want) {
		t.Errorf("order = %v, want %v", keys, want)
	}
}

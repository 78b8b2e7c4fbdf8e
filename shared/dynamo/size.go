package dynamo

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/datachat/datachat/shared/chat"
)

// maxItemBytes is DynamoDB's item size limit (400 KB, counted as KiB).
const maxItemBytes = 400 * 1024

// itemSize is the size DynamoDB counts for item: attribute names plus
// values, by the published rules, rounded up where the rules are
// approximate, so that an item this accepts is never over the limit.
func itemSize(item map[string]types.AttributeValue) int {
	n := 0
	for name, v := range item {
		n += len(name) + valueSize(v)
	}
	return n
}

func valueSize(v types.AttributeValue) int {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return len(v.Value)
	case *types.AttributeValueMemberN:
		return numberSize(v.Value)
	case *types.AttributeValueMemberB:
		return len(v.Value)
	case *types.AttributeValueMemberBOOL, *types.AttributeValueMemberNULL:
		return 1
	case *types.AttributeValueMemberSS:
		n := 0
		for _, s := range v.Value {
			n += len(s)
		}
		return n
	case *types.AttributeValueMemberNS:
		n := 0
		for _, s := range v.Value {
			n += numberSize(s)
		}
		return n
	case *types.AttributeValueMemberBS:
		n := 0
		for _, b := range v.Value {
			n += len(b)
		}
		return n
	case *types.AttributeValueMemberL:
		n := 3
		for _, e := range v.Value {
			n += 1 + valueSize(e)
		}
		return n
	case *types.AttributeValueMemberM:
		n := 3
		for k, e := range v.Value {
			n += 1 + len(k) + valueSize(e)
		}
		return n
	}
	return 0
}

// numberSize: one byte per two significant digits plus one; counting every
// character of the string over-estimates, which is the safe side.
func numberSize(s string) int { return (len(s)+1)/2 + 1 }

// Caps applied, in order, to a turn too big for one item.
const (
	// messageCap bounds each message's content and each tool call's
	// arguments. The agent's tool messages are summaries of a few KB, so
	// only something unusual is cut.
	messageCap = 16 << 10
	// textCap bounds the question and the answer in the last resort.
	textCap = 64 << 10
	// markerRoom is kept free for the notes fitTurn adds.
	markerRoom = 512
)

// fitTurn returns t cut down so that its JSON is at most budget bytes, and
// whether anything was cut. In order, until it fits:
//  1. message contents and tool-call arguments over messageCap are cut,
//     with a marker saying how much was kept;
//  2. the table keeps its first rows and the chart its first points (the
//     same number k, the largest that fits), the table marked Truncated
//     with TotalRows kept, the chart's description saying how many points
//     it kept;
//  3. the messages are dropped (history then shows the model the question
//     and the answer), and the question and answer are cut to textCap;
//  4. the table and chart are dropped.
//
// The last step always fits a budget over 2*textCap plus a little.
func fitTurn(t chat.Turn, budget int) (chat.Turn, bool, error) {
	if budget < 2*textCap+4*markerRoom {
		return chat.Turn{}, false, fmt.Errorf("item budget %d bytes is too small for a turn", budget)
	}
	fits := func(t chat.Turn) (bool, error) {
		b, err := json.Marshal(t)
		if err != nil {
			return false, fmt.Errorf("encode turn: %w", err)
		}
		return len(b) <= budget, nil
	}
	if ok, err := fits(t); ok || err != nil {
		return t, false, err
	}

	t.Messages = capMessages(t.Messages)
	if ok, err := fits(t); ok || err != nil {
		return t, true, err
	}

	capped, err := capRows(t, budget-markerRoom)
	if err != nil {
		return chat.Turn{}, false, err
	}
	if ok, err := fits(capped); ok || err != nil {
		return capped, true, err
	}

	capped.Messages = nil
	capped.Question = cut(capped.Question, textCap)
	capped.Answer = cut(capped.Answer, textCap)
	if ok, err := fits(capped); ok || err != nil {
		return capped, true, err
	}
	t = capped
	if rows := tableRows(t.Table); rows > 0 || t.Chart != nil {
		t.Answer += fmt.Sprintf(" [the table (%d rows) and chart of this turn were too large to store]", rows)
	}
	t.Table, t.Chart = nil, nil
	t.Limit = cut(t.Limit, markerRoom)
	t.FinishReason = chat.FinishReason(cut(string(t.FinishReason), markerRoom))
	if ok, err := fits(t); !ok || err != nil {
		return chat.Turn{}, false, fmt.Errorf("turn does not fit in %d bytes even without its table: %v", budget, err)
	}
	return t, true, nil
}

func tableRows(t *chat.Table) int {
	if t == nil {
		return 0
	}
	return max(t.TotalRows, len(t.Rows))
}

// capMessages returns a copy of msgs with long contents and arguments cut.
func capMessages(msgs []chat.Message) []chat.Message {
	out := make([]chat.Message, len(msgs))
	for i, m := range msgs {
		m.Content = cut(m.Content, messageCap)
		if len(m.ToolCalls) > 0 {
			calls := make([]chat.ToolCall, len(m.ToolCalls))
			for j, c := range m.ToolCalls {
				c.Arguments = cut(c.Arguments, messageCap)
				calls[j] = c
			}
			m.ToolCalls = calls
		}
		out[i] = m
	}
	return out
}

// cut shortens s to at most limit bytes (on a rune boundary) and marks it.
func cut(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	marker := fmt.Sprintf(" …[cut for storage: %d of %d bytes kept]", 0, len(s))
	keep := max(limit-len(marker)-8, 0)
	for keep > 0 && !utf8.RuneStart(s[keep]) {
		keep--
	}
	return s[:keep] + fmt.Sprintf(" …[cut for storage: %d of %d bytes kept]", keep, len(s))
}

// capRows keeps the first k table rows (and sources) and chart points for
// the largest k whose JSON fits budget. Sizes are summed per row rather
// than by encoding the turn again for every k.
func capRows(t chat.Turn, budget int) (chat.Turn, error) {
	var rows [][]any
	var sources []chat.Source
	var points []map[string]any
	if t.Table != nil {
		rows, sources = t.Table.Rows, t.Table.Sources
	}
	if t.Chart != nil {
		points = t.Chart.Data.Values
	}
	sizes := func(n int, enc func(i int) any) ([]int, error) {
		out := make([]int, n)
		for i := range n {
			b, err := json.Marshal(enc(i))
			if err != nil {
				return nil, fmt.Errorf("encode row %d: %w", i, err)
			}
			out[i] = len(b)
		}
		return out, nil
	}
	rowSizes, err := sizes(len(rows), func(i int) any { return rows[i] })
	if err != nil {
		return chat.Turn{}, err
	}
	sourceSizes, err := sizes(len(sources), func(i int) any { return sources[i] })
	if err != nil {
		return chat.Turn{}, err
	}
	pointSizes, err := sizes(len(points), func(i int) any { return points[i] })
	if err != nil {
		return chat.Turn{}, err
	}

	withK := func(k int) chat.Turn {
		c := t
		if t.Table != nil {
			tbl := *t.Table
			tbl.TotalRows = tableRows(t.Table)
			tbl.Rows = rows[:min(k, len(rows))]
			if len(tbl.Rows) < len(rows) {
				tbl.Truncated = true
			}
			if len(sources) > 0 {
				tbl.Sources = sources[:min(k, len(sources))]
			}
			c.Table = &tbl
		}
		if t.Chart != nil {
			ch := *t.Chart
			ch.Data.Values = points[:min(k, len(points))]
			if len(ch.Data.Values) < len(points) {
				note := fmt.Sprintf("Stored with the first %d of its %d points.", len(ch.Data.Values), len(points))
				if ch.Description != "" {
					note = ch.Description + " " + note
				}
				ch.Description = note
			}
			c.Chart = &ch
		}
		return c
	}
	base, err := json.Marshal(withK(0))
	if err != nil {
		return chat.Turn{}, fmt.Errorf("encode turn: %w", err)
	}
	// A list of n encoded elements takes their sizes plus n-1 commas.
	size, k := len(base), 0
	for k < max(len(rows), len(points), len(sources)) {
		add := 0
		for _, s := range [][]int{rowSizes, sourceSizes, pointSizes} {
			if k < len(s) {
				add += s[k]
				if k > 0 {
					add++
				}
			}
		}
		if size+add > budget {
			break
		}
		size += add
		k++
	}
	return withK(k), nil
}

package offline

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/datachat/datachat/shared/chat"
)

// chartPoints is the default CHART_POINTS: a series longer than this is
// plotted as monthly averages, and the answer says so.
const chartPoints = 5000

// chunkYears bounds one query of daily rows, so a whole series fits the
// rows a query may fetch; compute appends the chunks back together.
const chunkYears = 10

func tid(n int) string { return "t" + strconv.Itoa(n) }

func computeCall(table string, steps ...map[string]any) chat.ToolCall {
	full := make([]map[string]any, len(steps))
	for i, s := range steps {
		st := map[string]any{"op": nil, "column": nil, "other": nil, "as": nil, "group_by": nil, "window": nil,
			"bucket": nil, "agg": nil, "date": nil, "desc": nil, "n": nil, "table": nil, "key": nil}
		for k, v := range s {
			st[k] = v
		}
		full[i] = st
	}
	return call(chat.ToolCompute, map[string]any{"table": table, "steps": full})
}

// bounds is the plan's period with open ends closed at the data's range.
func (p plan) bounds() (int, int) {
	from, to := 2000, 2020
	if p.period.from != "" {
		from = atoi(p.period.from[:4])
	}
	if p.period.to != "" {
		to = atoi(p.period.to[:4])
	}
	return from, to
}

// chunkFilters splits the period into pieces of at most chunkYears years
// (one piece for the monthly stock prices) and returns each piece's filters.
func (p plan) chunkFilters() [][]map[string]any {
	from, to := p.bounds()
	if p.coll == "Stocks" || to-from < chunkYears {
		return [][]map[string]any{p.filters()}
	}
	var out [][]map[string]any
	for y := from; y <= to; y += chunkYears {
		q := p
		q.period.from, q.period.to = p.period.from, p.period.to
		if y > from {
			q.period.from = fmt.Sprintf("%d-01-01", y)
		}
		if end := y + chunkYears - 1; end < to {
			q.period.to = fmt.Sprintf("%d-12-31", end)
		}
		out = append(out, q.filters())
	}
	return out
}

// seriesCalls queries the plan's daily (or monthly) rows in chunks and
// returns the calls and the compute steps that append the chunks.
func (p plan) seriesCalls(fields []string) ([]chat.ToolCall, []map[string]any) {
	var calls []chat.ToolCall
	var appends []map[string]any
	for i, f := range p.chunkFilters() {
		calls = append(calls, queryCall(p.coll, fields, f, "date", false, nil))
		if i > 0 {
			appends = append(appends, map[string]any{"op": "append", "table": tid(i + 1)})
		}
	}
	return calls, appends
}

func (p plan) seriesFields() []string {
	if p.coll == "Stocks" {
		return []string{"symbol", "date", "price"}
	}
	return []string{"date", p.field}
}

func (p plan) seriesGroup() any {
	if p.coll == "Stocks" {
		return "symbol"
	}
	return nil
}

// newSteps plans the shapes that use the compute tool.
func (p plan) newSteps() [][]chat.ToolCall {
	switch p.shape {
	case shapeDailyMove:
		calls, steps := p.seriesCalls(p.seriesFields())
		k := len(calls)
		steps = append(steps,
			map[string]any{"op": "difference", "column": p.field, "as": "points", "group_by": p.seriesGroup()},
			map[string]any{"op": "percent_change", "column": p.field, "as": "pct_change", "group_by": p.seriesGroup()})
		// Each ranking runs the whole chain in one call: the daily changes
		// of twenty years are more rows than a table may hold.
		up := p.direction > 0
		rank := func(col string, n int, desc bool) chat.ToolCall {
			return computeCall(tid(1), append(slices.Clone(steps), map[string]any{"op": "top_n", "column": col, "n": n, "desc": desc})...)
		}
		first := rank("points", 1, up)
		if p.direction == 0 {
			first = rank("pct_change", 1, true)
		}
		out := [][]chat.ToolCall{calls, {first, rank("pct_change", p.n, up)}}
		if p.n > 1 {
			out = append(out, []chat.ToolCall{chartCall("bar", "date", "pct_change", nil, tid(k+2), p.title())})
		}
		return out
	case shapeChange:
		if p.coll == "Stocks" {
			out := [][]chat.ToolCall{
				{queryCall(p.coll, p.seriesFields(), p.filters(), "date", false, nil)},
				{computeCall(tid(1), map[string]any{"op": "change", "column": "price", "group_by": "symbol"},
					map[string]any{"op": "sort", "column": "pct_change", "desc": p.direction >= 0})},
			}
			if len(p.symbols) != 1 {
				out = append(out, []chat.ToolCall{chartCall("bar", "symbol", "pct_change", nil, tid(2), p.title())})
			}
			return out
		}
		return [][]chat.ToolCall{
			{queryCall(p.coll, p.seriesFields(), p.filters(), "date", false, 1), queryCall(p.coll, p.seriesFields(), p.filters(), "date", true, 1)},
			{computeCall(tid(1), map[string]any{"op": "append", "table": tid(2)}, map[string]any{"op": "change", "column": p.field})},
		}
	case shapeValue:
		if p.coll == "Stocks" {
			q := p
			if q.period.kind == "day" {
				q.period = monthPeriod(p.period.from[:4], atoi(p.period.from[5:7]))
			}
			return [][]chat.ToolCall{{queryCall(p.coll, []string{"symbol", "date", "month", "price"}, q.filters(), "symbol", false, nil)}}
		}
		f := []map[string]any{{"field": "date", "op": "lte", "value": p.period.to}}
		return [][]chat.ToolCall{{queryCall(p.coll, []string{"date", "open", "high", "low", "close", "volume"}, f, "date", true, 1)}}
	case shapeBucket:
		calls, steps := p.seriesCalls(p.seriesFields())
		k := len(calls)
		col := string(p.op) + "_" + p.field
		agg := string(p.op)
		if p.op == chat.MetricCount {
			col = "count"
		}
		steps = append(steps, map[string]any{"op": "bucket", "column": p.field, "bucket": p.unit, "agg": agg, "group_by": p.seriesGroup()})
		b := tid(k + 1)
		kind := "bar"
		if p.unit == "week" {
			kind = "line"
		}
		var color any
		if p.coll == "Stocks" && len(p.symbols) != 1 {
			color = "symbol"
		}
		return [][]chat.ToolCall{calls, {computeCall(tid(1), steps...)}, {
			computeCall(b, map[string]any{"op": "top_n", "column": col, "n": 1, "desc": true}),
			computeCall(b, map[string]any{"op": "top_n", "column": col, "n": 1, "desc": false}),
			chartCall(kind, p.unit, col, color, b, p.title()),
		}}
	case shapePeriods:
		metrics := []map[string]any{metric(p.op, p.field), metric(chat.MetricCount, "")}
		if p.op == chat.MetricCount {
			metrics = metrics[1:]
		}
		return [][]chat.ToolCall{{aggregateCall(p.coll, metrics, "year", p.filters(), nil, nil)}}
	}
	return nil
}

// newAnswer writes the answer of the shapes newSteps plans.
func (p plan) newAnswer(results []map[string]any) string {
	switch p.shape {
	case shapeDailyMove:
		k := len(p.chunkFilters())
		if len(results) < k+2 {
			return p.noData()
		}
		return p.moveAnswer(rowsOf(results[k]), rowsOf(results[k+1]))
	case shapeChange:
		if p.coll == "Stocks" {
			return p.stockChangeAnswer(rowsOf(results[1]))
		}
		return p.changeAnswer(rowsOf(results[2]))
	case shapeValue:
		return p.valueAnswer(rowsOf(results[0]))
	case shapeBucket:
		k := len(p.chunkFilters())
		if len(results) < k+3 {
			return p.noData()
		}
		return p.bucketAnswer(results[k], rowsOf(results[k+1]), rowsOf(results[k+2]))
	case shapePeriods:
		return p.periodsAnswer(rowsOf(results[0]))
	}
	return capabilities(nil)
}

func signed(s string, v float64) string {
	if v > 0 {
		return "+" + s
	}
	return s
}

func (p plan) pct(v any) string {
	f, ok := chat.AsFloat(v)
	if !ok {
		return "n/a"
	}
	return signed(formatFixed(f, 2), f) + "%"
}

func (p plan) points(v any) string {
	f, ok := chat.AsFloat(v)
	if !ok {
		return "n/a"
	}
	s := formatFixed(f, 2)
	if p.coll == "Stocks" {
		s = strings.Replace(s, "-", "-$", 1)
		if f >= 0 {
			s = "$" + s
		}
		return signed(s, f)
	}
	return signed(s, f) + " points"
}

// moveAnswer reports the largest one-day moves: by points (or, for
// either direction, the largest rise) and by percent.
func (p plan) moveAnswer(first, byPct [][]any) string {
	if len(byPct) == 0 {
		return p.noData()
	}
	sym := 0
	unit := "one-day"
	if p.coll == "Stocks" {
		sym, unit = 1, "one-month"
	}
	// Columns: [symbol,] date, value, points, pct_change.
	date, val, pts, pc := sym, sym+1, sym+2, sym+3
	who := func(r []any) string {
		if p.coll == "Stocks" {
			return fmt.Sprintf("%v ", r[0])
		}
		return ""
	}
	word := "drop"
	if p.direction > 0 {
		word = "rise"
	}
	if p.direction == 0 {
		up, down := first[0], byPct[0]
		u, _ := chat.AsFloat(up[pc])
		d, _ := chat.AsFloat(down[pc])
		big, other, bw, ow := up, down, "rise", "drop"
		if math.Abs(d) > math.Abs(u) {
			big, other, bw, ow = down, up, "drop", "rise"
		}
		return fmt.Sprintf("The largest %s move of %s%s was a %s of %s%s (%s) on %v, to %s; the largest %s was %s%s (%s) on %v.",
			unit, p.subject(), p.periodSuffix(), bw, who(big), p.pct(big[pc]), p.points(big[pts]), big[date], p.format(big[val]),
			ow, who(other), p.pct(other[pc]), p.points(other[pts]), other[date])
	}
	var b strings.Builder
	if p.n > 1 {
		fmt.Fprintf(&b, "The %d largest %s %ss of %s%s, in percent:", len(byPct), unit, word, p.subject(), p.periodSuffix())
		for _, r := range byPct {
			fmt.Fprintf(&b, " %v %s%s (%s);", r[date], who(r), p.pct(r[pc]), p.points(r[pts]))
		}
		return strings.TrimSuffix(b.String(), ";") + "."
	}
	r := byPct[0]
	fmt.Fprintf(&b, "The biggest %s %s of %s%s was %s%s on %v (%s, to %s).", unit, word, p.subject(), p.periodSuffix(), who(r), p.pct(r[pc]), r[date], p.points(r[pts]), p.format(r[val]))
	if len(first) > 0 {
		f := first[0]
		if fmt.Sprint(f[date], f[0]) == fmt.Sprint(r[date], r[0]) {
			b.WriteString(" It was also the biggest in points.")
		} else {
			fmt.Fprintf(&b, " In points, the biggest was %s%s on %v (%s).", who(f), p.points(f[pts]), f[date], p.pct(f[pc]))
		}
	}
	return b.String()
}

// absPct is a percentage without its sign, for after "rose" or "fell".
func absPct(v any) string {
	f, ok := chat.AsFloat(v)
	if !ok {
		return "n/a"
	}
	return formatFixed(math.Abs(f), 2) + "%"
}

func direction(v any) string {
	if f, _ := chat.AsFloat(v); f < 0 {
		return "fell"
	}
	return "rose"
}

// changeAnswer reports one series' change over the period. Columns:
// first_date, first_value, last_date, last_value, change, pct_change.
func (p plan) changeAnswer(rows [][]any) string {
	if len(rows) == 0 || rows[0][0] == nil {
		return p.noData()
	}
	r := rows[0]
	return fmt.Sprintf("The %s of %s %s %s%s: from %s on %v to %s on %v, a change of %s.",
		fieldLabel(p.field), p.subject(), direction(r[4]), absPct(r[5]), p.periodSuffix(), p.format(r[1]), r[0], p.format(r[3]), r[2], p.points(r[4]))
}

// stockChangeAnswer reports each symbol's change, best first (worst first
// for a question about falls). Columns: symbol, first_date, first_price,
// last_date, last_price, change, pct_change.
func (p plan) stockChangeAnswer(rows [][]any) string {
	if len(rows) == 0 {
		return p.noData()
	}
	one := func(r []any) string {
		return fmt.Sprintf("%v %s %s (from %s on %v to %s on %v)", r[0], direction(r[5]), absPct(r[6]), p.format(r[2]), r[1], p.format(r[4]), r[3])
	}
	if len(rows) == 1 {
		return "The price of " + one(rows[0]) + p.periodSuffix() + "."
	}
	var b strings.Builder
	how := "rose the most"
	if p.direction < 0 {
		how = "fell the most"
	}
	if p.rank {
		fmt.Fprintf(&b, "%v %s%s: %s.", rows[0][0], how, p.periodSuffix(), p.pct(rows[0][6]))
		fmt.Fprintf(&b, " All %d:", len(rows))
	} else {
		fmt.Fprintf(&b, "The change in price of %s%s:", p.subject(), p.periodSuffix())
	}
	for _, r := range rows {
		fmt.Fprintf(&b, " %s;", one(r))
	}
	return strings.TrimSuffix(b.String(), ";") + "."
}

// valueAnswer reports the value on a day (the last trading day up to it)
// or a stock's price in a month.
func (p plan) valueAnswer(rows [][]any) string {
	if len(rows) == 0 {
		return p.noData()
	}
	if p.coll == "Stocks" { // symbol, date, month, price
		parts := make([]string, len(rows))
		for i, r := range rows {
			parts[i] = fmt.Sprintf("%v's price was %s (the monthly price of %v)", r[0], p.format(r[3]), r[1])
		}
		return fmt.Sprintf("%s, %s.", strings.ToUpper(p.periodSuffix()[1:2])+p.periodSuffix()[2:], strings.Join(parts, "; "))
	}
	r := rows[0] // date, open, high, low, close, volume
	q := p
	q.field = "close"
	vol := q
	vol.field = "volume"
	what := fmt.Sprintf("the S&P 500 closed at %s (open %s, high %s, low %s, volume %s)", q.format(r[4]), q.format(r[1]), q.format(r[2]), q.format(r[3]), vol.format(r[5]))
	if r[0] == p.period.from {
		return fmt.Sprintf("On %v %s.", r[0], what)
	}
	return fmt.Sprintf("There was no trading on %s; on the last trading day before it, %v, %s.", p.period.from, r[0], what)
}

// bucketAnswer lists the buckets, or for many gives the highest and the
// lowest.
func (p plan) bucketAnswer(summary map[string]any, hi, lo [][]any) string {
	rows := rowsOf(summary)
	if len(rows) == 0 {
		return p.noData()
	}
	label := strings.TrimSpace(opLabel(p.op) + " " + fieldLabel(p.field))
	if p.op == chat.MetricCount {
		label = "number of rows"
	}
	unit := map[string]string{"week": "weekly", "quarter": "quarterly"}[p.unit]
	val := 1
	who := func(r []any) string { return fmt.Sprint(r[0]) }
	if p.coll == "Stocks" {
		val = 2
		who = func(r []any) string { return fmt.Sprintf("%v %v", r[1], r[0]) }
	}
	n, _ := chat.AsFloat(summary["rows_in_table"])
	var b strings.Builder
	fmt.Fprintf(&b, "The %s %s of %s%s", unit, label, p.subject(), p.periodSuffix())
	if len(rows) <= 8 && int(n) == len(rows) {
		b.WriteString(":")
		for _, r := range rows {
			fmt.Fprintf(&b, " %s %s;", who(r), p.format(r[val]))
		}
		return strings.TrimSuffix(b.String(), ";") + "."
	}
	if p.unit == "week" {
		who = func(r []any) string { return fmt.Sprintf("the week of %v", r[0]) }
	}
	fmt.Fprintf(&b, " covers %s %ss: the highest was %s in %s and the lowest %s in %s.", formatInt(n), p.unit, p.format(hi[0][val]), who(hi[0]), p.format(lo[0][val]), who(lo[0]))
	return b.String()
}

// periodsAnswer reports a metric in each year asked for. Columns: year,
// metric, count (count alone for a count).
func (p plan) periodsAnswer(rows [][]any) string {
	if len(rows) == 0 {
		return p.noData()
	}
	unit := "trading days"
	if p.coll == "Stocks" {
		unit = "monthly prices"
	}
	parts := make([]string, len(rows))
	for i, r := range rows {
		if p.op == chat.MetricCount {
			parts[i] = fmt.Sprintf("%s %s in %v", formatInt(num(r[1])), unit, r[0])
			continue
		}
		parts[i] = fmt.Sprintf("%s in %v (%s %s)", p.format(r[1]), r[0], formatInt(num(r[2])), unit)
	}
	if p.op == chat.MetricCount {
		return fmt.Sprintf("%s has %s.", capitalize(p.subject()), strings.Join(parts, " and "))
	}
	return fmt.Sprintf("The %s %s of %s was %s.", opLabel(p.op), fieldLabel(p.field), p.subject(), strings.Join(parts, " and "))
}

func num(v any) float64 { f, _ := chat.AsFloat(v); return f }

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// understood says what the planner read of a question it cannot answer,
// so the person can rephrase instead of getting a table about something else.
func (p plan) understood() string {
	var parts []string
	if p.coll != "" || len(p.symbols) > 0 {
		parts = append(parts, p.subject())
	}
	if p.period.label != "" {
		parts = append(parts, p.period.label)
	}
	var b strings.Builder
	switch {
	case p.refused != "" && len(parts) > 0:
		fmt.Fprintf(&b, "I understood a question about %s, but I cannot answer %q questions: I only read and compute on the data.", strings.Join(parts, " "), p.refused)
	case p.refused != "":
		fmt.Fprintf(&b, "I cannot answer %q questions: I only read and compute on the data.", p.refused)
	case len(parts) > 0:
		fmt.Fprintf(&b, "I understood a question about %s, but not what to compute.", strings.Join(parts, " "))
	}
	return b.String()
}

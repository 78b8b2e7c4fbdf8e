package offline

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/datachat/datachat/shared/chat"
)

// answer writes the final answer from the tool results of the turn. Every
// number in it is read from those results.
func (p plan) answer(results []map[string]any) string {
	for _, r := range results {
		if e, ok := r["error"].(string); ok {
			return "I could not get the data for that: " + e
		}
	}
	p = p.normalize()
	if len(results) == 0 {
		return capabilities(nil)
	}
	first := results[0]
	switch p.shape {
	case shapeDailyMove, shapeChange, shapeValue, shapeBucket, shapePeriods:
		return p.newAnswer(results)
	case shapeMetric:
		return p.metricAnswer(rowsOf(first))
	case shapeExtreme:
		return p.extremeAnswer(rowsOf(first))
	case shapeTopN:
		return p.topAnswer(first)
	case shapeSeries:
		if len(results) > 1 && len(columnsOf(results[1])) == 1 {
			return p.seriesAnswer(first) + fmt.Sprintf(" The period has %s trading days, more than a chart can plot, so they are shown as monthly averages.",
				formatInt(num(rowsOf(results[1])[0][0])))
		}
		return p.seriesAnswer(first)
	case shapeComparison:
		if len(results) > 1 {
			return p.comparisonAnswer(rowsOf(results[1])) + fmt.Sprintf(" The chart plots each symbol's price over time, all %s monthly prices.", formatInt(num(first["rows_in_table"])))
		}
	case shapeGrouping:
		if len(results) >= 3 {
			return p.groupAnswer(first, rowsOf(results[1]), rowsOf(results[2]))
		}
	}
	if u := p.understood(); u != "" {
		return u + " " + capabilities(first)
	}
	return capabilities(first)
}

func (p plan) periodSuffix() string {
	if p.period.label == "" {
		return ""
	}
	return " " + p.period.label
}

func (p plan) noData() string {
	return fmt.Sprintf("There is no data for %s%s. The S&P 500 data covers 2000-01-03 to 2020-04-17 and the stock prices 2000-01 to 2010-03.", p.subject(), p.periodSuffix())
}

func (p plan) metricAnswer(rows [][]any) string {
	if len(rows) == 0 || len(rows[0]) == 0 {
		return p.noData()
	}
	n, _ := chat.AsFloat(rows[0][len(rows[0])-1])
	if n == 0 {
		return p.noData()
	}
	unit := "trading days"
	if p.coll == "Stocks" {
		unit = "monthly prices"
	}
	cond := ""
	for _, c := range p.conds {
		cond += fmt.Sprintf(" with %s %s %s", fieldLabel(p.filterField(c)), opWords(c.op), p.formatAs(p.filterField(c), c.value))
	}
	if p.op == chat.MetricCount {
		return fmt.Sprintf("There are %s %s for %s%s%s.", formatInt(n), unit, p.subject(), p.periodSuffix(), cond)
	}
	if cond != "" {
		return fmt.Sprintf("The %s %s of %s%s, over the %s %s%s, was %s.",
			opLabel(p.op), fieldLabel(p.field), p.subject(), p.periodSuffix(), formatInt(n), unit, cond, p.format(rows[0][0]))
	}
	return fmt.Sprintf("The %s %s of %s%s was %s, over %s %s.",
		opLabel(p.op), fieldLabel(p.field), p.subject(), p.periodSuffix(), p.format(rows[0][0]), formatInt(n), unit)
}

func (p plan) extremeAnswer(rows [][]any) string {
	if len(rows) == 0 {
		return p.noData()
	}
	r := rows[0]
	word := "highest"
	if !p.desc {
		word = "lowest"
	}
	if p.years || (p.months && p.coll == "SP500") {
		op := aggOp(p.field)
		if p.op == chat.MetricMean || p.op == chat.MetricSum {
			op = p.op
		}
		return fmt.Sprintf("The %s with the %s %s %s of %s%s was %v, at %s.", p.rankUnit(), word, opLabel(op), fieldLabel(p.field), p.subject(), p.periodSuffix(), r[0], p.format(r[1]))
	}
	if p.coll == "Stocks" { // symbol, date, month, price
		return fmt.Sprintf("The %s price%s was %s for %v in %v.", word, p.periodSuffix(), p.format(r[3]), r[0], r[2])
	}
	// date, field, other
	return fmt.Sprintf("The %s %s of %s%s was %s, on %v.", word, fieldLabel(p.field), p.subject(), p.periodSuffix(), p.format(r[1]), r[0])
}

func aggOp(field string) chat.MetricOp {
	if field == "volume" {
		return chat.MetricSum
	}
	return chat.MetricMean
}

// topListed is how many rows of a top-N the answer lists; the table has all.
const topListed = 10

func (p plan) topAnswer(r0 map[string]any) string {
	rows := rowsOf(r0)
	if len(rows) == 0 {
		return p.noData()
	}
	var b strings.Builder
	word := "highest"
	if !p.desc {
		word = "lowest"
	}
	unit := "days"
	if p.months || p.coll == "Stocks" {
		unit = "months"
	}
	n := len(rows)
	if total, ok := chat.AsFloat(r0["rows_in_table"]); ok {
		n = int(total)
	}
	fmt.Fprintf(&b, "The %s %s with the %s %s for %s%s", formatInt(float64(n)), unit, word, fieldLabel(p.field), p.subject(), p.periodSuffix())
	if n > topListed {
		b.WriteString(" are in the table; the first ten:")
		rows = rows[:topListed]
	} else {
		b.WriteString(":")
	}
	for _, r := range rows {
		label, value := r[0], r[1]
		switch {
		case p.months && p.coll == "SP500": // month, metric
		case p.coll == "Stocks": // symbol, date, month, price
			label, value = r[2], r[3]
			if len(p.symbols) != 1 {
				label = fmt.Sprintf("%v %v", r[0], r[2])
			}
		}
		fmt.Fprintf(&b, " %v: %s;", label, p.format(value))
	}
	return strings.TrimSuffix(b.String(), ";") + "."
}

func (p plan) seriesAnswer(r map[string]any) string {
	rows := rowsOf(r)
	if len(rows) == 0 {
		return p.noData()
	}
	total, _ := chat.AsFloat(r["total_rows"])
	col := p.field
	how := fmt.Sprintf("day by day (%s trading days)", formatInt(total))
	if p.coll == "Stocks" {
		how = fmt.Sprintf("month by month (%s prices)", formatInt(total))
	}
	if cols := columnsOf(r); len(cols) > 0 && cols[0] == "month" {
		col = "mean_" + p.field
		how = fmt.Sprintf("as monthly averages (%s months)", formatInt(total))
	}
	stats, _ := r["stats"].(map[string]any)
	s, _ := stats[col].(map[string]any)
	last := rows[len(rows)-1]
	if lr := rowsAt(r, "last_rows"); len(lr) > 0 {
		last = lr[len(lr)-1]
	}
	i := indexOf(columnsOf(r), col)
	if i < 0 || s == nil {
		return fmt.Sprintf("Here is the %s of %s%s, %s.", fieldLabel(p.field), p.subject(), p.periodSuffix(), how)
	}
	msg := fmt.Sprintf("Here is the %s of %s%s, %s. It ranged from %s to %s, averaging %s; it started at %s and ended at %s.",
		fieldLabel(p.field), p.subject(), p.periodSuffix(), how, p.format(s["min"]), p.format(s["max"]), p.format(s["mean"]), p.format(rows[0][i]), p.format(last[i]))
	if t, _ := r["truncated"].(bool); t {
		msg += fmt.Sprintf(" The table holds the first %d rows.", len(rows))
	}
	return msg
}

func (p plan) comparisonAnswer(rows [][]any) string {
	if len(rows) == 0 {
		return p.noData()
	}
	parts := make([]string, 0, len(rows))
	for _, r := range rows { // symbol, mean, min, max
		parts = append(parts, fmt.Sprintf("%v averaged %s (from %s to %s)", r[0], p.format(r[1]), p.format(r[2]), p.format(r[3])))
	}
	return fmt.Sprintf("Monthly prices%s: %s.", p.periodSuffix(), strings.Join(parts, "; "))
}

func (p plan) groupAnswer(r map[string]any, top, bottom [][]any) string {
	rows := append(rowsOf(r), rowsAt(r, "last_rows")...)
	if len(rows) == 0 {
		return p.noData()
	}
	label := strings.TrimSpace(opLabel(p.op) + " " + fieldLabel(p.field))
	if p.op == chat.MetricCount {
		label = "number of rows"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "The %s of %s%s by %s", label, p.subject(), p.periodSuffix(), p.groupBy)
	total, _ := chat.AsFloat(r["total_rows"])
	if n, _ := chat.AsFloat(r["rows_in_table"]); len(rows) <= 8 && int(n) == len(rows) {
		b.WriteString(":")
		for _, r := range rows {
			fmt.Fprintf(&b, " %v %s,", r[0], p.format(r[1]))
		}
		return strings.TrimSuffix(b.String(), ",") + "."
	}
	if len(top) == 0 || len(bottom) == 0 {
		return p.noData()
	}
	hi, lo := top[0], bottom[0]
	fmt.Fprintf(&b, " covers %s groups: the highest was %v (%s) and the lowest %v (%s).", formatInt(total), hi[0], p.format(hi[1]), lo[0], p.format(lo[1]))
	return b.String()
}

func capabilities(describe map[string]any) string {
	var names []string
	if cs, ok := describe["collections"].([]any); ok {
		for _, c := range cs {
			if m, ok := c.(map[string]any); ok {
				desc, _ := m["description"].(string)
				names = append(names, fmt.Sprintf("%v (%s)", m["name"], desc))
			}
		}
	}
	var b strings.Builder
	b.WriteString("I answer questions about market data by querying it, and I return a table and a chart with each answer.")
	if len(names) > 0 {
		b.WriteString(" The data I can use: " + strings.Join(names, "; ") + ".")
	}
	b.WriteString(" Try: \"What was the average closing price of the S&P 500 in 2008?\", \"Which day had the highest trading volume in 2010?\", " +
		"\"Plot the S&P 500 close from 2007 to 2009\", \"Compare AAPL and MSFT since 2005\", \"Average price by symbol\", \"Top five months for AMZN by price\", " +
		"\"How much did the S&P 500 fall in 2008?\", \"What was the biggest daily drop of the S&P 500?\", \"Which stock rose the most between 2005 and 2009?\", " +
		"\"What was MSFT's price in March 2009?\", \"Quarterly average close of the S&P 500 in 2008\" or \"Compare all five stocks\".")
	return b.String()
}

// rowsOf returns the rows a table summary shows: all of them, or the first ones.
func rowsOf(r map[string]any) [][]any {
	if rows := rowsAt(r, "rows"); rows != nil {
		return rows
	}
	return rowsAt(r, "first_rows")
}

func rowsAt(r map[string]any, key string) [][]any {
	raw, _ := r[key].([]any)
	var rows [][]any
	for _, x := range raw {
		if row, ok := x.([]any); ok {
			rows = append(rows, row)
		}
	}
	return rows
}

func columnsOf(r map[string]any) []string {
	raw, _ := r["columns"].([]any)
	var cols []string
	for _, c := range raw {
		if m, ok := c.(map[string]any); ok {
			name, _ := m["name"].(string)
			cols = append(cols, name)
		}
	}
	return cols
}

func indexOf(xs []string, x string) int {
	for i, v := range xs {
		if v == x {
			return i
		}
	}
	return -1
}

func opLabel(op chat.MetricOp) string {
	switch op {
	case chat.MetricMean:
		return "average"
	case chat.MetricMin:
		return "lowest"
	case chat.MetricMax:
		return "highest"
	case chat.MetricSum:
		return "total"
	case chat.MetricCount:
		return "number of"
	}
	return string(op)
}

func fieldLabel(f string) string {
	switch f {
	case "adjclose":
		return "adjusted close"
	case "price":
		return "price"
	}
	return f
}

// format renders a number the way the answer shows it: whole numbers for
// volume, two decimals otherwise, dollars for stock prices.
func (p plan) format(v any) string {
	f, ok := chat.AsFloat(v)
	if !ok {
		return fmt.Sprint(v)
	}
	if p.field == "volume" {
		return formatInt(f)
	}
	s := formatFixed(f, 2)
	if p.coll == "Stocks" {
		return "$" + s
	}
	return s
}

func formatInt(f float64) string { return formatFixed(math.Round(f), 0) }

// formatFixed renders f with the given decimals and thousands separators.
func formatFixed(f float64, decimals int) string {
	s := strconv.FormatFloat(math.Abs(f), 'f', decimals, 64)
	whole, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	if f < 0 {
		b.WriteByte('-')
	}
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if frac != "" {
		b.WriteString("." + frac)
	}
	return b.String()
}

func (p plan) filterField(c condition) string {
	if c.field == "" || (p.coll == "Stocks") != (c.field == "price") {
		return p.field
	}
	return c.field
}

func (p plan) formatAs(field string, v float64) string {
	q := p
	q.field = field
	return q.format(v)
}

func opWords(op chat.Op) string {
	switch op {
	case chat.OpGt:
		return "above"
	case chat.OpGte:
		return "at least"
	case chat.OpLt:
		return "below"
	}
	return "at most"
}

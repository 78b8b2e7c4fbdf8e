package chat

import (
	"encoding/json"
	"math"
)

// nullJSON is an explicit JSON null, for Vega-Lite properties where null
// means "none" (sort: the data's order; stack: no stacking).
func nullJSON() json.RawMessage { return json.RawMessage("null") }

// channelFormat is a column's encoding channel and its tooltip entry.
type channelFormat struct {
	channel, tooltip ChartChannel
}

// channel builds the encoding of column c (cells rows[*][i]) as a channel
// of type typ, with a tooltip entry that formats its values. Dates are
// parsed and shown in UTC, so a chart shows the data's dates in every time
// zone (a "2007-01-03" string is midnight UTC, which is Jan 02 west of
// UTC in local time). onX marks the x channel, where an int (a year, a
// rank) is a plain integer, not a quantity with thousands separators.
func channel(c Column, typ string, rows [][]any, i int, onX bool) channelFormat {
	ch := ChartChannel{Field: c.Name, Type: typ, Title: c.Name}
	tip := ChartChannel{Field: c.Name, Type: typ, Title: c.Name}
	switch typ {
	case "temporal":
		ch.Scale = &ChartScale{Type: "utc"}
		// A UTC time unit makes Vega-Lite format the value with utcFormat.
		tip.TimeUnit, tip.Format = dateFormat(rows, i)
	case "quantitative":
		switch {
		case c.Type == TypeInt && onX:
			no := false
			ch.Scale = &ChartScale{Zero: &no}
			ch.Axis = &ChartAxis{Format: "d", TickMinStep: 1}
			tip.Format = "d"
		case c.Type == TypeInt:
			tip.Format = ",d"
		default:
			tip.Format = numberFormat(rows, i)
		}
	}
	return channelFormat{channel: ch, tooltip: tip}
}

// dateFormat is the UTC time unit and d3 time format for a column of date
// strings: the month for "2008-03", the day for "2008-03-14", and the time
// as well when a value carries one.
func dateFormat(rows [][]any, i int) (timeUnit, format string) {
	timeUnit, format = "utcyearmonth", "%b %Y"
	for _, r := range rows {
		s, _ := r[i].(string)
		switch {
		case len(s) > len("2006-01-02"):
			return "utcyearmonthdatehoursminutes", "%b %d, %Y %H:%M UTC"
		case len(s) == len("2006-01-02"):
			timeUnit, format = "utcyearmonthdate", "%b %d, %Y"
		}
	}
	return timeUnit, format
}

// numberFormat is the d3 format for a number column: two decimals with
// thousands separators for values of 1 and more (prices, means), four
// significant digits for small ones (ratios), so a tooltip never shows
// "1424.16098625".
func numberFormat(rows [][]any, i int) string {
	largest := 0.0
	for _, r := range rows {
		if v, ok := AsFloat(r[i]); ok {
			largest = math.Max(largest, math.Abs(v))
		}
	}
	if largest >= 1 || largest == 0 {
		return ",.2f"
	}
	return ".4~g"
}

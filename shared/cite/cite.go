// Package cite checks an answer's numbers against the tables of its turn:
// each number in the text becomes a citation of the cell it came from, or
// an unmatched citation that marks the answer unverified. It allows for
// how people write numbers (thousands separators, rounding to the digits
// shown, percentages of fractions, K/M/B suffixes, currency signs, a sign
// dropped after "fell") and leaves dates, years and names such as
// "S&P 500" alone. It depends only on chat's value types; the agent
// reaches it through chat.Checker.
package cite

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/datachat/datachat/shared/chat"
)

// Checker implements chat.Checker. It holds only compiled patterns, so one
// value serves every turn at once.
type Checker struct {
	masks  []*regexp.Regexp
	number *regexp.Regexp
	suffix *regexp.Regexp
}

var _ chat.Checker = (*Checker)(nil)

// New compiles the patterns.
func New() *Checker {
	month := `(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?`
	return &Checker{
		// Spans that hold digits but are not quantities: dates, quarters,
		// times and names. They are blanked before numbers are read.
		masks: []*regexp.Regexp{
			regexp.MustCompile(`\b\d{4}-\d{2}-\d{2}(?:T[\d:.]+Z?)?\b`),
			regexp.MustCompile(`\b\d{4}-(?:\d{2}|Q[1-4]|W\d{2})\b`),
			regexp.MustCompile(`(?i)\bQ[1-4](?:\s+\d{4})?\b`),
			regexp.MustCompile(`(?i)\b` + month + `\s+\d{1,2}(?:st|nd|rd|th)?\b`),
			regexp.MustCompile(`(?i)\b\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?` + month + `\b`),
			regexp.MustCompile(`\b\d{1,2}/\d{1,2}/\d{2,4}\b`),
			regexp.MustCompile(`\b\d{1,2}:\d{2}(?::\d{2})?\b`),
			regexp.MustCompile(`(?i)\bs\s*&\s*p\s*500\b|\bsp\s*500\b`),
		},
		number: regexp.MustCompile(`(?:[$€£]\s?)?[-−]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?`),
		suffix: regexp.MustCompile(`(?i)^\s?(%|percent\b|per cent\b|thousand\b|million\b|billion\b|trillion\b|bn\b|k\b|m\b|b\b|t\b)`),
	}
}

// Number is one number read from a text.
type Number struct {
	Text     string  // as written, "$1.22K"
	Value    float64 // what it states: 1220
	Percent  bool    // written with % or "percent"
	Decimals int     // digits shown after the point
	Scale    float64 // the suffix's multiplier, 1 without one
}

// Numbers reads the quantities of text, leaving out dates, years and
// digits that are part of a name or an identifier.
func (c *Checker) Numbers(text string) []Number {
	masked := []byte(text)
	for _, m := range c.masks {
		for _, loc := range m.FindAllIndex(masked, -1) {
			for i := loc[0]; i < loc[1]; i++ {
				masked[i] = ' '
			}
		}
	}
	s := string(masked)
	var out []Number
	for _, loc := range c.number.FindAllStringIndex(s, -1) {
		start, end := loc[0], loc[1]
		tok := s[start:end]
		currency := strings.HasPrefix(tok, "$") || strings.HasPrefix(tok, "€") || strings.HasPrefix(tok, "£")
		digits := strings.TrimLeft(tok, "$€£ ")
		negative := false
		if strings.HasPrefix(digits, "-") || strings.HasPrefix(digits, "−") {
			_, size := utf8.DecodeRuneInString(digits)
			digits = digits[size:]
			// A dash right after a word or a digit is a separator, not a sign.
			negative = currency || start == 0 || !isWordRune(lastRune(s[:start]))
		}
		if start > 0 && !currency {
			if r := lastRune(s[:start]); isWordRune(r) || r == '.' || r == '&' {
				continue // part of a name: t1, S&P500, v1.2
			}
		}
		rest := s[end:]
		scale, percent := 1.0, false
		if m := c.suffix.FindStringSubmatch(rest); m != nil {
			switch strings.ToLower(m[1]) {
			case "%", "percent", "per cent":
				percent = true
			case "k", "thousand":
				scale = 1e3
			case "m", "million":
				scale = 1e6
			case "b", "bn", "billion":
				scale = 1e9
			case "t", "trillion":
				scale = 1e12
			}
			end += len(m[0])
		} else if r, _ := utf8.DecodeRuneInString(rest); isWordRune(r) {
			continue // an ordinal or an identifier: 1st, 3rd, 10x
		}
		plain := strings.ReplaceAll(digits, ",", "")
		v, err := strconv.ParseFloat(plain, 64)
		if err != nil {
			continue
		}
		decimals := 0
		if i := strings.IndexByte(plain, '.'); i >= 0 {
			decimals = len(plain) - i - 1
		}
		if !currency && !percent && scale == 1 && decimals == 0 && !strings.Contains(digits, ",") && v >= 1900 && v <= 2100 {
			continue // a year
		}
		if negative {
			v = -v
		}
		out = append(out, Number{Text: strings.TrimSpace(text[start:end]), Value: v * scale, Percent: percent, Decimals: decimals, Scale: scale})
	}
	return out
}

func lastRune(s string) rune {
	r, _ := utf8.DecodeLastRuneInString(s)
	return r
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' }

// candidate is a value of the turn's results a number may cite.
type candidate struct {
	value  float64
	table  string
	row    int // -1 for a statistic
	column string
	stat   string
}

// candidates lists every numeric cell of the tables, latest table first,
// the statistics the model is shown of each (row counts; min, max, mean
// and count of numeric columns) and the numbers of its filters.
func candidates(tables []*chat.Table) []candidate {
	var out []candidate
	for ti := len(tables) - 1; ti >= 0; ti-- {
		t := tables[ti]
		for ri, r := range t.Rows {
			for ci, cell := range r {
				if ci >= len(t.Columns) || !t.Columns[ci].Type.Numeric() {
					continue
				}
				if v, ok := chat.AsFloat(cell); ok {
					out = append(out, candidate{value: v, table: t.ID, row: ri, column: t.Columns[ci].Name})
				}
			}
		}
		if t.Source != nil {
			// The conditions a table was selected by: "closed above 1,500".
			for _, f := range t.Source.Filters {
				if v, ok := chat.AsFloat(f.Value); ok {
					out = append(out, candidate{value: v, table: t.ID, row: -1, column: f.Field, stat: "filter"})
				}
			}
		}
		out = append(out, candidate{value: float64(len(t.Rows)), table: t.ID, row: -1, stat: "rows"},
			candidate{value: float64(t.TotalRows), table: t.ID, row: -1, stat: "total_rows"})
		for ci, col := range t.Columns {
			if !col.Type.Numeric() {
				continue
			}
			min, max, sum, n := math.Inf(1), math.Inf(-1), 0.0, 0
			for _, r := range t.Rows {
				if v, ok := chat.AsFloat(r[ci]); ok {
					min, max, sum, n = math.Min(min, v), math.Max(max, v), sum+v, n+1
				}
			}
			if n == 0 {
				continue
			}
			for stat, v := range map[string]float64{"min": min, "max": max, "mean": sum / float64(n), "count": float64(n)} {
				out = append(out, candidate{value: v, table: t.ID, row: -1, column: col.Name, stat: stat})
			}
		}
	}
	return out
}

// Check implements chat.Checker: one citation per number of answer, in
// the order they appear.
func (c *Checker) Check(answer string, tables []*chat.Table) []chat.Citation {
	nums := c.Numbers(answer)
	if len(nums) == 0 {
		return nil
	}
	cands := candidates(tables)
	out := make([]chat.Citation, len(nums))
	for i, n := range nums {
		out[i] = chat.Citation{Text: n.Text, Value: n.Value}
		// The closest value wins; on a tie a cell beats a statistic, and
		// the latest table the earlier ones.
		best, bestErr, bestStat := -1, math.Inf(1), true
		for j, cand := range cands {
			e, ok := matches(n, cand.value)
			stat := cand.row < 0
			if ok && (e < bestErr || e == bestErr && bestStat && !stat) {
				best, bestErr, bestStat = j, e, stat
			}
		}
		if best < 0 {
			continue
		}
		cand := cands[best]
		table := cand.table
		out[i].Table = &table
		if cand.row >= 0 {
			row := cand.row
			out[i].Row = &row
		}
		if cand.column != "" {
			col := cand.column
			out[i].Column = &col
		}
		out[i].Stat = cand.stat
	}
	return out
}

// matches reports whether v, rounded to the digits n shows, is n (the sign
// may be dropped: "fell 38.5%" for -38.5), and how far apart they are
// relative to the rounding step, for picking the closest cell.
func matches(n Number, v float64) (float64, bool) {
	step := math.Pow(10, -float64(n.Decimals)) * n.Scale
	want := math.Abs(n.Value)
	try := []float64{math.Abs(v)}
	if n.Percent {
		try = append(try, math.Abs(v*100)) // a fraction written as a percentage
	}
	best, ok := math.Inf(1), false
	for _, x := range try {
		d := math.Abs(x - want)
		// Half a step either way, with room for binary rounding.
		if d <= step/2*(1+1e-9)+1e-12*math.Abs(want) {
			if e := d / step; e < best {
				best, ok = e, true
			}
		}
	}
	return best, ok
}

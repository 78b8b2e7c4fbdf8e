package offline

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/datachat/datachat/shared/chat"
)

// shape is the kind of question the planner recognised.
type shape int

const (
	shapeNone       shape = iota // not understood: describe what can be asked
	shapeMetric                  // a metric over a period
	shapeExtreme                 // the day (or month) with the highest/lowest value
	shapeSeries                  // a field over time, plotted
	shapeComparison              // two or more symbols over time
	shapeGrouping                // a metric per symbol, year or month
	shapeTopN                    // the N best or worst rows
	shapeChange                  // the change and percent change over a period, ranked across symbols
	shapeDailyMove               // the largest one-day move, in percent and in points
	shapeValue                   // the value on a day or in a month
	shapeBucket                  // weekly or quarterly buckets with an aggregate
	shapePeriods                 // a metric in each of several years ("2008 vs 2009")
)

// period is a date range; empty bounds are open.
type period struct {
	from, to string // "YYYY-MM-DD"
	label    string // "in 2008", "from 2007 to 2009", "since 2005"
	kind     string // "day" or "month" for a single day or month, "" otherwise
	years    []int  // several separate years ("2008 vs 2009")
}

func (p period) empty() bool { return p.from == "" && p.to == "" && len(p.years) == 0 }

// plan is what the planner understood of a question.
type plan struct {
	shape   shape
	coll    string // SP500 or Stocks
	field   string // the measured field: close, volume, price...
	op      chat.MetricOp
	symbols []string
	period  period
	groupBy string // symbol, year or month
	n       int    // top-N size
	desc    bool   // highest (true) or lowest
	months  bool   // the question is about months rather than days
	years   bool   // the question is about years ("which year")
	unit    string // bucket of shapeBucket: week or quarter
	conds   []condition
	// direction of a move or change: -1 a drop, +1 a rise, 0 either.
	direction int
	rank      bool   // shapeChange: rank the symbols ("which stock rose the most")
	allStocks bool   // "all five stocks"
	refused   string // what the question asks that the planner cannot answer ("why", "median")
}

// condition is a numeric filter read from the question ("closed above 1500").
type condition struct {
	field string
	op    chat.Op
	value float64
	text  string // as written: "above 1500"
}

func words(pattern string) *regexp.Regexp { return regexp.MustCompile(`\b(?:` + pattern + `)\b`) }

// vocabulary holds the compiled patterns; built once per Model.
type vocabulary struct {
	year, rangeYears, sinceYear, inYear, dateRange, topN *regexp.Regexp
	sp500Name, cond, before, after, until, vsYears       *regexp.Regexp
	isoDay, monthDay, monthYear, isoMonth, half, quarter *regexp.Regexp
	move, daily, change, drop, rise, bucket, refuse      *regexp.Regexp
	allStocks, rankWho, followUp, years                  *regexp.Regexp
	mean, max, min, sum, count, plot, compare            *regexp.Regexp
	bySymbol, byYear, byMonth, day, month, sp500, stocks *regexp.Regexp
	fields                                               map[string]*regexp.Regexp
	symbols                                              map[string]*regexp.Regexp
}

func newVocabulary() *vocabulary {
	return &vocabulary{
		year:       regexp.MustCompile(`\b(?:19|20)\d{2}\b`),
		rangeYears: regexp.MustCompile(`\b(?:from|between)?\s*((?:19|20)\d{2})\s*(?:to|-|–|and|through|until|till)\s*((?:19|20)\d{2})\b`),
		sinceYear:  regexp.MustCompile(`\b(?:since|after|from)\s+((?:19|20)\d{2})\b`),
		inYear:     regexp.MustCompile(`\b((?:19|20)\d{2})\b`),
		dateRange:  regexp.MustCompile(`\b(\d{4}-\d{2}-\d{2})\s*(?:to|-|–|and|through|until)\s*(\d{4}-\d{2}-\d{2})\b`),
		topN:       regexp.MustCompile(`\b(?:top|best|worst|bottom|highest|lowest|largest|biggest|smallest)\s+(\d{1,3}|` + numberWords + `)\b|\b(\d{1,3}|` + numberWords + `)\s+(?:best|worst|highest|lowest|largest|biggest|smallest|top)\b`),
		mean:       words(`average|avg|mean`),
		max:        words(`highest|max|maximum|peak|largest|biggest|most|top|best|record`),
		min:        words(`lowest|min|minimum|smallest|least|worst|bottom`),
		sum:        words(`total|sum`),
		count:      words(`count|how many|number of`),
		plot:       words(`plot|chart|graph|draw|visuali[sz]e|trend|over time|show me`),
		compare:    words(`compare|comparison|versus|vs\.?|against`),
		bySymbol:   words(`by symbol|per symbol|each symbol|by stock|per stock|each stock|by company|per company|each company|by ticker`),
		byYear:     words(`by year|per year|each year|yearly|annual|annually|every year`),
		byMonth:    words(`by month|per month|each month|monthly|every month`),
		day:        words(`day|days|date|session|sessions`),
		month:      words(`month|months`),
		sp500:      regexp.MustCompile(`\bsandp\b|\bindex\b|\bmarket\b|\btrading days?\b`),
		sp500Name:  regexp.MustCompile(`s\s*&\s*p(?:\s*500)?|\bsp\s*500\b|\bs and p(?:\s*500)?\b`),
		cond: regexp.MustCompile(`\b(?:(close|closed|closing|volume|open|opened|price|priced|traded)\s+(?:was\s+|were\s+|is\s+|at\s+)?)?` +
			`(above|over|greater than|more than|higher than|at least|below|under|less than|lower than|at most)\s+\$?(\d[\d,]*(?:\.\d+)?)\s*(k|m|b|million|billion)?\b`),
		before:    regexp.MustCompile(`\b(?:before|prior to)\s+((?:19|20)\d{2})\b`),
		after:     regexp.MustCompile(`\bafter\s+((?:19|20)\d{2})\b`),
		until:     regexp.MustCompile(`\b(?:until|till|through|up to|to)\s+((?:19|20)\d{2})\b`),
		vsYears:   regexp.MustCompile(`\b((?:19|20)\d{2})\s*(?:vs\.?|versus|compared (?:to|with)|against|or)\s*((?:19|20)\d{2})\b`),
		isoDay:    regexp.MustCompile(`\b(\d{4}-\d{2}-\d{2})\b`),
		monthDay:  regexp.MustCompile(`\b(` + monthNames + `)[a-z]*\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+((?:19|20)\d{2})\b|\b(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?(` + monthNames + `)[a-z]*,?\s+((?:19|20)\d{2})\b`),
		monthYear: regexp.MustCompile(`\b(` + monthNames + `)[a-z]*\.?,?\s+(?:of\s+)?((?:19|20)\d{2})\b`),
		isoMonth:  regexp.MustCompile(`\b((?:19|20)\d{2})-(\d{2})\b`),
		half:      regexp.MustCompile(`\b(first|second|1st|2nd)\s+half\s+of\s+((?:19|20)\d{2})\b|\bh([12])\s+((?:19|20)\d{2})\b`),
		quarter:   regexp.MustCompile(`\bq([1-4])\s+((?:19|20)\d{2})\b|\b((?:19|20)\d{2})\s*-?q([1-4])\b|\b(first|second|third|fourth)\s+quarter\s+of\s+((?:19|20)\d{2})\b`),
		move:      words(`drop|drops|fall|falls|fell|decline|declines|loss|losses|gain|gains|rise|rises|rose|jump|jumps|move|moves|swing|swings|increase|increases|decrease|decreases|crash|plunge|surge|rally|change|changes`),
		daily:     words(`daily|one-day|one day|single-day|single day|in a day|in one day|day|days|session`),
		change:    words(`grew|grow|growth|gained|gain|gains|rose|rise|risen|fell|fall|fallen|lost|lose|dropped|drop|declined|decline|increased|increase|decreased|decrease|return|returns|performed|perform|performance|change|changed|percent change|went up|go up|went down|go down|how much did`),
		drop:      words(`drop|drops|dropped|fall|falls|fell|fallen|decline|declines|declined|loss|losses|lost|lose|crash|plunge|decrease|decreases|decreased|went down|go down|worst`),
		rise:      words(`gain|gains|gained|rise|rises|rose|risen|jump|jumps|surge|rally|increase|increases|increased|grew|grow|growth|went up|go up|best`),
		bucket:    words(`weekly|per week|by week|each week|every week|a week|quarterly|per quarter|by quarter|each quarter|every quarter`),
		refuse:    words(`why|median|standard deviation|std|volatility|variance|forecast|predict|prediction|tomorrow|next week|next month|next year|should i|weather|buy|sell`),
		allStocks: words(`all (?:the )?(?:five |5 )?(?:stocks|symbols|companies|tickers)|every stock|(?:the )?five stocks|5 stocks`),
		rankWho:   words(`which|what stock|what symbol|what company|best performing|worst performing|rank`),
		followUp:  regexp.MustCompile(`^\s*(?:and|what about|how about|same for|now)\b`),
		years:     words(`year|years`),
		stocks:    words(`stock|stocks|symbol|symbols|ticker|tickers|share price|companies|company`),
		fields: map[string]*regexp.Regexp{
			"volume":   words(`volume|traded|trading volume|shares traded`),
			"open":     words(`open|opening`),
			"high":     words(`high|intraday high|daily high`),
			"low":      words(`low|intraday low|daily low`),
			"adjclose": words(`adjusted close|adj close|adjclose`),
			"close":    words(`close|closing|level|value|points`),
		},
		symbols: map[string]*regexp.Regexp{
			"AAPL": words(`aapl|apple`),
			"AMZN": words(`amzn|amazon`),
			"GOOG": words(`goog|googl|google|alphabet`),
			"IBM":  words(`ibm`),
			"MSFT": words(`msft|microsoft`),
		},
	}
}

// parse reads a question. It returns shapeNone when nothing useful was
// recognised; a question that only names a period or symbols yields a
// plan whose shape is shapeNone but whose period/symbols can complete a
// follow-up.
func (v *vocabulary) parse(question string) plan {
	q := strings.ToLower(question)
	// "S&P 500" holds a number that is not a top-N or a condition.
	q = v.sp500Name.ReplaceAllString(q, " sandp ")
	var p plan
	q = v.conditions(q, &p)
	p.period = v.period(q)
	for _, sym := range []string{"AAPL", "AMZN", "GOOG", "IBM", "MSFT"} {
		if v.symbols[sym].MatchString(q) {
			p.symbols = append(p.symbols, sym)
		}
	}
	p.coll = v.collection(q, p.symbols)
	p.field = v.field(q, p.coll)
	p.months = v.month.MatchString(q)
	p.years = v.years.MatchString(q) && !p.months
	p.allStocks = v.allStocks.MatchString(q)
	if p.allStocks && len(p.symbols) == 0 {
		p.coll, p.field = "Stocks", "price"
	}
	switch {
	case v.drop.MatchString(q) && !v.rise.MatchString(q):
		p.direction = -1
	case v.rise.MatchString(q) && !v.drop.MatchString(q):
		p.direction = 1
	}

	isMax, isMin := v.max.MatchString(q), v.min.MatchString(q)
	topN := v.topN.FindStringSubmatch(q)
	switch {
	case v.refuse.MatchString(q):
		p.refused = v.refuse.FindString(q)
	case (v.compare.MatchString(q) || v.plot.MatchString(q)) && (len(p.symbols) >= 2 || p.allStocks):
		p.shape = shapeComparison
	case v.move.MatchString(q) && v.daily.MatchString(q) && (isMax || isMin || topN != nil):
		p.shape = shapeDailyMove
		if p.coll == "" {
			p.coll = "SP500"
		}
		p.field = v.field(q, p.coll)
		if p.coll == "SP500" && p.field != "close" && p.field != "open" && p.field != "adjclose" {
			p.field = "close"
		}
		p.n = 1
		if topN != nil {
			p.n = topSize(topN)
		}
	case v.change.MatchString(q) && !v.day.MatchString(q) && !v.month.MatchString(q) && !v.mean.MatchString(q) && !v.count.MatchString(q) &&
		!(p.period.kind == "day") && (topN == nil):
		p.shape = shapeChange
		p.rank = p.coll == "Stocks" && len(p.symbols) != 1 && (v.rankWho.MatchString(q) || isMax || isMin)
		if p.rank && isMin && !isMax {
			p.direction = -1
		}
	case v.bucket.MatchString(q):
		p.shape = shapeBucket
		p.unit = "quarter"
		if strings.Contains(v.bucket.FindString(q), "week") {
			p.unit = "week"
		}
		p.op = v.metric(q, aggOp(p.field))
	case len(p.period.years) > 1 && !isMax && !isMin:
		p.shape = shapePeriods
		p.op = v.metric(q, chat.MetricMean)
	case (isMax || isMin) && p.years && !v.byYear.MatchString(q) && (strings.Contains(q, "which") || strings.Contains(q, "what year")):
		p.shape = shapeExtreme
		p.desc = isMax || !isMin
	case v.compare.MatchString(q) && len(p.symbols) >= 2:
		p.shape = shapeComparison
	case v.bySymbol.MatchString(q) || v.byYear.MatchString(q) || v.byMonth.MatchString(q):
		p.shape = shapeGrouping
		switch {
		case v.bySymbol.MatchString(q):
			p.coll, p.groupBy = "Stocks", "symbol"
			p.field = v.field(q, p.coll)
		case v.byYear.MatchString(q):
			p.groupBy = "year"
		default:
			p.groupBy = "month"
		}
		p.op = v.metric(q, chat.MetricMean)
	case topN != nil:
		p.shape = shapeTopN
		p.n = topSize(topN)
		p.desc = isMax || !isMin
	case (isMax || isMin) && (v.day.MatchString(q) || p.months || strings.Contains(q, "which") || strings.Contains(q, "when")):
		p.shape = shapeExtreme
		p.desc = isMax
	case v.plot.MatchString(q):
		p.shape = shapeSeries
		if len(p.symbols) >= 2 {
			p.shape = shapeComparison
		}
	case v.mean.MatchString(q) || v.sum.MatchString(q) || v.count.MatchString(q) || isMax || isMin:
		p.shape = shapeMetric
		p.op = v.metric(q, chat.MetricMean)
	case p.period.kind == "day" || p.period.kind == "month":
		p.shape = shapeValue
	}
	if len(p.conds) > 0 && p.shape != shapeMetric && p.shape != shapeNone {
		// Conditions are understood for counts and metrics only.
		p.refused = "a condition (" + p.conds[0].text + ") on this kind of question"
	}
	if p.refused != "" {
		p.shape = shapeNone
	}
	return p
}

// numberWords are the sizes of a top-N that may be written as words.
const numberWords = `three|five|ten|twenty`

// topSize reads the N of a top-N match.
func topSize(m []string) int {
	w := m[1] + m[2]
	if n, err := strconv.Atoi(w); err == nil {
		return max(1, min(n, 100))
	}
	return map[string]int{"three": 3, "five": 5, "ten": 10, "twenty": 20}[w]
}

// monthNames matches the first three letters of a month's name.
const monthNames = `jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec`

// conditions reads numeric conditions ("closed above 1500") into p and
// blanks them out of q, so their numbers are not read as years or sizes.
func (v *vocabulary) conditions(q string, p *plan) string {
	for _, m := range v.cond.FindAllStringSubmatchIndex(q, -1) {
		sub := func(i int) string {
			if m[2*i] < 0 {
				return ""
			}
			return q[m[2*i]:m[2*i+1]]
		}
		val, err := strconv.ParseFloat(strings.ReplaceAll(sub(3), ",", ""), 64)
		if err != nil {
			continue
		}
		switch sub(4) {
		case "k":
			val *= 1e3
		case "m", "million":
			val *= 1e6
		case "b", "billion":
			val *= 1e9
		}
		var op chat.Op
		switch sub(2) {
		case "above", "over", "greater than", "more than", "higher than":
			op = chat.OpGt
		case "at least":
			op = chat.OpGte
		case "below", "under", "less than", "lower than":
			op = chat.OpLt
		default:
			op = chat.OpLte
		}
		field := ""
		switch sub(1) {
		case "volume", "traded":
			field = "volume"
		case "open", "opened":
			field = "open"
		case "price", "priced":
			field = "price"
		case "close", "closed", "closing":
			field = "close"
		}
		p.conds = append(p.conds, condition{field: field, op: op, value: val, text: strings.TrimSpace(q[m[4]:m[1]])})
	}
	return v.cond.ReplaceAllStringFunc(q, func(s string) string { return strings.Repeat(" ", len(s)) })
}

func (v *vocabulary) metric(q string, dflt chat.MetricOp) chat.MetricOp {
	switch {
	case v.mean.MatchString(q):
		return chat.MetricMean
	case v.sum.MatchString(q):
		return chat.MetricSum
	case v.count.MatchString(q):
		return chat.MetricCount
	case v.max.MatchString(q):
		return chat.MetricMax
	case v.min.MatchString(q):
		return chat.MetricMin
	}
	return dflt
}

func (v *vocabulary) collection(q string, symbols []string) string {
	switch {
	case len(symbols) > 0:
		return "Stocks"
	case v.sp500.MatchString(q):
		return "SP500"
	case v.stocks.MatchString(q):
		return "Stocks"
	}
	for _, f := range []string{"volume", "open", "high", "low", "adjclose", "close"} {
		if v.fields[f].MatchString(q) {
			return "SP500"
		}
	}
	return ""
}

func (v *vocabulary) field(q, coll string) string {
	if coll == "Stocks" {
		return "price"
	}
	for _, f := range []string{"volume", "adjclose", "open", "high", "low", "close"} {
		if v.fields[f].MatchString(q) {
			// "highest close" says high but means close: prefer close when both match.
			if (f == "high" || f == "low") && v.fields["close"].MatchString(q) {
				return "close"
			}
			if f == "high" && !strings.Contains(q, "daily high") && !strings.Contains(q, "intraday high") && !strings.Contains(q, " the high") {
				continue
			}
			if f == "low" && !strings.Contains(q, "daily low") && !strings.Contains(q, "intraday low") && !strings.Contains(q, " the low") {
				continue
			}
			return f
		}
	}
	return "close"
}

func (v *vocabulary) period(q string) period {
	if m := v.dateRange.FindStringSubmatch(q); m != nil {
		if _, ok := chat.ParseDate(m[1]); ok {
			if _, ok := chat.ParseDate(m[2]); ok {
				return period{from: m[1], to: m[2], label: "from " + m[1] + " to " + m[2]}
			}
		}
	}
	if m := v.isoDay.FindStringSubmatch(q); m != nil {
		if _, ok := chat.ParseDate(m[1]); ok {
			return period{from: m[1], to: m[1], label: "on " + m[1], kind: "day"}
		}
	}
	if m := v.monthDay.FindStringSubmatch(q); m != nil {
		mon, day, year := m[1], m[2], m[3]
		if mon == "" {
			mon, day, year = m[5], m[4], m[6]
		}
		d := fmt.Sprintf("%s-%02d-%02d", year, monthNumber(mon), atoi(day))
		if _, ok := chat.ParseDate(d); ok {
			return period{from: d, to: d, label: "on " + d, kind: "day"}
		}
	}
	if m := v.half.FindStringSubmatch(q); m != nil {
		h, y := m[1], m[2]
		if h == "" {
			h, y = m[3], m[4]
		}
		if h == "first" || h == "1st" || h == "1" {
			return period{from: y + "-01-01", to: y + "-06-30", label: "in the first half of " + y}
		}
		return period{from: y + "-07-01", to: y + "-12-31", label: "in the second half of " + y}
	}
	if m := v.quarter.FindStringSubmatch(q); m != nil {
		n, y := m[1], m[2]
		switch {
		case m[3] != "":
			n, y = m[4], m[3]
		case m[5] != "":
			n, y = strconv.Itoa(slices.Index([]string{"first", "second", "third", "fourth"}, m[5])+1), m[6]
		}
		qn := atoi(n)
		from := fmt.Sprintf("%s-%02d-01", y, 3*qn-2)
		to := fmt.Sprintf("%s-%02d-%02d", y, 3*qn, []int{31, 30, 30, 31}[qn-1])
		return period{from: from, to: to, label: fmt.Sprintf("in %s-Q%d", y, qn)}
	}
	if m := v.vsYears.FindStringSubmatch(q); m != nil {
		a, b := atoi(m[1]), atoi(m[2])
		return period{years: []int{a, b}, label: fmt.Sprintf("in %d and %d", a, b)}
	}
	if m := v.rangeYears.FindStringSubmatch(q); m != nil {
		a, b := m[1], m[2]
		if b < a {
			a, b = b, a
		}
		return period{from: a + "-01-01", to: b + "-12-31", label: "from " + a + " to " + b}
	}
	if m := v.monthYear.FindStringSubmatch(q); m != nil {
		return monthPeriod(m[2], monthNumber(m[1]))
	}
	if m := v.isoMonth.FindStringSubmatch(q); m != nil {
		if n := atoi(m[2]); n >= 1 && n <= 12 {
			return monthPeriod(m[1], n)
		}
	}
	var p period
	if m := v.after.FindStringSubmatch(q); m != nil {
		y := strconv.Itoa(atoi(m[1]) + 1)
		p = period{from: y + "-01-01", label: "after " + m[1]}
	} else if m := v.sinceYear.FindStringSubmatch(q); m != nil {
		p = period{from: m[1] + "-01-01", label: "since " + m[1]}
	}
	if m := v.before.FindStringSubmatch(q); m != nil {
		p.to = strconv.Itoa(atoi(m[1])-1) + "-12-31"
		p.label = strings.TrimSpace(p.label + " before " + m[1])
	} else if m := v.until.FindStringSubmatch(q); m != nil && p.from != "" {
		p.to = m[1] + "-12-31"
		p.label = strings.TrimSpace(p.label + " until " + m[1])
	}
	if !p.empty() {
		return p
	}
	years := v.inYear.FindAllString(q, -1)
	slices.Sort(years)
	years = slices.Compact(years)
	if len(years) == 1 {
		return period{from: years[0] + "-01-01", to: years[0] + "-12-31", label: "in " + years[0]}
	}
	if len(years) > 1 {
		p := period{label: "in " + strings.Join(years, " and ")}
		for _, y := range years {
			p.years = append(p.years, atoi(y))
		}
		return p
	}
	return period{}
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

func monthNumber(name string) int {
	return slices.Index(strings.Split(monthNames, "|"), name[:3]) + 1
}

func monthPeriod(year string, month int) period {
	from := fmt.Sprintf("%s-%02d-01", year, month)
	t, _ := chat.ParseDate(from)
	to := chat.FormatDate(t.AddDate(0, 1, -1))
	return period{from: from, to: to, label: "in " + time.Month(month).String() + " " + year, kind: "month"}
}

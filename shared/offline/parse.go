package offline

import (
	"regexp"
	"slices"
	"strconv"
	"strings"

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
)

// period is a date range; empty bounds are open.
type period struct {
	from, to string // "YYYY-MM-DD"
	label    string // "in 2008", "from 2007 to 2009", "since 2005"
}

func (p period) empty() bool { return p.from == "" && p.to == "" }

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
}

func words(pattern string) *regexp.Regexp { return regexp.MustCompile(`\b(?:` + pattern + `)\b`) }

// vocabulary holds the compiled patterns; built once per Model.
type vocabulary struct {
	year, rangeYears, sinceYear, inYear, dateRange, topN *regexp.Regexp
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
		topN:       regexp.MustCompile(`\b(?:top|best|worst|bottom|highest|lowest|largest|biggest|smallest)\s+(\d{1,3})\b|\b(\d{1,3})\s+(?:best|worst|highest|lowest|largest|biggest|smallest|top)\b`),
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
		sp500:      regexp.MustCompile(`s\s*&\s*p|\bsp\s*500\b|\bsp500\b|\bs and p\b|\bindex\b|\bmarket\b|\btrading days?\b`),
		stocks:     words(`stock|stocks|symbol|symbols|ticker|tickers|share price|companies|company`),
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
	var p plan
	p.period = v.period(q)
	for _, sym := range []string{"AAPL", "AMZN", "GOOG", "IBM", "MSFT"} {
		if v.symbols[sym].MatchString(q) {
			p.symbols = append(p.symbols, sym)
		}
	}
	p.coll = v.collection(q, p.symbols)
	p.field = v.field(q, p.coll)
	p.months = v.month.MatchString(q)

	isMax, isMin := v.max.MatchString(q), v.min.MatchString(q)
	topN := v.topN.FindStringSubmatch(q)
	switch {
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
		n, _ := strconv.Atoi(topN[1] + topN[2])
		p.n = max(1, min(n, 100))
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
	}
	return p
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
	if m := v.rangeYears.FindStringSubmatch(q); m != nil {
		a, b := m[1], m[2]
		if b < a {
			a, b = b, a
		}
		return period{from: a + "-01-01", to: b + "-12-31", label: "from " + a + " to " + b}
	}
	if m := v.sinceYear.FindStringSubmatch(q); m != nil {
		return period{from: m[1] + "-01-01", label: "since " + m[1]}
	}
	years := v.inYear.FindAllString(q, -1)
	slices.Sort(years)
	years = slices.Compact(years)
	if len(years) == 1 {
		return period{from: years[0] + "-01-01", to: years[0] + "-12-31", label: "in " + years[0]}
	}
	return period{}
}

package app_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/datachat/datachat/shared/app"
	"github.com/datachat/datachat/shared/chat"
	"github.com/datachat/datachat/shared/embedded"
)

// chartQuestions are the question shapes of the offline model that draw a
// chart, and the examples of charts that came out wrong.
var chartQuestions = map[string]string{
	"series-sp500-2007-2009":  "Plot the S&P 500 close from 2007 to 2009",
	"series-sp500-2008":       "Plot the S&P 500 close in 2008",
	"series-ibm":              "Price of IBM",
	"comparison-aapl-msft":    "Compare AAPL and MSFT since 2005",
	"grouping-by-symbol":      "Average price by symbol",
	"grouping-yearly-close":   "yearly average close of the S&P 500",
	"topn-amzn-months":        "Top 5 months for AMZN by price",
	"topn-sp500-days-volume":  "Top 5 days by volume",
	"extreme-volume-2010":     "Which day had the highest trading volume in 2010?",
	"comparison-all-five":     "Compare all five stocks",
	"metric-mean-close-2008":  "What was the average closing price of the S&P 500 in 2008?",
	"grouping-monthly-sp500":  "Monthly average close of the S&P 500",
	"topn-sp500-2008-volume":  "Top 10 days by volume in 2008",
	"series-aapl-2008-2009":   "Plot AAPL from 2008 to 2009",
	"grouping-symbol-maximum": "Highest price by symbol",
}

// TestChartsOfQuestionShapes collects the chart of every question shape
// (asked of the offline model over the sample) and the charts the chart
// tool draws from sample tables in the ways that used to go wrong (bars
// coloured by symbol, repeated x values, int years on a line), checks what
// Go can check, and writes them as JSON files into DATACHAT_CHART_DIR when
// it is set: the node test (test/node) renders them with the vega and
// vega-lite of package.json in two time zones.
func TestChartsOfQuestionShapes(t *testing.T) {
	srv := newApp(t, app.Deps{}, nil)
	tok := tokenFor(t, "charts")
	charts := map[string]json.RawMessage{}
	for name, q := range chartQuestions {
		status, a := ask(t, srv.Client(), srv.URL, tok, q, "")
		if status != 200 {
			t.Fatalf("%q: status %d", q, status)
		}
		if a.Chart == nil {
			continue // shapes without a chart (a single number) are fine
		}
		b, err := json.Marshal(a.Chart)
		if err != nil {
			t.Fatal(err)
		}
		charts[name] = b
	}
	if len(charts) < 6 {
		t.Fatalf("only %d of the question shapes drew a chart; the offline model's shapes changed?", len(charts))
	}

	for name, ch := range toolCharts(t) {
		b, err := json.Marshal(ch)
		if err != nil {
			t.Fatal(err)
		}
		charts[name] = b
		if ch.Mark.Type == "bar" && string(ch.Encoding.Y.Stack) != "null" {
			t.Errorf("%s: bar chart y has stack %s, want null", name, ch.Encoding.Y.Stack)
		}
	}
	for name, b := range charts {
		var c struct {
			Schema string `json:"$schema"`
		}
		if err := json.Unmarshal(b, &c); err != nil || c.Schema != chat.VegaLiteSchema {
			t.Errorf("%s: $schema %q, want %q", name, c.Schema, chat.VegaLiteSchema)
		}
	}

	dir := os.Getenv("DATACHAT_CHART_DIR")
	if dir == "" {
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range charts {
		if err := os.WriteFile(filepath.Join(dir, name+".json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("wrote %d charts to %s", len(charts), dir)
}

// toolCharts draws, with chat.BuildChart, the charts a model may ask of
// the chart tool from sample tables.
func toolCharts(t *testing.T) map[string]*chat.Chart {
	t.Helper()
	w, err := embedded.SampleWarehouse(500)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	query := func(q chat.Query) *chat.Table {
		tbl, err := w.Query(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		return &tbl
	}
	aggregate := func(a chat.Aggregation) *chat.Table {
		tbl, err := w.Aggregate(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		return &tbl
	}
	in2008 := chat.Filter{Field: "year", Op: chat.OpEq, Value: 2008.0}
	aaplMsft := chat.Filter{Field: "symbol", Op: chat.OpIn, Value: []any{"AAPL", "MSFT"}}
	both := query(chat.Query{Collection: "Stocks", Fields: []string{"month", "symbol", "price"}, Filters: []chat.Filter{in2008, aaplMsft}})
	top := query(chat.Query{Collection: "SP500", Fields: []string{"date", "volume"}, Filters: []chat.Filter{in2008}, Sort: []chat.Sort{{Field: "volume", Desc: true}}, Limit: 5})
	yearly := aggregate(chat.Aggregation{Collection: "SP500", GroupBy: "year", Metrics: []chat.Metric{{Op: chat.MetricMean, Field: "close"}}})
	daily := query(chat.Query{Collection: "SP500", Fields: []string{"date", "close"}, Filters: []chat.Filter{{Field: "date", Op: chat.OpGte, Value: "2007-01-01"}, {Field: "date", Op: chat.OpLt, Value: "2007-03-01"}}})

	out := map[string]*chat.Chart{}
	build := func(name string, tbl *chat.Table, spec chat.ChartSpec) {
		ch, err := chat.BuildChart(tbl, spec, 5000)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[name] = ch
	}
	build("tool-bar-color-aapl-msft-2008", both, chat.ChartSpec{Kind: chat.ChartBar, X: "month", Y: "price", Color: "symbol"})
	build("tool-bar-repeated-x-2008", both, chat.ChartSpec{Kind: chat.ChartBar, X: "month", Y: "price"})
	build("tool-bar-top5-volume-2008", top, chat.ChartSpec{Kind: chat.ChartBar, X: "date", Y: "volume"})
	build("tool-line-int-year", yearly, chat.ChartSpec{Kind: chat.ChartLine, X: "year", Y: "mean_close"})
	build("tool-bar-int-year", yearly, chat.ChartSpec{Kind: chat.ChartBar, X: "year", Y: "mean_close"})
	build("tool-line-month-text-color", both, chat.ChartSpec{Kind: chat.ChartLine, X: "month", Y: "price", Color: "symbol"})
	build("tool-scatter-daily", daily, chat.ChartSpec{Kind: chat.ChartScatter, X: "date", Y: "close"})
	return out
}

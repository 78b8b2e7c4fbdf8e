package chat_test

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/datachat/datachat/shared/chat"
	"github.com/datachat/datachat/shared/embedded"
)

func sampleWarehouse(t *testing.T) *embedded.Warehouse {
	t.Helper()
	w, err := embedded.SampleWarehouse(500)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// TestSystemPromptCarriesFieldDescriptionsAndHints: the model is told what
// each field holds (Stocks.date is the first day of the month) and the
// values it can filter on, with ranges taken from the data, within the
// prompt's budget.
func TestSystemPromptCarriesFieldDescriptionsAndHints(t *testing.T) {
	w := sampleWarehouse(t)
	s, _ := w.Schema(context.Background())
	prompt := chat.SystemPromptWithHints(s, true, chat.ValueHints(context.Background(), w, s))
	lo, hi := closeRange(t)
	for _, want := range []string{
		"date date (first day of the month; from 2000-01-01 to 2010-03-01)",
		"symbol text (ticker: AAPL, AMZN, GOOG, IBM or MSFT; one of AAPL, AMZN, GOOG, IBM, MSFT)",
		"close number (from " + lo + " to " + hi + ")",
		"date date (trading day; from 2000-01-03 to 2020-04-17)",
	} {
		if !strings.Contains(prompt, want) {
			t.Errorf("prompt lacks %q:\n%s", want, prompt)
		}
	}
	if n := chat.EstimateTokens(prompt) - chat.EstimateTokens(chat.SystemPrompt(chat.Schema{Collections: bare(s)}, true)); n > 800+50 {
		t.Errorf("descriptions and hints add %d estimated tokens, over the budget of 800", n)
	}
}

func bare(s chat.Schema) []chat.Collection {
	var out []chat.Collection
	for _, c := range s.Collections {
		c2 := c
		c2.Fields = nil
		for _, f := range c.Fields {
			f.Description = ""
			c2.Fields = append(c2.Fields, f)
		}
		out = append(out, c2)
	}
	return out
}

// closeRange is the lowest and highest close of the S&P 500 CSV.
func closeRange(t *testing.T) (string, string) {
	t.Helper()
	rows := readCSV(t, "sp500-2000.csv")
	col := -1
	for i, h := range rows[0] {
		if h == "close" {
			col = i
		}
	}
	var lo, hi float64
	for i, r := range rows[1:] {
		v, err := strconv.ParseFloat(r[col], 64)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 || v < lo {
			lo = v
		}
		if i == 0 || v > hi {
			hi = v
		}
	}
	return strconv.FormatFloat(lo, 'f', -1, 64), strconv.FormatFloat(hi, 'f', -1, 64)
}

// readCSV reads a file of the sample data, for expectations computed from
// the CSV rather than through the code under test.
func readCSV(t *testing.T, name string) [][]string {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "sample", "data", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

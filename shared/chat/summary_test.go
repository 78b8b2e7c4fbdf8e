package chat_test

import (
	"context"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/datachat/datachat/shared/chat"
	"github.com/datachat/datachat/shared/chat/chattest"
)

// TestSummaryNamesExtremeRowsAndCoverage: a table summary says where its
// extremes are (the monthly average close of the S&P 500 was lowest in
// 2009-03, which the model used to miss when the low was not among the
// rows it saw) and whether its statistics cover the whole result or only
// the rows of a truncated table.
func TestSummaryNamesExtremeRowsAndCoverage(t *testing.T) {
	// From the CSV: the month of the lowest monthly mean close, and the
	// trading days of 2008.
	sums, counts := map[string]float64{}, map[string]int{}
	days2008 := 0
	for _, r := range readCSV(t, "sp500-2000.csv")[1:] {
		v, _ := strconv.ParseFloat(r[4], 64)
		sums[r[0][:7]] += v
		counts[r[0][:7]]++
		if strings.HasPrefix(r[0], "2008") {
			days2008++
		}
	}
	lowMonth, low := "", math.Inf(1)
	for m, s := range sums {
		if mean := s / float64(counts[m]); mean < low {
			lowMonth, low = m, mean
		}
	}

	var tools []chat.Message
	m := &chattest.ScriptedModel{Reply: func(_ context.Context, req chat.ModelRequest, n int) (chat.ModelResponse, error) {
		if n == 1 {
			return chattest.Calls(0,
				call("monthly", "aggregate", `{"collection":"SP500","metrics":[{"op":"mean","field":"close"}],"group_by":"month","filters":null,"sort":null,"limit":null}`),
				call("days", "query", `{"collection":"SP500","fields":["date","close"],"filters":[{"field":"year","op":"eq","value":2008}],"sort":null,"limit":30}`),
			), nil
		}
		for _, msg := range req.Messages {
			if msg.Role == chat.RoleTool {
				tools = append(tools, msg)
			}
		}
		return chattest.Answer("done", 0), nil
	}}
	a, err := chat.NewAgent(m, sampleWarehouse(t), chat.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Run(context.Background(), nil, "q"); err != nil {
		t.Fatal(err)
	}
	if len(tools) != 2 {
		t.Fatalf("%d tool results, want 2", len(tools))
	}
	var monthly, days struct {
		Stats map[string]struct {
			Min   float64           `json:"min"`
			MinAt map[string]string `json:"min_at"`
		} `json:"stats"`
		Cover string `json:"stats_cover"`
	}
	if err := json.Unmarshal([]byte(tools[0].Content), &monthly); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(tools[1].Content), &days); err != nil {
		t.Fatal(err)
	}
	st := monthly.Stats["mean_close"]
	if st.MinAt["month"] != lowMonth || math.Abs(st.Min-low) > 1e-6 {
		t.Errorf("monthly summary: min %v at %v, want %.2f at %s: %s", st.Min, st.MinAt, low, lowMonth, tools[0].Content[:200])
	}
	if want := "all " + strconv.Itoa(len(counts)) + " rows"; !strings.Contains(monthly.Cover, want) {
		t.Errorf("monthly summary covers %q, want %q", monthly.Cover, want)
	}
	if want := "only the 30 rows returned, not all " + strconv.Itoa(days2008) + " matches"; !strings.Contains(days.Cover, want) {
		t.Errorf("truncated summary covers %q, want %q", days.Cover, want)
	}
}

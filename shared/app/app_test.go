package app_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/datachat/datachat/shared/app"
	"github.com/datachat/datachat/shared/auth"
	"github.com/datachat/datachat/shared/config"
)

const secret = "app-test-secret-0123456789abcdef012345"

// newApp builds the whole service as `make run` does (embedded defaults)
// with deps' overrides, and serves it over real HTTP.
func newApp(t testing.TB, deps app.Deps, env map[string]string) *httptest.Server {
	t.Helper()
	srv, _ := buildApp(t, deps, env)
	return srv
}

func tokenFor(t testing.TB, user string) string {
	t.Helper()
	tok, err := auth.Issue([]byte(secret), user, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

type answer struct {
	ConversationID string `json:"conversation_id"`
	Turn           int    `json:"turn"`
	Answer         string `json:"answer"`
	Table          *struct {
		Columns []struct {
			Name string `json:"name"`
			Type string `json:"type"`
		} `json:"columns"`
		Rows      [][]any `json:"rows"`
		TotalRows int     `json:"total_rows"`
		Truncated bool    `json:"truncated"`
	} `json:"table"`
	Chart        map[string]any `json:"chart"`
	FinishReason string         `json:"finish_reason"`
	Saved        *bool          `json:"saved"`
	Usage        struct {
		ModelRequests int `json:"model_requests"`
		TotalTokens   int `json:"total_tokens"`
	} `json:"usage"`
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// ask posts a question and decodes the answer; status is returned for the
// caller to check.
func ask(t testing.TB, client *http.Client, base, tok, message, conv string) (int, answer) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"message": message, "conversation_id": conv})
	if conv == "" {
		body, _ = json.Marshal(map[string]string{"message": message})
	}
	req, err := http.NewRequest("POST", base+"/chat", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		t.Error(err)
		return 0, answer{}
	}
	defer resp.Body.Close()
	var a answer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Errorf("decode answer: %v", err)
	}
	return resp.StatusCode, a
}

// The expected values are computed here straight from the CSV files,
// independently of the sample package and the warehouse.
type spRow struct {
	date          string
	close, volume float64
}

type stockRow struct {
	symbol, date string
	price        float64
}

func readCSV(t testing.TB, name string) [][]string {
	t.Helper()
	f, err := os.Open("../sample/data/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs[1:]
}

func sp500(t testing.TB) []spRow {
	var out []spRow
	for _, r := range readCSV(t, "sp500-2000.csv") {
		c, _ := strconv.ParseFloat(r[4], 64)
		v, _ := strconv.ParseFloat(r[6], 64)
		out = append(out, spRow{r[0], c, v})
	}
	return out
}

func stocks(t testing.TB) []stockRow {
	var out []stockRow
	for _, r := range readCSV(t, "stocks.csv") {
		d, err := time.Parse("Jan 2 2006", r[1])
		if err != nil {
			t.Fatal(err)
		}
		p, _ := strconv.ParseFloat(r[2], 64)
		out = append(out, stockRow{r[0], d.Format(time.DateOnly), p})
	}
	return out
}

func meanClose(rows []spRow, keep func(spRow) bool) (float64, int) {
	sum, n := 0.0, 0
	for _, r := range rows {
		if keep(r) {
			sum, n = sum+r.close, n+1
		}
	}
	return sum / float64(n), n
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b)) }

func num(v any) float64 { f, _ := v.(float64); return f }

// money renders like the answers do: 1,234.57.
func money(f float64) string {
	s := strconv.FormatFloat(f, 'f', 2, 64)
	whole, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String() + "." + frac
}

func TestQuestionShapes(t *testing.T) {
	srv := newApp(t, app.Deps{}, nil)
	tok := tokenFor(t, "analyst")
	sp, st := sp500(t), stocks(t)
	year := func(y string) func(spRow) bool { return func(r spRow) bool { return strings.HasPrefix(r.date, y) } }

	t.Run("1 metric over a period, 7 follow-up", func(t *testing.T) {
		for _, q := range []string{
			"What was the average closing price of the S&P 500 in 2008?",
			"mean close of the s&p 500 during 2008",
		} {
			status, a := ask(t, srv.Client(), srv.URL, tok, q, "")
			want, n := meanClose(sp, year("2008"))
			if status != 200 || a.Table == nil || !near(num(a.Table.Rows[0][0]), want) || num(a.Table.Rows[0][1]) != float64(n) {
				t.Fatalf("%q: %d %+v, want mean %v over %d days", q, status, a, want, n)
			}
			if !strings.Contains(a.Answer, money(want)) || !strings.Contains(a.Answer, "2008") {
				t.Fatalf("answer %q lacks %s", a.Answer, money(want))
			}
			// 7: the follow-up needs the conversation.
			status, f := ask(t, srv.Client(), srv.URL, tok, "And in 2009?", a.ConversationID)
			want, _ = meanClose(sp, year("2009"))
			if status != 200 || f.Turn != 2 || f.Table == nil || !near(num(f.Table.Rows[0][0]), want) || !strings.Contains(f.Answer, money(want)) {
				t.Fatalf("follow-up: %d %+v, want mean %v", status, f, want)
			}
		}
	})

	t.Run("2 extreme", func(t *testing.T) {
		var best spRow
		for _, r := range sp {
			if strings.HasPrefix(r.date, "2010") && r.volume > best.volume {
				best = r
			}
		}
		for _, q := range []string{"Which day had the highest trading volume in 2010?", "On what day in 2010 was volume at its maximum?"} {
			status, a := ask(t, srv.Client(), srv.URL, tok, q, "")
			if status != 200 || a.Table == nil || a.Table.Rows[0][0] != best.date || num(a.Table.Rows[0][1]) != best.volume {
				t.Fatalf("%q: %d %+v, want %s with %v", q, status, a.Table, best.date, best.volume)
			}
			if !strings.Contains(a.Answer, best.date) {
				t.Fatalf("answer %q lacks %s", a.Answer, best.date)
			}
		}
	})

	t.Run("2 extreme by month", func(t *testing.T) {
		sums := map[string]float64{}
		for _, r := range sp {
			sums[r.date[:7]] += r.volume
		}
		best := ""
		for m, v := range sums {
			if best == "" || v > sums[best] {
				best = m
			}
		}
		status, a := ask(t, srv.Client(), srv.URL, tok, "Which month had the highest volume?", "")
		if status != 200 || a.Table == nil || a.Table.Rows[0][0] != best || num(a.Table.Rows[0][1]) != sums[best] || !strings.Contains(a.Answer, best) {
			t.Fatalf("%d %+v, want %s with %v", status, a.Table, best, sums[best])
		}
	})

	t.Run("3 series", func(t *testing.T) {
		// Three years keep their trading days: the chart has every one,
		// the response's table the first ROW_LIMIT rows of them.
		var days []spRow
		for _, r := range sp {
			if r.date >= "2007" && r.date < "2010" {
				days = append(days, r)
			}
		}
		for _, q := range []string{"Plot the S&P 500 close from 2007 to 2009", "show me a chart of the S&P 500 between 2007 and 2009"} {
			status, a := ask(t, srv.Client(), srv.URL, tok, q, "")
			if status != 200 || a.Table == nil || len(a.Table.Rows) != 500 || a.Table.TotalRows != len(days) || !a.Table.Truncated {
				t.Fatalf("%q: %d %+v, want the first 500 of %d daily rows", q, status, a.Table, len(days))
			}
			for i, r := range a.Table.Rows {
				if r[0] != days[i].date || num(r[1]) != days[i].close {
					t.Fatalf("row %d = %v, want %v", i, r, days[i])
				}
			}
			checkChart(t, a.Chart, "line", len(days))
		}
		// Twenty years are more days than a chart's points: monthly
		// averages, and the answer says so.
		status, a := ask(t, srv.Client(), srv.URL, tok, "Plot the S&P 500 close", "")
		if status != 200 || a.Table == nil || len(a.Table.Rows) != 244 || !strings.Contains(a.Answer, "monthly averages") || !strings.Contains(a.Answer, fmt.Sprintf("%s trading days", commas(len(sp)))) {
			t.Fatalf("all years: %d %q, want 244 monthly rows and the reason", status, a.Answer)
		}
		for _, r := range a.Table.Rows {
			m := r[0].(string)
			want, _ := meanClose(sp, func(x spRow) bool { return strings.HasPrefix(x.date, m) })
			if !near(num(r[1]), want) {
				t.Fatalf("%s: mean close %v, want %v", m, r[1], want)
			}
		}
		// One year is plotted day by day.
		status, a = ask(t, srv.Client(), srv.URL, tok, "Plot the S&P 500 close in 2008", "")
		_, n := meanClose(sp, year("2008"))
		if status != 200 || a.Table == nil || len(a.Table.Rows) != n {
			t.Fatalf("2008 daily: %d rows, want %d", len(a.Table.Rows), n)
		}
		checkChart(t, a.Chart, "line", n)
	})

	t.Run("4 comparison", func(t *testing.T) {
		status, a := ask(t, srv.Client(), srv.URL, tok, "Compare AAPL and MSFT since 2005", "")
		var want int
		sums := map[string]float64{}
		counts := map[string]int{}
		for _, r := range st {
			if (r.symbol == "AAPL" || r.symbol == "MSFT") && r.date >= "2005-01-01" {
				want++
				sums[r.symbol] += r.price
				counts[r.symbol]++
			}
		}
		if status != 200 || a.Table == nil || len(a.Table.Rows) != want {
			t.Fatalf("%d %+v, want %d rows", status, a.Table, want)
		}
		for _, r := range a.Table.Rows {
			if r[0] != "AAPL" && r[0] != "MSFT" || r[1].(string) < "2005-01-01" {
				t.Fatalf("row %v is outside the question", r)
			}
		}
		checkChart(t, a.Chart, "line", want)
		enc := a.Chart["encoding"].(map[string]any)
		if c, _ := enc["color"].(map[string]any); c["field"] != "symbol" {
			t.Fatalf("comparison chart has no series per symbol: %v", enc)
		}
		for _, s := range []string{"AAPL", "MSFT"} {
			if !strings.Contains(a.Answer, "$"+money(sums[s]/float64(counts[s]))) {
				t.Fatalf("answer %q lacks %s's average %s", a.Answer, s, money(sums[s]/float64(counts[s])))
			}
		}
	})

	t.Run("5 grouping", func(t *testing.T) {
		status, a := ask(t, srv.Client(), srv.URL, tok, "Average price by symbol", "")
		sums, counts := map[string]float64{}, map[string]int{}
		for _, r := range st {
			sums[r.symbol] += r.price
			counts[r.symbol]++
		}
		if status != 200 || a.Table == nil || len(a.Table.Rows) != 5 {
			t.Fatalf("%d %+v, want 5 groups", status, a.Table)
		}
		for _, r := range a.Table.Rows {
			s := r[0].(string)
			if !near(num(r[1]), sums[s]/float64(counts[s])) {
				t.Fatalf("%s: %v, want %v", s, r[1], sums[s]/float64(counts[s]))
			}
		}
		checkChart(t, a.Chart, "bar", 5)

		status, a = ask(t, srv.Client(), srv.URL, tok, "yearly average close of the S&P 500", "")
		if status != 200 || a.Table == nil || len(a.Table.Rows) != 21 {
			t.Fatalf("yearly: %d %+v, want 21 years", status, a.Table)
		}
		for _, r := range a.Table.Rows {
			y := strconv.Itoa(int(num(r[0])))
			want, _ := meanClose(sp, year(y))
			if !near(num(r[1]), want) {
				t.Fatalf("%s: %v, want %v", y, r[1], want)
			}
		}
		checkChart(t, a.Chart, "bar", 21)
	})

	t.Run("6 top-N", func(t *testing.T) {
		var amzn []stockRow
		for _, r := range st {
			if r.symbol == "AMZN" {
				amzn = append(amzn, r)
			}
		}
		slices.SortStableFunc(amzn, func(a, b stockRow) int { return -cmpFloat(a.price, b.price) })
		status, a := ask(t, srv.Client(), srv.URL, tok, "Top 5 months for AMZN by price", "")
		if status != 200 || a.Table == nil || len(a.Table.Rows) != 5 {
			t.Fatalf("%d %+v, want 5 rows", status, a.Table)
		}
		for i, r := range a.Table.Rows {
			if r[1] != amzn[i].date || num(r[3]) != amzn[i].price {
				t.Fatalf("row %d = %v, want %s %v", i, r, amzn[i].date, amzn[i].price)
			}
		}
		checkChart(t, a.Chart, "bar", 5)
	})

	t.Run("8 anything else", func(t *testing.T) {
		status, a := ask(t, srv.Client(), srv.URL, tok, "What's the weather in Paris tomorrow?", "")
		if status != 200 || a.FinishReason != "stop" || a.Table != nil || !strings.Contains(a.Answer, "Try:") || !strings.Contains(a.Answer, "SP500") {
			t.Fatalf("%d %+v, want a helpful description of what can be asked", status, a)
		}
	})
}

// commas renders an int with thousands separators: 5,105.
func commas(n int) string { return strings.TrimSuffix(money(float64(n)), ".00") }

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func checkChart(t *testing.T, chart map[string]any, mark string, points int) {
	t.Helper()
	if chart == nil {
		t.Fatal("no chart")
	}
	m, _ := chart["mark"].(map[string]any)
	values, _ := chart["data"].(map[string]any)["values"].([]any)
	if chart["$schema"] != "https://vega.github.io/schema/vega-lite/v6.json" || m["type"] != mark || len(values) != points {
		t.Fatalf("chart: schema %v, mark %v, %d points; want %s with %d points", chart["$schema"], m["type"], len(values), mark, points)
	}
	enc, _ := chart["encoding"].(map[string]any)
	if enc["x"] == nil || enc["y"] == nil {
		t.Fatalf("chart lacks x or y encoding: %v", enc)
	}
}

// The handler must add no turn to another: a request limit of 10 is the
// only bound on a model that never stops calling tools.
func TestUsageLimitEndToEnd(t *testing.T) {
	srv := newApp(t, app.Deps{Model: loopingModel{}}, map[string]string{"MAX_MODEL_REQUESTS": "10"})
	status, a := ask(t, srv.Client(), srv.URL, tokenFor(t, "loop"), "never stop", "")
	if status != 200 || a.FinishReason != "usage_limit" || a.Usage.ModelRequests != 10 || !strings.Contains(a.Answer, "limit") {
		t.Fatalf("%d %+v", status, a)
	}
	raw, _ := json.Marshal(a)
	if !strings.Contains(string(raw), "usage_limit") {
		t.Fatal(string(raw))
	}
}

func ExampleNew() {
	cfg, _ := config.FromEnv(func(string) string { return "" })
	v, _ := auth.NewHS256([]byte(secret), nil)
	a, _ := app.New(context.Background(), cfg, app.Deps{Auth: v, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	tok, _ := auth.Issue([]byte(secret), "alice", time.Hour, time.Now())

	req := httptest.NewRequest("POST", "/chat", strings.NewReader(`{"message": "What was the average closing price of the S&P 500 in 2008?"}`))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	a.Handler.ServeHTTP(w, req)

	var out struct {
		Answer string `json:"answer"`
	}
	_ = json.Unmarshal(w.Body.Bytes(), &out)
	fmt.Println(w.Code, out.Answer)
	// Output: 200 The average close of the S&P 500 in 2008 was 1,220.04, over 253 trading days.
}

// TestOpenAIFromConfiguration wires the hosted model from the environment
// and drives it over HTTP through the real client.
func TestOpenAIFromConfiguration(t *testing.T) {
	var auth string
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"c1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"from the hosted model"}}],"usage":{"prompt_tokens":100,"completion_tokens":5,"total_tokens":105}}`)
	}))
	defer fake.Close()
	srv := newApp(t, app.Deps{}, map[string]string{"OPENAI_API_KEY": "sk-app-test", "OPENAI_BASE_URL": fake.URL + "/v1/"})
	status, a := ask(t, srv.Client(), srv.URL, tokenFor(t, "oa"), "hello", "")
	if status != 200 || a.Answer != "from the hosted model" || a.Usage.TotalTokens != 105 || auth != "Bearer sk-app-test" {
		t.Fatalf("%d %+v (auth %q)", status, a, auth)
	}
}

package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/datachat/datachat/shared/app"
	"github.com/datachat/datachat/shared/chat/chattest"
	"github.com/datachat/datachat/shared/sample"
	"github.com/datachat/datachat/shared/weaviate"
)

// weaviateWarehouse is a Warehouse on the Weaviate started by `make test`,
// holding the sample (seeding is idempotent, so other test binaries
// seeding the same server at the same time do no harm).
func weaviateWarehouse(t *testing.T) *weaviate.Warehouse {
	t.Helper()
	url := chattest.ServerEnv(t, "WEAVIATE_TEST_URL", "scripts/start-weaviate.sh")
	grpcAddr := chattest.ServerEnv(t, "WEAVIATE_TEST_GRPC_ADDR", "scripts/start-weaviate.sh")
	// The allow-list keeps out collections other tests create on the same
	// server, so the schema the agent describes is the sample's alone.
	w, err := weaviate.New(weaviate.Options{URL: url, GRPCURL: grpcAddr, Timeout: time.Minute, Collections: []string{sample.SP500, sample.Stocks}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	ds, err := sample.Load()
	if err != nil {
		t.Fatal(err)
	}
	if err := weaviate.Seed(context.Background(), w, ds, io.Discard); err != nil {
		t.Fatal(err)
	}
	return w
}

// rawAsk posts a question and returns the status and the decoded body,
// kept generic so every field of the two answers is compared.
func rawAsk(t *testing.T, client *http.Client, base, tok, message, conv string) (int, map[string]any) {
	t.Helper()
	in := map[string]string{"message": message}
	if conv != "" {
		in["conversation_id"] = conv
	}
	body, _ := json.Marshal(in)
	req, err := http.NewRequest("POST", base+"/chat", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("decode answer: %v", err)
	}
	return resp.StatusCode, out
}

// TestQuestionShapesOnWeaviate asks the eight question shapes of
// TestQuestionShapes of a server on Weaviate and of one on the embedded
// warehouse: answers, tables and charts must be the same, numbers to a
// relative 1e-9 (Weaviate and Go may sum in different orders).
func TestQuestionShapesOnWeaviate(t *testing.T) {
	wh := weaviateWarehouse(t)
	onWeaviate := newApp(t, app.Deps{Warehouse: wh}, nil)
	onEmbedded := newApp(t, app.Deps{}, nil)
	tok := tokenFor(t, "analyst")

	questions := []struct{ shape, q, followUp string }{
		{"1 metric over a period, 7 follow-up", "What was the average closing price of the S&P 500 in 2008?", "And in 2009?"},
		{"1 metric, other wording", "mean close of the s&p 500 during 2008", "And in 2009?"},
		{"2 extreme", "Which day had the highest trading volume in 2010?", ""},
		{"2 extreme, other wording", "On what day in 2010 was volume at its maximum?", ""},
		{"3 series", "Plot the S&P 500 close from 2007 to 2009", ""},
		{"3 series, daily", "Plot the S&P 500 close in 2008", ""},
		{"4 comparison", "Compare AAPL and MSFT since 2005", ""},
		{"5 grouping", "Average price by symbol", ""},
		{"5 grouping by year", "yearly average close of the S&P 500", ""},
		{"6 top-N", "Top 5 months for AMZN by price", ""},
		{"8 anything else", "What's the weather in Paris tomorrow?", ""},
	}
	for _, q := range questions {
		t.Run(q.shape, func(t *testing.T) {
			ws, wa := rawAsk(t, onWeaviate.Client(), onWeaviate.URL, tok, q.q, "")
			es, ea := rawAsk(t, onEmbedded.Client(), onEmbedded.URL, tok, q.q, "")
			if ws != es || ws != http.StatusOK {
				t.Fatalf("status on Weaviate %d, embedded %d, want 200", ws, es)
			}
			compareAnswers(t, q.q, wa, ea)
			if q.followUp == "" {
				return
			}
			_, wf := rawAsk(t, onWeaviate.Client(), onWeaviate.URL, tok, q.followUp, wa["conversation_id"].(string))
			_, ef := rawAsk(t, onEmbedded.Client(), onEmbedded.URL, tok, q.followUp, ea["conversation_id"].(string))
			compareAnswers(t, q.followUp, wf, ef)
		})
	}
}

// compareAnswers compares what the warehouse decides: the answer text,
// the table, the chart and how the turn finished. Ids and usage differ by
// construction and are left out.
func compareAnswers(t *testing.T, q string, onWeaviate, onEmbedded map[string]any) {
	t.Helper()
	for _, key := range []string{"answer", "table", "chart", "finish_reason", "error"} {
		if d := diff(key, onWeaviate[key], onEmbedded[key]); d != "" {
			t.Errorf("%q: %s", q, d)
		}
	}
	if tbl, _ := onEmbedded["table"].(map[string]any); tbl == nil && onEmbedded["finish_reason"] != "stop" {
		t.Errorf("%q: the embedded answer has no table (%v)", q, onEmbedded)
	}
}

// diff describes the first difference between two decoded JSON values.
func diff(path string, a, b any) string {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return fmt.Sprintf("%s: on Weaviate %v, embedded %v", path, short(a), short(b))
		}
		for k := range x {
			if d := diff(path+"."+k, x[k], y[k]); d != "" {
				return d
			}
		}
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return fmt.Sprintf("%s: on Weaviate %v, embedded %v", path, short(a), short(b))
		}
		for i := range x {
			if d := diff(fmt.Sprintf("%s[%d]", path, i), x[i], y[i]); d != "" {
				return d
			}
		}
	case float64:
		y, ok := b.(float64)
		if !ok || math.Abs(x-y) > 1e-9*math.Max(math.Abs(x), math.Abs(y)) {
			return fmt.Sprintf("%s: on Weaviate %v, embedded %v", path, a, b)
		}
	default:
		if a != b {
			return fmt.Sprintf("%s: on Weaviate %v, embedded %v", path, short(a), short(b))
		}
	}
	return ""
}

func short(v any) string {
	s := fmt.Sprint(v)
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

package app_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/datachat/datachat/shared/app"
	"github.com/datachat/datachat/shared/auth"
	"github.com/datachat/datachat/shared/chat"
	"github.com/datachat/datachat/shared/config"
	"github.com/datachat/datachat/shared/fakemodel"
	"github.com/datachat/datachat/shared/openai"
)

func jsonDecode(resp *http.Response, into any) error { return json.NewDecoder(resp.Body).Decode(into) }

// instantModel answers at once without tools: what is left is the
// handler's own work per turn (auth, decoding, agent loop, memory, encoding).
type instantModel struct{}

func (instantModel) Complete(context.Context, chat.ModelRequest) (chat.ModelResponse, error) {
	return chat.ModelResponse{Message: chat.Message{Content: "ok"}, Usage: chat.Usage{TotalTokens: 10}}, nil
}

func benchTurn(b *testing.B, model chat.Model, question string) {
	cfg, _ := config.FromEnv(func(string) string { return "" })
	v, _ := auth.NewHS256([]byte(secret), nil)
	a, err := app.New(context.Background(), cfg, app.Deps{Auth: v, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Model: model})
	if err != nil {
		b.Fatal(err)
	}
	tok, _ := auth.Issue([]byte(secret), "bench", time.Hour, time.Now())
	body := `{"message": "` + question + `"}`
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest("POST", "/chat", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		a.Handler.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
}

// BenchmarkTurnOverhead is one turn with an instant model and embedded stores.
func BenchmarkTurnOverhead(b *testing.B) { benchTurn(b, instantModel{}, "hello") }

// BenchmarkTurnOffline is one full turn of the offline planner: two model
// requests and an aggregate over 5,105 rows.
func BenchmarkTurnOffline(b *testing.B) {
	benchTurn(b, nil, "What was the average closing price of the S&P 500 in 2008?")
}

// BenchmarkTurnThroughOpenAI is one turn through the OpenAI adapter
// against the fake model with no latency (a query call, then the answer):
// the adapter's and the SDK's cost per turn. Profile it with
// -cpuprofile / -memprofile.
func BenchmarkTurnThroughOpenAI(b *testing.B) {
	fake := httptest.NewServer(fakemodel.New(fakemodel.Options{}))
	defer fake.Close()
	m, err := openai.New(openai.Options{APIKey: "unused", BaseURL: fake.URL + "/v1/"})
	if err != nil {
		b.Fatal(err)
	}
	benchTurn(b, m, "What was the average closing price of the S&P 500 in January 2008?")
}

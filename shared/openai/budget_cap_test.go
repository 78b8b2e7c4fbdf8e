package openai_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/datachat/datachat/shared/chat"
	"github.com/datachat/datachat/shared/openai"
)

// The completion limit sent is the smaller of the configured one and what
// is left of the turn's budget.
func TestMaxCompletionTokensFollowsTheTurnBudget(t *testing.T) {
	var sent []float64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &body)
		v, _ := body["max_completion_tokens"].(float64)
		sent = append(sent, v)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"ok"}}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`)
	}))
	defer srv.Close()
	m, err := openai.New(openai.Options{APIKey: "sk-cap-test", BaseURL: srv.URL + "/v1/", MaxOutputTokens: 4096})
	if err != nil {
		t.Fatal(err)
	}
	msgs := []chat.Message{{Role: chat.RoleUser, Content: "hi"}}
	for _, left := range []int{0, 700, 9000} {
		if _, err := m.Complete(context.Background(), chat.ModelRequest{Messages: msgs, MaxOutputTokens: left}); err != nil {
			t.Fatal(err)
		}
	}
	if len(sent) != 3 || sent[0] != 4096 || sent[1] != 700 || sent[2] != 4096 {
		t.Fatalf("max_completion_tokens sent %v, want [4096 700 4096]", sent)
	}
}

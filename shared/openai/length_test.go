package openai_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/datachat/datachat/shared/chat"
	"github.com/datachat/datachat/shared/openai"
)

// TestLengthFinishIsReportedAsTruncated: finish_reason "length" with text
// reaches the agent as a truncated response, not as a whole answer.
func TestLengthFinishIsReportedAsTruncated(t *testing.T) {
	for _, tc := range []struct {
		finish string
		want   bool
	}{{"length", true}, {"stop", false}} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, completion("The average close in 2008 was", tc.finish, usage{prompt: 900, completion: 200}))
		}))
		m, err := openai.New(openai.Options{APIKey: "sk-length-test", BaseURL: srv.URL + "/v1/"})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := m.Complete(context.Background(), chat.ModelRequest{Messages: []chat.Message{{Role: chat.RoleUser, Content: "hi"}}, MaxOutputTokens: 200})
		srv.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.Truncated != tc.want || resp.Message.Content != "The average close in 2008 was" {
			t.Errorf("finish_reason %s: truncated %v content %q, want truncated %v", tc.finish, resp.Truncated, resp.Message.Content, tc.want)
		}
	}
}

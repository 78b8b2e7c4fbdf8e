package app_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/datachat/datachat/shared/app"
	"github.com/datachat/datachat/shared/chat"
)

// loopingModel asks for the same query forever.
type loopingModel struct{}

func (loopingModel) Complete(_ context.Context, req chat.ModelRequest) (chat.ModelResponse, error) {
	return chat.ModelResponse{
		Message: chat.Message{Role: chat.RoleAssistant, ToolCalls: []chat.ToolCall{{
			ID: fmt.Sprint("c", len(req.Messages)), Name: "aggregate",
			Arguments: `{"collection":"SP500","metrics":[{"op":"count","field":null}],"group_by":null,"filters":null,"sort":null,"limit":null}`,
		}}},
		Usage: chat.Usage{InputTokens: 50, OutputTokens: 10, TotalTokens: 60},
	}, nil
}

// barrierModel blocks every call until n calls are inside it at once, then
// answers each with its own question. If any turn waited for another, the
// n-th call could never arrive and every turn would end at its deadline.
type barrierModel struct {
	n       int32
	arrived atomic.Int32
	release chan struct{}
}

func (m *barrierModel) Complete(ctx context.Context, req chat.ModelRequest) (chat.ModelResponse, error) {
	if m.arrived.Add(1) == m.n {
		close(m.release)
	}
	select {
	case <-m.release:
	case <-ctx.Done():
		return chat.ModelResponse{}, chat.Wrap(ctx.Err(), chat.CodeDeadline, "barrier", "the barrier was never reached")
	}
	q := req.Messages[len(req.Messages)-1].Content
	return chat.ModelResponse{Message: chat.Message{Content: "answer to: " + q}, Usage: chat.Usage{TotalTokens: 10}}, nil
}

func TestConcurrentTurnsDoNotWait(t *testing.T) {
	const users = 100
	m := &barrierModel{n: users, release: make(chan struct{})}
	srv := newApp(t, app.Deps{Model: m}, nil)
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 0, MaxIdleConnsPerHost: users}}

	var wg sync.WaitGroup
	for i := range users {
		wg.Go(func() {
			user := fmt.Sprintf("user-%03d", i)
			q := "question of " + user
			status, a := ask(t, client, srv.URL, tokenFor(t, user), q, "")
			if status != 200 || a.Answer != "answer to: "+q {
				t.Errorf("%s: %d %q (error %+v)", user, status, a.Answer, a.Error)
			}
		})
	}
	wg.Wait()
	if got := m.arrived.Load(); got != users {
		t.Fatalf("%d calls reached the model, want %d", got, users)
	}
}

func TestIsolationUnderLoad(t *testing.T) {
	const users = 200
	srv := newApp(t, app.Deps{}, nil)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: users}}
	sp := sp500(t)
	symbols := []string{"AAPL", "AMZN", "GOOG", "IBM", "MSFT"}
	st := stocks(t)

	type result struct {
		user, conv, question, want string
	}
	results := make([]result, users)
	var wg sync.WaitGroup
	for i := range users {
		wg.Go(func() {
			user := fmt.Sprintf("iso-%03d", i)
			year := fmt.Sprint(2000 + i%21)
			var q string
			var want float64
			if i%2 == 0 {
				q = fmt.Sprintf("What was the average close of the S&P 500 in %s? (ref %s)", year, user)
				want, _ = meanClose(sp, func(r spRow) bool { return strings.HasPrefix(r.date, year) })
			} else {
				sym := symbols[i%5]
				year = fmt.Sprint(2000 + i%10)
				q = fmt.Sprintf("What was the average price of %s in %s? (ref %s)", sym, year, user)
				sum, n := 0.0, 0
				for _, r := range st {
					if r.symbol == sym && strings.HasPrefix(r.date, year) {
						sum, n = sum+r.price, n+1
					}
				}
				want = sum / float64(n)
			}
			status, a := ask(t, client, srv.URL, tokenFor(t, user), q, "")
			if status != 200 || a.Table == nil || !near(num(a.Table.Rows[0][0]), want) || !strings.Contains(a.Answer, year) {
				t.Errorf("%s asked %q: %d %+v; want mean %v", user, q, status, a, want)
				return
			}
			results[i] = result{user, a.ConversationID, q, money(want)}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	// Every stored conversation holds only its own user's question, and
	// everyone else's is 404.
	for i, r := range results {
		other := results[(i+1)%users]
		var conv struct {
			Turns []struct {
				Question string `json:"question"`
				Answer   string `json:"answer"`
			} `json:"turns"`
		}
		status := getJSON(t, client, srv.URL+"/conversations/"+r.conv, tokenFor(t, r.user), &conv)
		if status != 200 || len(conv.Turns) != 1 || conv.Turns[0].Question != r.question || !strings.Contains(conv.Turns[0].Answer, r.want) {
			t.Fatalf("%s's conversation: %d %+v", r.user, status, conv)
		}
		if status := getJSON(t, client, srv.URL+"/conversations/"+other.conv, tokenFor(t, r.user), nil); status != 404 {
			t.Fatalf("%s read %s's conversation: %d", r.user, other.user, status)
		}
		var list struct {
			Conversations []struct {
				ID string `json:"id"`
			} `json:"conversations"`
		}
		if getJSON(t, client, srv.URL+"/conversations", tokenFor(t, r.user), &list); len(list.Conversations) != 1 || list.Conversations[0].ID != r.conv {
			t.Fatalf("%s's list: %+v", r.user, list)
		}
	}
}

func getJSON(t testing.TB, client *http.Client, url, tok string, into any) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if into != nil {
		if err := jsonDecode(resp, into); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode
}

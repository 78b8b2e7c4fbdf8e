package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/datachat/datachat/shared/app"
	"github.com/datachat/datachat/shared/dynamo"
	"github.com/datachat/datachat/shared/embedded"
)

// limitStores runs a limits test on both kinds of counters: in process and
// on the DynamoDB-compatible server. used reads a user's tokens of today.
func limitStores(t *testing.T, run func(t *testing.T, env map[string]string, deps app.Deps, used func(user string) int)) {
	t.Run("embedded", func(t *testing.T) {
		m := embedded.NewMeter()
		run(t, map[string]string{}, app.Deps{Meter: m}, func(user string) int { return m.Used(user, time.Now()) })
	})
	t.Run("dynamodb", func(t *testing.T) {
		ep := dynamoEndpoint(t)
		table := createTable(t, ep)
		store, err := dynamo.New(dynamodb.New(dynamodb.Options{
			Region: "us-east-1", BaseEndpoint: aws.String(ep),
			Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
		}), dynamo.Options{Table: table})
		if err != nil {
			t.Fatal(err)
		}
		run(t, map[string]string{"TABLE_NAME": table}, app.Deps{}, func(user string) int {
			n, err := store.Used(context.Background(), user, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			return n
		})
	})
}

func TestTurnsPerMinuteAtAndPastTheLimit(t *testing.T) {
	limitStores(t, func(t *testing.T, env map[string]string, deps app.Deps, _ func(string) int) {
		env["USER_TURNS_PER_MINUTE"] = "2"
		srv := newApp(t, deps, env)
		tok := tokenFor(t, "minute-user")
		q := "What was the average closing price of the S&P 500 in 2008?"
		for i := range 2 {
			if status, a := ask(t, srv.Client(), srv.URL, tok, q, ""); status != 200 {
				t.Fatalf("turn %d of 2: %d %+v", i+1, status, a.Error)
			}
		}
		resp, a := post(t, srv, tok, q)
		if resp.StatusCode != http.StatusTooManyRequests || a.Error == nil || a.Error.Code != "rate_limited" {
			// Two turns may straddle a minute boundary; then the third is
			// the first of a new minute. Try once more in that minute.
			if resp.StatusCode == 200 {
				resp, a = post(t, srv, tok, q)
			}
			if resp.StatusCode != http.StatusTooManyRequests || a.Error == nil || a.Error.Code != "rate_limited" {
				t.Fatalf("turn past the limit: %d %+v, want 429 rate_limited", resp.StatusCode, a.Error)
			}
		}
		secs, err := strconv.Atoi(resp.Header.Get("Retry-After"))
		if err != nil || secs < 1 || secs > 60 {
			t.Fatalf("Retry-After %q, want the seconds to the next minute", resp.Header.Get("Retry-After"))
		}
		if !strings.Contains(a.Error.Message, "try again after ") {
			t.Fatalf("message %q does not say when the limit resets", a.Error.Message)
		}
		// Another user is not limited by this one.
		if status, a := ask(t, srv.Client(), srv.URL, tokenFor(t, "other-user"), q, ""); status != 200 {
			t.Fatalf("another user: %d %+v", status, a.Error)
		}
	})
}

func TestDailyTokensExactAfterReconcilingUnderConcurrency(t *testing.T) {
	limitStores(t, func(t *testing.T, env map[string]string, deps app.Deps, used func(string) int) {
		// A budget of one token admits exactly one turn a day: the first is
		// admitted at 0 (< 1) and reserves MAX_TOTAL_TOKENS; every other
		// concurrent turn of that user sees the reservation and is refused.
		env["USER_DAILY_TOKENS"] = "1"
		// 40 turns at once on a shared machine: give the store room, so a
		// slow save is not mistaken for a limit.
		env["TURN_TIMEOUT"], env["SAVE_RESERVE"] = "60s", "20s"
		srv := newApp(t, deps, env)
		q := "What was the average closing price of the S&P 500 in 2008?"
		const users, each = 8, 5
		var mu sync.Mutex
		spent := map[string]int{}
		admitted := map[string]int{}
		var wg sync.WaitGroup
		for u := range users {
			user := fmt.Sprintf("budget-%d", u)
			tok := tokenFor(t, user)
			for range each {
				wg.Go(func() {
					resp, a := post(t, srv, tok, q)
					mu.Lock()
					defer mu.Unlock()
					switch {
					case resp.StatusCode == 200:
						admitted[user]++
						spent[user] += a.Usage.TotalTokens
					case resp.StatusCode == 429 && a.Error != nil && a.Error.Code == "budget_exhausted":
						if !strings.Contains(a.Error.Message, "resets at ") || resp.Header.Get("Retry-After") == "" {
							t.Errorf("refusal %q without its reset time", a.Error.Message)
						}
					default:
						t.Errorf("user %s: %d %+v", user, resp.StatusCode, a.Error)
					}
				})
			}
		}
		wg.Wait()
		for u := range users {
			user := fmt.Sprintf("budget-%d", u)
			if admitted[user] != 1 {
				t.Errorf("%s: %d turns admitted, want exactly 1", user, admitted[user])
			}
			if got := used(user); got != spent[user] || got == 0 {
				t.Errorf("%s: the counter holds %d tokens, the answers report %d", user, got, spent[user])
			}
		}
	})
}

// post asks q in a new conversation and returns the response (its body
// read) with the decoded answer.
func post(t *testing.T, srv *httptest.Server, tok, q string) (*http.Response, answer) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"message": q})
	req, err := http.NewRequest("POST", srv.URL+"/chat", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a answer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Errorf("decode answer: %v", err)
	}
	return resp, a
}

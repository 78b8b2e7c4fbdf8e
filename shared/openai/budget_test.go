package openai_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/datachat/datachat/shared/chat"
)

// TestBudgetModelRequests: a model that never stops calling tools is cut
// off by the agent after exactly MaxModelRequests requests.
func TestBudgetModelRequests(t *testing.T) {
	f := newFake(t)
	f.next = func(n int, _ wireRequest) reply {
		return toolReply(call{fmt.Sprintf("call_%d", n), "describe", `{"collection":null}`})
	}
	agent := newAgent(t, newModel(t, fastOptions(f, nil)), chat.DefaultLimits())
	res, err := agent.Run(testContext(t), nil, "Keep looking.")
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := f.attempts(); got != 10 {
		t.Errorf("server saw %d requests, want 10", got)
	}
	if res.FinishReason != chat.FinishUsageLimit || res.Limit != chat.LimitModelRequests || res.Usage.ModelRequests != 10 {
		t.Errorf("finish = %s, limit = %q, requests = %d; want usage_limit, model_requests, 10", res.FinishReason, res.Limit, res.Usage.ModelRequests)
	}
}

// TestBudgetTotalTokens: a response whose reported usage crosses the
// turn's 20,000 tokens ends the turn: tool calls as usage_limit, a whole
// answer as stop marked with the limit it went over.
func TestBudgetTotalTokens(t *testing.T) {
	big := usage{prompt: 15000, completion: 6000}
	for _, tc := range []struct {
		name       string
		reply      reply
		wantFinish chat.FinishReason
		wantAnswer string
	}{
		{"tool call", reply{body: completion("", "tool_calls", big, call{"call_1", "aggregate", aggArgs})}, chat.FinishUsageLimit, "I stopped because this question reached its limit of 20000 tokens."},
		{"answer", reply{body: completion("Here it is.", "stop", big)}, chat.FinishStop, "Here it is."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, tc.reply)
			agent := newAgent(t, newModel(t, fastOptions(f, nil)), chat.DefaultLimits())
			res, err := agent.Run(testContext(t), nil, "Average close?")
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if f.attempts() != 1 {
				t.Errorf("server saw %d requests, want 1", f.attempts())
			}
			if res.FinishReason != tc.wantFinish || res.Limit != chat.LimitTotalTokens {
				t.Errorf("finish = %s, limit = %q; want %s, total_tokens", res.FinishReason, res.Limit, tc.wantFinish)
			}
			if res.Usage.TotalTokens != 21000 || res.Usage.InputTokens != 15000 || res.Usage.OutputTokens != 6000 {
				t.Errorf("usage = %+v, want 15000 + 6000 = 21000", res.Usage)
			}
			if !strings.Contains(res.Answer, tc.wantAnswer) {
				t.Errorf("answer = %q, want it to contain %q", res.Answer, tc.wantAnswer)
			}
		})
	}
}

// TestHistoryTrimmed: with 40 long earlier turns, the request the server
// receives carries only the latest whole turns that fit the history budget.
func TestHistoryTrimmed(t *testing.T) {
	var history []chat.Turn
	for i := range 40 {
		history = append(history, chat.Turn{
			Question: fmt.Sprintf("Question %d: %s", i, strings.Repeat("how did the index move that month? ", 10)),
			Answer:   fmt.Sprintf("Answer %d: %s", i, strings.Repeat("the close rose, then fell back. ", 40)),
		})
	}
	f := newFake(t, textReply("fine"), textReply("fine"))
	limits := chat.DefaultLimits()
	ctx := testContext(t)

	run := func(historyTokens int) seen {
		t.Helper()
		l := limits
		l.HistoryTokens = historyTokens
		agent := newAgent(t, newModel(t, fastOptions(f, nil)), l)
		if _, err := agent.Run(ctx, history, "And now?"); err != nil {
			t.Fatalf("Run: %v", err)
		}
		reqs := f.requests()
		return reqs[len(reqs)-1]
	}
	trimmed := run(limits.HistoryTokens)
	full := run(1 << 30)

	msgs := chatMessages(trimmed.req.Messages)
	past := msgs[1 : len(msgs)-1] // between the system prompt and the question
	got := chat.EstimateMessages(past)
	if got > limits.HistoryTokens || got == 0 {
		t.Errorf("history sent is ~%d tokens, want 1..%d", got, limits.HistoryTokens)
	}
	if len(past)%2 != 0 || past[len(past)-1].Content != history[39].Answer || past[0].Role != chat.RoleUser {
		t.Errorf("history should be whole turns ending with the latest; got %d messages", len(past))
	}
	if all := chat.EstimateMessages(chatMessages(full.req.Messages[1 : len(full.req.Messages)-1])); all <= limits.HistoryTokens {
		t.Fatalf("the untrimmed history is only ~%d tokens; the test needs more than %d", all, limits.HistoryTokens)
	}
	t.Logf("40 earlier turns: request %d bytes with %d history messages (~%d tokens) trimmed; %d bytes with all %d untrimmed",
		len(trimmed.raw), len(past), got, len(full.raw), len(full.req.Messages)-2)
}

// TestTokensPerTurn measures a 10-turn scripted conversation. Each turn
// makes two requests: the first asks for an aggregate by date and a query
// of all rows (two 36-row tables the model sees as summaries), the second
// answers. The fake server reports prompt_tokens as the request's bytes/4,
// so Usage.InputTokens is what each turn sent. Run with -v for the figures.
func TestTokensPerTurn(t *testing.T) {
	const turns = 10
	dateArgs := `{"collection":"SP500","metrics":[{"op":"mean","field":"close"}],"group_by":"date","filters":null,"sort":null,"limit":null}`
	rowsArgs := `{"collection":"SP500","fields":null,"filters":null,"sort":null,"limit":null}`
	answer := "The mean close moved between 1100 and 1700 over the period; the table lists every month. " + strings.Repeat("It peaked in late 2007 and bottomed in early 2009. ", 3)
	measured := func(raw []byte) usage {
		return usage{prompt: chat.EstimateTokens(string(raw)), completion: 60}
	}
	perTurn := func(historyTokens int) []int {
		f := newFake(t)
		f.next = func(n int, _ wireRequest) reply {
			if n%2 == 1 {
				return reply{build: func(_ wireRequest, raw []byte) string {
					return completion("", "tool_calls", measured(raw),
						call{fmt.Sprintf("call_%da", n), "aggregate", dateArgs}, call{fmt.Sprintf("call_%dq", n), "query", rowsArgs})
				}}
			}
			return reply{build: func(_ wireRequest, raw []byte) string {
				return completion(answer, "stop", measured(raw))
			}}
		}
		limits := chat.DefaultLimits()
		limits.HistoryTokens = historyTokens
		limits.MaxTotalTokens = 1 << 30 // measure, do not stop
		agent := newAgent(t, newModel(t, fastOptions(f, nil)), limits)
		ctx := testContext(t)
		var history []chat.Turn
		var out []int
		for i := range turns {
			q := fmt.Sprintf("Turn %d: what was the mean close per month, and the rows behind it?", i+1)
			res, err := agent.Run(ctx, history, q)
			if err != nil {
				t.Fatalf("turn %d: %v", i+1, err)
			}
			if res.Usage.ModelRequests != 2 {
				t.Fatalf("turn %d made %d requests, want 2", i+1, res.Usage.ModelRequests)
			}
			out = append(out, res.Usage.InputTokens)
			history = append(history, res.Turn("u1", "c1", q))
		}
		return out
	}
	def := chat.DefaultLimits().HistoryTokens
	const tight = 2000
	untrimmed, trimmed, tighter := perTurn(1<<30), perTurn(def), perTurn(tight)
	var b strings.Builder
	fmt.Fprintf(&b, "input tokens per turn (2 requests each), 10-turn conversation:\nturn  untrimmed  HistoryTokens=%d  HistoryTokens=%d\n", def, tight)
	var sums [3]int
	for i := range turns {
		fmt.Fprintf(&b, "%4d  %9d  %18d  %18d\n", i+1, untrimmed[i], trimmed[i], tighter[i])
		sums[0], sums[1], sums[2] = sums[0]+untrimmed[i], sums[1]+trimmed[i], sums[2]+tighter[i]
	}
	fmt.Fprintf(&b, "total %9d  %18d  %18d", sums[0], sums[1], sums[2])
	t.Log(b.String())
	for i := 1; i < turns; i++ {
		if untrimmed[i] <= untrimmed[i-1] {
			t.Errorf("untrimmed turn %d sent %d tokens, turn %d %d; history should grow", i+1, untrimmed[i], i, untrimmed[i-1])
		}
	}
	last := turns - 1
	// Ten turns of this size fit the default budget (it starts trimming at
	// turn 12, then holds near 17,000 per turn); the tight budget shows the
	// plateau trimming gives.
	if !(tighter[last] < trimmed[last] && trimmed[last] <= untrimmed[last]) {
		t.Errorf("turn %d sent %d, %d, %d tokens; want no budget to send more than a looser one, and the tight one fewer", turns, untrimmed[last], trimmed[last], tighter[last])
	}
}

package chat_test

import (
	"context"
	"strings"
	"testing"

	"github.com/datachat/datachat/shared/chat"
	"github.com/datachat/datachat/shared/chat/chattest"
)

// TestCutOffCompletionEndsAsUsageLimit: a completion stopped by its length
// limit is half an answer; it must not come back as a final answer with
// finish_reason stop.
func TestCutOffCompletionEndsAsUsageLimit(t *testing.T) {
	m := &chattest.ScriptedModel{Reply: func(context.Context, chat.ModelRequest, int) (chat.ModelResponse, error) {
		r := chattest.Answer("The average close in 2008 was", 500)
		r.Truncated = true
		return r, nil
	}}
	res, err := newAgent(t, m, nil).Run(context.Background(), nil, "average close in 2008?")
	if err != nil {
		t.Fatal(err)
	}
	if res.FinishReason != chat.FinishUsageLimit || res.Limit != chat.LimitOutputTokens || !res.Incomplete {
		t.Fatalf("finish %s/%s incomplete %v, want usage_limit/output_tokens, incomplete", res.FinishReason, res.Limit, res.Incomplete)
	}
	if !strings.Contains(res.Answer, "incomplete") || !strings.Contains(res.Answer, "The average close in 2008 was") {
		t.Fatalf("answer %q: want the cut-off text, marked incomplete", res.Answer)
	}
	turn := res.Turn("u", "c", "q")
	if !turn.Incomplete {
		t.Fatal("the stored turn lost the incomplete mark")
	}
}

// TestCutOffToolCallsAreDropped: tool calls of a cut-off completion may have
// broken arguments; none runs and none is kept without a result.
func TestCutOffToolCallsAreDropped(t *testing.T) {
	m := &chattest.ScriptedModel{Reply: func(context.Context, chat.ModelRequest, int) (chat.ModelResponse, error) {
		r := chattest.Calls(500, call("c1", "query", `{"collection":"Prices","fields":null,"filters":[{"field":"sym`))
		r.Truncated = true
		return r, nil
	}}
	res, err := newAgent(t, m, nil).Run(context.Background(), nil, "q")
	if err != nil {
		t.Fatal(err)
	}
	if m.Calls() != 1 || res.FinishReason != chat.FinishUsageLimit || !res.Incomplete {
		t.Fatalf("%d requests, finish %s incomplete %v; want one request, usage_limit, incomplete", m.Calls(), res.FinishReason, res.Incomplete)
	}
	for _, msg := range res.Messages {
		if len(msg.ToolCalls) > 0 {
			t.Fatalf("a cut-off tool call was kept: %+v", msg)
		}
	}
}

// TestNoRequestWithLessThanMinimumOutput: a request that would leave the
// completion fewer than about 200 tokens is not sent (it used to go out
// with as few as 16).
func TestNoRequestWithLessThanMinimumOutput(t *testing.T) {
	answer := func(context.Context, chat.ModelRequest, int) (chat.ModelResponse, error) {
		return chattest.Answer("done", 0), nil
	}
	probe := &chattest.ScriptedModel{Reply: answer}
	if _, err := newAgent(t, probe, nil).Run(context.Background(), nil, "q"); err != nil {
		t.Fatal(err)
	}
	input := chat.DefaultLimits().MaxTotalTokens - probe.Requests()[0].MaxOutputTokens // the request's estimated input
	for _, tc := range []struct{ room, calls int }{{150, 0}, {199, 0}, {200, 1}, {250, 1}} {
		m := &chattest.ScriptedModel{Reply: answer}
		res, err := newAgent(t, m, func(l *chat.Limits) { l.MaxTotalTokens = input + tc.room }).Run(context.Background(), nil, "q")
		if err != nil {
			t.Fatal(err)
		}
		if m.Calls() != tc.calls {
			t.Errorf("%d tokens of room: %d requests sent, want %d", tc.room, m.Calls(), tc.calls)
		}
		if tc.calls == 0 && (res.FinishReason != chat.FinishUsageLimit || res.Limit != chat.LimitTotalTokens) {
			t.Errorf("%d tokens of room: finish %s/%s, want usage_limit/total_tokens", tc.room, res.FinishReason, res.Limit)
		}
	}
}

// TestCompleteAnswerJustOverBudgetStaysStop: an answer that is whole but
// lands the turn a little over its budget is kept as the answer (stop),
// marked with the budget it went over.
func TestCompleteAnswerJustOverBudgetStaysStop(t *testing.T) {
	m := &chattest.ScriptedModel{Reply: func(context.Context, chat.ModelRequest, int) (chat.ModelResponse, error) {
		return chattest.Answer("The average close was 1,220.04.", 20_050), nil
	}}
	res, err := newAgent(t, m, nil).Run(context.Background(), nil, "q")
	if err != nil {
		t.Fatal(err)
	}
	if res.FinishReason != chat.FinishStop || res.Limit != chat.LimitTotalTokens || res.Answer != "The average close was 1,220.04." || res.Incomplete {
		t.Fatalf("finish %s/%s answer %q incomplete %v; want stop, marked total_tokens, the model's answer unchanged", res.FinishReason, res.Limit, res.Answer, res.Incomplete)
	}
}

package chat_test

import (
	"context"
	"encoding/json"
	"math"
	"testing"

	"github.com/tiktoken-go/tokenizer"

	"github.com/datachat/datachat/shared/chat"
	"github.com/datachat/datachat/shared/chat/chattest"
	"github.com/datachat/datachat/shared/embedded"
)

// tokenCorpus is what a turn sends, by kind: the system prompt and tool
// declarations of the sample, table summaries of real sample queries, and
// the questions and answers of the question shapes.
func tokenCorpus(t *testing.T) map[string][]string {
	t.Helper()
	w, err := embedded.SampleWarehouse(500)
	if err != nil {
		t.Fatal(err)
	}
	calls := []chat.ToolCall{
		call("a", "query", `{"collection":"SP500","fields":null,"filters":[{"field":"year","op":"eq","value":2008}],"sort":null,"limit":30}`),
		call("b", "query", `{"collection":"SP500","fields":["date","close"],"filters":[{"field":"year","op":"gte","value":2007}],"sort":null,"limit":null}`),
		call("c", "aggregate", `{"collection":"SP500","metrics":[{"op":"mean","field":"close"}],"group_by":"month","filters":[{"field":"year","op":"gte","value":2007},{"field":"year","op":"lte","value":2009}],"sort":null,"limit":null}`),
		call("d", "aggregate", `{"collection":"Stocks","metrics":[{"op":"mean","field":"price"},{"op":"count","field":null}],"group_by":"symbol","filters":null,"sort":[{"field":"mean_price","desc":true}],"limit":null}`),
		call("e", "query", `{"collection":"Stocks","fields":["symbol","date","price"],"filters":[{"field":"symbol","op":"in","value":["AAPL","MSFT"]}],"sort":null,"limit":null}`),
		call("f", "query", `{"collection":"SP500","fields":["date","volume"],"filters":[{"field":"year","op":"eq","value":2010}],"sort":[{"field":"volume","desc":true}],"limit":5}`),
		call("g", "describe", `{"collection":null}`),
	}
	var last chat.ModelRequest
	m := &chattest.ScriptedModel{Reply: func(_ context.Context, req chat.ModelRequest, n int) (chat.ModelResponse, error) {
		if n == 1 {
			return chattest.Calls(0, calls...), nil
		}
		last = req
		return chattest.Answer("done", 0), nil
	}}
	a, err := chat.NewAgent(m, w, chat.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Run(context.Background(), nil, "q"); err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, msg := range last.Messages {
		switch msg.Role {
		case chat.RoleSystem:
			out["system prompt"] = append(out["system prompt"], msg.Content)
		case chat.RoleTool:
			out["table summaries"] = append(out["table summaries"], msg.Content)
		}
	}
	for _, s := range a.Tools() {
		b, _ := json.Marshal(s.Parameters)
		out["tool declarations"] = append(out["tool declarations"], s.Name+" "+s.Description+" "+string(b))
	}
	out["messages"] = []string{
		"What was the average closing price of the S&P 500 in 2008?",
		"The average close of the S&P 500 in 2008 was 1,220.04, over 253 trading days.",
		"Which day had the highest trading volume in 2010? And how did the index close that day compared with the week before?",
		"Compare AAPL and MSFT since 2005, and tell me which one grew faster over the period.",
		"AAPL rose from 38.45 in January 2005 to 235.00 in March 2010, a gain of about 511%, while MSFT went from 24.11 to 29.27 (about 21%). AAPL grew much faster.",
		"I stopped because this question reached its limit of 20000 tokens. Here is what I found so far: a table of 36 rows.",
		"Top 5 months for AMZN by price",
		"The highest monthly prices of AMZN were in late 2009 and early 2010: 135.91 in December 2009, 134.52 in October 2009 and 125.41 in January 2010.",
	}
	for _, c := range calls {
		out["messages"] = append(out["messages"], c.Arguments)
	}
	return out
}

// TestTokenEstimateWithinFifteenPercent: the estimate of what a turn sends
// (messages, tool declarations, table summaries) is within 15% of the real
// count of OpenAI's o200k tokenizer, per kind and per text. Bytes/4, the
// estimate this replaced, counted a 30-row summary at about half.
func TestTokenEstimateWithinFifteenPercent(t *testing.T) {
	enc, err := tokenizer.Get(tokenizer.O200kBase)
	if err != nil {
		t.Fatal(err)
	}
	for kind, texts := range tokenCorpus(t) {
		realSum, estSum := 0, 0
		for i, s := range texts {
			n, err := enc.Count(s)
			if err != nil {
				t.Fatal(err)
			}
			e := chat.EstimateTokens(s)
			realSum, estSum = realSum+n, estSum+e
			if n >= 50 && math.Abs(float64(e-n)) > 0.15*float64(n) {
				t.Errorf("%s %d: estimated %d tokens, o200k counts %d (%+.0f%%): %.80q", kind, i, e, n, 100*float64(e-n)/float64(n), s)
			}
		}
		t.Logf("%s: estimated %d, o200k %d (%+.1f%%)", kind, estSum, realSum, 100*float64(estSum-realSum)/float64(realSum))
		if math.Abs(float64(estSum-realSum)) > 0.15*float64(realSum) {
			t.Errorf("%s: estimated %d tokens in all, o200k counts %d", kind, estSum, realSum)
		}
	}
}

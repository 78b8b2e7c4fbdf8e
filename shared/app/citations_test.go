package app_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/datachat/datachat/shared/app"
	"github.com/datachat/datachat/shared/chat"
	"github.com/datachat/datachat/shared/chat/chattest"
)

// TestScriptedModelNumbersAreChecked: a model that writes one wrong number
// among right ones in several formats gets an unverified answer whose
// wrong citation has no cell, and the same answer comes back from
// GET /conversations/{id}.
func TestScriptedModelNumbersAreChecked(t *testing.T) {
	call := func(id, name, args string) chat.ToolCall { return chat.ToolCall{ID: id, Name: name, Arguments: args} }
	const answer = "In 2008 the S&P 500 averaged 1,220.04 (about 1.22K) over 253 trading days and fell 37.58% (a change of -37.6%) " +
		"from 2008-01-02 to 2008-12-31; AMZN peaked at $135.91 in November 2009. It closed 2008 at 1,300.00."
	m := &chattest.ScriptedModel{Reply: func(_ context.Context, req chat.ModelRequest, n int) (chat.ModelResponse, error) {
		switch n {
		case 1:
			return chattest.Calls(100,
				call("a", chat.ToolAggregate, `{"collection":"SP500","metrics":[{"op":"mean","field":"close"},{"op":"count","field":null}],"group_by":null,"filters":[{"field":"year","op":"eq","value":2008}],"sort":null,"limit":null}`),
				call("b", chat.ToolQuery, `{"collection":"Stocks","fields":["symbol","month","price"],"filters":[{"field":"symbol","op":"eq","value":"AMZN"}],"sort":[{"field":"price","desc":true}],"limit":1}`),
				call("c", chat.ToolQuery, `{"collection":"SP500","fields":["date","close"],"filters":[{"field":"year","op":"eq","value":2008}],"sort":[{"field":"date","desc":false}],"limit":1}`),
				call("d", chat.ToolQuery, `{"collection":"SP500","fields":["date","close"],"filters":[{"field":"year","op":"eq","value":2008}],"sort":[{"field":"date","desc":true}],"limit":1}`),
			), nil
		case 2:
			return chattest.Calls(100, call("e", chat.ToolCompute, `{"table":"t3","steps":[`+
				`{"op":"append","table":"t4","column":null,"other":null,"as":null,"group_by":null,"window":null,"bucket":null,"agg":null,"date":null,"desc":null,"n":null,"key":null},`+
				`{"op":"change","column":"close","table":null,"other":null,"as":null,"group_by":null,"window":null,"bucket":null,"agg":null,"date":null,"desc":null,"n":null,"key":null}]}`)), nil
		}
		for _, msg := range req.Messages {
			if msg.Role == chat.RoleTool && strings.Contains(msg.Content, `"error"`) {
				t.Errorf("tool error: %s", msg.Content)
			}
		}
		return chattest.Answer(answer, 100), nil
	}}
	srv := newApp(t, app.Deps{Model: m}, nil)
	tok := tokenFor(t, "checker")
	a := askVerified(t, srv, srv.URL, tok, "Tell me about 2008", "")
	if a.Answer != answer {
		t.Fatalf("answer %q", a.Answer)
	}
	want := []struct {
		text  string
		table string // "" when it must not match
		col   string
	}{
		{"1,220.04", "t1", "mean_close"}, {"1.22K", "t1", "mean_close"}, {"253", "t1", "count"},
		{"37.58%", "t5", "pct_change"}, {"-37.6%", "t5", "pct_change"}, {"$135.91", "t2", "price"}, {"1,300.00", "", ""},
	}
	if len(a.Citations) != len(want) {
		t.Fatalf("citations %+v, want %d (dates and years are not numbers)", a.Citations, len(want))
	}
	for i, w := range want {
		c := a.Citations[i]
		switch {
		case c.Text != w.text:
			t.Errorf("citation %d is %q, want %q", i, c.Text, w.text)
		case w.table == "" && (c.Table != nil || c.Row != nil || c.Column != nil):
			t.Errorf("%s: cited %v/%v/%v, want null cells for a number in no table", c.Text, c.Table, c.Row, c.Column)
		case w.table != "" && (c.Table == nil || *c.Table != w.table || c.Column == nil || *c.Column != w.col):
			t.Errorf("%s: cited %v %v, want %s.%s", c.Text, c.Table, c.Column, w.table, w.col)
		}
	}
	if a.Verified {
		t.Fatal("an answer with a wrong number is verified")
	}
	if a.Table == nil || a.Table.Source["tool"] != "compute" || a.Table.Source["table"] != "t3" {
		t.Fatalf("table source %v, want the compute step from t3", a.Table)
	}

	// The stored turn gives back the same citations and source.
	var conv struct {
		Turns []json.RawMessage `json:"turns"`
	}
	if status := getJSON(t, srv.Client(), srv.URL+"/conversations/"+a.ConversationID, tok, &conv); status != 200 || len(conv.Turns) != 1 {
		t.Fatalf("GET conversation: %d %v", status, conv)
	}
	var stored verifiedAnswer
	if err := json.Unmarshal(conv.Turns[0], &stored); err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal([]any{stored.Citations, stored.Verified, stored.Table.Source})
	sent, _ := json.Marshal([]any{a.Citations, a.Verified, a.Table.Source})
	if string(got) != string(sent) {
		t.Fatalf("GET /conversations/{id} differs from POST /chat:\n%s\n%s", got, sent)
	}

	// The same answer without the wrong number is verified.
	m2 := &chattest.ScriptedModel{Reply: func(ctx context.Context, req chat.ModelRequest, n int) (chat.ModelResponse, error) {
		if n <= 2 {
			return m.Reply(ctx, req, n)
		}
		return chattest.Answer(strings.TrimSuffix(answer, " It closed 2008 at 1,300.00."), 100), nil
	}}
	srv2 := newApp(t, app.Deps{Model: m2}, nil)
	if a := askVerified(t, srv2, srv2.URL, tok, "Tell me about 2008", ""); !a.Verified || len(a.Citations) != 6 {
		t.Fatalf("right numbers only: verified %v, citations %+v", a.Verified, a.Citations)
	}
}

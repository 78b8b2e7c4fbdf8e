package chat

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// FinishReason says why a turn ended.
type FinishReason string

const (
	FinishStop       FinishReason = "stop"        // the model gave its final answer
	FinishUsageLimit FinishReason = "usage_limit" // a per-turn limit was reached; Result.Limit names it
	FinishDeadline   FinishReason = "deadline"    // the turn ran out of time
)

// Names of the usage limits, as reported in Result.Limit.
const (
	LimitModelRequests = "model_requests"
	LimitTotalTokens   = "total_tokens"
	// LimitOutputTokens: a completion was cut off at its output token
	// limit, so the answer is incomplete (Result.Incomplete).
	LimitOutputTokens = "output_tokens"
)

// minOutputTokens is the least room a request must leave for the answer:
// below it the completion could not say a few sentences or one tool call
// with its arguments, and would most likely be cut off, so the turn stops.
const minOutputTokens = 200

// Limits bound one turn.
type Limits struct {
	MaxModelRequests int // model requests per turn, checked before each request
	MaxTotalTokens   int // total tokens per turn, checked after each response and by estimate before each request
	HistoryTokens    int // estimated tokens of earlier turns sent to the model
	RowCap           int // rows per table
	ChartPoints      int // points per chart
}

// DefaultLimits are the limits of the system this replaces.
func DefaultLimits() Limits {
	// History is sent again with every request of a turn, so its budget is a
	// small share of the turn's: a three-request turn late in a long
	// conversation still fits.
	return Limits{MaxModelRequests: 10, MaxTotalTokens: 20000, HistoryTokens: 3000, RowCap: 500, ChartPoints: 5000}
}

// Agent answers questions by letting a Model call tools over a Warehouse.
// It holds only immutable configuration and clients that are safe for
// concurrent use; everything about one turn lives in Run's locals.
type Agent struct {
	model     Model
	warehouse Warehouse
	// searcher is the warehouse itself when it implements Searcher, nil
	// otherwise; the search tool is declared only when it is set.
	searcher Searcher
	limits   Limits
	tools    *toolbox
	// toolTokens estimates the tool declarations sent with every request.
	toolTokens int
	// hints caches the value hints of the system prompt (hintTTL), and
	// prompts the prompt built from them.
	hints   *hintCache
	prompts *promptCache
	// computer serves the compute tool and checker the answer's
	// citations; each is nil when not given (see WithComputer, WithChecker).
	computer Computer
	checker  Checker
}

// AgentOption adds an optional collaborator to an Agent.
type AgentOption func(*Agent)

// WithComputer declares the compute tool, served by c.
func WithComputer(c Computer) AgentOption { return func(a *Agent) { a.computer = c } }

// WithChecker checks every final answer's numbers with c.
func WithChecker(c Checker) AgentOption { return func(a *Agent) { a.checker = c } }

// NewAgent checks the limits and builds the tool declarations once. The
// search tool is among them when warehouse also implements Searcher.
func NewAgent(model Model, warehouse Warehouse, limits Limits, opts ...AgentOption) (*Agent, error) {
	if model == nil || warehouse == nil {
		return nil, errors.New("chat.NewAgent: model and warehouse are required")
	}
	if limits.MaxModelRequests < 1 || limits.MaxTotalTokens < 1 || limits.RowCap < 1 || limits.ChartPoints < 1 || limits.HistoryTokens < 0 {
		return nil, fmt.Errorf("chat.NewAgent: limits must be positive: %+v", limits)
	}
	searcher, _ := warehouse.(Searcher)
	a := &Agent{model: model, warehouse: warehouse, searcher: searcher, limits: limits}
	for _, o := range opts {
		o(a)
	}
	tb, err := newToolbox(limits.RowCap, searcher != nil, a.computer)
	if err != nil {
		return nil, fmt.Errorf("chat.NewAgent: %w", err)
	}
	n := 0
	for _, t := range tb.specs {
		n += EstimateTokens(t.Name) + EstimateTokens(t.Description) + EstimateTokens(string(t.Parameters))
	}
	a.tools, a.toolTokens, a.hints, a.prompts = tb, n, &hintCache{}, &promptCache{}
	return a, nil
}

// Tools returns the declarations the model is given.
func (a *Agent) Tools() []ToolSpec { return a.tools.specs }

// Limits returns the agent's limits.
func (a *Agent) Limits() Limits { return a.limits }

// Result is one answered turn.
type Result struct {
	Answer       string
	Table        *Table
	Chart        *Chart
	Usage        Usage
	FinishReason FinishReason
	// Limit is set when FinishReason is FinishUsageLimit, and on a
	// FinishStop answer that is whole but took the turn over its token
	// budget (LimitTotalTokens).
	Limit string
	// Incomplete reports that the answer was cut off (LimitOutputTokens).
	Incomplete bool
	Messages   []Message // the turn's messages after the question
	// Citations tie the numbers of Answer to the turn's tables; Verified
	// is true when every one matched (see Checker).
	Citations []Citation
	Verified  bool
}

// Run answers question in the light of history. It returns when the model
// answers, a limit is reached or ctx is done; a limit or the deadline gives
// a Result with what was found so far. An error means nothing useful came
// of the turn (the model failed, or the deadline passed before any table).
func (a *Agent) Run(ctx context.Context, history []Turn, question string) (Result, error) {
	schema, err := a.warehouse.Schema(ctx)
	if err != nil {
		return Result{}, fmt.Errorf("load schema: %w", err)
	}
	hints, gen := a.hints.get(ctx, a.warehouse, schema)
	prompt, promptTokens := a.prompts.get(schema, gen, func() string {
		return SystemPromptWithHints(schema, a.searcher != nil, hints) + a.promptTail()
	})
	prefix := []Message{{Role: RoleSystem, Content: prompt}}
	prefix = append(prefix, HistoryMessages(history, a.limits.HistoryTokens)...)
	prefix = append(prefix, Message{Role: RoleUser, Content: question})
	// The prefix is the same for every request of the turn; estimates add
	// up message by message, so it is estimated once.
	prefixTokens := promptTokens + EstimateMessages(prefix[1:])

	var (
		usage  Usage
		turn   []Message // appended after prefix
		tables turnTables
		events = EventsFrom(ctx)
	)
	finish := func(reason FinishReason, limit, answer string) Result {
		r := Result{Usage: usage, FinishReason: reason, Limit: limit, Chart: tables.chart}
		switch {
		case tables.chart != nil:
			r.Table = tables.tables[tables.chartTable]
		case len(tables.tables) > 0:
			r.Table = tables.tables[len(tables.tables)-1]
		}
		if reason != FinishStop {
			answer = limitAnswer(reason, limit, a.limits, r.Table, answer)
		}
		r.Answer = answer
		r.Messages = append(turn, Message{Role: RoleAssistant, Content: r.Answer})
		if a.checker != nil {
			r.Citations = a.checker.Check(r.Answer, tables.tables)
			r.Verified = Verified(r.Citations)
		}
		r.Table = responseTable(r.Table, a.limits.RowCap)
		return r
	}

	for {
		if ctx.Err() != nil {
			return a.stopped(ctx, finish, tables)
		}
		if usage.ModelRequests >= a.limits.MaxModelRequests {
			return finish(FinishUsageLimit, LimitModelRequests, ""), nil
		}
		msgs := append(append(make([]Message, 0, len(prefix)+len(turn)), prefix...), turn...)
		left := a.limits.MaxTotalTokens - usage.TotalTokens - prefixTokens - EstimateMessages(turn) - a.toolTokens
		if left < minOutputTokens {
			return finish(FinishUsageLimit, LimitTotalTokens, ""), nil
		}
		step := usage.ModelRequests + 1
		req := ModelRequest{Messages: msgs, Tools: a.tools.specs, MaxOutputTokens: left}
		if events != nil {
			events.Emit(Event{Kind: EventModelRequest, Step: &StepInfo{Request: step, Usage: usage}})
			req.OnText = func(delta string) {
				if delta != "" {
					events.Emit(Event{Kind: EventText, Text: &TextDelta{Request: step, Delta: delta}})
				}
			}
		}
		resp, err := a.model.Complete(ctx, req)
		if err != nil {
			if ctx.Err() != nil || ErrorCode(err) == CodeDeadline {
				return a.stopped(ctx, finish, tables)
			}
			return Result{}, err
		}
		resp.Usage.ModelRequests = 1
		usage.Add(resp.Usage)
		events.Emit(Event{Kind: EventModelResponse, Step: &StepInfo{Request: step, Usage: usage}})
		msg := resp.Message
		msg.Role = RoleAssistant
		if resp.Truncated {
			return cutOff(finish, msg), nil
		}
		if len(msg.ToolCalls) == 0 {
			return overBudget(finish(FinishStop, "", msg.Content), a.limits), nil
		}
		if usage.TotalTokens > a.limits.MaxTotalTokens {
			// The calls are dropped with the message: a tool call is never
			// kept without its result.
			return finish(FinishUsageLimit, LimitTotalTokens, ""), nil
		}
		turn = append(turn, msg)
		calls, outcomes := a.runCalls(ctx, schema, &tables, msg.ToolCalls, events)
		if err := outcomes.storeDown(len(tables.tables)); err != nil && ctx.Err() == nil {
			return Result{}, err
		}
		turn = append(turn, calls...)
	}
}

// stopped ends a turn whose context is done. A caller that went away
// (cancelled, not timed out) gets no answer and nothing is stored; a
// deadline keeps what was found so far.
func (a *Agent) stopped(ctx context.Context, finish func(FinishReason, string, string) Result, tables turnTables) (Result, error) {
	if errors.Is(ctx.Err(), context.Canceled) {
		return Result{}, Wrap(ctx.Err(), CodeDeadline, "chat.Run", "the request was cancelled")
	}
	if len(tables.tables) == 0 {
		return Result{}, Errorf(CodeDeadline, "the turn ran out of time before finding anything; ask a narrower question or try again")
	}
	return finish(FinishDeadline, "", ""), nil
}

// runCalls executes one response's tool calls and returns one tool message
// per call, in the calls' order, and how its data calls ended. Data calls
// run concurrently (they are independent reads), at most
// MaxDataCallsInFlight at once; compute and chart calls run after them, in
// order, so they may use a table fetched in the same response. Calls
// beyond MaxCallsPerResponse do not run.
func (a *Agent) runCalls(ctx context.Context, schema Schema, tables *turnTables, calls []ToolCall, events *Events) ([]Message, callOutcomes) {
	for _, c := range calls {
		events.Emit(Event{Kind: EventToolStarted, Tool: &ToolEvent{ID: c.ID, Name: c.Name, Arguments: c.Arguments}})
	}
	results := make([]dataResult, len(calls))
	inFlight := make(chan struct{}, MaxDataCallsInFlight)
	run := func(i int, c ToolCall) {
		inFlight <- struct{}{}
		defer func() { <-inFlight }()
		// A panic in an adapter must not take down the process and
		// every other user's turn with it: it becomes a tool error.
		defer func() {
			if v := recover(); v != nil {
				results[i] = dataResult{err: &Error{Code: CodeInternal, Op: "chat.runData " + c.Name, Err: fmt.Errorf("panic: %v", v)}}
			}
		}()
		results[i] = a.runData(ctx, schema, c)
	}
	data := 0
	for i, c := range calls {
		if !runsLate(c.Name) && i < MaxCallsPerResponse {
			data++
		}
	}
	var wg sync.WaitGroup
	for i, c := range calls {
		if runsLate(c.Name) || i >= MaxCallsPerResponse {
			continue
		}
		if data == 1 {
			// Nothing to overlap with: the turn's own goroutine runs it,
			// rather than a new one that would grow its small stack
			// through the decoding and the warehouse call.
			run(i, c)
			continue
		}
		wg.Go(func() { run(i, c) })
	}
	wg.Wait()

	out := make([]Message, len(calls))
	var outcomes callOutcomes
	for i, c := range calls {
		if i >= MaxCallsPerResponse {
			content := overCapError(len(calls))
			out[i] = Message{Role: RoleTool, ToolCallID: c.ID, Content: content}
			events.Emit(Event{Kind: EventToolEnded, Tool: &ToolEvent{ID: c.ID, Name: c.Name, Content: content, Error: content}})
			continue
		}
		if runsLate(c.Name) {
			continue
		}
		r := results[i]
		outcomes.note(ctx, c, r.err)
		ended := ToolEvent{ID: c.ID, Name: c.Name}
		var content string
		switch {
		case r.err != nil:
			content = toolError(r.err)
			ended.Error = content
		case r.table != nil:
			content = tables.add(r.table, r.source)
			ended.TableID = r.table.ID
			ended.Rows, ended.Total = len(r.table.Rows), r.table.TotalRows
		default:
			content = r.content
		}
		out[i] = Message{Role: RoleTool, ToolCallID: c.ID, Content: content}
		if events != nil {
			ended.Content = content
			events.Emit(Event{Kind: EventToolEnded, Tool: &ended})
			if r.err == nil && r.table != nil {
				events.Emit(Event{Kind: EventTable, Table: r.table})
			}
		}
	}
	for i, c := range calls {
		if !runsLate(c.Name) || i >= MaxCallsPerResponse {
			continue
		}
		if c.Name == ToolCompute {
			out[i] = a.computeMessage(tables, c, events)
			continue
		}
		content, err := a.runChart(tables, c)
		ended := ToolEvent{ID: c.ID, Name: c.Name, Content: content}
		if err != nil {
			content = toolError(err)
			ended.Content, ended.Error = content, content
		}
		out[i] = Message{Role: RoleTool, ToolCallID: c.ID, Content: content}
		if events != nil {
			ended.TableID = tables.id(tables.chartTable)
			if err != nil {
				ended.TableID = ""
			}
			events.Emit(Event{Kind: EventToolEnded, Tool: &ended})
			if err == nil {
				events.Emit(Event{Kind: EventChart, Chart: tables.chart})
			}
		}
	}
	return out, outcomes
}

// cutOff ends a turn whose completion stopped at its output token limit.
// Its text is half a sentence and its tool calls may have broken
// arguments, so the calls are dropped and the text is kept only as an
// answer marked incomplete.
func cutOff(finish func(FinishReason, string, string) Result, msg Message) Result {
	text := ""
	if len(msg.ToolCalls) == 0 {
		text = msg.Content
	}
	r := finish(FinishUsageLimit, LimitOutputTokens, text)
	r.Incomplete = true
	return r
}

// overBudget marks a whole final answer that took the turn past its token
// budget: the answer stays (it is complete, and the tokens are spent
// already) with FinishStop, and Limit says which budget it went over.
func overBudget(r Result, l Limits) Result {
	if r.Usage.TotalTokens > l.MaxTotalTokens {
		r.Limit = LimitTotalTokens
	}
	return r
}

func limitAnswer(reason FinishReason, limit string, l Limits, t *Table, modelText string) string {
	var b strings.Builder
	switch {
	case reason == FinishDeadline:
		b.WriteString("I ran out of time for this question before finishing.")
	case limit == LimitOutputTokens:
		b.WriteString("My answer was cut off at its length limit, so it is incomplete.")
	case limit == LimitModelRequests:
		fmt.Fprintf(&b, "I stopped because this question reached its limit of %d model requests.", l.MaxModelRequests)
	case limit == LimitTotalTokens:
		fmt.Fprintf(&b, "I stopped because this question reached its limit of %d tokens.", l.MaxTotalTokens)
	}
	if modelText != "" {
		b.WriteString(" " + modelText)
	} else if t != nil {
		fmt.Fprintf(&b, " Here is what I found so far: a table of %d rows.", len(t.Rows))
	} else {
		b.WriteString(" I found nothing yet; try a narrower question.")
	}
	return b.String()
}

// SystemPrompt tells the model what it can use: the collections, their
// fields and types, and the rules that keep numbers honest. search says
// whether the search tool is declared; only then are search and the
// collections that can rank by meaning mentioned, so the prompt never
// offers a tool the model does not have.
func SystemPrompt(s Schema, search bool) string {
	return SystemPromptWithHints(s, search, nil)
}

// SystemPromptWithHints is SystemPrompt with each field's description and
// value hint (ValueHints: collection, then field), within hintTokens.
func SystemPromptWithHints(s Schema, search bool, hints map[string]map[string]string) string {
	left := hintTokens
	var b strings.Builder
	b.WriteString("You are a data analyst. Answer questions about the data below by calling tools; " +
		"every number in your answer must come from a tool result, never from memory. " +
		"Use query for rows, aggregate for count/mean/min/max/sum (optionally grouped), and chart to plot a table. ")
	if search {
		b.WriteString("Use search to find rows by the words of a text (keyword) or, on collections marked [vectorizer], by meaning (hybrid, semantic); " +
			"prefer query when the question states exact conditions. ")
	}
	b.WriteString("Dates are \"YYYY-MM-DD\" strings. Keep answers short and cite the figures you used.\n\nCollections:\n")
	for _, c := range s.Collections {
		fmt.Fprintf(&b, "- %s", c.Name)
		if search && c.Vectorizer {
			b.WriteString(" [vectorizer]")
		}
		if c.Description != "" {
			fmt.Fprintf(&b, " (%s)", c.Description)
		}
		b.WriteString(": ")
		for i, f := range c.Fields {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s %s%s", f.Name, f.Type, fieldNotes(f, hints[c.Name][f.Name], &left))
		}
		b.WriteString("\n")
	}
	return b.String()
}

// HistoryMessages turns earlier turns into messages, keeping the most
// recent whole turns whose estimated tokens fit budget. Turns are kept or
// dropped whole, so a tool call never loses its result. When not even the
// last turn fits whole, its question and final answer are kept, with its
// table's summary (lastTurnDigest): a follow-up always has its context.
func HistoryMessages(history []Turn, budget int) []Message {
	start, used := len(history), 0
	for i := len(history) - 1; i >= 0; i-- {
		n := EstimateMessages(turnMessages(history[i]))
		if used+n > budget {
			break
		}
		start, used = i, used+n
	}
	if start == len(history) && len(history) > 0 {
		return lastTurnDigest(history[len(history)-1])
	}
	var out []Message
	for _, t := range history[start:] {
		out = append(out, turnMessages(t)...)
	}
	return out
}

func turnMessages(t Turn) []Message {
	msgs := []Message{{Role: RoleUser, Content: t.Question}}
	if len(t.Messages) > 0 {
		return append(msgs, t.Messages...)
	}
	return append(msgs, Message{Role: RoleAssistant, Content: t.Answer})
}

// Turn makes the record to store for r.
func (r Result) Turn(userID, conversationID, question string) Turn {
	return Turn{
		UserID: userID, ConversationID: conversationID, Question: question,
		Answer: r.Answer, Table: r.Table, Chart: r.Chart, Usage: r.Usage,
		FinishReason: r.FinishReason, Limit: r.Limit, Incomplete: r.Incomplete, Messages: r.Messages,
		Citations: r.Citations, Verified: r.Verified,
	}
}

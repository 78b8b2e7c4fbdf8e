package emf

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/datachat/datachat/shared/chat"
	"github.com/datachat/datachat/shared/reqlog"
)

// Namespace holds every metric of the service.
const Namespace = "DataChat"

// The metrics of a turn. Every alarm and dashboard widget of template.yaml
// names one of these (a test checks it).
const (
	TurnLatency   = "TurnLatency"   // ms from the request's arrival at the turn to the answer stored (or the failure)
	ModelLatency  = "ModelLatency"  // ms of each model request (one value per request)
	ToolLatency   = "ToolLatency"   // ms of each tool call (one line per call)
	ToolErrors    = "ToolErrors"    // 1 when a tool call ended in an error the model was told about
	ModelRequests = "ModelRequests" // model requests the turn made
	ModelErrors   = "ModelErrors"   // 1 when the turn failed because of the model (model_error, model_unavailable, quota_exhausted)
	InputTokens   = "InputTokens"   // prompt tokens the provider reported for the turn
	OutputTokens  = "OutputTokens"  // completion tokens the provider reported for the turn
	Rows          = "Rows"          // rows the turn's tools returned
	UsageLimitHit = "UsageLimitHit" // 1 when the turn stopped at a per-turn limit
	Deadline      = "Deadline"      // 1 when the turn ran out of time
	Errors        = "Errors"        // 1 when the turn failed; by Route, and by Route and ErrorCode
	ColdStart     = "ColdStart"     // 1 for the first turn of an instance
)

// Dimensions. Only values of low cardinality: never a user, conversation
// or request id, which are properties.
const (
	DimRoute     = "Route"
	DimModel     = "Model"
	DimTool      = "Tool"
	DimErrorCode = "ErrorCode"
)

// MetricNames lists every metric this package emits.
func MetricNames() []string {
	return []string{TurnLatency, ModelLatency, ToolLatency, ToolErrors, ModelRequests, ModelErrors,
		InputTokens, OutputTokens, Rows, UsageLimitHit, Deadline, Errors, ColdStart}
}

// Turns makes the metrics recorder of each turn. It is created once per
// process and shared by every turn.
type Turns struct {
	w     *Writer
	model string
	now   func() time.Time
	log   *slog.Logger
	// warm is the one fact an instance learns once and keeps: whether a
	// turn has been recorded yet (ColdStart). Set once, never reset.
	warm atomic.Bool
}

// NewTurns writes the lines of every turn to w, with model as the Model
// dimension. now is the clock (time.Now when nil); log reports lines that
// could not be written (nil discards).
func NewTurns(w io.Writer, model string, now func() time.Time, log *slog.Logger) *Turns {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if model == "" {
		model = "unknown"
	}
	return &Turns{w: NewWriter(w), model: model, now: now, log: log}
}

// Turn returns the sink of one turn, started now: route names the route
// (low cardinality), ids and user go into the properties. It writes one
// line per tool call and one for the turn when the finished or failed
// event arrives.
func (t *Turns) Turn(ctx context.Context, route, user string) chat.Sink {
	return &turn{turns: t, ctx: ctx, route: route, user: user, ids: reqlog.From(ctx), start: t.now(), requests: map[int]time.Time{}, tools: map[string]toolCall{}}
}

// turn belongs to one turn; chat.Events calls Emit one event at a time.
type turn struct {
	turns       *Turns
	ctx         context.Context
	route, user string
	ids         reqlog.IDs
	start       time.Time

	conversation string
	seq          int
	requests     map[int]time.Time // model request -> when it was sent
	modelMs      []float64
	usage        chat.Usage
	tools        map[string]toolCall
	done         []toolCall
	rows         int
	flushed      bool
}

type toolCall struct {
	name    string
	started time.Time
	ms      float64
	failed  bool
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func (t *turn) Emit(e chat.Event) {
	switch e.Kind {
	case chat.EventRunStarted:
		if e.Run != nil {
			t.conversation, t.seq = e.Run.ConversationID, e.Run.Turn
		}
	case chat.EventModelRequest:
		t.requests[e.Step.Request] = e.Time
	case chat.EventModelResponse:
		if sent, ok := t.requests[e.Step.Request]; ok && len(t.modelMs) < MaxValuesPerMetric {
			t.modelMs = append(t.modelMs, ms(e.Time.Sub(sent)))
		}
		t.usage = e.Step.Usage
	case chat.EventToolStarted:
		t.tools[e.Tool.ID] = toolCall{name: e.Tool.Name, started: e.Time}
	case chat.EventToolEnded:
		c, ok := t.tools[e.Tool.ID]
		if !ok {
			c = toolCall{name: e.Tool.Name, started: e.Time}
		}
		c.ms, c.failed = ms(e.Time.Sub(c.started)), e.Tool.Error != ""
		t.done = append(t.done, c)
		t.rows += e.Tool.Rows
	case chat.EventFinished:
		if e.Turn != nil {
			t.conversation, t.seq, t.usage = e.Turn.ConversationID, e.Turn.Seq, e.Turn.Usage
			t.flush(e.Time, e.Turn.FinishReason, e.Turn.Limit, "")
		}
	case chat.EventFailed:
		code := chat.CodeInternal
		if e.Err != nil {
			code = e.Err.Code
		}
		t.flush(e.Time, "", "", code)
	}
}

func flag(b bool) []float64 {
	if b {
		return []float64{1}
	}
	return []float64{0}
}

func one(v float64) []float64 { return []float64{v} }

// flush writes the turn's lines once.
func (t *turn) flush(end time.Time, reason chat.FinishReason, limit string, code chat.Code) {
	if t.flushed {
		return
	}
	t.flushed = true
	props := map[string]any{
		"request_id": t.ids.Request, "trace_id": t.ids.Trace,
		"user_id": t.user, "conversation_id": t.conversation,
	}
	if t.seq > 0 {
		props["turn"] = t.seq
	}
	for _, c := range t.done {
		t.write(Document{Time: end, Properties: props, Directives: []Directive{{
			Namespace: Namespace, Dimensions: map[string]string{DimTool: c.name},
			Metrics: []Metric{{ToolLatency, Milliseconds, one(c.ms)}, {ToolErrors, Count, flag(c.failed)}},
		}}})
	}
	if reason != "" {
		props["finish_reason"] = string(reason)
	}
	if limit != "" {
		props["limit"] = limit
	}
	failed := code != ""
	model := code == chat.CodeModelError || code == chat.CodeModelUnavailable || code == chat.CodeQuotaExhausted
	input, output := float64(t.usage.InputTokens), float64(t.usage.OutputTokens)
	requests := float64(t.usage.ModelRequests)
	dirs := []Directive{{
		Namespace: Namespace, Dimensions: map[string]string{DimRoute: t.route},
		Metrics: []Metric{
			{TurnLatency, Milliseconds, one(ms(end.Sub(t.start)))},
			{ModelRequests, Count, one(requests)},
			{InputTokens, Count, one(input)},
			{OutputTokens, Count, one(output)},
			{Rows, Count, one(float64(t.rows))},
			{UsageLimitHit, Count, flag(reason == chat.FinishUsageLimit)},
			{Deadline, Count, flag(reason == chat.FinishDeadline || code == chat.CodeDeadline)},
			{Errors, Count, flag(failed)},
			{ModelErrors, Count, flag(model)},
			{ColdStart, Count, flag(!t.turns.warm.Swap(true))},
		},
	}, {
		Namespace: Namespace, Dimensions: map[string]string{DimModel: t.turns.model},
		Metrics: []Metric{
			{ModelRequests, Count, one(requests)},
			{InputTokens, Count, one(input)},
			{OutputTokens, Count, one(output)},
			{ModelErrors, Count, flag(model)},
		},
	}}
	if len(t.modelMs) > 0 {
		dirs[1].Metrics = append(dirs[1].Metrics, Metric{ModelLatency, Milliseconds, t.modelMs})
	}
	if failed {
		props["error_code"] = string(code)
		dirs = append(dirs, Directive{
			Namespace: Namespace, Dimensions: map[string]string{DimRoute: t.route, DimErrorCode: string(code)},
			Metrics: []Metric{{Errors, Count, one(1)}},
		})
	}
	t.write(Document{Time: end, Properties: props, Directives: dirs})
}

func (t *turn) write(d Document) {
	if err := t.turns.w.Write(d); err != nil {
		t.turns.log.LogAttrs(t.ctx, slog.LevelError, "metrics line not written", slog.String("error", err.Error()))
	}
}

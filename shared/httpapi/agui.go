package httpapi

import (
	"fmt"
	"unicode/utf8"

	"github.com/datachat/datachat/shared/chat"
)

// AG-UI event types this service emits (the Agent-User Interaction
// Protocol, @ag-ui/core 1.0).
const (
	aguiRunStarted         = "RUN_STARTED"
	aguiRunFinished        = "RUN_FINISHED"
	aguiRunError           = "RUN_ERROR"
	aguiStepStarted        = "STEP_STARTED"
	aguiStepFinished       = "STEP_FINISHED"
	aguiTextMessageStart   = "TEXT_MESSAGE_START"
	aguiTextMessageContent = "TEXT_MESSAGE_CONTENT"
	aguiTextMessageEnd     = "TEXT_MESSAGE_END"
	aguiToolCallStart      = "TOOL_CALL_START"
	aguiToolCallArgs       = "TOOL_CALL_ARGS"
	aguiToolCallEnd        = "TOOL_CALL_END"
	aguiToolCallResult     = "TOOL_CALL_RESULT"
	aguiCustom             = "CUSTOM"
)

// Names of the CUSTOM events. The table and the chart are the turn's
// outputs, not AG-UI state: a stock client sends its state back with the
// next run and replaces it wholesale on every STATE_SNAPSHOT, so tables
// there would travel back to the server and a second table would erase the
// first. A client that does not know these names ignores them.
const (
	customTable = "table" // value: the table, as in the JSON answer
	customChart = "chart" // value: the Vega-Lite spec, as in the JSON answer
	customUsage = "usage" // value: the turn's usage so far, after each model response
)

// AGUIEvent is one AG-UI event object. Only the fields of its Type are set;
// the others are omitted, so every value marshals to an object that
// @ag-ui/core's EventSchemas accept.
type AGUIEvent struct {
	Type      string `json:"type"`
	Timestamp int64  `json:"timestamp,omitempty"` // milliseconds since the Unix epoch

	ThreadID string `json:"threadId,omitempty"` // the conversation id
	RunID    string `json:"runId,omitempty"`

	StepName string `json:"stepName,omitempty"`

	MessageID string  `json:"messageId,omitempty"`
	Role      string  `json:"role,omitempty"`
	Delta     *string `json:"delta,omitempty"` // a pointer: an empty delta is still a delta

	ToolCallID      string  `json:"toolCallId,omitempty"`
	ToolCallName    string  `json:"toolCallName,omitempty"`
	ParentMessageID string  `json:"parentMessageId,omitempty"`
	Content         *string `json:"content,omitempty"`

	Name  string `json:"name,omitempty"`  // CUSTOM
	Value any    `json:"value,omitempty"` // CUSTOM

	Result any              `json:"result,omitempty"` // RUN_FINISHED: the JSON answer of POST /chat
	Usage  []aguiTokenUsage `json:"usage,omitempty"`  // RUN_FINISHED, RUN_ERROR

	Code    string `json:"code,omitempty"`    // RUN_ERROR: the same code as the JSON error
	Message string `json:"message,omitempty"` // RUN_ERROR: the same message as the JSON error

	// Metadata is AG-UI's extension point on every event. Seq is the
	// number of the turn's event this one was encoded from; the rest says
	// what AG-UI has no field for.
	Metadata aguiMetadata `json:"metadata"`
}

// aguiMetadata is what an event carries beyond AG-UI's own fields.
type aguiMetadata struct {
	Seq     int         `json:"seq"`
	Turn    int         `json:"turn,omitempty"`    // RUN_STARTED: the turn's number in the conversation
	Request int         `json:"request,omitempty"` // STEP_*, TEXT_*: the model request's number
	Usage   *chat.Usage `json:"usage,omitempty"`   // STEP_*: the turn's usage so far

	// TOOL_CALL_RESULT: the table the call produced (its id, its rows, the
	// rows that matched before the row cap) or the tool's error.
	TableID string `json:"tableId,omitempty"`
	Rows    *int   `json:"rows,omitempty"`
	Total   *int   `json:"total,omitempty"`
	Error   string `json:"error,omitempty"`

	RetryAfter int `json:"retryAfter,omitempty"` // RUN_ERROR: seconds, as the JSON error's Retry-After
}

// aguiTokenUsage is AG-UI 1.0's TokenUsage.
type aguiTokenUsage struct {
	Provider          string `json:"provider,omitempty"`
	Model             string `json:"model,omitempty"`
	InputTokens       int    `json:"inputTokens"`
	OutputTokens      int    `json:"outputTokens"`
	TotalTokens       int    `json:"totalTokens"`
	CachedInputTokens int    `json:"cachedInputTokens,omitempty"`
}

// AGUIEncoder turns one turn's events into AG-UI events. AG-UI needs what
// the turn's events leave implicit (the run's ids on RUN_FINISHED, a
// TEXT_MESSAGE_START before the first fragment of a model response's text,
// a TEXT_MESSAGE_END when it is complete), so the encoder keeps that state:
// one encoder per turn, fed the turn's events in order. The same encoder
// serves the live stream and any later replay of stored events, and the
// encoding is deterministic, so both give the same AG-UI events.
type AGUIEncoder struct {
	threadID, runID string
	openText        string // the messageId of the open text message, if any
	openRequest     int
}

// Encode returns the AG-UI events e becomes: none, one, or several (a
// text fragment that opens a message, a tool call's start, arguments and
// end). Every one carries e.Seq in its metadata.
func (c *AGUIEncoder) Encode(e chat.Event) []AGUIEvent {
	base := AGUIEvent{Timestamp: e.Time.UnixMilli(), Metadata: aguiMetadata{Seq: e.Seq}}
	ev := func(typ string, f func(*AGUIEvent)) AGUIEvent {
		a := base
		a.Type = typ
		if f != nil {
			f(&a)
		}
		return a
	}
	var out []AGUIEvent
	switch e.Kind {
	case chat.EventRunStarted:
		if e.Run == nil {
			return nil
		}
		c.threadID, c.runID = e.Run.ConversationID, e.Run.RunID
		out = append(out, ev(aguiRunStarted, func(a *AGUIEvent) {
			a.ThreadID, a.RunID, a.Metadata.Turn = c.threadID, c.runID, e.Run.Turn
		}))
	case chat.EventModelRequest:
		if e.Step == nil {
			return nil
		}
		out = append(out, c.closeText(base)...)
		usage := e.Step.Usage
		out = append(out, ev(aguiStepStarted, func(a *AGUIEvent) {
			a.StepName, a.Metadata.Request, a.Metadata.Usage = stepName(e.Step.Request), e.Step.Request, &usage
		}))
	case chat.EventText:
		if e.Text == nil {
			return nil
		}
		if c.openText != "" && c.openRequest != e.Text.Request {
			out = append(out, c.closeText(base)...)
		}
		if c.openText == "" {
			c.openText, c.openRequest = fmt.Sprintf("%s-text-%d", c.runID, e.Text.Request), e.Text.Request
			out = append(out, ev(aguiTextMessageStart, func(a *AGUIEvent) {
				a.MessageID, a.Role, a.Metadata.Request = c.openText, "assistant", e.Text.Request
			}))
		}
		delta := e.Text.Delta
		out = append(out, ev(aguiTextMessageContent, func(a *AGUIEvent) {
			a.MessageID, a.Delta, a.Metadata.Request = c.openText, &delta, e.Text.Request
		}))
	case chat.EventModelResponse:
		if e.Step == nil {
			return nil
		}
		out = append(out, c.closeText(base)...)
		usage := e.Step.Usage
		out = append(out,
			ev(aguiStepFinished, func(a *AGUIEvent) {
				a.StepName, a.Metadata.Request, a.Metadata.Usage = stepName(e.Step.Request), e.Step.Request, &usage
			}),
			ev(aguiCustom, func(a *AGUIEvent) { a.Name, a.Value = customUsage, usage }))
	case chat.EventToolStarted:
		if e.Tool == nil {
			return nil
		}
		out = append(out, c.closeText(base)...)
		id := e.Tool.ID
		out = append(out, ev(aguiToolCallStart, func(a *AGUIEvent) { a.ToolCallID, a.ToolCallName = id, e.Tool.Name }))
		if e.Tool.Arguments != "" {
			args := e.Tool.Arguments
			out = append(out, ev(aguiToolCallArgs, func(a *AGUIEvent) { a.ToolCallID, a.Delta = id, &args }))
		}
		out = append(out, ev(aguiToolCallEnd, func(a *AGUIEvent) { a.ToolCallID = id }))
	case chat.EventToolEnded:
		if e.Tool == nil {
			return nil
		}
		t := *e.Tool
		content := cutContent(t.Content, maxToolContentBytes)
		if content == "" {
			content = t.Error
		}
		out = append(out, ev(aguiToolCallResult, func(a *AGUIEvent) {
			a.MessageID, a.ToolCallID, a.Role, a.Content = c.runID+"-result-"+t.ID, t.ID, "tool", &content
			a.Metadata.Error = t.Error
			if t.Error == "" && t.TableID != "" {
				a.Metadata.TableID, a.Metadata.Rows, a.Metadata.Total = t.TableID, &t.Rows, &t.Total
			}
		}))
	case chat.EventTable:
		if e.Table == nil {
			return nil
		}
		// Capped as in the JSON answer, so no event of a stream is larger
		// than the answer itself.
		table := chat.CapTableBytes(e.Table, chat.MaxTableBytes)
		out = append(out, ev(aguiCustom, func(a *AGUIEvent) { a.Name, a.Value = customTable, table }))
	case chat.EventChart:
		if e.Chart == nil {
			return nil
		}
		out = append(out, ev(aguiCustom, func(a *AGUIEvent) { a.Name, a.Value = customChart, e.Chart }))
	case chat.EventFinished:
		if e.Turn == nil {
			return nil
		}
		out = append(out, c.closeText(base)...)
		u := e.Turn.Usage
		out = append(out, ev(aguiRunFinished, func(a *AGUIEvent) {
			a.ThreadID, a.RunID = c.threadID, c.runID
			a.Result = newChatResponse(*e.Turn, !e.Unsaved)
			a.Usage = []aguiTokenUsage{{InputTokens: u.InputTokens, OutputTokens: u.OutputTokens, TotalTokens: u.TotalTokens, CachedInputTokens: u.CachedTokens}}
		}))
	case chat.EventFailed:
		out = append(out, c.closeText(base)...)
		code, message := string(chat.CodeInternal), chat.ErrorMessage(nil)
		retry := 0
		if e.Err != nil {
			code, message, retry = string(chat.ErrorCode(e.Err)), chat.ErrorMessage(e.Err), e.Err.RetryAfter
		}
		out = append(out, ev(aguiRunError, func(a *AGUIEvent) {
			a.Code, a.Message, a.Metadata.RetryAfter = code, message, retry
		}))
	}
	return out
}

// closeText ends the open text message, if any.
func (c *AGUIEncoder) closeText(base AGUIEvent) []AGUIEvent {
	if c.openText == "" {
		return nil
	}
	a := base
	a.Type, a.MessageID, a.Metadata.Request = aguiTextMessageEnd, c.openText, c.openRequest
	c.openText, c.openRequest = "", 0
	return []AGUIEvent{a}
}

// stepName names the step of one model request; STEP_STARTED and
// STEP_FINISHED of one request carry the same name.
// maxToolContentBytes bounds a TOOL_CALL_RESULT's content (what the tool
// told the model): enough to follow the agent's reasoning, while the rows
// themselves come in the table event, capped like the answer's.
const maxToolContentBytes = 16 << 10

// cutContent cuts s to at most n bytes on a character boundary, saying so.
func cutContent(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := s[:n]
	for len(cut) > 0 && !utf8.RuneStart(s[len(cut)]) {
		cut = cut[:len(cut)-1]
	}
	return cut + fmt.Sprintf("… [%d more bytes not shown]", len(s)-len(cut))
}

func stepName(request int) string { return fmt.Sprintf("model_request_%d", request) }

// EncodeAGUI encodes a whole turn's events, in order: the AG-UI form of a
// stored event list, the same events the live stream sent.
func EncodeAGUI(events []chat.Event) []AGUIEvent {
	var c AGUIEncoder
	var out []AGUIEvent
	for _, e := range events {
		out = append(out, c.Encode(e)...)
	}
	return out
}

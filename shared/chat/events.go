package chat

import (
	"context"
	"sync"
	"time"
)

// EventKind names what happened in a turn. The vocabulary is the domain's:
// the HTTP layer encodes it as AG-UI events over server-sent events, a
// queued turn's job record keeps it, and the metrics read it.
type EventKind string

const (
	EventRunStarted    EventKind = "run_started"    // Run: the conversation and the turn's number
	EventModelRequest  EventKind = "model_request"  // Step: a request is about to go to the model
	EventModelResponse EventKind = "model_response" // Step: the model answered (usage so far)
	EventText          EventKind = "text"           // Text: a fragment of the model's text, as generated
	EventToolStarted   EventKind = "tool_started"   // Tool: a tool call with its arguments
	EventToolEnded     EventKind = "tool_ended"     // Tool: its result (rows, total) or its error
	EventTable         EventKind = "table"          // Table: a table the turn built
	EventChart         EventKind = "chart"          // Chart: a chart the turn built
	EventFinished      EventKind = "finished"       // Turn: the turn as stored
	EventFailed        EventKind = "failed"         // Err: why the turn produced no answer
)

// Event is one thing that happened in a turn. Seq numbers a turn's events
// from 1 with no gaps; Time is when it was emitted. Which of the other
// fields is set depends on Kind (see the constants).
type Event struct {
	Seq  int       `json:"seq"`
	Time time.Time `json:"time"`
	Kind EventKind `json:"kind"`

	Run   *RunInfo   `json:"run,omitempty"`
	Step  *StepInfo  `json:"step,omitempty"`
	Text  *TextDelta `json:"text,omitempty"`
	Tool  *ToolEvent `json:"tool,omitempty"`
	Table *Table     `json:"table,omitempty"`
	Chart *Chart     `json:"chart,omitempty"`
	Turn  *Turn      `json:"turn,omitempty"`
	Err   *Error     `json:"error,omitempty"`
}

// RunInfo identifies the turn an event stream is about.
type RunInfo struct {
	ConversationID string `json:"conversation_id"`
	Turn           int    `json:"turn"`             // 1-based position in the conversation
	RunID          string `json:"run_id,omitempty"` // names this attempt at the turn, so a stream or a job can be told apart from a retry
}

// StepInfo is one model request of the turn.
type StepInfo struct {
	Request int   `json:"request"` // 1-based number of the model request in the turn
	Usage   Usage `json:"usage"`   // the turn's usage so far
}

// TextDelta is a fragment of the text of one model request's response.
type TextDelta struct {
	Request int    `json:"request"`
	Delta   string `json:"delta"`
}

// ToolEvent is a tool call starting (ID, Name, Arguments) or ending (ID,
// Name, and Rows, Total and Content, or Error).
type ToolEvent struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Arguments string `json:"arguments,omitempty"`
	TableID   string `json:"table_id,omitempty"` // the table the call produced, if any
	Rows      int    `json:"rows"`               // rows of that table
	Total     int    `json:"total"`              // rows that matched, before the row cap
	Content   string `json:"content,omitempty"`  // what the model was told
	Error     string `json:"error,omitempty"`    // the tool error, as the model saw it
}

// Sink receives the events of one turn. Events calls Emit for one turn at
// a time and in Seq order, so an implementation needs no locking of its
// own for that turn. Emit runs on the turn's path: it must not wait on a
// slow consumer (a network writer buffers or drops, and never stalls the
// turn), and it must not retain e's pointers past the turn if it mutates
// them.
type Sink interface {
	Emit(e Event)
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(Event)

// Emit calls f(e).
func (f SinkFunc) Emit(e Event) { f(e) }

// Events numbers and time-stamps a turn's events and hands them to a Sink,
// one at a time: tool calls run concurrently, and their events must still
// reach the sink in one order with consecutive numbers. It is created per
// turn. A nil *Events discards everything, so a turn nobody listens to
// pays only a nil check.
type Events struct {
	mu   sync.Mutex
	seq  int
	sink Sink
	now  func() time.Time
}

// NewEvents returns the event stream of one turn, sending to sink. now is
// the clock (time.Now when nil).
func NewEvents(sink Sink, now func() time.Time) *Events {
	if sink == nil {
		return nil
	}
	if now == nil {
		now = time.Now
	}
	return &Events{sink: sink, now: now}
}

// Emit numbers e and sends it to the sink. Safe for concurrent use; a nil
// receiver does nothing.
func (ev *Events) Emit(e Event) {
	if ev == nil {
		return
	}
	ev.mu.Lock()
	defer ev.mu.Unlock()
	ev.seq++
	e.Seq = ev.seq
	e.Time = ev.now()
	ev.sink.Emit(e)
}

// Last returns the sequence number of the last event emitted (0 before the
// first, and for a nil receiver).
func (ev *Events) Last() int {
	if ev == nil {
		return 0
	}
	ev.mu.Lock()
	defer ev.mu.Unlock()
	return ev.seq
}

type eventsKey struct{}

// WithEvents returns a context carrying ev, the way httptrace carries a
// request's trace hooks: the turn's listener is request-scoped, optional,
// and crosses the Answerer port without widening its signature.
func WithEvents(ctx context.Context, ev *Events) context.Context {
	if ev == nil {
		return ctx
	}
	return context.WithValue(ctx, eventsKey{}, ev)
}

// EventsFrom returns the events of ctx's turn, or nil when nobody listens.
func EventsFrom(ctx context.Context) *Events {
	ev, _ := ctx.Value(eventsKey{}).(*Events)
	return ev
}

// Tee returns a Sink that hands each event to every non-nil sink, in order,
// or nil when there is none, so a turn can be streamed, recorded and
// measured at once and a turn with no listener still gets a nil stream.
func Tee(sinks ...Sink) Sink {
	var live []Sink
	for _, s := range sinks {
		if s != nil {
			live = append(live, s)
		}
	}
	switch len(live) {
	case 0:
		return nil
	case 1:
		return live[0]
	}
	return SinkFunc(func(e Event) {
		for _, s := range live {
			s.Emit(e)
		}
	})
}

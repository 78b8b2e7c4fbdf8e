package chat_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/datachat/datachat/shared/chat"
	"github.com/datachat/datachat/shared/chat/chattest"
)

// recorder is a Sink that keeps every event.
type recorder struct {
	mu     sync.Mutex
	events []chat.Event
}

func (r *recorder) Emit(e chat.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) kinds() []chat.EventKind {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]chat.EventKind, len(r.events))
	for i, e := range r.events {
		out[i] = e.Kind
	}
	return out
}

func TestRunEmitsTheTurnsSteps(t *testing.T) {
	m := &chattest.ScriptedModel{Reply: func(_ context.Context, req chat.ModelRequest, n int) (chat.ModelResponse, error) {
		if n == 1 {
			return chattest.Calls(100, call("q1", "query", queryA), call("c1", "chart", `{"table":null,"type":"line","x":"day","y":"price","color":null,"title":null}`)), nil
		}
		// A streaming model hands its text over as it goes.
		req.OnText("The price ")
		req.OnText("rose.")
		return chattest.Answer("The price rose.", 50), nil
	}}
	rec := &recorder{}
	ctx := chat.WithEvents(context.Background(), chat.NewEvents(rec, nil))
	if _, err := newAgent(t, m, nil).Run(ctx, nil, "plot A"); err != nil {
		t.Fatal(err)
	}
	want := []chat.EventKind{
		chat.EventModelRequest, chat.EventModelResponse,
		chat.EventToolStarted, chat.EventToolStarted,
		chat.EventToolEnded, chat.EventTable, chat.EventToolEnded, chat.EventChart,
		chat.EventModelRequest, chat.EventText, chat.EventText, chat.EventModelResponse,
	}
	got := rec.kinds()
	if len(got) != len(want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("event %d is %s, want %s (all: %v)", i, got[i], want[i], got)
		}
	}
	var last time.Time
	for i, e := range rec.events {
		if e.Seq != i+1 {
			t.Fatalf("event %d has seq %d, want %d", i, e.Seq, i+1)
		}
		if e.Time.Before(last) {
			t.Fatalf("event %d goes back in time", e.Seq)
		}
		last = e.Time
	}
	q := rec.events[4].Tool
	if q.ID != "q1" || q.TableID != "t1" || q.Rows != 3 || q.Total != 3 || q.Error != "" || q.Content == "" {
		t.Fatalf("query's end event %+v, want table t1 with 3 of 3 rows and the model's content", q)
	}
	if tb := rec.events[5].Table; tb == nil || len(tb.Rows) != 3 {
		t.Fatalf("table event %+v, want the 3-row table", tb)
	}
	if rec.events[7].Chart == nil || rec.events[6].Tool.TableID != "t1" {
		t.Fatalf("chart events %+v / %+v, want the chart of t1", rec.events[6].Tool, rec.events[7].Chart)
	}
	if d := rec.events[9].Text; d.Request != 2 || d.Delta != "The price " {
		t.Fatalf("first text event %+v, want request 2's first fragment", d)
	}
	if s := rec.events[11].Step; s.Request != 2 || s.Usage.ModelRequests != 2 || s.Usage.TotalTokens != 150 {
		t.Fatalf("last step %+v, want request 2 with the usage of both", s)
	}
}

func TestRunReportsAToolErrorInItsEndEvent(t *testing.T) {
	m := &chattest.ScriptedModel{Reply: func(_ context.Context, _ chat.ModelRequest, n int) (chat.ModelResponse, error) {
		if n == 1 {
			return chattest.Calls(100, call("q1", "query", `{"collection":"Nope","fields":null,"filters":null,"sort":null,"limit":null}`)), nil
		}
		return chattest.Answer("No such collection.", 50), nil
	}}
	rec := &recorder{}
	ctx := chat.WithEvents(context.Background(), chat.NewEvents(rec, nil))
	if _, err := newAgent(t, m, nil).Run(ctx, nil, "q"); err != nil {
		t.Fatal(err)
	}
	for _, e := range rec.events {
		if e.Kind == chat.EventToolEnded {
			if e.Tool.Error == "" || e.Tool.TableID != "" {
				t.Fatalf("end event %+v, want the tool error and no table", e.Tool)
			}
			return
		}
	}
	t.Fatal("no tool_ended event")
}

func TestNoListenerNoEvents(t *testing.T) {
	// Without events in the context the model gets no text callback, so a
	// turn nobody listens to pays nothing for streaming.
	m := &chattest.ScriptedModel{Reply: func(_ context.Context, req chat.ModelRequest, _ int) (chat.ModelResponse, error) {
		if req.OnText != nil {
			t.Error("OnText set with no listener")
		}
		return chattest.Answer("ok", 10), nil
	}}
	if _, err := newAgent(t, m, nil).Run(context.Background(), nil, "q"); err != nil {
		t.Fatal(err)
	}
	var ev *chat.Events
	ev.Emit(chat.Event{Kind: chat.EventText}) // a nil stream discards
	if ev.Last() != 0 || chat.NewEvents(nil, nil) != nil {
		t.Fatal("a nil stream must discard")
	}
}

func TestEventsAreNumberedOnceUnderConcurrency(t *testing.T) {
	rec := &recorder{}
	ev := chat.NewEvents(rec, nil)
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() { ev.Emit(chat.Event{Kind: chat.EventText}) })
	}
	wg.Wait()
	for i, e := range rec.events {
		if e.Seq != i+1 {
			t.Fatalf("event %d has seq %d: the sink must see consecutive numbers in order", i, e.Seq)
		}
	}
	if ev.Last() != 50 {
		t.Fatalf("last = %d, want 50", ev.Last())
	}
}

func TestTee(t *testing.T) {
	if chat.Tee(nil, nil) != nil {
		t.Fatal("Tee of no sinks must be nil, so the turn gets no stream")
	}
	a, b := &recorder{}, &recorder{}
	ev := chat.NewEvents(chat.Tee(a, nil, b), nil)
	ev.Emit(chat.Event{Kind: chat.EventText})
	ev.Emit(chat.Event{Kind: chat.EventChart})
	if len(a.events) != 2 || len(b.events) != 2 || b.events[1].Seq != 2 {
		t.Fatalf("a %v, b %v: want both events in both sinks", a.kinds(), b.kinds())
	}
}

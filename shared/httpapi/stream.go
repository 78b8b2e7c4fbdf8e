package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/datachat/datachat/shared/chat"
)

// writeMargin is kept after a streamed turn's deadline and its save
// reserve for the last events to reach the client, so the server's own
// write timeout (sized for JSON turns) does not cut a long stream.
const writeMargin = 5 * time.Second

// wantsStream reports whether the client asked for server-sent events.
func wantsStream(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		for _, part := range strings.Split(v, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err == nil && mt == "text/event-stream" && params["q"] != "0" {
				return true
			}
		}
	}
	return false
}

// turnContext returns the context a turn runs in and what cancels it.
// For a JSON answer that is the request's context with the turn's
// deadline, and stream is nil. For a streamed answer it opens the stream
// and announces the run (RUN_STARTED): the turn then runs detached from
// the request, so a client that goes away does not stop it, under
// StreamTurnTimeout (or the request's own deadline less SaveReserve, in
// Lambda), and reports its events to the stream. cancel waits until the
// stream's last event is written or the client is gone.
func (s *server) turnContext(w http.ResponseWriter, r *http.Request, conversationID string, turn int, observer chat.Sink) (context.Context, context.CancelFunc, *sseStream) {
	if !wantsStream(r) {
		ctx, cancel := context.WithDeadline(r.Context(), s.turnDeadline(r))
		return ctx, cancel, nil
	}
	deadline := s.deadlineWithin(r, s.StreamTurnTimeout)
	// The write deadline is for the connection, so on the real clock.
	st := newSSEStream(s, w, r, time.Now().Add(deadline.Sub(s.Now())+s.SaveReserve+writeMargin))
	events := chat.NewEvents(chat.Tee(st, observer), s.Now)
	ctx, cancel := context.WithDeadline(context.WithoutCancel(r.Context()), deadline)
	ctx = chat.WithEvents(ctx, events)
	st.events = events
	events.Emit(chat.Event{Kind: chat.EventRunStarted, Run: &chat.RunInfo{ConversationID: conversationID, Turn: turn, RunID: s.NewID()}})
	return ctx, func() { cancel(); st.close() }, st
}

// deadlineWithin is timeout from now, or earlier when the request's own
// deadline (a Lambda invocation's) comes first, keeping SaveReserve to
// store the turn.
func (s *server) deadlineWithin(r *http.Request, timeout time.Duration) time.Time {
	d := s.Now().Add(timeout)
	if parent, ok := r.Context().Deadline(); ok {
		if p := parent.Add(-s.SaveReserve); p.Before(d) {
			d = p
		}
	}
	return d
}

// replyError answers a failed turn: a JSON error, or RUN_ERROR once the
// stream has started (its status is already 200).
func (s *server) replyError(w http.ResponseWriter, r *http.Request, stream *sseStream, err error) {
	if stream == nil {
		s.writeError(w, r, err)
		return
	}
	code := chat.ErrorCode(err)
	level := slog.LevelInfo
	if statusOf(code) >= 500 {
		level = slog.LevelError
	}
	s.Logger.LogAttrs(r.Context(), level, "streamed turn failed", slog.String("code", string(code)), slog.Int("status", statusOf(code)), slog.String("error", err.Error()))
	e := &chat.Error{Code: code, Message: chat.ErrorMessage(err)}
	var ce *chat.Error
	if errors.As(err, &ce) {
		e.RetryAfter = ce.RetryAfter
	}
	stream.events.Emit(chat.Event{Kind: chat.EventFailed, Err: e})
}

// sseStream is the chat.Sink of one streamed turn. Emit only queues: a
// writer goroutine encodes the events as AG-UI, writes them as server-sent
// events and flushes each, so a slow or vanished client never holds up
// the turn. The queue is unbounded on purpose: dropping an event would
// leave a gap a client cannot repair, and a turn's events are bounded by
// its limits (requests, output tokens, tool calls). While nothing is sent
// the writer sends a comment line every Heartbeat, which keeps proxies
// from closing an idle connection and tells the writer when the client
// has gone.
type sseStream struct {
	s      *server
	w      http.ResponseWriter
	r      *http.Request
	events *chat.Events
	wake   chan struct{} // capacity 1: "the queue changed"
	done   chan struct{} // closed when the writer returns

	mu     sync.Mutex
	queue  []chat.Event
	closed bool // the turn emitted its last event
	gone   bool // the client went away or a write failed: discard
}

var _ chat.Sink = (*sseStream)(nil)

func newSSEStream(s *server, w http.ResponseWriter, r *http.Request, writeBy time.Time) *sseStream {
	st := &sseStream{s: s, w: w, r: r, wake: make(chan struct{}, 1), done: make(chan struct{})}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	// nginx and proxies like it buffer responses unless told not to.
	h.Set("X-Accel-Buffering", "no")
	rc := http.NewResponseController(w)
	if err := rc.SetWriteDeadline(writeBy); err != nil && !errors.Is(err, http.ErrNotSupported) {
		s.Logger.LogAttrs(r.Context(), slog.LevelWarn, "stream: cannot extend the write deadline", slog.String("error", err.Error()))
	}
	w.WriteHeader(http.StatusOK)
	go st.write(rc)
	return st
}

// Emit queues e for the writer. It never blocks on the client.
func (st *sseStream) Emit(e chat.Event) {
	st.mu.Lock()
	if !st.gone {
		st.queue = append(st.queue, e)
	}
	st.mu.Unlock()
	select {
	case st.wake <- struct{}{}:
	default:
	}
}

// finish sends the stored turn as RUN_FINISHED.
func (st *sseStream) finish(stored chat.Turn, saved bool) {
	st.events.Emit(chat.Event{Kind: chat.EventFinished, Turn: &stored, Unsaved: !saved})
}

// close marks the end of the turn's events and waits until the writer has
// sent them (or found the client gone).
func (st *sseStream) close() {
	st.mu.Lock()
	st.closed = true
	st.mu.Unlock()
	select {
	case st.wake <- struct{}{}:
	default:
	}
	<-st.done
}

// take removes the queued events; last says no more will come.
func (st *sseStream) take() (batch []chat.Event, last bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	batch, st.queue = st.queue, nil
	return batch, st.closed
}

func (st *sseStream) abandon(reason string) {
	st.mu.Lock()
	st.gone, st.queue = true, nil
	st.mu.Unlock()
	st.s.Logger.LogAttrs(st.r.Context(), slog.LevelInfo, "stream: the client went away; the turn continues and is stored", slog.String("reason", reason))
}

// write is the writer goroutine: the only code that touches the
// ResponseWriter once the stream is open.
func (st *sseStream) write(rc *http.ResponseController) {
	defer close(st.done)
	var enc AGUIEncoder
	heartbeat := time.NewTimer(st.s.Heartbeat)
	defer heartbeat.Stop()
	var buf bytes.Buffer
	send := func() bool {
		_, err := st.w.Write(buf.Bytes())
		buf.Reset()
		if err == nil {
			if err = rc.Flush(); errors.Is(err, http.ErrNotSupported) {
				err = nil
			}
		}
		if err != nil {
			st.abandon(err.Error())
			return false
		}
		heartbeat.Reset(st.s.Heartbeat)
		return true
	}
	// The headers go out at once, so the client knows the turn started
	// even before the first event.
	if !send() {
		return
	}
	for {
		select {
		case <-st.r.Context().Done():
			st.abandon(context.Cause(st.r.Context()).Error())
			return
		case <-heartbeat.C:
			buf.WriteString(": heartbeat\n\n")
			if !send() {
				return
			}
		case <-st.wake:
			// Every event queued so far goes out in one write and one
			// flush: a turn's text arrives a word at a time, and a write
			// and a flush for each was most of a streamed turn's syscalls.
			batch, last := st.take()
			for _, e := range batch {
				writeSSE(&buf, e.Seq, enc.Encode(e))
			}
			if len(batch) > 0 && !send() {
				return
			}
			if last {
				// close is called after the turn's last Emit, and take
				// reads the queue and the flag under one lock: the batch
				// just sent held every event.
				return
			}
		}
	}
}

// writeSSE appends the AG-UI events of the turn's event seq as SSE
// messages: one data line of JSON each. The id line (the SSE spec's last
// event id) is written once, on the last of them, so an id always names
// a turn event the client has received whole.
func writeSSE(buf *bytes.Buffer, seq int, events []AGUIEvent) {
	for i, a := range events {
		data, err := json.Marshal(a)
		if err != nil {
			// Every field is plain data; a failure here is a bug, and the
			// event is replaced by one that says so rather than lost.
			data = []byte(`{"type":"RUN_ERROR","code":"internal","message":"an event could not be encoded","metadata":{"seq":` + strconv.Itoa(seq) + `}}`)
		}
		if i == len(events)-1 {
			buf.WriteString("id: " + strconv.Itoa(seq) + "\n")
		}
		buf.WriteString("data: ")
		buf.Write(data)
		buf.WriteString("\n\n")
	}
}

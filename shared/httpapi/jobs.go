package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/datachat/datachat/shared/chat"
)

// jobAccepted is the answer to a queued POST /chat (202).
type jobAccepted struct {
	JobID  string         `json:"job_id"`
	Status chat.JobStatus `json:"status"`
}

func jobPath(id string) string { return "/jobs/" + id }

// enqueue answers a request that prefers to be answered later: the job
// record first (so a worker never gets a job it cannot find), then the
// queue. A queue that refuses leaves a queued record no worker will run,
// which expires with the TTL, and answers 503.
func (s *server) enqueue(w http.ResponseWriter, r *http.Request, user string, req chatRequest, key idemKey) {
	if s.Jobs == nil || s.Queue == nil {
		s.releaseKey(r, key)
		s.writeError(w, r, chat.Errorf(chat.CodeInvalid, "this server does not queue turns; send the request without Prefer: respond-async"))
		return
	}
	if req.ConversationID != "" {
		// A follow-up of a conversation the user does not have is 404 now,
		// not a failed job later.
		if _, err := s.Memory.History(r.Context(), user, req.ConversationID, 1); err != nil {
			s.releaseKey(r, key)
			s.writeError(w, r, err)
			return
		}
	}
	job := chat.JobRecord{UserID: user, ID: s.NewID(), Status: chat.JobQueued, Message: req.Message, ConversationID: req.ConversationID, CreatedAt: s.Now().UTC()}
	if job.ConversationID == "" {
		// Fixed now, so every attempt of the job stores into the same
		// conversation and a takeover can find a turn already stored.
		job.ConversationID, job.NewConversation = s.NewID(), true
	}
	err := s.Jobs.CreateJob(r.Context(), job)
	if err == nil {
		err = s.Queue.Enqueue(r.Context(), chat.Job{UserID: user, JobID: job.ID})
	}
	if err != nil {
		s.releaseKey(r, key)
		s.writeError(w, r, err)
		return
	}
	body := encodeJSON(jobAccepted{JobID: job.ID, Status: chat.JobQueued})
	s.completeKey(r, key, http.StatusAccepted, body)
	w.Header().Set("Location", jobPath(job.ID))
	w.Header().Set("Preference-Applied", "respond-async")
	writeBody(w, http.StatusAccepted, body)
}

// jobResponse is GET /jobs/{id}.
type jobResponse struct {
	JobID  string            `json:"job_id"`
	Status chat.JobStatus    `json:"status"`
	Events []json.RawMessage `json:"events"`
	Result json.RawMessage   `json:"result"`
	Error  *chat.JobError    `json:"error"`
}

// getJob answers a job's state: its events after ?after=N (AG-UI event
// objects, each with metadata.seq), and once it is done its result (the
// answer POST /chat would have given) or its error.
func (s *server) getJob(w http.ResponseWriter, r *http.Request, user string) {
	id := r.PathValue("id")
	if !validID(id) || s.Jobs == nil {
		s.writeError(w, r, chat.Errorf(chat.CodeNotFound, "job %q not found", id))
		return
	}
	after := 0
	if v := r.URL.Query().Get("after"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || strconv.Itoa(n) != v {
			s.writeError(w, r, chat.Errorf(chat.CodeInvalid, "after must be a whole number of 0 or more (the metadata.seq of the last event you have), got %q", v))
			return
		}
		after = n
	}
	j, err := s.Jobs.Job(r.Context(), user, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if j.Status == chat.JobRunning && j.Attempt >= MaxJobAttempts && !j.LeaseUntil.After(s.Now()) {
		// Its last runner stopped without writing an outcome (a crash, or
		// the function killed at its timeout), and the queue gives no
		// further delivery: the message is in the dead-letter queue.
		j.Status = chat.JobFailed
		j.Error = &chat.JobError{Code: chat.CodeInternal, Message: fmt.Sprintf("the job's worker stopped before finishing, %d times; ask again", j.Attempt)}
	}
	out := jobResponse{JobID: j.ID, Status: j.Status, Events: []json.RawMessage{}, Error: j.Error}
	for _, e := range j.Events {
		if e.Seq > after {
			out.Events = append(out.Events, e.Data)
		}
	}
	if j.Status == chat.JobSucceeded {
		out.Result = j.Result
	}
	if !j.Status.Done() {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, http.StatusOK, out)
}

// QueuedRoute is the Route dimension of a queued turn's metrics.
const QueuedRoute = "queued POST /chat"

// MaxJobAttempts is how many deliveries a job whose store or model was
// unavailable gets before it fails for good; the queue's own limit
// (SQS maxReceiveCount) must not be lower.
const MaxJobAttempts = 3

// Worker runs queued turns: the same turn as POST /chat, with its events
// and outcome written to the job record.
type Worker struct{ s *server }

// NewWorker returns the runner of queued turns of opts (the same options
// as New; Jobs is required).
func NewWorker(opts Options) (*Worker, error) {
	h, err := newServer(opts)
	if err != nil {
		return nil, err
	}
	if h.Jobs == nil {
		return nil, errors.New("httpapi.NewWorker: Jobs is required")
	}
	return &Worker{s: h}, nil
}

// Handle is a chat.JobHandler. ctx's deadline (a Lambda invocation's)
// bounds the job's lease and its turn. nil means the job is done with:
// run, found done, or gone; an error asks for the delivery again.
func (wk *Worker) Handle(ctx context.Context, job chat.Job, attempt int) error {
	s := wk.s
	leaseUntil := s.Now().Add(s.StreamTurnTimeout + jobHeadroom(s.SaveReserve))
	if d, ok := ctx.Deadline(); ok {
		leaseUntil = d
	}
	if !leaseUntil.Add(-jobHeadroom(s.SaveReserve)).After(s.Now()) {
		// Too little time to run a turn, store it and write the outcome:
		// leave the job to the next delivery rather than fail it.
		return chat.Errorf(chat.CodeDeadline, "too little time left to run job %q", job.JobID)
	}
	rec, err := s.Jobs.ClaimJob(ctx, job.UserID, job.JobID, leaseUntil)
	switch code := chat.ErrorCode(err); {
	case err == nil && rec.Status.Done():
		s.Logger.LogAttrs(ctx, slog.LevelInfo, "job already done; delivery dropped", slog.String("job_id", job.JobID), slog.String("status", string(rec.Status)))
		return nil
	case code == chat.CodeNotFound:
		s.Logger.LogAttrs(ctx, slog.LevelWarn, "job not found (expired?); delivery dropped", slog.String("job_id", job.JobID))
		return nil
	case err != nil:
		// Running elsewhere under a live lease, or the store is down: the
		// delivery comes back after the queue's visibility timeout.
		return err
	}
	s.Logger.LogAttrs(ctx, slog.LevelInfo, "job claimed", slog.String("job_id", job.JobID), slog.Int("attempt", rec.Attempt), slog.Int("delivery", attempt))

	// The outcome is written by the lease's end, and the turn stops in
	// time to be stored before that.
	jobCtx, cancelJob := context.WithDeadline(ctx, leaseUntil.Add(-responseMargin))
	defer cancelJob()
	if rec.Attempt > 1 {
		// A runner before this one may have stored the turn and died
		// before writing the outcome: then the outcome is that turn.
		if done, ok := wk.storedTurn(jobCtx, rec); ok {
			rec2 := newJobRecorder(s, jobCtx, rec)
			return rec2.finish(chat.JobSucceeded, encodeJSON(newChatResponse(done, true)), nil, nil)
		}
	}
	ctx = jobCtx
	rec2 := newJobRecorder(s, ctx, rec)
	var obs chat.Sink
	if s.Observe != nil {
		// The metrics name the route of a queued turn apart from the
		// answered ones, whose latency alarm it must not move.
		r, _ := http.NewRequestWithContext(ctx, http.MethodPost, "/chat", nil)
		r.Pattern = QueuedRoute
		obs = s.Observe(r, job.UserID)
	}
	events := chat.NewEvents(chat.Tee(rec2, obs), s.Now)
	turnCtx, cancel := context.WithDeadline(ctx, leaseUntil.Add(-jobHeadroom(s.SaveReserve)))
	defer cancel()
	turnCtx = chat.WithEvents(turnCtx, events)

	stored, saved, err := wk.run(turnCtx, ctx, events, rec)
	if err != nil {
		e := &chat.Error{Code: chat.ErrorCode(err), Message: chat.ErrorMessage(err)}
		var ce *chat.Error
		if errors.As(err, &ce) {
			e.RetryAfter = ce.RetryAfter
		}
		s.Logger.LogAttrs(ctx, slog.LevelWarn, "job's turn failed", slog.String("job_id", job.JobID), slog.String("code", string(e.Code)), slog.String("error", err.Error()))
		transient := e.Code == chat.CodeUnavailable || e.Code == chat.CodeModelUnavailable
		// The queue's deliveries run out too (a delivery whose claim
		// failed counts there, not here): on the last one, fail for good.
		if transient && rec.Attempt < MaxJobAttempts && attempt < MaxJobAttempts {
			// Queued again, with the events of this attempt kept: the next
			// delivery runs the turn afresh.
			return rec2.finish(chat.JobQueued, nil, nil, err)
		}
		events.Emit(chat.Event{Kind: chat.EventFailed, Err: e})
		return rec2.finish(chat.JobFailed, nil, &chat.JobError{Code: e.Code, Message: e.Message}, nil)
	}
	events.Emit(chat.Event{Kind: chat.EventFinished, Turn: &stored, Unsaved: !saved})
	return rec2.finish(chat.JobSucceeded, encodeJSON(newChatResponse(stored, saved)), nil, nil)
}

// run is the turn of a job: history, the user's limits, the agent, the
// store, as POST /chat runs them.
func (wk *Worker) run(ctx, jobCtx context.Context, events *chat.Events, rec chat.JobRecord) (chat.Turn, bool, error) {
	s := wk.s
	req := chatRequest{Message: rec.Message, ConversationID: rec.ConversationID}
	var history []chat.Turn
	nextSeq := 1
	if !rec.NewConversation || rec.Attempt > 1 {
		// An earlier attempt may have created the new conversation with a
		// turn of its own; that is history now like any other.
		h, seq, err := s.loadHistory(jobCtx, rec.UserID, &req)
		switch {
		case err == nil:
			history, nextSeq = h, seq
		case !(rec.NewConversation && chat.ErrorCode(err) == chat.CodeNotFound):
			return chat.Turn{}, false, err
		}
	}
	events.Emit(chat.Event{Kind: chat.EventRunStarted, Run: &chat.RunInfo{ConversationID: req.ConversationID, Turn: nextSeq, RunID: s.NewID()}})
	reservation, err := s.reserve(jobCtx, rec.UserID)
	if err != nil {
		return chat.Turn{}, false, err
	}
	return s.answer(ctx, jobCtx, rec.UserID, req, history, nextSeq, reservation, rec.ID)
}

// storedTurn finds the turn an earlier attempt of the job stored, if any.
func (wk *Worker) storedTurn(ctx context.Context, rec chat.JobRecord) (chat.Turn, bool) {
	turns, err := wk.s.Memory.History(ctx, rec.UserID, rec.ConversationID, max(wk.s.HistoryTurns, DefaultHistoryTurns))
	if err != nil {
		return chat.Turn{}, false
	}
	for _, t := range turns {
		if t.JobID == rec.ID {
			return t, true
		}
	}
	return chat.Turn{}, false
}

// jobHeadroom is what a job's turn leaves of its lease: the save reserve
// to store the turn, and as much again to write the outcome.
func jobHeadroom(saveReserve time.Duration) time.Duration { return 2*saveReserve + responseMargin }

// jobRecorder is the chat.Sink of a job's turn: it encodes each event as
// AG-UI, as the stream would, and writes the record at step boundaries
// (after each model response and tool result, at most every
// jobFlushEvery), so a client polling the job sees the turn progress.
type jobRecorder struct {
	s   *server
	ctx context.Context

	mu      sync.Mutex
	rec     chat.JobRecord
	enc     AGUIEncoder
	base    int // the last seq of earlier attempts' events
	flushed time.Time
	lost    bool // another runner took the job over: write nothing more
}

const jobFlushEvery = 500 * time.Millisecond

// newJobRecorder continues the events of earlier attempts (a runner that
// died, a store that was unavailable): this attempt's are numbered after
// them, so a client paging with ?after=N misses none.
func newJobRecorder(s *server, ctx context.Context, rec chat.JobRecord) *jobRecorder {
	base := 0
	if n := len(rec.Events); n > 0 {
		base = rec.Events[n-1].Seq
	}
	return &jobRecorder{s: s, ctx: ctx, rec: rec, base: base, flushed: s.Now()}
}

// Emit implements chat.Sink.
func (jr *jobRecorder) Emit(e chat.Event) {
	jr.mu.Lock()
	defer jr.mu.Unlock()
	for _, a := range jr.enc.Encode(e) {
		a.Metadata.Seq += jr.base
		data, err := json.Marshal(a)
		if err != nil {
			continue
		}
		jr.rec.Events = append(jr.rec.Events, chat.JobEvent{Seq: a.Metadata.Seq, Data: data})
	}
	step := e.Kind == chat.EventModelResponse || e.Kind == chat.EventToolEnded
	if step && jr.s.Now().Sub(jr.flushed) >= jobFlushEvery {
		jr.writeLocked()
	}
}

// writeLocked writes the record as it is. Progress is best effort: a
// failed write is logged and the next one carries the same events.
func (jr *jobRecorder) writeLocked() error {
	if jr.lost {
		return nil
	}
	jr.flushed = jr.s.Now()
	err := jr.s.Jobs.UpdateJob(jr.ctx, jr.rec)
	if chat.ErrorCode(err) == chat.CodeConflict {
		jr.lost = true
		jr.s.Logger.LogAttrs(jr.ctx, slog.LevelWarn, "job taken over by another attempt; this one stops writing", slog.String("job_id", jr.rec.ID), slog.Int("attempt", jr.rec.Attempt))
		return nil
	}
	if err != nil {
		jr.s.Logger.LogAttrs(jr.ctx, slog.LevelWarn, "job progress not written", slog.String("job_id", jr.rec.ID), slog.String("error", err.Error()))
	}
	return err
}

// finish writes the job's outcome, retrying within the save reserve: the
// turn is stored, and its answer must reach the record. retry, when set,
// is returned so the queue delivers the job again.
func (jr *jobRecorder) finish(status chat.JobStatus, result json.RawMessage, jobErr *chat.JobError, retry error) error {
	// The save reserve, but never past the job's own deadline (the lease's
	// end): a write still running when Lambda stops the function could
	// leave the job to be run again.
	by := jr.s.Now().Add(jr.s.SaveReserve)
	if d, ok := jr.ctx.Deadline(); ok && d.Before(by) {
		by = d
	}
	ctx, cancel := context.WithDeadline(context.WithoutCancel(jr.ctx), by)
	defer cancel()
	jr.mu.Lock()
	defer jr.mu.Unlock()
	jr.rec.Status, jr.rec.Result, jr.rec.Error = status, result, jobErr
	if status == chat.JobQueued {
		jr.rec.LeaseUntil = jr.s.Now()
	}
	jr.ctx = ctx
	for attempt := 0; ; attempt++ {
		err := jr.writeLocked()
		if err == nil {
			return retry
		}
		if ctx.Err() != nil || chat.ErrorCode(err) != chat.CodeUnavailable {
			// The delivery comes back, finds the job running under this
			// attempt's lease, and runs it again once the lease ends.
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(min(25*time.Millisecond<<min(attempt, 4), 400*time.Millisecond)):
		}
	}
}

package chattest

import (
	"bytes"
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/datachat/datachat/shared/chat"
)

// JobStore is a store of queued turns and idempotency keys.
type JobStore interface {
	chat.Jobs
	chat.Idempotency
}

// Clock is a clock the contract moves.
type Clock struct{ ns atomic.Int64 }

// NewClock starts at a fixed time.
func NewClock() *Clock {
	c := &Clock{}
	c.ns.Store(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC).UnixNano())
	return c
}

func (c *Clock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *Clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// JobsContract is what every chat.Jobs and chat.Idempotency must do;
// newStore returns an empty store on the clock now.
func JobsContract(t *testing.T, newStore func(t *testing.T, now func() time.Time) JobStore) {
	ctx := context.Background()
	t.Run("jobs", func(t *testing.T) {
		t.Parallel()
		clock := NewClock()
		s := newStore(t, clock.Now)
		job := chat.JobRecord{UserID: "alice", ID: "j1", Message: "q", ConversationID: "c1", CreatedAt: clock.Now()}
		if err := s.CreateJob(ctx, job); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateJob(ctx, job); !IsCode(err, chat.CodeConflict) {
			t.Fatalf("second CreateJob: %v, want conflict", err)
		}
		got, err := s.Job(ctx, "alice", "j1")
		if err != nil || got.Status != chat.JobQueued || got.Message != "q" || got.ConversationID != "c1" {
			t.Fatalf("Job: %+v, %v; want the queued job", got, err)
		}
		if _, err := s.Job(ctx, "bob", "j1"); !IsCode(err, chat.CodeNotFound) {
			t.Fatalf("another user's job: %v, want not_found", err)
		}
		if _, err := s.ClaimJob(ctx, "alice", "j1", clock.Now()); !IsCode(err, chat.CodeDeadline) {
			t.Fatalf("claim with no time left: %v, want deadline", err)
		}
		first, err := s.ClaimJob(ctx, "alice", "j1", clock.Now().Add(time.Minute))
		if err != nil || first.Status != chat.JobRunning || first.Attempt != 1 {
			t.Fatalf("first claim: %+v, %v; want running, attempt 1", first, err)
		}
		if _, err := s.ClaimJob(ctx, "alice", "j1", clock.Now().Add(time.Minute)); !IsCode(err, chat.CodeConflict) {
			t.Fatalf("claim under a live lease: %v, want conflict", err)
		}
		first.Events = []chat.JobEvent{{Seq: 1, Data: json.RawMessage(`{"type":"RUN_STARTED"}`)}}
		if err := s.UpdateJob(ctx, first); err != nil {
			t.Fatalf("progress of the claim's holder: %v", err)
		}
		clock.Advance(time.Minute) // the first runner died; its lease ends
		second, err := s.ClaimJob(ctx, "alice", "j1", clock.Now().Add(time.Minute))
		if err != nil || second.Attempt != 2 || len(second.Events) != 1 {
			t.Fatalf("claim after the lease: %+v, %v; want attempt 2 with the events so far", second, err)
		}
		first.Status = chat.JobSucceeded
		if err := s.UpdateJob(ctx, first); !IsCode(err, chat.CodeConflict) {
			t.Fatalf("update by the runner that lost the job: %v, want conflict", err)
		}
		second.Status, second.Result = chat.JobSucceeded, json.RawMessage(`{"answer":"42"}`)
		if err := s.UpdateJob(ctx, second); err != nil {
			t.Fatal(err)
		}
		done, err := s.ClaimJob(ctx, "alice", "j1", clock.Now().Add(time.Minute))
		if err != nil || done.Status != chat.JobSucceeded || done.Attempt != 2 || string(done.Result) != `{"answer":"42"}` {
			t.Fatalf("claim of a finished job: %+v, %v; want it as it is, unclaimed", done, err)
		}
		if _, err := s.ClaimJob(ctx, "alice", "missing", clock.Now().Add(time.Minute)); !IsCode(err, chat.CodeNotFound) {
			t.Fatalf("claim of a missing job: %v, want not_found", err)
		}
	})
	t.Run("failed job keeps its error", func(t *testing.T) {
		t.Parallel()
		clock := NewClock()
		s := newStore(t, clock.Now)
		if err := s.CreateJob(ctx, chat.JobRecord{UserID: "u", ID: "j", Message: "q"}); err != nil {
			t.Fatal(err)
		}
		j, err := s.ClaimJob(ctx, "u", "j", clock.Now().Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		j.Status, j.Error = chat.JobFailed, &chat.JobError{Code: chat.CodeUnavailable, Message: "the model is unavailable"}
		if err := s.UpdateJob(ctx, j); err != nil {
			t.Fatal(err)
		}
		got, err := s.Job(ctx, "u", "j")
		if err != nil || got.Status != chat.JobFailed || got.Error == nil || *got.Error != *j.Error {
			t.Fatalf("Job: %+v, %v", got, err)
		}
	})
	t.Run("idempotency", func(t *testing.T) {
		t.Parallel()
		clock := NewClock()
		s := newStore(t, clock.Now)
		rec := chat.IdempotencyRecord{UserID: "alice", Key: "k1", RequestHash: "h1", Token: "t1", LeaseUntil: clock.Now().Add(time.Minute)}
		if _, began, err := s.BeginIdempotent(ctx, rec); err != nil || !began {
			t.Fatalf("first Begin: %v, %v", began, err)
		}
		held, began, err := s.BeginIdempotent(ctx, rec)
		if err != nil || began || held.Done || held.RequestHash != "h1" {
			t.Fatalf("Begin while running: %+v, %v, %v; want held, not done", held, began, err)
		}
		other := rec
		other.UserID = "bob"
		if _, began, err := s.BeginIdempotent(ctx, other); err != nil || !began {
			t.Fatalf("another user's equal key: %v, %v; want begun", began, err)
		}
		body := []byte("{\"answer\": \"exact bytes\"}\n")
		rec.Status, rec.Body = 200, body
		if err := s.CompleteIdempotent(ctx, rec); err != nil {
			t.Fatal(err)
		}
		clock.Advance(23 * time.Hour)
		held, began, err = s.BeginIdempotent(ctx, rec)
		if err != nil || began || !held.Done || held.Status != 200 || !bytes.Equal(held.Body, body) {
			t.Fatalf("Begin after the answer: %+v, %v, %v; want the answer's exact bytes", held, began, err)
		}
		clock.Advance(2 * time.Hour) // past the 24 h
		rec.LeaseUntil = clock.Now().Add(time.Minute)
		if _, began, err := s.BeginIdempotent(ctx, rec); err != nil || !began {
			t.Fatalf("Begin after 25 h: %v, %v; want begun", began, err)
		}
		if err := s.ReleaseIdempotent(ctx, "alice", "k1", "t1"); err != nil {
			t.Fatal(err)
		}
		if _, began, err := s.BeginIdempotent(ctx, rec); err != nil || !began {
			t.Fatalf("Begin after Release: %v, %v; want begun", began, err)
		}
		clock.Advance(2 * time.Minute) // the runner overran its lease
		late := rec
		rec.Token, rec.LeaseUntil = "t2", clock.Now().Add(time.Minute)
		if _, began, err := s.BeginIdempotent(ctx, rec); err != nil || !began {
			t.Fatalf("Begin after a dead runner's lease: %v, %v; want begun", began, err)
		}
		// The overrunning request can neither answer for the key nor free it.
		late.Status, late.Body = 200, []byte("{}\n")
		if err := s.CompleteIdempotent(ctx, late); !IsCode(err, chat.CodeConflict) {
			t.Fatalf("Complete by the request that lost the key: %v, want conflict", err)
		}
		if err := s.ReleaseIdempotent(ctx, "alice", "k1", "t1"); err != nil {
			t.Fatal(err)
		}
		if held, began, err := s.BeginIdempotent(ctx, rec); err != nil || began || held.Token != "t2" {
			t.Fatalf("after the stale release: %+v, %v, %v; want the key still held by t2", held, began, err)
		}
	})
	t.Run("one of 50 concurrent begins", func(t *testing.T) {
		t.Parallel()
		clock := NewClock()
		s := newStore(t, clock.Now)
		var began atomic.Int32
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() {
				_, ok, err := s.BeginIdempotent(ctx, chat.IdempotencyRecord{UserID: "u", Key: "same", RequestHash: "h", Token: "t", LeaseUntil: clock.Now().Add(time.Minute)})
				if err != nil {
					t.Error(err)
				}
				if ok {
					began.Add(1)
				}
			})
		}
		wg.Wait()
		if n := began.Load(); n != 1 {
			t.Fatalf("%d of 50 concurrent requests began, want 1", n)
		}
	})
}

package chat

import (
	"context"
	"encoding/json"
	"time"
)

// JobStatus is where a queued turn is.
type JobStatus string

const (
	JobQueued    JobStatus = "queued"
	JobRunning   JobStatus = "running"
	JobSucceeded JobStatus = "succeeded"
	JobFailed    JobStatus = "failed"
)

// Done reports whether the job has ended, for good.
func (s JobStatus) Done() bool { return s == JobSucceeded || s == JobFailed }

// JobEvent is one event of a job's turn, already encoded for clients (an
// AG-UI event object); Seq orders them and pages them (?after=N).
type JobEvent struct {
	Seq  int             `json:"seq"`
	Data json.RawMessage `json:"data"`
}

// JobRecord is a queued turn: its request, its progress and its outcome.
// It belongs to UserID and expires with the conversation TTL.
type JobRecord struct {
	UserID         string    `json:"user_id"`
	ID             string    `json:"job_id"`
	Status         JobStatus `json:"status"`
	Message        string    `json:"message"`
	ConversationID string    `json:"conversation_id,omitempty"`
	// NewConversation says ConversationID was given to the job when it was
	// queued, for the conversation its turn starts: every attempt stores
	// into that one.
	NewConversation bool      `json:"new_conversation,omitempty"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
	// Attempt counts the claims of the job; the holder of a claim writes
	// the job on condition that Attempt is still its own.
	Attempt    int             `json:"attempt"`
	LeaseUntil time.Time       `json:"lease_until"`
	Events     []JobEvent      `json:"events,omitempty"`
	Result     json.RawMessage `json:"result,omitempty"` // the answer as POST /chat gives it
	Error      *JobError       `json:"error,omitempty"`
}

// JobError is why a job failed for good, as the JSON error of POST /chat
// would have said it.
type JobError struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
}

// Jobs is what queued turns need of the store. Used by the chat route
// (create), the jobs route (read) and the worker (claim, update). Scoped
// to the user like Memory: another user's job is CodeNotFound.
type Jobs interface {
	// CreateJob stores j as queued. CodeConflict when the id is taken.
	CreateJob(ctx context.Context, j JobRecord) error
	// Job returns the user's job or CodeNotFound.
	Job(ctx context.Context, userID, jobID string) (JobRecord, error)
	// ClaimJob makes the caller the job's runner until leaseUntil: it
	// succeeds when the job is queued, or running under a lease that has
	// passed (its runner died), and returns the job with Attempt counted.
	// A job that is done is returned as it is, unclaimed; one running
	// under a live lease is CodeConflict. A lease must end in the future:
	// a runner that has no time left does not claim.
	ClaimJob(ctx context.Context, userID, jobID string, leaseUntil time.Time) (JobRecord, error)
	// UpdateJob writes the claimed job's status, events, result and error,
	// on condition that j.Attempt still holds the claim: CodeConflict when
	// another runner took the job over.
	UpdateJob(ctx context.Context, j JobRecord) error
}

// IdempotencyRecord remembers the answer to one Idempotency-Key of a user.
type IdempotencyRecord struct {
	UserID string `json:"user_id"`
	Key    string `json:"key"`
	// RequestHash identifies the request the key was first used with.
	RequestHash string `json:"request_hash"`
	// Token names the request holding the key: only it completes or
	// releases the record, even after its lease passed and another began.
	Token string `json:"token"`
	// Done is false while the first request runs, until LeaseUntil; once
	// Done, LeaseUntil is when the record expires.
	Done       bool      `json:"done"`
	LeaseUntil time.Time `json:"lease_until"`
	// Status and Body are the first request's answer, replayed as they were.
	Status int             `json:"status,omitempty"`
	Body   json.RawMessage `json:"body,omitempty"`
}

// Idempotency keeps Idempotency-Key records for 24 hours. Used by the
// chat route. Scoped to the user: two users' equal keys never meet.
type Idempotency interface {
	// BeginIdempotent records r (not Done) unless the key is held; then it
	// returns the record that holds it and began false. A key is held by
	// a Done record, or by one whose LeaseUntil has not passed: a request
	// that died while running frees its key when its lease ends.
	BeginIdempotent(ctx context.Context, r IdempotencyRecord) (held IdempotencyRecord, began bool, err error)
	// CompleteIdempotent stores the answer (r.Done, Status, Body) of the
	// request that began r, if r.Token still holds the key: CodeConflict
	// when another request began it since.
	CompleteIdempotent(ctx context.Context, r IdempotencyRecord) error
	// ReleaseIdempotent forgets the key held by token, so a retry of a
	// request that failed before it was answered runs again; a key another
	// request holds now is left alone.
	ReleaseIdempotent(ctx context.Context, userID, key, token string) error
}

// IdempotencyTTL is how long a key is remembered.
const IdempotencyTTL = 24 * time.Hour

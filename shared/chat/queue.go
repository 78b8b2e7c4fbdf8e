package chat

import "context"

// Job names one queued turn: whose it is and which job record holds its
// request, progress and result. It is all a queue message carries, so no
// question or answer ever sits in a queue.
type Job struct {
	UserID string `json:"user_id"`
	JobID  string `json:"job_id"`
}

// Queue hands queued turns to a worker. Used by the chat route when a
// client asks to be answered later (Prefer: respond-async).
//
// Enqueue returns once the job is accepted for delivery: CodeUnavailable
// when the queue cannot take it now (the caller answers 503 and the job
// record stays queued with nothing run). Delivery is at least once, so the
// worker must make a job that arrives twice run one turn. Safe for
// concurrent use.
type Queue interface {
	Enqueue(ctx context.Context, job Job) error
}

// JobHandler runs one delivery of a job. attempt counts deliveries from 1.
// An error asks for the job to be delivered again later, until the queue's
// limit of deliveries moves it aside (a dead-letter queue); nil means the
// job is done with, succeeded or failed for good.
type JobHandler func(ctx context.Context, job Job, attempt int) error

package embedded

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/datachat/datachat/shared/chat"
)

// Queue is an in-process worker pool behind chat.Queue: the default for
// local runs, so queued turns need no setup. It keeps SQS's contract as
// the worker sees it (at-least-once delivery, a bounded number of
// deliveries, a failed delivery retried after a delay) but loses queued
// jobs when the process exits.
type Queue struct {
	handle      chat.JobHandler
	logger      *slog.Logger
	maxReceives int
	retryDelay  time.Duration

	jobs chan delivery
	ctx  context.Context // cancelled by Close: ends the workers' turns
	stop context.CancelFunc
	wg   sync.WaitGroup
	// dead counts jobs that failed every delivery, for tests and logs.
	mu   sync.Mutex
	dead []chat.Job
}

type delivery struct {
	job     chat.Job
	attempt int
}

var _ chat.Queue = (*Queue)(nil)

// QueueOptions configure a Queue. Zero values take the defaults.
type QueueOptions struct {
	Workers     int           // concurrent jobs (default 16)
	Capacity    int           // jobs waiting before Enqueue refuses (default 1,000)
	MaxReceives int           // deliveries before a job is set aside, as SQS's maxReceiveCount (default 3)
	RetryDelay  time.Duration // wait before a failed delivery is retried (default 1 s)
	Logger      *slog.Logger  // default slog.Default()
}

// NewQueue starts the pool's workers; each delivery runs handle. Close
// stops them.
func NewQueue(handle chat.JobHandler, o QueueOptions) (*Queue, error) {
	if handle == nil {
		return nil, errors.New("embedded.NewQueue: a job handler is required")
	}
	if o.Workers <= 0 {
		o.Workers = 16
	}
	if o.Capacity <= 0 {
		o.Capacity = 1000
	}
	if o.MaxReceives <= 0 {
		o.MaxReceives = 3
	}
	if o.RetryDelay <= 0 {
		o.RetryDelay = time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	ctx, stop := context.WithCancel(context.Background())
	q := &Queue{handle: handle, logger: o.Logger, maxReceives: o.MaxReceives, retryDelay: o.RetryDelay,
		jobs: make(chan delivery, o.Capacity), ctx: ctx, stop: stop}
	for range o.Workers {
		q.wg.Go(q.work)
	}
	return q, nil
}

// Enqueue implements chat.Queue.
func (q *Queue) Enqueue(ctx context.Context, job chat.Job) error {
	if q.ctx.Err() != nil {
		return chat.Errorf(chat.CodeUnavailable, "the server is shutting down; send the question again")
	}
	select {
	case q.jobs <- delivery{job: job, attempt: 1}:
		return nil
	case <-ctx.Done():
		return chat.Wrap(ctx.Err(), chat.CodeUnavailable, "embedded.Queue.Enqueue", "the job queue is full; try again shortly")
	default:
		return &chat.Error{Code: chat.CodeUnavailable, Op: "embedded.Queue.Enqueue", RetryAfter: 5,
			Message: fmt.Sprintf("the job queue is full (%d jobs waiting); try again shortly", cap(q.jobs))}
	}
}

func (q *Queue) work() {
	for {
		select {
		case <-q.ctx.Done():
			return
		case d := <-q.jobs:
			q.deliver(d)
		}
	}
}

func (q *Queue) deliver(d delivery) {
	err := q.run(d)
	if err == nil {
		return
	}
	if d.attempt >= q.maxReceives {
		q.logger.Error("queued job failed every delivery; set aside", "user_id", d.job.UserID, "job_id", d.job.JobID, "attempts", d.attempt, "error", err)
		q.mu.Lock()
		q.dead = append(q.dead, d.job)
		q.mu.Unlock()
		return
	}
	q.logger.Warn("queued job failed; will retry", "user_id", d.job.UserID, "job_id", d.job.JobID, "attempt", d.attempt, "error", err)
	d.attempt++
	// The retry waits outside the worker, as a message waits out its
	// visibility timeout, so one failing job does not hold a worker.
	q.wg.Go(func() {
		t := time.NewTimer(q.retryDelay)
		defer t.Stop()
		select {
		case <-q.ctx.Done():
		case <-t.C:
			select {
			case q.jobs <- d:
			case <-q.ctx.Done():
			}
		}
	})
}

// run is one delivery; a panic is a failed delivery, not a dead process.
func (q *Queue) run(d delivery) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic: %v", v)
		}
	}()
	return q.handle(q.ctx, d.job, d.attempt)
}

// Dead returns the jobs that failed every delivery.
func (q *Queue) Dead() []chat.Job {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]chat.Job(nil), q.dead...)
}

// Close stops taking jobs, cancels the running ones and waits for the
// workers, or for ctx. Jobs still waiting are dropped: their records stay
// queued, as they would if a worker instance died.
func (q *Queue) Close(ctx context.Context) error {
	q.stop()
	done := make(chan struct{})
	go func() { q.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("embedded.Queue.Close: %w", ctx.Err())
	}
}

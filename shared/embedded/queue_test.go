package embedded_test

import (
	"context"
	"testing"
	"time"

	"github.com/datachat/datachat/shared/chat"
	"github.com/datachat/datachat/shared/chat/chattest"
	"github.com/datachat/datachat/shared/embedded"
)

func TestQueueContract(t *testing.T) {
	chattest.QueueContract(t, 3, func(t *testing.T, handle chat.JobHandler) chattest.QueueUnderTest {
		q, err := embedded.NewQueue(handle, embedded.QueueOptions{Workers: 4, MaxReceives: 3, RetryDelay: 10 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = q.Close(context.Background()) })
		return chattest.QueueUnderTest{Queue: q, Dead: func(*testing.T) []chat.Job { return q.Dead() }}
	})
}

func TestQueueRefusesWhenFull(t *testing.T) {
	block := make(chan struct{})
	q, err := embedded.NewQueue(func(ctx context.Context, _ chat.Job, _ int) error {
		select {
		case <-block:
		case <-ctx.Done():
		}
		return nil
	}, embedded.QueueOptions{Workers: 1, Capacity: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { close(block); _ = q.Close(context.Background()) }()
	// One job runs, two wait; the fourth finds the queue full. The first
	// Enqueue may not have been taken by the worker yet, so allow one more.
	var refused error
	for i := range 5 {
		if err := q.Enqueue(t.Context(), chat.Job{UserID: "u", JobID: string(rune('a' + i))}); err != nil {
			refused = err
			break
		}
	}
	if chat.ErrorCode(refused) != chat.CodeUnavailable {
		t.Fatalf("got %v, want unavailable once the queue is full", refused)
	}
	var e *chat.Error
	if ok := asError(refused, &e); !ok || e.RetryAfter == 0 {
		t.Fatalf("a full queue must say when to retry: %+v", refused)
	}
}

func asError(err error, target **chat.Error) bool {
	e, ok := err.(*chat.Error)
	*target = e
	return ok
}

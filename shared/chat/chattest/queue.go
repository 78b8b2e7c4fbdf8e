package chattest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/datachat/datachat/shared/chat"
)

// QueueUnderTest is one implementation of chat.Queue wired to a handler,
// with a view of the jobs it set aside after their last delivery.
type QueueUnderTest struct {
	Queue chat.Queue
	Dead  func(t *testing.T) []chat.Job
}

// QueueContract runs the behaviour every chat.Queue must have, as its
// worker sees it: at-least-once delivery with the attempt counted, a
// failed delivery retried, and a job that fails every delivery set aside
// after maxReceives. start builds a fresh queue whose deliveries run handle.
func QueueContract(t *testing.T, maxReceives int, start func(t *testing.T, handle chat.JobHandler) QueueUnderTest) {
	t.Run("DeliversEveryJob", func(t *testing.T) {
		t.Parallel()
		var mu sync.Mutex
		got := map[chat.Job]int{}
		q := start(t, func(_ context.Context, j chat.Job, _ int) error {
			mu.Lock()
			got[j]++
			mu.Unlock()
			return nil
		})
		var want []chat.Job
		for i := range 20 {
			j := chat.Job{UserID: fmt.Sprintf("user-%d", i%4), JobID: fmt.Sprintf("job-%d", i)}
			want = append(want, j)
			if err := q.Queue.Enqueue(t.Context(), j); err != nil {
				t.Fatalf("Enqueue(%v): %v", j, err)
			}
		}
		waitFor(t, 30*time.Second, func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(got) == len(want)
		})
		mu.Lock()
		defer mu.Unlock()
		for _, j := range want {
			if got[j] < 1 {
				t.Errorf("job %v never delivered", j)
			}
		}
	})
	t.Run("RetriesAFailedDelivery", func(t *testing.T) {
		t.Parallel()
		var mu sync.Mutex
		var attempts []int
		q := start(t, func(_ context.Context, _ chat.Job, attempt int) error {
			mu.Lock()
			defer mu.Unlock()
			attempts = append(attempts, attempt)
			if attempt == 1 {
				return fmt.Errorf("the worker died")
			}
			return nil
		})
		if err := q.Queue.Enqueue(t.Context(), chat.Job{UserID: "u", JobID: "retry"}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 30*time.Second, func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(attempts) >= 2
		})
		mu.Lock()
		defer mu.Unlock()
		if attempts[0] != 1 || attempts[1] != 2 {
			t.Fatalf("attempts %v, want 1 then 2", attempts)
		}
	})
	t.Run("SetsAsideAfterMaxReceives", func(t *testing.T) {
		t.Parallel()
		var mu sync.Mutex
		n := 0
		q := start(t, func(context.Context, chat.Job, int) error {
			mu.Lock()
			n++
			mu.Unlock()
			return fmt.Errorf("always fails")
		})
		job := chat.Job{UserID: "u", JobID: "doomed"}
		if err := q.Queue.Enqueue(t.Context(), job); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 60*time.Second, func() bool { return len(q.Dead(t)) == 1 })
		if d := q.Dead(t); d[0] != job {
			t.Fatalf("set aside %v, want %v", d, job)
		}
		mu.Lock()
		defer mu.Unlock()
		if n != maxReceives {
			t.Fatalf("delivered %d times, want exactly %d before it is set aside", n, maxReceives)
		}
	})
}

// waitFor polls cond until it holds or the time is up. The bound only
// stops a broken implementation from hanging the suite; nothing is timed.
func waitFor(t *testing.T, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s", within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

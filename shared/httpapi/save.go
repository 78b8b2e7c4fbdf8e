package httpapi

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/datachat/datachat/shared/chat"
)

// save stores turn, trying again while the store is busy (CodeUnavailable,
// such as throttling) or lost a race too often (CodeConflict), with a
// growing jittered pause, until ctx's deadline (the save reserve) leaves
// no room for another attempt. The model's work is already paid for, so
// the reserve is spent on keeping it rather than failing at once.
func (s *server) save(ctx context.Context, turn chat.Turn) (chat.Turn, error) {
	for attempt := 0; ; attempt++ {
		stored, err := s.Memory.Append(ctx, turn)
		if code := chat.ErrorCode(err); err == nil || (code != chat.CodeUnavailable && code != chat.CodeConflict) {
			return stored, err
		}
		pause := min(25*time.Millisecond<<min(attempt, 5), 500*time.Millisecond)
		pause = pause/2 + rand.N(pause/2+1)
		if d, ok := ctx.Deadline(); ok && time.Until(d) < 2*pause {
			return chat.Turn{}, err
		}
		timer := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			timer.Stop()
			return chat.Turn{}, err
		case <-timer.C:
		}
	}
}

package chattest

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/datachat/datachat/shared/chat"
)

// MeterUnderTest is one chat.Meter with a view of its day counter.
type MeterUnderTest struct {
	Meter chat.Meter
	Used  func(t *testing.T, userID string, now time.Time) int
}

// MeterContract runs the behaviour every chat.Meter must have. newMeter
// returns a fresh, empty meter; each case uses its own users.
func MeterContract(t *testing.T, newMeter func(t *testing.T) MeterUnderTest) {
	now := time.Date(2026, 12, 1, 21, 14, 30, 0, time.UTC)
	ctx := context.Background()

	t.Run("TurnsPerMinuteAtAndPastTheLimit", func(t *testing.T) {
		t.Parallel()
		m := newMeter(t)
		l := chat.UserLimits{TurnsPerMinute: 3}
		for i := range 3 {
			if _, err := m.Meter.Reserve(ctx, "rate", now, l, 100); err != nil {
				t.Fatalf("turn %d of 3: %v", i+1, err)
			}
		}
		_, err := m.Meter.Reserve(ctx, "rate", now, l, 100)
		var e *chat.Error
		if !asChatError(err, &e) || e.Code != chat.CodeRateLimited {
			t.Fatalf("turn 4 of 3: %v, want rate_limited", err)
		}
		if e.RetryAfter != 30 || !strings.Contains(e.Message, "2026-12-01T21:15:00Z") {
			t.Fatalf("refusal %+v: want Retry-After 30 and the reset time 21:15:00Z in the message", e)
		}
		if _, err := m.Meter.Reserve(ctx, "rate", now.Add(30*time.Second), l, 100); err != nil {
			t.Fatalf("the next minute must admit again: %v", err)
		}
		if _, err := m.Meter.Reserve(ctx, "rate-other", now, l, 100); err != nil {
			t.Fatalf("another user has a counter of their own: %v", err)
		}
	})

	t.Run("DailyTokensReserveThenSettle", func(t *testing.T) {
		t.Parallel()
		m := newMeter(t)
		l := chat.UserLimits{DailyTokens: 50000}
		// Admitted while the day's count is under the limit: 0, 20k, 40k.
		var rs []chat.Reservation
		for i := range 3 {
			r, err := m.Meter.Reserve(ctx, "budget", now, l, 20000)
			if err != nil {
				t.Fatalf("turn %d: %v", i+1, err)
			}
			rs = append(rs, r)
		}
		_, err := m.Meter.Reserve(ctx, "budget", now, l, 20000)
		var e *chat.Error
		if !asChatError(err, &e) || e.Code != chat.CodeBudgetExhausted || !strings.Contains(e.Message, "2026-12-02T00:00:00Z") || e.RetryAfter != 9930 {
			t.Fatalf("turn 4: %+v, want budget_exhausted resetting at midnight UTC (Retry-After 9930)", err)
		}
		for _, r := range rs {
			if err := m.Meter.Settle(ctx, r, 4000); err != nil {
				t.Fatal(err)
			}
		}
		if got := m.Used(t, "budget", now); got != 12000 {
			t.Fatalf("after settling three turns of 4,000 tokens the day holds %d, want exactly 12000", got)
		}
		// Settled below the limit, the user may ask again.
		if _, err := m.Meter.Reserve(ctx, "budget", now, l, 20000); err != nil {
			t.Fatalf("after settling: %v", err)
		}
		if _, err := m.Meter.Reserve(ctx, "budget", now.Add(24*time.Hour), l, 20000); err != nil {
			t.Fatalf("the next day starts at zero: %v", err)
		}
	})

	t.Run("RefusedByOneLimitCountsAgainstNeither", func(t *testing.T) {
		t.Parallel()
		m := newMeter(t)
		l := chat.UserLimits{DailyTokens: 1000, TurnsPerMinute: 2}
		r, err := m.Meter.Reserve(ctx, "both", now, l, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Meter.Reserve(ctx, "both", now, l, 1000); chat.ErrorCode(err) != chat.CodeBudgetExhausted {
			t.Fatalf("got %v, want budget_exhausted", err)
		}
		// The refused turn took no turn of the minute: after settling the
		// first turn low, one more turn is still allowed this minute.
		if err := m.Meter.Settle(ctx, r, 10); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Meter.Reserve(ctx, "both", now, l, 1000); err != nil {
			t.Fatalf("second turn of the minute: %v", err)
		}
		if _, err := m.Meter.Reserve(ctx, "both", now, l, 1000); chat.ErrorCode(err) != chat.CodeRateLimited && chat.ErrorCode(err) != chat.CodeBudgetExhausted {
			t.Fatalf("third turn: %v, want a refusal", err)
		}
	})

	t.Run("ConcurrentTurnsOverrunByAtMostOneReservation", func(t *testing.T) {
		t.Parallel()
		m := newMeter(t)
		l := chat.UserLimits{DailyTokens: 100000}
		var mu sync.Mutex
		var admitted []chat.Reservation
		var wg sync.WaitGroup
		for range 40 {
			wg.Go(func() {
				r, err := m.Meter.Reserve(ctx, "crowd", now, l, 20000)
				switch {
				case err == nil:
					mu.Lock()
					admitted = append(admitted, r)
					mu.Unlock()
				case chat.ErrorCode(err) != chat.CodeBudgetExhausted:
					t.Errorf("Reserve: %v", err)
				}
			})
		}
		wg.Wait()
		// Admitted at 0, 20k, 40k, 60k and 80k: exactly five, so the day
		// can reach 100k, the limit, and never more than one turn past it.
		if len(admitted) != 5 {
			t.Fatalf("%d turns admitted, want exactly 5", len(admitted))
		}
		for _, r := range admitted {
			wg.Go(func() {
				if err := m.Meter.Settle(ctx, r, 20001); err != nil {
					t.Errorf("Settle: %v", err)
				}
			})
		}
		wg.Wait()
		if got := m.Used(t, "crowd", now); got != 5*20001 {
			t.Fatalf("the day holds %d, want exactly %d after settling", got, 5*20001)
		}
	})

	t.Run("NoLimitsReserveNothing", func(t *testing.T) {
		t.Parallel()
		m := newMeter(t)
		r, err := m.Meter.Reserve(ctx, "free", now, chat.UserLimits{}, 20000)
		if err != nil || r.Tokens != 0 || r.Day != "" {
			t.Fatalf("got %+v, %v: want an empty reservation", r, err)
		}
		if err := m.Meter.Settle(ctx, r, 500); err != nil {
			t.Fatal(err)
		}
		if got := m.Used(t, "free", now); got != 0 {
			t.Fatalf("unlimited turns counted %d tokens", got)
		}
	})
}

func asChatError(err error, target **chat.Error) bool {
	e, ok := err.(*chat.Error)
	*target = e
	return ok && e != nil
}

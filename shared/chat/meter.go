package chat

import (
	"context"
	"fmt"
	"time"
)

// UserLimits bound what one user may spend, across all their turns and
// conversations. Zero means unlimited.
type UserLimits struct {
	DailyTokens    int // tokens per UTC day
	TurnsPerMinute int // turns started per UTC minute
}

// On reports whether any limit is set; with none, a turn never touches the
// counters, so it costs no round trip.
func (l UserLimits) On() bool { return l.DailyTokens > 0 || l.TurnsPerMinute > 0 }

// Reservation is what Reserve took for one turn, to be settled when the
// turn has run.
type Reservation struct {
	UserID string
	Day    string // the UTC day whose token counter holds the reservation, "2006-01-02"
	Tokens int    // tokens reserved (0 when no daily limit is set)
}

// Meter keeps the per-user counters behind UserLimits. Used by the chat
// route before and after each turn.
//
// Reserve counts one turn against userID's minute of now and reserves
// tokens against their day of now, all or nothing, in one atomic step per
// store: concurrent turns cannot all pass a check that only one of them
// fits. A turn is admitted while the day's count (reservations included)
// is below the limit, so a user runs over by at most one turn's
// reservation. Over a limit it returns CodeRateLimited or
// CodeBudgetExhausted with RetryAfter set to the seconds until the window
// resets and a message saying when; a store that cannot answer is
// CodeUnavailable. Settle replaces the reservation by the tokens the turn
// used. Safe for concurrent use.
type Meter interface {
	Reserve(ctx context.Context, userID string, now time.Time, l UserLimits, tokens int) (Reservation, error)
	Settle(ctx context.Context, r Reservation, used int) error
}

// Windows of the counters: a minute for turns, a day for tokens, both UTC.
func MinuteWindow(now time.Time) (key string, reset time.Time) {
	m := now.UTC().Truncate(time.Minute)
	return m.Format("2006-01-02T15:04"), m.Add(time.Minute)
}

// DayWindow is the UTC day of now and when it ends.
func DayWindow(now time.Time) (key string, reset time.Time) {
	d := now.UTC().Truncate(24 * time.Hour)
	return d.Format("2006-01-02"), d.Add(24 * time.Hour)
}

// RateLimited is the error of a user over TurnsPerMinute at now.
func RateLimited(l UserLimits, now time.Time) *Error {
	_, reset := MinuteWindow(now)
	return &Error{Code: CodeRateLimited, RetryAfter: retryAfter(now, reset),
		Message: fmt.Sprintf("you have started %d turns this minute, the most allowed; try again after %s", l.TurnsPerMinute, reset.Format(time.RFC3339))}
}

// BudgetExhausted is the error of a user over DailyTokens at now.
func BudgetExhausted(l UserLimits, now time.Time) *Error {
	_, reset := DayWindow(now)
	return &Error{Code: CodeBudgetExhausted, RetryAfter: retryAfter(now, reset),
		Message: fmt.Sprintf("you have used your %d tokens for today; the budget resets at %s", l.DailyTokens, reset.Format(time.RFC3339))}
}

func retryAfter(now, reset time.Time) int {
	return max(1, int(reset.Sub(now).Round(time.Second)/time.Second))
}

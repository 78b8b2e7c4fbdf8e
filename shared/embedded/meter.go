package embedded

import (
	"context"
	"sync"
	"time"

	"github.com/datachat/datachat/shared/chat"
)

// Meter is chat.Meter in process memory: the per-user counters of local
// runs. Each user has the counter of their current minute and day; older
// windows are forgotten as new ones start.
type Meter struct {
	mu    sync.Mutex
	users map[string]*userCounters
}

type userCounters struct {
	minute string
	turns  int
	day    string
	tokens int
}

var _ chat.Meter = (*Meter)(nil)

// NewMeter returns counters that start at zero.
func NewMeter() *Meter { return &Meter{users: map[string]*userCounters{}} }

// Reserve implements chat.Meter.
func (m *Meter) Reserve(_ context.Context, userID string, now time.Time, l chat.UserLimits, tokens int) (chat.Reservation, error) {
	minute, _ := chat.MinuteWindow(now)
	day, _ := chat.DayWindow(now)
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.users[userID]
	if c == nil {
		c = &userCounters{}
		m.users[userID] = c
	}
	if c.minute != minute {
		c.minute, c.turns = minute, 0
	}
	if c.day != day {
		c.day, c.tokens = day, 0
	}
	if l.TurnsPerMinute > 0 && c.turns >= l.TurnsPerMinute {
		return chat.Reservation{}, chat.RateLimited(l, now)
	}
	if l.DailyTokens > 0 && c.tokens >= l.DailyTokens {
		return chat.Reservation{}, chat.BudgetExhausted(l, now)
	}
	r := chat.Reservation{UserID: userID}
	if l.TurnsPerMinute > 0 {
		c.turns++
	}
	if l.DailyTokens > 0 {
		c.tokens += tokens
		r.Day, r.Tokens = day, tokens
	}
	return r, nil
}

// Settle implements chat.Meter.
func (m *Meter) Settle(_ context.Context, r chat.Reservation, used int) error {
	if r.Day == "" {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if c := m.users[r.UserID]; c != nil && c.day == r.Day {
		c.tokens += used - r.Tokens
	}
	return nil
}

// Used returns the tokens counted for userID's day of now, for tests and
// reports.
func (m *Meter) Used(userID string, now time.Time) int {
	day, _ := chat.DayWindow(now)
	m.mu.Lock()
	defer m.mu.Unlock()
	if c := m.users[userID]; c != nil && c.day == day {
		return c.tokens
	}
	return 0
}

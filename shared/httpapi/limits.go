package httpapi

import (
	"context"
	"log/slog"

	"github.com/datachat/datachat/shared/chat"
)

// reserve takes one turn and a turn's worth of tokens from the user's
// budgets before the turn runs. With no limit set it returns at once: a
// turn under no limit costs no round trip.
func (s *server) reserve(ctx context.Context, user string) (chat.Reservation, error) {
	if !s.UserLimits.On() {
		return chat.Reservation{}, nil
	}
	return s.Meter.Reserve(ctx, user, s.Now(), s.UserLimits, s.TurnTokens)
}

// settle corrects the reservation with the tokens the turn used. It runs
// whether or not the turn succeeded (a failed turn settles at what it
// reported, usually nothing), on a context of its own: the client going
// away must not leave a reservation standing. A failure is logged, not
// returned: the answer is already decided, and the day's counter then errs
// on the side of the reservation.
func (s *server) settle(ctx context.Context, r chat.Reservation, used int) {
	if r.Day == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.SaveReserve)
	defer cancel()
	if err := s.Meter.Settle(ctx, r, used); err != nil {
		s.Logger.LogAttrs(ctx, slog.LevelWarn, "settling the user's token budget failed", slog.String("error", err.Error()), slog.Int("reserved", r.Tokens), slog.Int("used", used))
	}
}

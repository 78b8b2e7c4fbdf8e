package dynamo_test

import (
	"context"
	"testing"
	"time"

	"github.com/datachat/datachat/shared/chat"
	"github.com/datachat/datachat/shared/chat/chattest"
	"github.com/datachat/datachat/shared/dynamo"
)

func TestMeterContract(t *testing.T) {
	chattest.MeterContract(t, func(t *testing.T) chattest.MeterUnderTest {
		f := newFixture(t, dynamo.Options{})
		return chattest.MeterUnderTest{Meter: f.store, Used: func(t *testing.T, user string, now time.Time) int {
			n, err := f.store.Used(context.Background(), user, now)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}}
	})
}

// TestMeterRoundTrips counts the calls a turn's reserve and settle cost:
// none without limits, one each with one or both.
func TestMeterRoundTrips(t *testing.T) {
	f := newFixture(t, dynamo.Options{})
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name            string
		limits          chat.UserLimits
		reserve, settle int
	}{
		{"none", chat.UserLimits{}, 0, 0},
		{"turns", chat.UserLimits{TurnsPerMinute: 10}, 1, 0},
		{"tokens", chat.UserLimits{DailyTokens: 1 << 20}, 1, 1},
		{"both", chat.UserLimits{DailyTokens: 1 << 20, TurnsPerMinute: 10}, 1, 1},
	} {
		f.ops.reset()
		r, err := f.store.Reserve(ctx, "user-"+tc.name, now, tc.limits, 20000)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.ops.total(); got != tc.reserve {
			t.Errorf("%s: Reserve made %d calls, want %d", tc.name, got, tc.reserve)
		}
		f.ops.reset()
		if err := f.store.Settle(ctx, r, 1234); err != nil {
			t.Fatal(err)
		}
		if got := f.ops.total(); got != tc.settle {
			t.Errorf("%s: Settle made %d calls, want %d", tc.name, got, tc.settle)
		}
	}
}

package embedded_test

import (
	"testing"
	"time"

	"github.com/datachat/datachat/shared/chat/chattest"
	"github.com/datachat/datachat/shared/embedded"
)

func TestMeterContract(t *testing.T) {
	chattest.MeterContract(t, func(*testing.T) chattest.MeterUnderTest {
		m := embedded.NewMeter()
		return chattest.MeterUnderTest{Meter: m, Used: func(_ *testing.T, user string, now time.Time) int { return m.Used(user, now) }}
	})
}

package embedded_test

import (
	"testing"
	"time"

	"github.com/datachat/datachat/shared/chat/chattest"
	"github.com/datachat/datachat/shared/embedded"
)

func TestMemoryContract(t *testing.T) {
	chattest.TestMemory(t, func(t *testing.T) chattest.Memory { return embedded.NewMemory(nil) })
}

func TestJobsContract(t *testing.T) {
	chattest.JobsContract(t, func(t *testing.T, now func() time.Time) chattest.JobStore {
		return embedded.NewJobs(now)
	})
}

package dynamo_test

import (
	"testing"

	"github.com/datachat/datachat/shared/chat/chattest"
	"github.com/datachat/datachat/shared/dynamo"
)

func TestMemoryContract(t *testing.T) {
	t.Parallel()
	chattest.TestMemory(t, func(t *testing.T) chattest.Memory {
		return newFixture(t, dynamo.Options{}).store
	})
}

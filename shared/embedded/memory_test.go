package embedded_test

import (
	"testing"

	"github.com/datachat/datachat/shared/chat/chattest"
	"github.com/datachat/datachat/shared/embedded"
)

func TestMemoryContract(t *testing.T) {
	chattest.TestMemory(t, func(t *testing.T) chattest.Memory { return embedded.NewMemory(nil) })
}

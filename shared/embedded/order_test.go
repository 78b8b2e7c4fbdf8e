package embedded_test

import (
	"testing"

	"github.com/datachat/datachat/shared/chat/chattest"
	"github.com/datachat/datachat/shared/embedded"
)

// TestWarehouseOrder runs the ordering contract (nulls, ties, no sort,
// whole days) that Weaviate passes too.
func TestWarehouseOrder(t *testing.T) {
	w, err := embedded.NewWarehouse([]embedded.Dataset{{Collection: chattest.OrderCollection("Events"), Rows: chattest.OrderRows(), IDs: chattest.OrderIDs()}}, 500)
	if err != nil {
		t.Fatal(err)
	}
	chattest.TestWarehouseOrder(t, w, "Events")
}

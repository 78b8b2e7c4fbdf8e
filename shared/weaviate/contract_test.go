package weaviate_test

import (
	"testing"

	"github.com/datachat/datachat/shared/chat/chattest"
	"github.com/datachat/datachat/shared/weaviate"
)

// TestWarehouseContract runs the contract every Warehouse passes (the
// embedded one included) against a real Weaviate holding the sample.
func TestWarehouseContract(t *testing.T) {
	w, rows := sampleWarehouse(t, weaviate.Options{RowCap: 500})
	t.Logf("seeded the sample in %s:\n%s", seeded.took, seeded.progress)
	chattest.TestWarehouse(t, w, rows, 500)
}

// TestSearcherContract runs the keyword search contract the embedded
// warehouse passes too.
func TestSearcherContract(t *testing.T) {
	w, rows := sampleWarehouse(t, weaviate.Options{RowCap: 500})
	chattest.TestSearcher(t, w, rows, 500)
}

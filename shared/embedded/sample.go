package embedded

import (
	"fmt"

	"github.com/datachat/datachat/shared/sample"
)

// SampleWarehouse is the warehouse of local runs: the market data the
// project ships (package sample), with rowCap rows at most per table.
func SampleWarehouse(rowCap int) (*Warehouse, error) {
	ds, err := sample.Load()
	if err != nil {
		return nil, fmt.Errorf("embedded: load sample data: %w", err)
	}
	sets := make([]Dataset, len(ds))
	for i, d := range ds {
		sets[i] = Dataset{Collection: d.Collection, Rows: d.Rows, IDs: d.IDs}
	}
	return NewWarehouse(sets, rowCap)
}

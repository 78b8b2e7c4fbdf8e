package sample_test

import (
	"testing"

	"github.com/datachat/datachat/shared/sample"
)

func TestLoad(t *testing.T) {
	ds, err := sample.Load()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{sample.SP500: 5105, sample.Stocks: 560}
	for _, d := range ds {
		if got := len(d.Rows); got != want[d.Collection.Name] {
			t.Errorf("%s: %d rows, want %d", d.Collection.Name, got, want[d.Collection.Name])
		}
		seen := map[string]bool{}
		for i, r := range d.Rows {
			if len(r) != len(d.Collection.Fields) {
				t.Fatalf("%s row %d has %d cells, want %d", d.Collection.Name, i, len(r), len(d.Collection.Fields))
			}
			if seen[d.IDs[i]] {
				t.Fatalf("%s: id %s repeats", d.Collection.Name, d.IDs[i])
			}
			seen[d.IDs[i]] = true
		}
	}
	if got := ds[1].Rows[0]; got[0] != "MSFT" || got[1] != "2000-01-01" || got[2] != 39.81 || got[4] != "2000-01" {
		t.Errorf("first stocks row = %v, want MSFT 2000-01-01 39.81", got)
	}
	if a, b := sample.ObjectID("SP500", "2000-01-03"), sample.ObjectID("SP500", "2000-01-03"); a != b {
		t.Errorf("ids are not deterministic: %s != %s", a, b)
	}
}

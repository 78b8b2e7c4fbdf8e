package chat

import (
	"encoding/json"
	"testing"

	"github.com/google/jsonschema-go/jsonschema"
)

// The validator's rewritten schema accepts exactly what the model's
// schema does: every tool, against arguments that pass and fail in each
// place the rewrite touches.
func TestValidationSchemaAcceptsWhatTheModelsDoes(t *testing.T) {
	tb, err := newToolbox(500, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	values := []string{`"2008-01-01"`, `1220.5`, `true`, `["AAPL", 3]`, `[]`, `[true]`, `{"a": 1}`, `null`, `[["x"]]`}
	for name, tl := range tb.tools {
		var plain jsonschema.Schema
		if err := json.Unmarshal(tl.spec.Parameters, &plain); err != nil {
			t.Fatal(err)
		}
		original, err := plain.Resolve(nil)
		if err != nil {
			t.Fatal(err)
		}
		var instances []string
		switch name {
		case ToolQuery, ToolAggregate:
			for _, v := range values {
				instances = append(instances, `{"collection":"SP500","fields":null,"filters":[{"field":"date","op":"gte","value":`+v+`}],"sort":null,"limit":null}`)
			}
		}
		instances = append(instances, `{}`, `{"collection": 1}`, `{"collection":"SP500","mode":"bm25"}`)
		accepted := 0
		for _, in := range instances {
			var v any
			if err := json.Unmarshal([]byte(in), &v); err != nil {
				t.Fatal(err)
			}
			want, got := original.Validate(v) == nil, tl.schema.Validate(v) == nil
			if got != want {
				t.Errorf("%s %s: the validator says valid=%v, the model's schema valid=%v", name, in, got, want)
			}
			if got {
				accepted++
			}
		}
		// The query tool takes a filter value of a string, number, boolean
		// or list of strings and numbers (5 of the 9), and nothing else.
		if name == ToolQuery && accepted != 5 {
			t.Errorf("query accepted %d of its instances, want 5", accepted)
		}
	}
}

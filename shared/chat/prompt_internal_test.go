package chat

import "testing"

// TestPromptCache: the cached prompt is the one built for the same schema
// and hints; another schema (even one edited in place by its owner) or a
// new generation of hints builds it again.
func TestPromptCache(t *testing.T) {
	s := Schema{Collections: []Collection{{Name: "SP500", Fields: []Field{{Name: "date", Type: TypeDate}, {Name: "close", Type: TypeNumber}}}}}
	var c promptCache
	builds := 0
	build := func(s Schema) func() string {
		return func() string { builds++; return SystemPrompt(s, false) }
	}
	get := func(s Schema, gen uint64) string {
		t.Helper()
		p, n := c.get(s, gen, build(s))
		if want := SystemPrompt(s, false); p != want {
			t.Fatalf("prompt = %q, want %q", p, want)
		}
		if want := EstimateMessages([]Message{{Role: RoleSystem, Content: p}}); n != want {
			t.Fatalf("tokens = %d, want %d", n, want)
		}
		return p
	}
	get(s, 1)
	get(s, 1)
	get(cloneSchema(s), 1)
	if builds != 1 {
		t.Fatalf("%d builds for one schema and one set of hints, want 1", builds)
	}
	get(s, 2)
	if builds != 2 {
		t.Fatalf("new hints: %d builds, want 2", builds)
	}
	s.Collections[0].Fields[1].Description = "closing price"
	if p := get(s, 2); builds != 3 {
		t.Fatalf("edited schema: %d builds, want 3 (prompt %q)", builds, p)
	}
	s.Collections = append(s.Collections, Collection{Name: "Stocks"})
	if get(s, 2); builds != 4 {
		t.Fatalf("added collection: %d builds, want 4", builds)
	}
}

package chat

import (
	"reflect"
	"testing"
)

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

// TestEqualSchemaSeesEveryField: equalSchema compares Schema and
// Collection field by field (Field whole); a field added to either must
// be added there too, or a change in it would keep a stale prompt.
func TestEqualSchemaSeesEveryField(t *testing.T) {
	if n := reflect.TypeFor[Schema]().NumField(); n != 1 {
		t.Errorf("Schema has %d fields; equalSchema compares 1", n)
	}
	if n := reflect.TypeFor[Collection]().NumField(); n != 4 {
		t.Errorf("Collection has %d fields; equalSchema compares 4", n)
	}
	base := Collection{Name: "c", Description: "d", Fields: []Field{{Name: "f", Type: TypeText, Description: "x"}}}
	for _, edit := range []func(*Collection){
		func(c *Collection) { c.Name = "other" },
		func(c *Collection) { c.Description = "other" },
		func(c *Collection) { c.Vectorizer = true },
		func(c *Collection) { c.Fields[0].Name = "other" },
		func(c *Collection) { c.Fields[0].Type = TypeNumber },
		func(c *Collection) { c.Fields[0].Description = "other" },
		func(c *Collection) { c.Fields = append(c.Fields, Field{Name: "g"}) },
	} {
		a := Schema{Collections: []Collection{base}}
		b := cloneSchema(a)
		if !equalSchema(a, b) {
			t.Fatal("a schema differs from its copy")
		}
		edit(&b.Collections[0])
		if equalSchema(a, b) {
			t.Errorf("an edit of %+v goes unseen", b.Collections[0])
		}
	}
}

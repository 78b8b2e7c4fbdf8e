package chat

import (
	"slices"
	"sync/atomic"
)

// promptCache keeps the system prompt an agent built last, with its token
// estimate. The prompt depends only on the schema and the value hints,
// which change every few minutes at most, yet building it (formatting
// every field with its notes) and estimating its tokens before every
// request was much of the agent's own work per turn. Every turn reads it,
// so it is read without a lock: an entry is never changed once stored,
// only replaced. Safe for concurrent use.
type promptCache struct {
	last atomic.Pointer[promptEntry]
}

type promptEntry struct {
	schema Schema // a private copy, which no caller can edit
	gen    uint64 // of the hints the prompt was built with
	prompt string
	tokens int // EstimateMessages of the prompt as the system message
}

// get returns the prompt for schema s and hints of generation gen, and
// its estimate, calling build when the cached one is for another schema
// or other hints. Turns that find it stale at once may each build it; the
// last one stored stays.
func (c *promptCache) get(s Schema, gen uint64, build func() string) (string, int) {
	if e := c.last.Load(); e != nil && e.gen == gen && equalSchema(e.schema, s) {
		return e.prompt, e.tokens
	}
	prompt := build()
	tokens := EstimateMessages([]Message{{Role: RoleSystem, Content: prompt}})
	c.last.Store(&promptEntry{schema: cloneSchema(s), gen: gen, prompt: prompt, tokens: tokens})
	return prompt, tokens
}

// equalSchema reports whether a and b describe the same collections and
// fields. TestEqualSchemaSeesEveryField fails when Collection gains a
// field this does not compare (Field is compared whole).
func equalSchema(a, b Schema) bool {
	return slices.EqualFunc(a.Collections, b.Collections, func(x, y Collection) bool {
		return x.Name == y.Name && x.Description == y.Description && x.Vectorizer == y.Vectorizer &&
			slices.Equal(x.Fields, y.Fields)
	})
}

func cloneSchema(s Schema) Schema {
	out := Schema{Collections: slices.Clone(s.Collections)}
	for i := range out.Collections {
		out.Collections[i].Fields = slices.Clone(out.Collections[i].Fields)
	}
	return out
}

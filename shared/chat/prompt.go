package chat

import (
	"reflect"
	"slices"
	"sync"
)

// promptCache keeps the system prompt an agent built last, with its token
// estimate. The prompt depends only on the schema and the value hints,
// which change every few minutes at most, yet building it (formatting
// every field with its notes) and estimating its tokens before every
// request was much of the agent's own work per turn. Safe for concurrent
// use.
type promptCache struct {
	mu     sync.Mutex
	schema Schema // a private copy, which no caller can edit
	gen    uint64 // of the hints the prompt was built with
	prompt string
	tokens int // EstimateMessages of the prompt as the system message
}

// get returns the prompt for schema s and hints of generation gen, and
// its estimate, calling build when the cached one is for another schema
// or other hints.
func (c *promptCache) get(s Schema, gen uint64, build func() string) (string, int) {
	c.mu.Lock()
	if c.prompt != "" && c.gen == gen && reflect.DeepEqual(c.schema, s) {
		prompt, tokens := c.prompt, c.tokens
		c.mu.Unlock()
		return prompt, tokens
	}
	c.mu.Unlock()
	prompt := build()
	tokens := EstimateMessages([]Message{{Role: RoleSystem, Content: prompt}})
	c.mu.Lock()
	c.schema, c.gen, c.prompt, c.tokens = cloneSchema(s), gen, prompt, tokens
	c.mu.Unlock()
	return prompt, tokens
}

func cloneSchema(s Schema) Schema {
	out := Schema{Collections: slices.Clone(s.Collections)}
	for i := range out.Collections {
		out.Collections[i].Fields = slices.Clone(out.Collections[i].Fields)
	}
	return out
}

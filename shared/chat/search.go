package chat

import "context"

// SearchMode chooses how a search ranks objects.
type SearchMode string

const (
	// SearchAuto is hybrid when the collection has a vectorizer, keyword
	// otherwise. It is the zero value, so a search that names no mode gets
	// the best ranking the collection can serve.
	SearchAuto SearchMode = ""
	// SearchKeyword ranks by the words of the text found in text fields;
	// it needs no vectorizer.
	SearchKeyword SearchMode = "keyword"
	// SearchHybrid fuses keyword ranking with vector similarity; it needs
	// a vectorizer.
	SearchHybrid SearchMode = "hybrid"
	// SearchSemantic ranks by vector similarity alone; it needs a
	// vectorizer.
	SearchSemantic SearchMode = "semantic"
)

// SearchModes lists the modes a caller may name, for schemas and error
// messages; SearchAuto is asked for by naming none.
func SearchModes() []SearchMode { return []SearchMode{SearchKeyword, SearchHybrid, SearchSemantic} }

// Score columns a search appends to the selected fields. They start with
// an underscore, which Weaviate reserves, so they cannot clash with a field.
const (
	ColumnScore    = "_score"    // keyword and hybrid: higher is more relevant
	ColumnDistance = "_distance" // semantic: lower is more relevant
)

// MaxSearchText bounds the search text in bytes: it is sent to the store
// whole, and a longer text is a pasted document rather than a search.
const MaxSearchText = 1000

// Search asks for the objects of one collection most relevant to a text.
type Search struct {
	Collection string     `json:"collection"`
	Text       string     `json:"text"`
	Mode       SearchMode `json:"mode,omitempty"`
	// In names the text fields to search; empty means every text field
	// the store can search.
	In      []string `json:"in,omitempty"`
	Fields  []string `json:"fields,omitempty"` // fields to return; empty means all
	Filters []Filter `json:"filters,omitempty"`
	Limit   int      `json:"limit,omitempty"` // 0 means the row cap
}

// Searcher ranks objects by relevance to a text. It is optional: the agent
// offers its search tool only when the Warehouse also implements Searcher.
type Searcher interface {
	// Search returns at most s.Limit objects (capped by the
	// implementation's row limit) that match s.Filters and the text, most
	// relevant first, as a table of the selected fields followed by a
	// score column: ColumnScore, or ColumnDistance for semantic search.
	// Rows carry their sources. Truncated is true exactly when more
	// results exist than Rows holds; TotalRows counts every result when
	// the store can count them, and is len(Rows)+1 when it cannot tell
	// more than that some exist. Nothing found is an empty table, not an
	// error.
	//
	// Errors: CodeInvalid for an unknown collection or field (the message
	// lists the valid names), an In field that is not a text field the
	// store can search, an empty or overlong text, or a mode the collection
	// cannot serve (the message names the modes it can); CodeUnavailable
	// when the store cannot be reached or fails; CodeDeadline when ctx ends
	// first. Safe for concurrent use.
	Search(ctx context.Context, s Search) (Table, error)
}

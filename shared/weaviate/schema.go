package weaviate

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/weaviate/weaviate-go-client/v4/weaviate/schema"
	"github.com/weaviate/weaviate/entities/models"

	"github.com/datachat/datachat/shared/chat"
)

// weaviateName matches the names Weaviate allows for collections and
// properties.
var weaviateName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// discovered is the schema as the agent sees it (allowed collections,
// supported properties) plus what this adapter needs to know to query it.
type discovered struct {
	schema chat.Schema
	info   map[string]collectionInfo
}

type collectionInfo struct {
	props map[string]propInfo
	// targetVectors names the vectorized named vectors, when the collection
	// uses named vectors; empty for a classic single vectorizer.
	targetVectors []string
}

type propInfo struct {
	filterable   bool
	searchable   bool // in the BM25 index
	tokenization string
}

// Schema implements chat.Warehouse. The result is discovered from Weaviate
// and reused for Options.SchemaTTL.
func (w *Warehouse) Schema(ctx context.Context) (chat.Schema, error) {
	d, err := w.discover(ctx, "schema", "")
	if err != nil {
		return chat.Schema{}, err
	}
	// A copy, so a caller that edits its schema cannot edit the cache.
	out := chat.Schema{Collections: make([]chat.Collection, len(d.schema.Collections))}
	for i, c := range d.schema.Collections {
		c.Fields = slices.Clone(c.Fields)
		out.Collections[i] = c
	}
	return out, nil
}

// discover returns the cached schema or fetches it. op and collection
// name the call that needs it, so a failure reads "the query on Stocks"
// rather than naming an internal step.
func (w *Warehouse) discover(ctx context.Context, op, collection string) (*discovered, error) {
	if d := w.cache.get(); d != nil {
		return d, nil
	}
	if !weaviateName.MatchString(collection) {
		collection = "" // not a name Weaviate could hold; not worth echoing
	}
	var dump *schema.Dump
	err := w.call(ctx, op, collection, func(ctx context.Context) error {
		var err error
		if dump, err = w.client.Schema().Getter().Do(ctx); err != nil {
			return fmt.Errorf("read schema: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	d := buildSchema(dump.Classes, w.allowed)
	// Two callers may fetch at once after expiry; both results are equally
	// fresh, and not holding the lock while fetching keeps a slow Weaviate
	// from stalling callers whose contexts have ended.
	w.cache.put(d)
	return d, nil
}

// buildSchema maps Weaviate classes to chat collections. Properties of
// types without a chat counterpart are left out and named in the
// collection's description, so the model knows they exist but cannot be
// queried here. Multi-tenant collections are left out: every query on them
// would need a tenant, which the agent has no notion of.
func buildSchema(classes []*models.Class, allowed map[string]bool) *discovered {
	d := &discovered{info: map[string]collectionInfo{}}
	for _, cl := range classes {
		if cl == nil || (allowed != nil && !allowed[cl.Class]) {
			continue
		}
		if cl.MultiTenancyConfig != nil && cl.MultiTenancyConfig.Enabled {
			continue
		}
		c := chat.Collection{Name: cl.Class, Description: cl.Description}
		info := collectionInfo{props: map[string]propInfo{}}
		var skipped []string
		for _, p := range cl.Properties {
			if p == nil {
				continue
			}
			t, ok := chatType(p.DataType)
			if !ok {
				skipped = append(skipped, fmt.Sprintf("%s (%s)", p.Name, strings.Join(p.DataType, ",")))
				continue
			}
			pi := propInfo{
				filterable:   p.IndexFilterable == nil || *p.IndexFilterable,
				searchable:   t == chat.TypeText && (p.IndexSearchable == nil || *p.IndexSearchable),
				tokenization: p.Tokenization,
			}
			info.props[p.Name] = pi
			c.Fields = append(c.Fields, chat.Field{Name: p.Name, Type: t, Description: fieldNote(p.Description, t, pi)})
		}
		if len(skipped) > 0 {
			note := "Fields not available to queries here: " + strings.Join(skipped, ", ") + "."
			c.Description = strings.TrimSpace(c.Description + " " + note)
		}
		c.Vectorizer, info.targetVectors = vectorizer(cl)
		d.schema.Collections = append(d.schema.Collections, c)
		d.info[c.Name] = info
	}
	sort.Slice(d.schema.Collections, func(i, j int) bool {
		return d.schema.Collections[i].Name < d.schema.Collections[j].Name
	})
	return d
}

// chatType maps a Weaviate data type to a chat type. Arrays are not mapped:
// Weaviate matches a filter against any element and groups by each element,
// which no chat operator means.
func chatType(dataType []string) (chat.Type, bool) {
	if len(dataType) != 1 {
		return "", false
	}
	switch dataType[0] {
	case "text", "string": // "string" is the pre-1.19 name of text
		return chat.TypeText, true
	case "number":
		return chat.TypeNumber, true
	case "int":
		return chat.TypeInt, true
	case "date":
		return chat.TypeDate, true
	case "boolean":
		return chat.TypeBoolean, true
	}
	return "", false
}

// fieldNote tells the model how Weaviate will treat a field where that
// differs from plain equality on the whole value.
func fieldNote(desc string, t chat.Type, p propInfo) string {
	var notes []string
	if t == chat.TypeText && p.tokenization != "" && p.tokenization != "field" {
		notes = append(notes, fmt.Sprintf("eq and like match single words (tokenization %s)", p.tokenization))
	}
	if !p.filterable {
		notes = append(notes, "not indexed for filters")
	}
	if len(notes) == 0 {
		return desc
	}
	return strings.TrimSpace(desc + " (" + strings.Join(notes, "; ") + ")")
}

// vectorizer reports whether the collection computes vectors from text
// (so hybrid and nearText work) and, for named vectors, which ones do.
func vectorizer(cl *models.Class) (bool, []string) {
	if cl.Vectorizer != "" && cl.Vectorizer != "none" {
		return true, nil
	}
	var names []string
	for name, vc := range cl.VectorConfig {
		if m, ok := vc.Vectorizer.(map[string]any); ok {
			for module := range m {
				if module != "none" {
					names = append(names, name)
					break
				}
			}
		}
	}
	sort.Strings(names)
	return len(names) > 0, names
}

// checkFilterable refuses filters on properties Weaviate cannot filter by,
// before the query is sent.
func checkFilterable(c chat.Collection, info collectionInfo, filters []chat.Filter) error {
	for _, f := range filters {
		if !info.props[f.Field].filterable {
			return chat.Errorf(chat.CodeInvalid, "field %q of %s is not indexed for filters in Weaviate; filter on another field", f.Field, c.Name)
		}
	}
	return nil
}

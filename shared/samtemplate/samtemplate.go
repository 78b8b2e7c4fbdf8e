// Package samtemplate reads an AWS SAM / CloudFormation template into
// plain Go values, so tests can check template.yaml against the code.
//
// goformation cannot be used here: its SAM types lack fields the template
// needs (LoggingConfig among them) and it rejects unknown fields. This
// package keeps every field and turns the short-form intrinsic tags
// (!Ref, !Sub, !GetAtt, !If, ...) into their long forms ({"Ref": ...},
// {"Fn::Sub": ...}), as CloudFormation itself does.
package samtemplate

import (
	"fmt"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Template is a parsed template.
type Template struct {
	Parameters map[string]any
	Globals    map[string]any
	Resources  map[string]Resource
	Outputs    map[string]any
	Conditions map[string]any
}

// Resource is one entry of Resources.
type Resource struct {
	Type       string
	Condition  string
	Properties map[string]any
	Metadata   map[string]any
}

// Open reads and parses path.
func Open(path string) (*Template, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("samtemplate: %w", err)
	}
	return Parse(b)
}

// Parse parses a template's YAML.
func Parse(b []byte) (*Template, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, fmt.Errorf("samtemplate: %w", err)
	}
	if len(root.Content) == 0 {
		return nil, fmt.Errorf("samtemplate: empty template")
	}
	v, err := decode(root.Content[0])
	if err != nil {
		return nil, err
	}
	doc, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("samtemplate: the template is not a mapping")
	}
	t := &Template{
		Parameters: Map(doc["Parameters"]),
		Globals:    Map(doc["Globals"]),
		Outputs:    Map(doc["Outputs"]),
		Conditions: Map(doc["Conditions"]),
		Resources:  map[string]Resource{},
	}
	for name, raw := range Map(doc["Resources"]) {
		r := Map(raw)
		typ, _ := r["Type"].(string)
		cond, _ := r["Condition"].(string)
		t.Resources[name] = Resource{Type: typ, Condition: cond, Properties: Map(r["Properties"]), Metadata: Map(r["Metadata"])}
	}
	return t, nil
}

// decode converts a node to map[string]any, []any or a scalar (strings;
// numbers and booleans as YAML resolves them), expanding intrinsic tags.
func decode(n *yaml.Node) (any, error) {
	var v any
	switch n.Kind {
	case yaml.AliasNode:
		return decode(n.Alias)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			val, err := decode(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[n.Content[i].Value] = val
		}
		v = m
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			val, err := decode(c)
			if err != nil {
				return nil, err
			}
			s = append(s, val)
		}
		v = s
	case yaml.ScalarNode:
		if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
			v = n.Value
		} else if err := n.Decode(&v); err != nil {
			return nil, fmt.Errorf("samtemplate: line %d: %w", n.Line, err)
		}
	default:
		return nil, fmt.Errorf("samtemplate: line %d: unexpected YAML node", n.Line)
	}
	if !strings.HasPrefix(n.Tag, "!") || strings.HasPrefix(n.Tag, "!!") {
		return v, nil
	}
	name := strings.TrimPrefix(n.Tag, "!")
	switch name {
	case "Ref", "Condition":
		return map[string]any{name: v}, nil
	case "GetAtt":
		// !GetAtt Res.Attr is the short form of ["Res", "Attr"].
		if s, ok := v.(string); ok {
			res, attr, _ := strings.Cut(s, ".")
			v = []any{res, attr}
		}
	}
	return map[string]any{"Fn::" + name: v}, nil
}

// Map returns v as a mapping, or an empty one.
func Map(v any) map[string]any {
	if m, ok := v.(map[string]any); ok {
		return m
	}
	return map[string]any{}
}

// List returns v as a list; a single value becomes a list of one.
func List(v any) []any {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		return x
	}
	return []any{v}
}

// Path walks nested mappings by key: Path(r.Properties, "Environment", "Variables").
func Path(v any, keys ...string) any {
	for _, k := range keys {
		v = Map(v)[k]
	}
	return v
}

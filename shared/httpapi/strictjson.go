package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"

	"github.com/datachat/datachat/shared/chat"
)

// decodeFields reads one JSON object whose keys are exactly among fields,
// each at most once, and returns the raw value of each key present.
// encoding/json matches keys case-insensitively and keeps the last of
// duplicates, so {"message": "a", "Message": "b"} would be answered as "b"
// while a proxy inspecting message saw "a": here both are refused, naming
// the key.
func decodeFields(data []byte, fields []string) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if tok != json.Delim('{') {
		return nil, chat.Errorf(chat.CodeInvalid, `the body must be one JSON object such as {"message": "your question"}`)
	}
	out := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		if !slices.Contains(fields, key) {
			for _, f := range fields {
				if strings.EqualFold(f, key) {
					return nil, chat.Errorf(chat.CodeInvalid, "unknown field %q: field names are case-sensitive; use %q", key, f)
				}
			}
			return nil, chat.Errorf(chat.CodeInvalid, "unknown field %q; the fields are %s", key, strings.Join(fields, " and "))
		}
		if _, dup := out[key]; dup {
			return nil, chat.Errorf(chat.CodeInvalid, "field %q appears more than once; send it once", key)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		out[key] = raw
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, err
		}
		return nil, chat.Errorf(chat.CodeInvalid, "the body holds more than one JSON value; send one object")
	}
	return out, nil
}

// stringField decodes a field of decodeFields' result: absent and null
// are "", anything but a string is CodeInvalid naming the field.
func stringField(fields map[string]json.RawMessage, name string) (string, error) {
	raw, ok := fields[name]
	if !ok || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", chat.Errorf(chat.CodeInvalid, "field %q must be a string", name)
	}
	return s, nil
}

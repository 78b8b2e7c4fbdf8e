package weaviate

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/weaviate/weaviate-go-client/v4/weaviate/filters"

	"github.com/datachat/datachat/shared/chat"
)

// buildWhere turns checked filters (values already converted to the
// field's Go type by chat.Schema.CheckQuery) into a where filter. Values go
// through the client's typed builders, which quote them; nothing here
// formats a value into query text. It returns nil for no filters.
func buildWhere(c chat.Collection, fs []chat.Filter) (*filters.WhereBuilder, error) {
	var operands []*filters.WhereBuilder
	for _, f := range fs {
		field, ok := c.Field(f.Field)
		if !ok {
			return nil, chat.Errorf(chat.CodeInvalid, "unknown field %q in collection %s", f.Field, c.Name)
		}
		var (
			b   *filters.WhereBuilder
			err error
		)
		if f.Op == chat.OpIn {
			b, err = buildIn(field, f.Value)
		} else {
			b, err = condition(field, operator(f.Op), f.Value)
		}
		if err != nil {
			return nil, err
		}
		operands = append(operands, b)
	}
	switch len(operands) {
	case 0:
		return nil, nil
	case 1:
		return operands[0], nil
	}
	return filters.Where().WithOperator(filters.And).WithOperands(operands), nil
}

// buildIn expresses "in" as an Or of Equal conditions, which every
// property type supports (ContainsAny is meant for array properties).
func buildIn(f chat.Field, v any) (*filters.WhereBuilder, error) {
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		return nil, chat.Errorf(chat.CodeInvalid, "operator in on %q needs a non-empty list of values", f.Name)
	}
	ors := make([]*filters.WhereBuilder, len(list))
	for i, x := range list {
		b, err := condition(f, filters.Equal, x)
		if err != nil {
			return nil, err
		}
		ors[i] = b
	}
	if len(ors) == 1 {
		return ors[0], nil
	}
	return filters.Where().WithOperator(filters.Or).WithOperands(ors), nil
}

func operator(op chat.Op) filters.WhereOperator {
	switch op {
	case chat.OpEq:
		return filters.Equal
	case chat.OpNe:
		return filters.NotEqual
	case chat.OpGt:
		return filters.GreaterThan
	case chat.OpGte:
		return filters.GreaterThanEqual
	case chat.OpLt:
		return filters.LessThan
	case chat.OpLte:
		return filters.LessThanEqual
	case chat.OpLike:
		return filters.Like
	}
	return ""
}

// condition is one comparison of field f with a value of its type.
func condition(f chat.Field, op filters.WhereOperator, v any) (*filters.WhereBuilder, error) {
	if op == "" {
		return nil, chat.Errorf(chat.CodeInvalid, "unknown operator on %q; use one of eq, ne, gt, gte, lt, lte, like, in", f.Name)
	}
	b := filters.Where().WithPath([]string{f.Name}).WithOperator(op)
	bad := func() error {
		return chat.Errorf(chat.CodeInvalid, "value %v does not fit field %q of type %s", v, f.Name, f.Type)
	}
	switch f.Type {
	case chat.TypeText:
		s, ok := v.(string)
		if !ok {
			return nil, bad()
		}
		if err := checkText(f.Name, s); err != nil {
			return nil, err
		}
		return b.WithValueText(s), nil
	case chat.TypeNumber:
		n, ok := chat.AsFloat(v)
		if !ok {
			return nil, bad()
		}
		return b.WithValueNumber(n), nil
	case chat.TypeInt:
		switch n := v.(type) {
		case int64:
			return b.WithValueInt(n), nil
		case int:
			return b.WithValueInt(int64(n)), nil
		}
		return nil, bad()
	case chat.TypeDate:
		s, ok := v.(string)
		if !ok {
			return nil, bad()
		}
		d, ok := chat.ParseDate(s)
		if !ok {
			return nil, bad()
		}
		return b.WithValueDate(d), nil
	case chat.TypeBoolean:
		x, ok := v.(bool)
		if !ok {
			return nil, bad()
		}
		return b.WithValueBoolean(x), nil
	}
	return nil, bad()
}

// checkText refuses the few strings the client cannot carry. It quotes
// values with Go's %q, whose \a, \v, \xNN and \UNNNNNNNN escapes are not
// GraphQL: Weaviate would answer a syntax error, never run something else.
// Such a value (a control character, invalid UTF-8) is a caller mistake,
// so it is CodeInvalid here rather than CodeUnavailable from Weaviate.
// Quotes, backslashes, newlines, tabs, braces and printable Unicode are fine.
func checkText(field, s string) error {
	if !utf8.ValidString(s) {
		return chat.Errorf(chat.CodeInvalid, "value for %q is not valid UTF-8", field)
	}
	for _, r := range s {
		switch r {
		case '\b', '\f', '\n', '\r', '\t':
			continue
		}
		if r < 0x20 || r == 0x7f || (r >= 0x10000 && !strconv.IsPrint(r)) {
			return chat.Errorf(chat.CodeInvalid, "value for %q contains the control character %U, which cannot be searched for", field, r)
		}
	}
	return nil
}

// rfc3339 renders a date the way Weaviate stores it.
func rfc3339(d time.Time) string { return d.UTC().Format(time.RFC3339) }

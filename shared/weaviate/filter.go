package weaviate

import (
	"strconv"
	"time"
	"unicode/utf8"

	pb "github.com/weaviate/weaviate/grpc/generated/protocol/v1"

	"github.com/datachat/datachat/shared/chat"
)

// buildWhere turns checked filters (values already converted to the
// field's Go type by chat.Schema.CheckQuery) into a gRPC filter. Values
// travel as typed protobuf fields, so nothing here is ever parsed as query
// text. It returns nil for no filters.
func buildWhere(c chat.Collection, fs []chat.Filter) (*pb.Filters, error) {
	var operands []*pb.Filters
	for _, f := range fs {
		field, ok := c.Field(f.Field)
		if !ok {
			return nil, chat.Errorf(chat.CodeInvalid, "unknown field %q in collection %s", f.Field, c.Name)
		}
		var (
			b   *pb.Filters
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
	return &pb.Filters{Operator: pb.Filters_OPERATOR_AND, Filters: operands}, nil
}

// buildIn expresses "in" as an Or of Equal conditions, which every
// property type supports (ContainsAny is meant for array properties).
func buildIn(f chat.Field, v any) (*pb.Filters, error) {
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		return nil, chat.Errorf(chat.CodeInvalid, "operator in on %q needs a non-empty list of values", f.Name)
	}
	ors := make([]*pb.Filters, len(list))
	for i, x := range list {
		b, err := condition(f, pb.Filters_OPERATOR_EQUAL, x)
		if err != nil {
			return nil, err
		}
		ors[i] = b
	}
	if len(ors) == 1 {
		return ors[0], nil
	}
	return &pb.Filters{Operator: pb.Filters_OPERATOR_OR, Filters: ors}, nil
}

func operator(op chat.Op) pb.Filters_Operator {
	switch op {
	case chat.OpEq:
		return pb.Filters_OPERATOR_EQUAL
	case chat.OpNe:
		return pb.Filters_OPERATOR_NOT_EQUAL
	case chat.OpGt:
		return pb.Filters_OPERATOR_GREATER_THAN
	case chat.OpGte:
		return pb.Filters_OPERATOR_GREATER_THAN_EQUAL
	case chat.OpLt:
		return pb.Filters_OPERATOR_LESS_THAN
	case chat.OpLte:
		return pb.Filters_OPERATOR_LESS_THAN_EQUAL
	case chat.OpLike:
		return pb.Filters_OPERATOR_LIKE
	}
	return pb.Filters_OPERATOR_UNSPECIFIED
}

// condition is one comparison of field f with a value of its type. Dates
// travel as RFC 3339 text, which is how the gRPC API takes them.
func condition(f chat.Field, op pb.Filters_Operator, v any) (*pb.Filters, error) {
	if op == pb.Filters_OPERATOR_UNSPECIFIED {
		return nil, chat.Errorf(chat.CodeInvalid, "unknown operator on %q; use one of eq, ne, gt, gte, lt, lte, like, in", f.Name)
	}
	b := &pb.Filters{Operator: op, Target: &pb.FilterTarget{Target: &pb.FilterTarget_Property{Property: f.Name}}}
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
		b.TestValue = &pb.Filters_ValueText{ValueText: s}
	case chat.TypeNumber:
		n, ok := chat.AsFloat(v)
		if !ok {
			return nil, bad()
		}
		b.TestValue = &pb.Filters_ValueNumber{ValueNumber: n}
	case chat.TypeInt:
		switch n := v.(type) {
		case int64:
			b.TestValue = &pb.Filters_ValueInt{ValueInt: n}
		case int:
			b.TestValue = &pb.Filters_ValueInt{ValueInt: int64(n)}
		default:
			return nil, bad()
		}
	case chat.TypeDate:
		s, ok := v.(string)
		if !ok {
			return nil, bad()
		}
		d, ok := chat.ParseDate(s)
		if !ok {
			return nil, bad()
		}
		b.TestValue = &pb.Filters_ValueText{ValueText: rfc3339(d)}
	case chat.TypeBoolean:
		x, ok := v.(bool)
		if !ok {
			return nil, bad()
		}
		b.TestValue = &pb.Filters_ValueBoolean{ValueBoolean: x}
	default:
		return nil, bad()
	}
	return b, nil
}

// checkText refuses text that is a caller's mistake rather than something
// to search for: invalid UTF-8, which protobuf cannot carry (the call would
// fail as CodeUnavailable instead of saying what is wrong), and control
// characters other than whitespace, which no stored text a person typed
// holds. Quotes, backslashes, newlines, tabs, braces and printable Unicode
// are fine, and all of them arrive exactly as sent.
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

// Package reqlog carries a request's identifiers (its request id and the
// trace id of the invocation) in its context, and adds them to every log
// line written with that context, so one request's lines can be found
// together in CloudWatch Logs Insights and joined with its X-Ray trace.
package reqlog

import (
	"context"
	"log/slog"
)

// IDs identify one request. Request is the Lambda request id in a
// function (a generated id locally); Trace is the X-Amzn-Trace-Id of the
// invocation, empty when there is none.
type IDs struct {
	Request string
	Trace   string
}

type key struct{}

// With returns ctx carrying ids.
func With(ctx context.Context, ids IDs) context.Context {
	return context.WithValue(ctx, key{}, ids)
}

// From returns the ids ctx carries, or the zero IDs.
func From(ctx context.Context) IDs {
	ids, _ := ctx.Value(key{}).(IDs)
	return ids
}

// Handler wraps h so that every record logged with a context carrying IDs
// gets request_id and trace_id attributes. Wrapping twice adds them once.
func Handler(h slog.Handler) slog.Handler {
	if _, ok := h.(handler); ok {
		return h
	}
	return handler{h}
}

type handler struct{ slog.Handler }

func (h handler) Handle(ctx context.Context, r slog.Record) error {
	if ids := From(ctx); ids.Request != "" || ids.Trace != "" {
		r = r.Clone()
		r.AddAttrs(slog.String("request_id", ids.Request), slog.String("trace_id", ids.Trace))
	}
	return h.Handler.Handle(ctx, r)
}

func (h handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return handler{h.Handler.WithAttrs(attrs)}
}

func (h handler) WithGroup(name string) slog.Handler {
	return handler{h.Handler.WithGroup(name)}
}

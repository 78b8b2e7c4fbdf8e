package chat

import (
	"context"
	"errors"
	"fmt"
)

// Bounds on what one model response can make the turn do. A response may
// ask for any number of tool calls; each data call can hold a large result
// (a grouped aggregate up to 10,000 groups), so an unbounded fan-out could
// take a small function out of memory or flood the warehouse.
const (
	// MaxCallsPerResponse is how many tool calls of one response run; the
	// rest are answered with a tool error saying so, so the model can ask
	// again for what it still needs.
	MaxCallsPerResponse = 8
	// MaxDataCallsInFlight is how many data calls of a turn run at once.
	MaxDataCallsInFlight = 4
)

// overCapError is the tool result of a call beyond MaxCallsPerResponse.
func overCapError(n int) string {
	return toolError(Errorf(CodeInvalid, "this response asked for %d tool calls; only the first %d run, so this one did not: ask for it again in the next response", n, MaxCallsPerResponse))
}

// ToolFailure is a tool call that failed for a reason that is not the
// model's: the warehouse was unavailable, an adapter had a bug or
// panicked. The model only sees a tool error; the operator must see these.
type ToolFailure struct {
	Tool string
	Err  error // an *Error with its Op and internals
}

type toolFailureKey struct{}

// OnToolFailure returns a context under which the agent calls report for
// every ToolFailure of the turn, as it happens and from one goroutine at a
// time. It is how the caller logs them with the request's own attributes.
func OnToolFailure(ctx context.Context, report func(ToolFailure)) context.Context {
	return context.WithValue(ctx, toolFailureKey{}, report)
}

// modelsFault reports whether a tool error is the model's to correct:
// wrong arguments, an unknown collection or field, a request too large.
// Those go back to the model and nowhere else.
func modelsFault(err error) bool {
	switch ErrorCode(err) {
	case CodeInvalid, CodeNotFound, CodeTooLarge, CodeDeadline:
		// A deadline is the turn's own, reported by how the turn ends.
		return true
	}
	return false
}

// callOutcomes counts how one response's data calls ended, to tell a store
// that is down from a model that asked for something wrong.
type callOutcomes struct {
	data, unavailable int
	last              error // the last unavailable error
}

// note records the outcome of one data call and reports a failure that is
// not the model's fault.
func (o *callOutcomes) note(ctx context.Context, call ToolCall, err error) {
	o.data++
	if err == nil {
		return
	}
	if ErrorCode(err) == CodeUnavailable {
		o.unavailable++
		o.last = err
	}
	if modelsFault(err) {
		return
	}
	if report, ok := ctx.Value(toolFailureKey{}).(func(ToolFailure)); ok {
		report(ToolFailure{Tool: call.Name, Err: err})
	}
}

// storeDown is the error that ends a turn whose data calls all failed
// because a store was unavailable, when the turn has no table to show:
// answering 200 with "the data store is unavailable" would hide the outage
// from alarms and tell clients not to retry.
func (o callOutcomes) storeDown(tables int) error {
	if tables > 0 || o.data == 0 || o.unavailable < o.data {
		return nil
	}
	e := &Error{Code: CodeUnavailable, Op: "chat.Run", Err: o.last,
		Message: fmt.Sprintf("the data store is unavailable (%d of %d data calls failed); try again shortly", o.unavailable, o.data)}
	var inner *Error
	if errors.As(o.last, &inner) {
		e.RetryAfter = inner.RetryAfter
	}
	return e
}

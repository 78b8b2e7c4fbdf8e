// Package chat is the domain of the data-analysis agent: the values a chat
// turn is made of (messages, tables, charts, usage), the ports it depends on
// (Model, Warehouse with its optional Searcher, Memory) and the agent loop
// that ties them together.
//
// It imports only the standard library and a JSON Schema validator, so the
// HTTP layer, the Lambda functions and every adapter can depend on it while
// it depends on none of them.
package chat

import (
	"errors"
	"fmt"
)

// Code is the stable kind of an error. The HTTP layer maps each code to a
// status in one place; adapters translate their SDK's errors into one of these.
type Code string

const (
	CodeInvalid          Code = "invalid"           // the caller sent something wrong
	CodeNotFound         Code = "not_found"         // no such resource for this caller
	CodeUnauthorized     Code = "unauthorized"      // missing or bad credentials
	CodeTooLarge         Code = "too_large"         // a size limit of the request was exceeded
	CodeUnsupportedMedia Code = "unsupported_media" // wrong Content-Type
	CodeUnavailable      Code = "unavailable"       // a dependency is down or throttling
	CodeDeadline         Code = "deadline"          // the turn ran out of time before anything useful happened
	CodeModelError       Code = "model_error"       // the model provider answered with something unusable
	CodeModelUnavailable Code = "model_unavailable" // the model provider is overloaded or rate limiting
	CodeQuotaExhausted   Code = "quota_exhausted"   // the model account has no quota left
	CodeConflict         Code = "conflict"          // a concurrent change won; retrying may succeed
	CodeKeyReused        Code = "key_reused"        // an idempotency key came back with a different request
	CodeRateLimited      Code = "rate_limited"      // the user asked for more turns per minute than allowed
	CodeBudgetExhausted  Code = "budget_exhausted"  // the user spent the day's tokens
	CodeInternal         Code = "internal"          // a bug; details are logged, never returned
)

// Error is the one error type of the project. Message is safe to show to
// the caller and should say what to change; Err carries internals for logs.
type Error struct {
	Code    Code
	Message string
	Op      string // the operation that failed, for logs: "dynamo.Append"
	Err     error
	// RetryAfter, when non-zero, is a hint in seconds for the client.
	RetryAfter int
}

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = string(e.Code)
	}
	switch {
	case e.Op != "" && e.Err != nil:
		return fmt.Sprintf("%s: %s: %v", e.Op, msg, e.Err)
	case e.Op != "":
		return fmt.Sprintf("%s: %s", e.Op, msg)
	case e.Err != nil:
		return fmt.Sprintf("%s: %v", msg, e.Err)
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an *Error whose message is shown to the caller.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap attaches a code, an operation and a caller-safe message to err.
func Wrap(err error, code Code, op, message string) *Error {
	return &Error{Code: code, Op: op, Message: message, Err: err}
}

// ErrorCode returns the code of the first *Error in err's chain, or
// CodeInternal when there is none.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// ErrorMessage returns the caller-safe message of err: the message of its
// *Error, or a generic sentence for anything else, so internals never leak.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Message != "" && e.Code != CodeInternal {
		return e.Message
	}
	return "internal error; the details are in the server log"
}

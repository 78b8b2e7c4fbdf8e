package openai

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	sdk "github.com/openai/openai-go/v3"

	"github.com/datachat/datachat/shared/chat"
)

// kind is what went wrong with one attempt.
type kind int

const (
	kindDeadline  kind = iota + 1 // ctx was done
	kindStatus                    // the provider answered with an error status
	kindQuota                     // 429 insufficient_quota: no retry helps
	kindTransport                 // no response: connection refused or reset
	kindTruncated                 // the response body ended early
	kindMalformed                 // the response body could not be decoded
	kindLength                    // the output token limit cut the answer off
	kindFiltered                  // the provider's content filter removed the answer
	kindEmpty                     // no content and no tool calls
	kindOther                     // an SDK error that is none of the above
)

// failure describes one failed attempt. Its strings are for logs and are
// redacted before they are written anywhere.
type failure struct {
	kind          kind
	retryable     bool
	status        int
	providerCode  string // error.code or, when empty, error.type
	requestID     string
	retryAfter    time.Duration
	hasRetryAfter bool
	detail        string
	cause         error // kept only for context errors, so errors.Is works
}

// classify turns the SDK's error for one attempt into a failure. raw is
// the HTTP response when there was one, decoded or not.
func classify(ctx context.Context, err error, raw *http.Response) *failure {
	if ctx.Err() != nil {
		return &failure{kind: kindDeadline, detail: err.Error(), cause: ctx.Err()}
	}
	var apiErr *sdk.Error
	switch {
	case errors.As(err, &apiErr):
		f := statusFailure(apiErr.StatusCode, headerOf(apiErr.Response, raw))
		f.providerCode = apiErr.Code
		if f.providerCode == "" {
			f.providerCode = apiErr.Type
		}
		f.detail = apiErr.Message
		if f.detail == "" {
			f.detail = "the error body held no message (content type " + headerOf(apiErr.Response, raw).Get("Content-Type") + ")"
		}
		if apiErr.StatusCode == http.StatusTooManyRequests && (apiErr.Code == "insufficient_quota" || apiErr.Type == "insufficient_quota") {
			f.kind, f.retryable = kindQuota, false
		}
		return f
	case raw != nil && raw.StatusCode >= 400:
		// An error status whose body was not OpenAI's error JSON.
		f := statusFailure(raw.StatusCode, raw.Header)
		f.detail = "the error body could not be decoded: " + err.Error()
		return f
	case raw != nil:
		// A success status whose body could not be read or decoded.
		f := &failure{kind: kindMalformed, retryable: true, status: raw.StatusCode, requestID: requestID(raw.Header), detail: err.Error()}
		if errors.Is(err, io.ErrUnexpectedEOF) || strings.HasPrefix(err.Error(), "error reading response body") {
			f.kind = kindTruncated
		}
		return f
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return &failure{kind: kindTransport, retryable: true, detail: err.Error()}
	}
	return &failure{kind: kindOther, detail: err.Error()}
}

func headerOf(resp, raw *http.Response) http.Header {
	switch {
	case resp != nil:
		return resp.Header
	case raw != nil:
		return raw.Header
	}
	return http.Header{}
}

// statusFailure decides from the status (and the provider's explicit
// x-should-retry, when sent) whether another attempt may succeed.
func statusFailure(status int, h http.Header) *failure {
	f := &failure{kind: kindStatus, status: status, requestID: requestID(h)}
	switch status {
	case http.StatusRequestTimeout, http.StatusConflict, http.StatusTooManyRequests:
		f.retryable = true
	case http.StatusNotImplemented, http.StatusHTTPVersionNotSupported:
		f.retryable = false // no later attempt will change these
	default:
		f.retryable = status >= 500
	}
	switch h.Get("x-should-retry") {
	case "true":
		f.retryable = true
	case "false":
		f.retryable = false
	}
	f.retryAfter, f.hasRetryAfter = retryAfter(h, time.Now())
	return f
}

// retryAfter reads the provider's wait: retry-after-ms (OpenAI's, finer)
// first, then Retry-After as seconds or an HTTP date.
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	if v := h.Get("retry-after-ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms >= 0 && !math.IsInf(ms, 0) {
			return time.Duration(ms * float64(time.Millisecond)), true
		}
	}
	v := h.Get("Retry-After")
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 && !math.IsInf(s, 0) {
		return time.Duration(s * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

func requestID(h http.Header) string { return h.Get("x-request-id") }

// backoff is exponential with full jitter: uniform in [0, base*2^(n-1)),
// capped, so clients that failed together do not retry together.
func (m *Model) backoff(attempt int) time.Duration {
	ceiling := m.retryBase << (attempt - 1)
	if ceiling <= 0 || ceiling > maxBackoff {
		ceiling = maxBackoff
	}
	return rand.N(ceiling)
}

// attemptsError carries the log-side detail of a failed Complete: how many
// attempts were made and what the last one saw, already redacted.
type attemptsError struct {
	attempts  int
	status    int
	code      string
	requestID string
	detail    string
	cause     error
}

func (e *attemptsError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d attempt", e.attempts)
	if e.attempts != 1 {
		b.WriteString("s")
	}
	if e.status != 0 {
		fmt.Fprintf(&b, ", last status %d", e.status)
	}
	if e.code != "" {
		fmt.Fprintf(&b, " (%s)", e.code)
	}
	if e.requestID != "" {
		fmt.Fprintf(&b, ", request id %s", e.requestID)
	}
	if e.detail != "" {
		b.WriteString(": " + e.detail)
	}
	return b.String()
}

func (e *attemptsError) Unwrap() error { return e.cause }

// fail builds the caller's error for the last failure after attempts.
func (m *Model) fail(f *failure, attempts int) *chat.Error {
	e := &chat.Error{Op: op, Err: &attemptsError{
		attempts: attempts, status: f.status, code: m.redactor.redact(f.providerCode),
		requestID: m.redactor.redact(f.requestID), detail: m.redactor.redact(f.detail), cause: f.cause,
	}}
	tries := ""
	if attempts > 1 {
		tries = fmt.Sprintf(" after %d attempts", attempts)
	}
	unavailable := func(what string) {
		e.Code = chat.CodeModelUnavailable
		e.RetryAfter = retryAfterSeconds(f)
		unit := "seconds"
		if e.RetryAfter == 1 {
			unit = "second"
		}
		e.Message = fmt.Sprintf("%s%s; try again in %d %s", what, tries, e.RetryAfter, unit)
	}
	switch f.kind {
	case kindDeadline:
		e.Code = chat.CodeDeadline
		e.Message = "the model did not answer before the deadline; try again, or ask a narrower question"
	case kindQuota:
		e.Code = chat.CodeQuotaExhausted
		e.Message = "the model provider account has run out of quota; an operator must add credit or raise the spending limit"
	case kindTransport:
		e.Code = chat.CodeModelError
		e.Message = "could not reach the model provider" + tries + "; try again shortly"
	case kindTruncated, kindMalformed:
		e.Code = chat.CodeModelError
		e.Message = "the model provider sent a response that could not be read" + tries + "; try again shortly"
	case kindLength:
		e.Code = chat.CodeModelError
		e.Message = "the model reached its output token limit before answering; ask for less at once, or an operator can raise the output token limit"
	case kindFiltered:
		e.Code = chat.CodeModelError
		e.Message = "the model provider's content filter withheld the answer; rephrase the question"
	case kindEmpty:
		e.Code = chat.CodeModelError
		e.Message = "the model returned an empty answer; try again or rephrase the question"
	case kindStatus:
		switch f.status {
		case http.StatusTooManyRequests:
			unavailable("the model provider is rate limiting requests")
		case http.StatusServiceUnavailable:
			unavailable("the model provider is overloaded")
		case http.StatusRequestTimeout, http.StatusGatewayTimeout:
			unavailable(fmt.Sprintf("the model provider timed out (HTTP %d)", f.status))
		case http.StatusConflict:
			unavailable("the model provider reported a conflict (HTTP 409)")
		case http.StatusUnauthorized:
			e.Code = chat.CodeModelError
			e.Message = "the model provider refused the API key (HTTP 401); an operator must configure a valid key"
		case http.StatusForbidden:
			e.Code = chat.CodeModelError
			e.Message = "the model provider denied access (HTTP 403); an operator must check that the account may use this model from this region"
		case http.StatusNotFound:
			e.Code = chat.CodeModelError
			e.Message = "the model provider does not know this model or endpoint (HTTP 404); an operator must check the model name and base URL"
		case http.StatusBadRequest, http.StatusUnprocessableEntity:
			e.Code = chat.CodeModelError
			if f.providerCode == "context_length_exceeded" {
				e.Message = "the conversation is too long for the model; start a new conversation"
			} else {
				e.Message = fmt.Sprintf("the model provider rejected the request (HTTP %d); try rephrasing the question, and report it if it keeps happening", f.status)
			}
		default:
			e.Code = chat.CodeModelError
			e.Message = fmt.Sprintf("the model provider failed (HTTP %d)%s; try again shortly", f.status, tries)
		}
	default:
		e.Code = chat.CodeModelError
		e.Message = "the request to the model provider failed" + tries + "; try again shortly"
	}
	return e
}

// retryAfterSeconds is the client's hint: the provider's own wait rounded
// up to whole seconds (at least one), or a default when it sent none.
func retryAfterSeconds(f *failure) int {
	d := defaultRetryAfter
	if f.hasRetryAfter {
		d = f.retryAfter
	}
	return max(1, int(math.Ceil(d.Seconds())))
}

// deadlineError is the error when ctx ended before or between attempts.
func deadlineError(ctx context.Context, attempts int) *chat.Error {
	cause := ctx.Err()
	if cause == nil {
		cause = context.DeadlineExceeded
	}
	return &chat.Error{
		Code:    chat.CodeDeadline,
		Op:      op,
		Message: "the model did not answer before the deadline; try again, or ask a narrower question",
		Err:     &attemptsError{attempts: attempts, detail: cause.Error(), cause: cause},
	}
}

// Package openai is the chat.Model adapter for OpenAI's Chat Completions
// API, and for any endpoint that speaks it (Azure OpenAI's v1 API, Ollama,
// vLLM), built on github.com/openai/openai-go.
//
// The adapter owns the retry policy: the SDK's own retries are disabled so
// that one place decides what is retried, how long to wait, and that no wait
// runs past the caller's deadline. Every failure leaves as a *chat.Error
// whose Message is safe to show to the end user; the API key never appears
// in an error or a log line.
package openai

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	sdk "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/datachat/datachat/shared/chat"
)

// DefaultModel is used when Options.Model is empty. gpt-4.1-mini is among
// the cheapest OpenAI models that is reliable with strict function schemas
// and parallel tool calls, has a context window far beyond a turn's token
// budget, and, not being a reasoning model, accepts a temperature and spends
// no hidden reasoning tokens against that budget.
const DefaultModel = "gpt-4.1-mini"

// DefaultMaxOutputTokens bounds one completion when Options.MaxOutputTokens
// is zero: plenty for a batch of tool calls or a short answer, and small
// enough that one runaway completion cannot eat the turn's token budget.
const DefaultMaxOutputTokens = 4096

// DefaultMaxRetries is the number of retries after the first attempt when
// Options.MaxRetries is zero.
const DefaultMaxRetries = 2

// DefaultRetryBase is the first backoff step when Options.RetryBase is zero.
const DefaultRetryBase = 500 * time.Millisecond

const (
	op = "openai.Complete"
	// maxBackoff caps the computed (jittered) backoff.
	maxBackoff = 8 * time.Second
	// maxServerWait is the longest Retry-After the adapter will sit out even
	// when the deadline allows it: a provider asking for more is better
	// reported to the user, who can come back later, than waited for.
	maxServerWait = 30 * time.Second
	// defaultRetryAfter is the hint given to the client when the provider
	// was overloaded or rate limiting but sent no Retry-After.
	defaultRetryAfter = 5 * time.Second
)

// Options configure a Model. Only APIKey is required.
type Options struct {
	// APIKey authenticates every request as a bearer token. Required.
	APIKey string
	// BaseURL points the client at any OpenAI-compatible endpoint, such as
	// "https://RESOURCE.openai.azure.com/openai/v1/" (Azure OpenAI; Model is
	// then the deployment name), "http://localhost:11434/v1/" (Ollama) or
	// "http://localhost:8000/v1/" (vLLM). Empty means OpenAI's API.
	BaseURL string
	// Model is the model name sent with each request; DefaultModel when empty.
	Model string
	// Temperature, when set, is sent as is; nil leaves the provider's
	// default. Reasoning models (o-series, gpt-5) reject any value but 1.
	Temperature *float64
	// MaxOutputTokens bounds each completion (max_completion_tokens);
	// DefaultMaxOutputTokens when zero.
	MaxOutputTokens int
	// MaxRetries is how many times a failed request is retried;
	// DefaultMaxRetries when zero, no retries when negative.
	MaxRetries int
	// RetryBase is the first step of the exponential backoff (full jitter:
	// a wait drawn uniformly from [0, RetryBase*2^n)); DefaultRetryBase when
	// zero. Tests set it small.
	RetryBase time.Duration
	// Sleep waits d or until ctx is done, returning ctx.Err() in that case.
	// Nil means a timer. Tests inject one to record or skip the waits.
	Sleep func(ctx context.Context, d time.Duration) error
	// HTTPClient carries the requests; nil means the SDK's default client.
	HTTPClient *http.Client
	// Logger receives one warning per retry (never the key or the prompt);
	// nil discards them.
	Logger *slog.Logger
}

// Model is a chat.Model on the Chat Completions API. It holds only
// configuration and a client that is safe for concurrent use.
type Model struct {
	client          sdk.Client
	model           string
	temperature     *float64
	maxOutputTokens int
	maxRetries      int
	retryBase       time.Duration
	sleep           func(context.Context, time.Duration) error
	log             *slog.Logger
	redactor        redactor
	tools           *toolCache
	system          *systemCache
	// modelJSON and temperatureJSON are the model name and the
	// temperature (nil when not set) as encoded in every request body.
	modelJSON       []byte
	temperatureJSON []byte
}

var _ chat.Model = (*Model)(nil)

// New checks opts and builds the client. It does no network I/O.
func New(opts Options) (*Model, error) {
	if strings.TrimSpace(opts.APIKey) == "" {
		return nil, errors.New("openai.New: APIKey is required")
	}
	if strings.ContainsAny(opts.APIKey, " \t\r\n") {
		// A key read from a file or secret with a trailing newline would
		// make every request fail with a confusing transport error.
		return nil, errors.New("openai.New: APIKey contains white space; trim it")
	}
	if opts.MaxOutputTokens < 0 {
		return nil, fmt.Errorf("openai.New: MaxOutputTokens must not be negative, got %d", opts.MaxOutputTokens)
	}
	if opts.RetryBase < 0 {
		return nil, fmt.Errorf("openai.New: RetryBase must not be negative, got %s", opts.RetryBase)
	}
	m := &Model{
		model:           opts.Model,
		temperature:     opts.Temperature,
		maxOutputTokens: opts.MaxOutputTokens,
		maxRetries:      opts.MaxRetries,
		retryBase:       opts.RetryBase,
		sleep:           opts.Sleep,
		log:             opts.Logger,
		redactor:        redactor{key: opts.APIKey},
		tools:           &toolCache{},
		system:          &systemCache{},
	}
	if m.model == "" {
		m.model = DefaultModel
	}
	if m.maxOutputTokens == 0 {
		m.maxOutputTokens = DefaultMaxOutputTokens
	}
	switch {
	case m.maxRetries == 0:
		m.maxRetries = DefaultMaxRetries
	case m.maxRetries < 0:
		m.maxRetries = 0
	}
	if m.retryBase == 0 {
		m.retryBase = DefaultRetryBase
	}
	if m.sleep == nil {
		m.sleep = sleepTimer
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	// Encoded by the SDK, once, as it would encode them in each request.
	var err error
	if m.modelJSON, err = sdk.String(m.model).MarshalJSON(); err != nil {
		return nil, fmt.Errorf("openai.New: model name: %w", err)
	}
	if m.temperature != nil {
		if m.temperatureJSON, err = sdk.Float(*m.temperature).MarshalJSON(); err != nil {
			return nil, fmt.Errorf("openai.New: Temperature: %w", err)
		}
	}

	// The SDK also reads OPENAI_* variables from the environment; the
	// options below take precedence over them, and retries are ours.
	clientOpts := []option.RequestOption{
		option.WithAPIKey(opts.APIKey),
		option.WithMaxRetries(0),
	}
	if opts.BaseURL != "" {
		u, err := url.Parse(opts.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("openai.New: BaseURL must be an absolute http or https URL, got %q", opts.BaseURL)
		}
		clientOpts = append(clientOpts, option.WithBaseURL(opts.BaseURL))
	}
	httpClient := opts.HTTPClient
	if httpClient == nil {
		// The default transport keeps 2 idle connections per host, so with
		// many turns in flight most model requests would open (and the
		// provider accept) a new TLS connection. Keep enough for every turn.
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConns, t.MaxIdleConnsPerHost = 0, 4096
		httpClient = &http.Client{Transport: t}
	}
	clientOpts = append(clientOpts, option.WithHTTPClient(httpClient))
	m.client = sdk.NewClient(clientOpts...)
	return m, nil
}

// Name returns the model name sent with each request.
func (m *Model) Name() string { return m.model }

// Complete sends one Chat Completions request, retrying transient failures
// within ctx's deadline. Errors are *chat.Error with CodeModelError,
// CodeModelUnavailable, CodeQuotaExhausted or CodeDeadline (CodeInternal
// only for a request this adapter cannot encode, which is a bug).
func (m *Model) Complete(ctx context.Context, req chat.ModelRequest) (chat.ModelResponse, error) {
	body, err := m.body(req, req.OnText != nil)
	if err != nil {
		return chat.ModelResponse{}, &chat.Error{Code: chat.CodeInternal, Op: op, Message: "the request to the model could not be built", Err: err}
	}
	for attempt := 1; ; attempt++ {
		if ctx.Err() != nil {
			return chat.ModelResponse{}, deadlineError(ctx, attempt-1)
		}
		var resp chat.ModelResponse
		var f *failure
		if req.OnText != nil {
			resp, f = m.attemptStream(ctx, body, req.OnText)
		} else {
			resp, f = m.attempt(ctx, body)
		}
		if f == nil {
			return resp, nil
		}
		if !f.retryable || attempt > m.maxRetries { // a deadline is never retryable
			return chat.ModelResponse{}, m.fail(f, attempt)
		}
		wait := m.backoff(attempt)
		if f.hasRetryAfter {
			wait = f.retryAfter
		}
		if wait > maxServerWait {
			return chat.ModelResponse{}, m.fail(f, attempt)
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= wait {
			// Waiting would use up the rest of the turn's time; give the
			// caller the provider's answer now rather than a deadline later.
			return chat.ModelResponse{}, m.fail(f, attempt)
		}
		m.log.LogAttrs(ctx, slog.LevelWarn, "model request failed; retrying",
			slog.String("op", op),
			slog.Int("attempt", attempt),
			slog.Int("status", f.status),
			slog.String("provider_code", m.redactor.redact(f.providerCode)),
			slog.String("request_id", m.redactor.redact(f.requestID)),
			slog.String("wait", wait.String()),
			slog.String("error", m.redactor.redact(f.detail)),
		)
		if err := m.sleep(ctx, wait); err != nil {
			return chat.ModelResponse{}, deadlineError(ctx, attempt)
		}
	}
}

// attempt makes one request and converts its outcome.
func (m *Model) attempt(ctx context.Context, body requestBody) (chat.ModelResponse, *failure) {
	// The raw response gives the status and headers even when the SDK
	// could not decode an error body (an HTML page from a proxy).
	var raw *http.Response
	var cc *completion
	err := m.post(ctx, body, &cc, &raw)
	if err != nil {
		return chat.ModelResponse{}, classify(ctx, err, raw)
	}
	resp, f := response(cc)
	if f != nil && raw != nil {
		f.requestID = requestID(raw.Header)
	}
	return resp, f
}

// completionsPath is where Chat.Completions.New and NewStreaming post.
// The adapter posts its own body there with Client.Post, which sends it
// as it is, with the same headers and bearer key: those calls take the
// SDK's params by value (1.2 kB, copied into frames deep enough that every
// request's goroutine had to grow its stack) only to encode them, and
// NewStreaming then re-parses the body to add "stream".
const completionsPath = "chat/completions"

func sleepTimer(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// String names the model without the client's configuration, so printing
// or logging a *Model can never show the key.
func (m *Model) String() string { return "openai.Model(" + m.model + ")" }

// GoString is String, for %#v.
func (m *Model) GoString() string { return m.String() }

// LogValue is String, for slog.
func (m *Model) LogValue() slog.Value { return slog.StringValue(m.String()) }

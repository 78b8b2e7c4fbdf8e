// Package app is the composition root: it builds the service's handler
// from a Config, choosing each port's adapter. The Lambda functions and
// the local dev server both call it, so they serve the same thing.
package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/uuid"

	"github.com/datachat/datachat/shared/chat"
	"github.com/datachat/datachat/shared/cite"
	"github.com/datachat/datachat/shared/compute"
	"github.com/datachat/datachat/shared/config"
	"github.com/datachat/datachat/shared/dynamo"
	"github.com/datachat/datachat/shared/embedded"
	"github.com/datachat/datachat/shared/emf"
	"github.com/datachat/datachat/shared/httpapi"
	"github.com/datachat/datachat/shared/offline"
	"github.com/datachat/datachat/shared/openai"
	"github.com/datachat/datachat/shared/reqlog"
	"github.com/datachat/datachat/shared/sqs"
	"github.com/datachat/datachat/shared/weaviate"
)

// Deps are what the caller decides rather than the configuration: how
// users are identified, where logs go and, in tests, replacement ports.
type Deps struct {
	Auth   httpapi.Authenticator
	Logger *slog.Logger
	Now    func() time.Time
	// LocalTokens signs tokens for the page's sign-in form: set only by the
	// local server, which verifies its own tokens; never in Lambda.
	LocalTokens httpapi.TokenIssuer
	NewID       func() string // conversation and run ids; random UUIDs when nil
	// Metrics receives one EMF line per turn and per tool call (the
	// function's stdout in Lambda); nil emits no metrics.
	Metrics io.Writer

	// Optional overrides; nil means "choose from the configuration".
	Model     chat.Model
	Warehouse chat.Warehouse
	Memory    interface {
		chat.Memory
		chat.Conversations
	}
	// Meter keeps the per-user counters; by default Memory when it is one
	// (DynamoDB), else in-process counters.
	Meter chat.Meter
	// Jobs keeps queued turns and idempotency keys; by default Memory when
	// it can (DynamoDB), else in process.
	Jobs interface {
		chat.Jobs
		chat.Idempotency
	}
	// Queue carries queued turns to the worker; by default SQS at
	// QUEUE_URL, else an in-process worker pool.
	Queue chat.Queue
}

// App is the built service.
type App struct {
	Handler http.Handler
	Agent   *chat.Agent
	// Worker runs queued turns: the SQS worker function calls it, and the
	// in-process pool of local runs.
	Worker *httpapi.Worker
	// Close stops the in-process worker pool, if one runs, waiting for
	// its running turns until ctx is done.
	Close func(ctx context.Context) error
	// Embedded lists the ports running on in-process stand-ins, for the
	// warning a deployed function logs when it is not configured.
	Embedded []string
}

// New builds the service. ctx bounds what it does at start (loading the
// AWS configuration); the App outlives it.
func New(ctx context.Context, cfg config.Config, deps Deps) (*App, error) {
	if deps.Logger == nil {
		return nil, fmt.Errorf("app.New: a logger is required")
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.NewID == nil {
		deps.NewID = uuid.NewString
	}
	// Every line logged with a request's context names its request and trace.
	deps.Logger = slog.New(reqlog.Handler(deps.Logger.Handler()))
	a := &App{Close: func(context.Context) error { return nil }}
	switch {
	case deps.Warehouse != nil:
	case cfg.Weaviate.URL != "":
		if cfg.Weaviate.KeySecretARN != "" && cfg.Weaviate.APIKey == "" {
			return nil, fmt.Errorf("app.New: WEAVIATE_API_KEY_SECRET_ARN is set but the key was not read from it")
		}
		w, err := weaviate.New(weaviate.Options{
			URL: cfg.Weaviate.URL, GRPCURL: cfg.Weaviate.GRPCURL, APIKey: cfg.Weaviate.APIKey, Timeout: cfg.Weaviate.Timeout,
			RowCap: max(cfg.Limits.RowCap, cfg.Limits.ChartPoints), Collections: cfg.Weaviate.Collections, Now: deps.Now,
		})
		if err != nil {
			return nil, fmt.Errorf("app.New: %w", err)
		}
		deps.Warehouse = w
	default:
		// The agent fetches whole series up to the chart's points and
		// cuts the response's table to RowCap itself.
		w, err := embedded.SampleWarehouse(max(cfg.Limits.RowCap, cfg.Limits.ChartPoints))
		if err != nil {
			return nil, fmt.Errorf("app.New: %w", err)
		}
		deps.Warehouse = w
		a.Embedded = append(a.Embedded, "warehouse (sample market data; set WEAVIATE_URL)")
	}
	switch {
	case deps.Model != nil:
	case cfg.OpenAI.APIKey != "":
		m, err := openai.New(openai.Options{
			APIKey: cfg.OpenAI.APIKey, BaseURL: cfg.OpenAI.BaseURL, Model: cfg.OpenAI.Model,
			Temperature: cfg.OpenAI.Temperature, MaxOutputTokens: cfg.OpenAI.MaxOutputTokens, Logger: deps.Logger,
		})
		if err != nil {
			return nil, fmt.Errorf("app.New: %w", err)
		}
		deps.Model = m
	case cfg.OpenAI.KeySecretARN != "":
		// The caller resolves the secret into APIKey before New (see
		// functions/api); reaching here means it did not.
		return nil, fmt.Errorf("app.New: OPENAI_API_KEY_SECRET_ARN is set but the key was not read from it")
	default:
		deps.Model = offline.New()
		a.Embedded = append(a.Embedded, "model (offline planner; set OPENAI_API_KEY)")
	}
	switch {
	case deps.Memory != nil:
	case cfg.TableName != "":
		awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, fmt.Errorf("app.New: load AWS configuration: %w", err)
		}
		store, err := dynamo.New(dynamodb.NewFromConfig(awsCfg), dynamo.Options{Table: cfg.TableName, TTL: cfg.ConversationTTL, Now: deps.Now})
		if err != nil {
			return nil, fmt.Errorf("app.New: %w", err)
		}
		deps.Memory = store
	default:
		deps.Memory = embedded.NewMemory(deps.Now)
		a.Embedded = append(a.Embedded, "memory (in-process, lost on exit; set TABLE_NAME)")
	}
	if deps.Meter == nil {
		// The conversation store keeps the counters when it can (DynamoDB),
		// so every instance sees the same budgets; otherwise they are the
		// process's own.
		if m, ok := deps.Memory.(chat.Meter); ok {
			deps.Meter = m
		} else {
			deps.Meter = embedded.NewMeter()
		}
	}
	if deps.Jobs == nil {
		if j, ok := deps.Memory.(interface {
			chat.Jobs
			chat.Idempotency
		}); ok {
			deps.Jobs = j
		} else {
			deps.Jobs = embedded.NewJobs(deps.Now)
		}
	}
	agent, err := chat.NewAgent(deps.Model, deps.Warehouse, cfg.Limits, chat.WithComputer(compute.New()), chat.WithChecker(cite.New()))
	if err != nil {
		return nil, fmt.Errorf("app.New: %w", err)
	}
	var observe func(*http.Request, string) chat.Sink
	if deps.Metrics != nil {
		turns := emf.NewTurns(deps.Metrics, modelName(deps.Model), deps.Now, deps.Logger)
		observe = func(r *http.Request, user string) chat.Sink { return turns.Turn(r.Context(), r.Pattern, user) }
	}
	opts := httpapi.Options{
		Agent: agent, Memory: deps.Memory, Conversations: deps.Memory, Auth: deps.Auth,
		Jobs: deps.Jobs, Idempotency: deps.Jobs, Queue: deps.Queue,
		Logger: deps.Logger, NewID: deps.NewID, Now: deps.Now,
		TurnTimeout: cfg.TurnTimeout, SaveReserve: cfg.SaveReserve, MaxBodyBytes: cfg.MaxBodyBytes,
		MaxMessageChars: cfg.MaxMessageChars, HistoryTurns: cfg.HistoryTurns,
		Observe: observe,
		Meter:   deps.Meter, UserLimits: cfg.UserLimits, TurnTokens: cfg.Limits.MaxTotalTokens,
		Page: httpapi.PageOptions{
			LocalTokens: deps.LocalTokens,
			Cognito:     httpapi.CognitoLogin{Domain: cfg.Cognito.Domain, ClientID: cfg.Cognito.ClientID},
		},
		StreamTurnTimeout: cfg.StreamTurnTimeout,
	}
	worker, err := httpapi.NewWorker(opts)
	if err != nil {
		return nil, fmt.Errorf("app.New: %w", err)
	}
	a.Worker = worker
	switch {
	case opts.Queue != nil:
	case cfg.QueueURL != "":
		if _, inProcess := deps.Jobs.(*embedded.Jobs); inProcess {
			// The worker would never find the jobs this process queues.
			return nil, fmt.Errorf("app.New: QUEUE_URL is set but job records are kept in this process; set TABLE_NAME too, so the worker function can read them")
		}
		awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, fmt.Errorf("app.New: load AWS configuration: %w", err)
		}
		q, err := sqs.New(awssqs.NewFromConfig(awsCfg), cfg.QueueURL)
		if err != nil {
			return nil, fmt.Errorf("app.New: %w", err)
		}
		opts.Queue = q
	default:
		q, err := embedded.NewQueue(worker.Handle, embedded.QueueOptions{MaxReceives: httpapi.MaxJobAttempts, Logger: deps.Logger})
		if err != nil {
			return nil, fmt.Errorf("app.New: %w", err)
		}
		opts.Queue, a.Close = q, q.Close
		a.Embedded = append(a.Embedded, "queue (in-process worker pool; set QUEUE_URL)")
	}
	h, err := httpapi.New(opts)
	if err != nil {
		_ = a.Close(ctx)
		return nil, fmt.Errorf("app.New: %w", err)
	}
	a.Handler, a.Agent = h, agent
	return a, nil
}

// modelName is the Model dimension of the metrics: the hosted model's
// name, or "offline" for the offline planner.
func modelName(m chat.Model) string {
	if n, ok := m.(interface{ Name() string }); ok {
		return n.Name()
	}
	if _, ok := m.(*offline.Model); ok {
		return "offline"
	}
	return "custom"
}

// SecretFetcher reads a secret's value by its ARN.
type SecretFetcher func(ctx context.Context, arn string) (string, error)

// LambdaInitTimeout bounds a function's work at init (reading secrets and
// the AWS configuration): Lambda gives init 10 s.
const LambdaInitTimeout = 8 * time.Second

// ForLambda builds the app as a Lambda function does at init: the
// configuration from getenv, the keys read once from Secrets Manager with
// fetch (every warm invocation reuses them), JSON log lines and EMF
// metrics on logs, and a warning naming the ports that run on their
// embedded stand-ins. It returns the logger too, for the function's own
// lines.
func ForLambda(getenv func(string) string, logs io.Writer, fetch SecretFetcher, authn httpapi.Authenticator) (*App, *slog.Logger, error) {
	cfg, err := config.FromEnv(getenv)
	if err != nil {
		return nil, nil, fmt.Errorf("configuration: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), LambdaInitTimeout)
	defer cancel()
	if err := resolveSecrets(ctx, &cfg, fetch); err != nil {
		return nil, nil, err
	}
	// JSON lines, which CloudWatch Logs Insights queries field by field;
	// each names its request and trace.
	logger := slog.New(reqlog.Handler(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: cfg.LogLevel})))
	a, err := New(ctx, cfg, Deps{Auth: authn, Logger: logger, Metrics: logs})
	if err != nil {
		return nil, nil, err
	}
	if len(a.Embedded) > 0 {
		logger.Warn("running on embedded defaults; set the variables named here for a deployed stack", slog.Any("embedded", a.Embedded))
	}
	return a, logger, nil
}

// resolveSecrets reads the keys whose Secrets Manager ARNs cfg names and
// are not already set.
func resolveSecrets(ctx context.Context, cfg *config.Config, fetch SecretFetcher) error {
	var err error
	if cfg.OpenAI.KeySecretARN != "" && cfg.OpenAI.APIKey == "" {
		if cfg.OpenAI.APIKey, err = fetch(ctx, cfg.OpenAI.KeySecretARN); err != nil {
			return fmt.Errorf("read the OpenAI key: %w", err)
		}
	}
	if cfg.Weaviate.KeySecretARN != "" && cfg.Weaviate.APIKey == "" {
		if cfg.Weaviate.APIKey, err = fetch(ctx, cfg.Weaviate.KeySecretARN); err != nil {
			return fmt.Errorf("read the Weaviate key: %w", err)
		}
	}
	return nil
}

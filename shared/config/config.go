// Package config reads the service's settings from the environment. It is
// the only package that does; everything else receives a Config.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/datachat/datachat/shared/chat"
	"github.com/datachat/datachat/shared/httpapi"
)

// Config is every setting, with defaults filled in.
type Config struct {
	Port          int    // PORT: the local server's port (default 3000)
	AuthJWTSecret string // AUTH_JWT_SECRET: HS256 secret of local tokens

	Limits          chat.Limits   // MAX_MODEL_REQUESTS, MAX_TOTAL_TOKENS, HISTORY_TOKEN_BUDGET, ROW_LIMIT, CHART_POINTS
	TurnTimeout     time.Duration // TURN_TIMEOUT (default 25s)
	SaveReserve     time.Duration // SAVE_RESERVE (default 2s): kept back from the turn to store it
	MaxBodyBytes    int64         // MAX_BODY_BYTES (default and least: 12 bytes per MAX_MESSAGE_CHARS plus 4 KiB)
	MaxMessageChars int           // MAX_MESSAGE_CHARS (default 8000)
	HistoryTurns    int           // HISTORY_TURNS (default 20; 0 means none: httpapi.NoHistory)
	// UserLimits (USER_DAILY_TOKENS, USER_TURNS_PER_MINUTE; unset or 0 =
	// unlimited) bound each user across all their turns.
	UserLimits chat.UserLimits

	// StreamTurnTimeout (STREAM_TURN_TIMEOUT, default 5m) is the deadline
	// of a streamed turn; in Lambda the invocation's end comes first.
	StreamTurnTimeout time.Duration

	LogLevel slog.Level // LOG_LEVEL: debug, info, warn or error (default info)

	OpenAI OpenAI

	// TableName (TABLE_NAME) selects DynamoDB for conversation memory; the
	// endpoint, region and credentials come from the AWS SDK's standard
	// configuration (AWS_REGION, AWS_ENDPOINT_URL_DYNAMODB, ...).
	TableName string
	// ConversationTTL (CONVERSATION_TTL, default 168h) is how long a
	// conversation is kept after its last turn.
	ConversationTTL time.Duration
	// QueueURL (QUEUE_URL) selects SQS for queued turns (Prefer:
	// respond-async), consumed by the worker function; without it an
	// in-process worker pool runs them.
	QueueURL string

	Weaviate Weaviate

	Cognito Cognito
}

// Cognito is the user pool's managed login that the chat page sends users
// to when the server does not verify its own tokens (in AWS).
type Cognito struct {
	Domain   string // COGNITO_DOMAIN: https://<prefix>.auth.<region>.amazoncognito.com
	ClientID string // COGNITO_CLIENT_ID: the app client (public, no secret)
}

// Weaviate selects the user's Weaviate as the warehouse; without a URL the
// embedded sample data is served.
type Weaviate struct {
	URL          string        // WEAVIATE_URL: scheme and host, such as http://127.0.0.1:8080
	GRPCURL      string        // WEAVIATE_GRPC_URL: the gRPC API as host:port or URL; empty derives it from URL
	APIKey       string        // WEAVIATE_API_KEY (local runs)
	KeySecretARN string        // WEAVIATE_API_KEY_SECRET_ARN: Secrets Manager secret holding the key (Lambda)
	Collections  []string      // WEAVIATE_COLLECTIONS: comma-separated allow-list; empty allows all
	Timeout      time.Duration // WEAVIATE_TIMEOUT: bound of each call (default 10s)
}

// OpenAI selects the hosted model. With neither a key nor a secret ARN the
// offline planner answers instead.
type OpenAI struct {
	APIKey          string   // OPENAI_API_KEY (local runs; never set in template.yaml)
	KeySecretARN    string   // OPENAI_API_KEY_SECRET_ARN: Secrets Manager secret holding the key (Lambda)
	BaseURL         string   // OPENAI_BASE_URL: any OpenAI-compatible endpoint
	Model           string   // OPENAI_MODEL (default gpt-4.1-mini)
	Temperature     *float64 // OPENAI_TEMPERATURE (provider default when unset)
	MaxOutputTokens int      // OPENAI_MAX_OUTPUT_TOKENS (default 4096)
}

// Enabled reports whether a hosted model is configured.
func (o OpenAI) Enabled() bool { return o.APIKey != "" || o.KeySecretARN != "" }

// FromEnv reads the configuration through getenv (os.Getenv in mains, a
// map in tests). Every malformed value is reported, each naming its variable.
func FromEnv(getenv func(string) string) (Config, error) {
	p := parser{getenv: getenv}
	d := chat.DefaultLimits()
	c := Config{
		Port:          p.int("PORT", 3000, 1, 65535),
		AuthJWTSecret: getenv("AUTH_JWT_SECRET"),
		Limits: chat.Limits{
			MaxModelRequests: p.int("MAX_MODEL_REQUESTS", d.MaxModelRequests, 1, 100),
			MaxTotalTokens:   p.int("MAX_TOTAL_TOKENS", d.MaxTotalTokens, 100, 10_000_000),
			HistoryTokens:    p.int("HISTORY_TOKEN_BUDGET", d.HistoryTokens, 0, 10_000_000),
			RowCap:           p.int("ROW_LIMIT", d.RowCap, 1, 10_000),
			ChartPoints:      p.int("CHART_POINTS", d.ChartPoints, 1, 100_000),
		},
		TurnTimeout:     p.duration("TURN_TIMEOUT", httpapi.DefaultTurnTimeout),
		SaveReserve:     p.duration("SAVE_RESERVE", httpapi.DefaultSaveReserve),
		MaxBodyBytes:    int64(p.int("MAX_BODY_BYTES", 0, 256, 64<<20)),
		MaxMessageChars: p.int("MAX_MESSAGE_CHARS", httpapi.DefaultMaxMessageChars, 1, 1_000_000),
		HistoryTurns:    p.int("HISTORY_TURNS", httpapi.DefaultHistoryTurns, 0, 1000),
		UserLimits: chat.UserLimits{
			DailyTokens:    p.int("USER_DAILY_TOKENS", 0, 0, 1_000_000_000),
			TurnsPerMinute: p.int("USER_TURNS_PER_MINUTE", 0, 0, 100_000),
		},
		LogLevel:        p.level("LOG_LEVEL"),
		TableName:       strings.TrimSpace(getenv("TABLE_NAME")),
		QueueURL:        strings.TrimSpace(getenv("QUEUE_URL")),
		ConversationTTL: p.duration("CONVERSATION_TTL", 7*24*time.Hour),
		Weaviate: Weaviate{
			URL:          strings.TrimSpace(getenv("WEAVIATE_URL")),
			GRPCURL:      strings.TrimSpace(getenv("WEAVIATE_GRPC_URL")),
			APIKey:       strings.TrimSpace(getenv("WEAVIATE_API_KEY")),
			KeySecretARN: strings.TrimSpace(getenv("WEAVIATE_API_KEY_SECRET_ARN")),
			Collections:  list(getenv("WEAVIATE_COLLECTIONS")),
			Timeout:      p.duration("WEAVIATE_TIMEOUT", 10*time.Second),
		},
		Cognito: Cognito{
			Domain:   strings.TrimRight(strings.TrimSpace(getenv("COGNITO_DOMAIN")), "/"),
			ClientID: strings.TrimSpace(getenv("COGNITO_CLIENT_ID")),
		},
		OpenAI: OpenAI{
			APIKey:          strings.TrimSpace(getenv("OPENAI_API_KEY")),
			KeySecretARN:    strings.TrimSpace(getenv("OPENAI_API_KEY_SECRET_ARN")),
			BaseURL:         strings.TrimSpace(getenv("OPENAI_BASE_URL")),
			Model:           strings.TrimSpace(getenv("OPENAI_MODEL")),
			Temperature:     p.optionalFloat("OPENAI_TEMPERATURE", 0, 2),
			MaxOutputTokens: p.int("OPENAI_MAX_OUTPUT_TOKENS", 0, 0, 1_000_000),
		},
	}
	c.StreamTurnTimeout = p.duration("STREAM_TURN_TIMEOUT", httpapi.DefaultStreamTurnTimeout)
	if c.SaveReserve >= c.StreamTurnTimeout {
		p.errs = append(p.errs, fmt.Errorf("SAVE_RESERVE=%s must be shorter than STREAM_TURN_TIMEOUT=%s, or every streamed turn starts past its deadline", c.SaveReserve, c.StreamTurnTimeout))
	}
	if least := httpapi.BodyBytesFor(c.MaxMessageChars); c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = least
	} else if c.MaxBodyBytes < least {
		p.errs = append(p.errs, fmt.Errorf("MAX_BODY_BYTES=%d would refuse messages within MAX_MESSAGE_CHARS=%d sent with \\u escapes (12 bytes a character); set it to at least %d or leave it unset", c.MaxBodyBytes, c.MaxMessageChars, least))
	}
	if c.HistoryTurns == 0 {
		c.HistoryTurns = httpapi.NoHistory
	}
	if c.SaveReserve >= c.TurnTimeout {
		p.errs = append(p.errs, fmt.Errorf("SAVE_RESERVE=%s must be shorter than TURN_TIMEOUT=%s, or every turn starts past its deadline", c.SaveReserve, c.TurnTimeout))
	}
	if d := c.Cognito.Domain; d != "" && !strings.HasPrefix(d, "https://") {
		p.errs = append(p.errs, fmt.Errorf("COGNITO_DOMAIN=%q: want the pool domain's https:// URL, such as https://name.auth.eu-west-1.amazoncognito.com", d))
	}
	if (c.Cognito.Domain == "") != (c.Cognito.ClientID == "") {
		p.errs = append(p.errs, errors.New("COGNITO_DOMAIN and COGNITO_CLIENT_ID are set together or not at all"))
	}
	if len(p.errs) > 0 {
		return Config{}, errors.Join(p.errs...)
	}
	return c, nil
}

// list splits a comma-separated value, dropping blanks.
func list(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

type parser struct {
	getenv func(string) string
	errs   []error
}

func (p *parser) int(name string, def, lo, hi int) int {
	v := strings.TrimSpace(p.getenv(name))
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		p.errs = append(p.errs, fmt.Errorf("%s=%q: want a whole number from %d to %d", name, v, lo, hi))
		return def
	}
	return n
}

func (p *parser) optionalFloat(name string, lo, hi float64) *float64 {
	v := strings.TrimSpace(p.getenv(name))
	if v == "" {
		return nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < lo || f > hi {
		p.errs = append(p.errs, fmt.Errorf("%s=%q: want a number from %g to %g", name, v, lo, hi))
		return nil
	}
	return &f
}

func (p *parser) duration(name string, def time.Duration) time.Duration {
	v := strings.TrimSpace(p.getenv(name))
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		p.errs = append(p.errs, fmt.Errorf("%s=%q: want a positive duration such as 25s", name, v))
		return def
	}
	return d
}

func (p *parser) level(name string) slog.Level {
	v := strings.TrimSpace(p.getenv(name))
	if v == "" {
		return slog.LevelInfo
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(v)); err != nil {
		p.errs = append(p.errs, fmt.Errorf("%s=%q: want debug, info, warn or error", name, v))
	}
	return l
}

// Authorizer is the setting of the API's Lambda authorizer
// (functions/authorizer), deployed when the stack trusts another identity
// provider than its own user pool.
type Authorizer struct {
	Issuer   string     // JWT_ISSUER: the provider's issuer URL, exactly as its tokens' iss
	Audience string     // JWT_AUDIENCE: the aud its tokens carry for this API
	LogLevel slog.Level // LOG_LEVEL
}

// AuthorizerFromEnv reads the authorizer's settings through getenv.
func AuthorizerFromEnv(getenv func(string) string) (Authorizer, error) {
	p := parser{getenv: getenv}
	a := Authorizer{
		Issuer:   strings.TrimSpace(getenv("JWT_ISSUER")),
		Audience: strings.TrimSpace(getenv("JWT_AUDIENCE")),
		LogLevel: p.level("LOG_LEVEL"),
	}
	if a.Issuer == "" {
		p.errs = append(p.errs, errors.New("JWT_ISSUER is empty: set it to the identity provider's issuer URL (template parameter JwtIssuer)"))
	}
	if a.Audience == "" {
		p.errs = append(p.errs, errors.New("JWT_AUDIENCE is empty: set it to the audience the provider's tokens carry (template parameter JwtAudience)"))
	}
	if len(p.errs) > 0 {
		return Authorizer{}, errors.Join(p.errs...)
	}
	return a, nil
}
